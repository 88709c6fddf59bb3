using System.Text.Encodings.Web;
using System.Text.Json;
using AgentCorex.Web.Api;

namespace AgentCorex.Web.Monitoring;

public static class LogFormatExtensions
{
    public const string FormatKey = "Logging:Format";

    /// <summary>
    /// Logging:Format=json writes the console log as one JSON object a line, with the scopes' fields (a job's
    /// job_id, tool and key_id); unset or "plain", the usual console lines.
    /// </summary>
    public static WebApplicationBuilder AddLogFormat(this WebApplicationBuilder builder)
    {
        var format = builder.Configuration[FormatKey];
        if (string.Equals(format, "json", StringComparison.OrdinalIgnoreCase))
        {
            builder.Logging.AddJsonConsole(json =>
            {
                json.IncludeScopes = true;
                json.UseUtcTimestamp = true;
                json.TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";
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
}
