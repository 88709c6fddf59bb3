using System.Text.Encodings.Web;
using System.Text.Json;
using AgentCorex.Web.Api;
using Microsoft.Extensions.Configuration.Memory;

namespace AgentCorex.Web.Monitoring;

public static class LogFormatExtensions
{
    public const string FormatKey = "Logging:Format";

    /// <summary>The JSON lines' Timestamp, in UTC.</summary>
    public const string JsonTimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";

    public static bool IsJson(IConfiguration configuration) => string.Equals(configuration[FormatKey], "json", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The levels appsettings.json sets, as defaults under every configuration source, so that appsettings.json, the
    /// environment and the command line still set any of them. appsettings.json is read from the working directory: a
    /// server started from another folder read none, and logged two lines per request and one per SQL statement at
    /// Information (in a soak test at 30 jobs/s, 5 MB of log a minute).
    /// </summary>
    private static readonly Dictionary<string, string?> QuietLevels = new()
    {
        ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
        ["Logging:LogLevel:Microsoft.EntityFrameworkCore"] = "Warning",
        ["Logging:LogLevel:AgentCorex.Web.Auth.ApiKeyAuthenticationHandler"] = "Warning",
    };

    /// <summary>
    /// Logging:Format=json writes the console log as one JSON object a line, with the scopes' fields (a job's
    /// job_id, tool and key_id); unset or "plain", the usual console lines.
    /// </summary>
    public static WebApplicationBuilder AddLogFormat(this WebApplicationBuilder builder)
    {
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = QuietLevels });
        RefuseUnreadableLevels(builder.Configuration);
        var format = builder.Configuration[FormatKey];
        if (IsJson(builder.Configuration))
        {
            builder.Logging.AddJsonConsole(json =>
            {
                json.IncludeScopes = true;
                json.UseUtcTimestamp = true;
                json.TimestampFormat = JsonTimestampFormat;
                // Quotes and '<' as they are, not \u0027: the log is read by people and shippers, never as HTML.
                json.JsonWriterOptions = new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
            });
        }
        else if (!string.IsNullOrEmpty(format) && !string.Equals(format, "plain", StringComparison.OrdinalIgnoreCase))
        {
            // Logging is set up before options are validated: a wrong value stops the start here.
            throw new StartupRefusedException($"{FormatKey} must be 'plain' (the default) or 'json', not '{format}'.");
        }
        return builder;
    }

    /// <summary>
    /// Logging:LogLevel:* and Logging:&lt;provider&gt;:LogLevel:*, read as the logger factory reads them (an empty value is
    /// no rule). One it cannot read (Logging:LogLevel:Default=Loud) threw from the first logger made, with a stack trace.
    /// </summary>
    private static void RefuseUnreadableLevels(IConfiguration configuration)
    {
        foreach (var provider in configuration.GetSection("Logging").GetChildren())
        {
            var levels = provider.Key.Equals("LogLevel", StringComparison.OrdinalIgnoreCase) ? provider : provider.GetSection("LogLevel");
            foreach (var level in levels.GetChildren())
            {
                if (!string.IsNullOrEmpty(level.Value) && !Enum.TryParse<LogLevel>(level.Value, ignoreCase: true, out _))
                {
                    throw new StartupRefusedException(
                        $"{level.Path} is '{level.Value}', not a log level: Trace, Debug, Information, Warning, Error, Critical or None.");
                }
            }
        }
    }
}
