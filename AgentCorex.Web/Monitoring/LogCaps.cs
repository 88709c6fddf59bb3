namespace AgentCorex.Web.Monitoring;

/// <summary>
/// Lines kept out of the log whatever the configuration says: ASP.NET Core's that print what a request sent (an API
/// key, a webhook's secret or URL, a tool's arguments must never reach it), and the health check service's line per
/// probe (README, Logs).
/// </summary>
internal static class LogCaps
{
    /// <summary>Each category, and the least level at which its lines may be logged.</summary>
    private static readonly (string Category, LogLevel Least)[] Caps =
    [
        // The request lines (Information) print the query string, where an EventSource client puts its access_token.
        ("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.Warning),
        // "Executing action method ... with arguments (...)" (Trace) prints each action's bound arguments, records
        // printed member by member: a webhook's secret and URL, a tool's arguments, a key in a path.
        ("Microsoft.AspNetCore.Mvc.Infrastructure.ControllerActionInvoker", LogLevel.Debug),
        // Kestrel's refusal of a malformed request (Debug) quotes its request line or header line as it came: a stream
        // URL's access_token, an Authorization header.
        ("Microsoft.AspNetCore.Server.Kestrel.BadRequests", LogLevel.Warning),
        // An Error line for every unhealthy check of every /health/ready request (and one with a stack trace for a check
        // past its timeout): a line per probe through each drain and each database outage, which tripped alerts at
        // every deploy. The answer says which check failed; a drain and an outage log their own lines, once.
        ("Microsoft.Extensions.Diagnostics.HealthChecks.DefaultHealthCheckService", LogLevel.None),
    ];

    public static WebApplicationBuilder AddLogCaps(this WebApplicationBuilder builder)
    {
        builder.Services.PostConfigure<LoggerFilterOptions>(Apply);
        return builder;
    }

    /// <summary>
    /// A rule of the caps' own would not do: a logger takes the best rule naming its provider over any rule naming none,
    /// so one line such as Logging:Console:LogLevel:Default=Trace let the request lines through; and a rule naming a
    /// capped category would lower its level where the configuration sets a higher one (the Warning of QuietLevels).
    /// So every rule, whichever a logger takes, refuses what a cap holds back, and a rule that only does that stands in
    /// for none (the options' least level, as when no rule matches).
    /// </summary>
    private static void Apply(LoggerFilterOptions options)
    {
        options.Rules.Insert(0, new LoggerFilterRule(null, null, options.MinLevel, null));
        for (var i = 0; i < options.Rules.Count; i++)
        {
            var rule = options.Rules[i];
            options.Rules[i] = new LoggerFilterRule(rule.ProviderName, rule.CategoryName, rule.LogLevel, Capped(rule.Filter));
        }
    }

    private static Func<string?, string?, LogLevel, bool> Capped(Func<string?, string?, LogLevel, bool>? filter) =>
        (provider, category, level) => !HeldBack(category, level) && (filter is null || filter(provider, category, level));

    private static bool HeldBack(string? category, LogLevel level)
    {
        foreach (var (capped, least) in Caps)
        {
            if (level < least && category is not null && category.StartsWith(capped, StringComparison.OrdinalIgnoreCase)
                && (category.Length == capped.Length || category[capped.Length] == '.'))
            {
                return true;
            }
        }
        return false;
    }
}
