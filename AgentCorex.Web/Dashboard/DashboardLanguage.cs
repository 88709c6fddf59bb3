using System.Globalization;

namespace AgentCorex.Web.Dashboard;

/// <summary>
/// Names the dashboard's pages English, the language of Hangfire's default resources. Its layout writes
/// <c>&lt;html lang="..."&gt;</c> as the UI culture's two-letter name, and the server's is the invariant culture
/// (ApiExtensions), whose "iv" is no language tag: browsers and screen readers took the pages for an unknown language.
/// The request's UI culture stays the invariant one in all else (resources, names); the culture numbers and dates are
/// written in is left alone. "en" itself cannot be made where the runtime runs without ICU
/// (DOTNET_SYSTEM_GLOBALIZATION_INVARIANT), which the server supports.
/// </summary>
internal sealed class DashboardLanguage(RequestDelegate next)
{
    private static readonly CultureInfo English = CultureInfo.ReadOnly(new InvariantNamedEnglish());

    public async Task InvokeAsync(HttpContext context)
    {
        CultureInfo.CurrentUICulture = English; // for this request: an async method's change is undone as it returns
        await next(context);
    }

    private sealed class InvariantNamedEnglish() : CultureInfo("")
    {
        public override string TwoLetterISOLanguageName => "en";
    }
}
