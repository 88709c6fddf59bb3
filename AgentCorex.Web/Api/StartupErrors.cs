using System.Reflection;
using AgentCorex.Web.Storage;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Options;

namespace AgentCorex.Web.Api;

/// <summary>
/// A start that cannot go on because of how the server is set up (a setting, a plugin, a database it cannot reach):
/// an operator's matter, told in one line, never a crash with a stack trace.
/// </summary>
public sealed class StartupRefusedException(string message, Exception? innerException = null)
    : InvalidOperationException(message, innerException);

public static class StartupErrors
{
    /// <summary>
    /// Builds the server and runs it until it stops. A start refused by the configuration's checks, by a
    /// <see cref="StartupRefusedException"/>, or by a setting that cannot be read as its type ends with what is wrong,
    /// on standard error, and exit code 1: an operator's mistake, not a crash (an unhandled exception aborts the
    /// process with a stack trace). A host that embeds the server (the tests' WebApplicationFactory) gets the
    /// exception instead, since there is no process of the server's own to end.
    /// </summary>
    public static int RunOrExplain(Func<WebApplication> build)
    {
        try
        {
            var app = build();
            // The settings' checks before the host's start, which would first make services from unchecked settings
            // (Hangfire's server throws on a negative worker count) and log the refusal with a stack trace.
            app.Services.GetService<IStartupValidator>()?.Validate();
            var database = app.Services.GetService<EmbeddedDatabaseFile>();
            app.Run();
            // Stopped by the server itself because its database's file went away (EmbeddedDatabaseWatch): a failure.
            return database?.IsGone == true ? 1 : 0;
        }
        catch (Exception e) when (RunsTheProcess && Refusals(e) is { Count: > 0 } refusals)
        {
            Console.Error.WriteLine($"AgentCorex cannot start: {string.Join(" ", refusals)}");
            return 1;
        }
    }

    /// <summary>Kestrel's internal type that gives a <c>Kestrel:Endpoints</c> entry its certificate, known by name alone.</summary>
    private const string KestrelEndpointsTls = "Microsoft.AspNetCore.Server.Kestrel.Core.TlsConfigurationLoader";

    private static bool RunsTheProcess => Assembly.GetEntryAssembly() == typeof(StartupErrors).Assembly;

    private static List<string> Refusals(Exception e) => e switch
    {
        OptionsValidationException invalid => [.. invalid.Failures],
        StartupRefusedException refused => [refused.Message],
        // Kestrel's "Failed to bind to address http://localhost:5080: address already in use."
        IOException taken when taken.InnerException is AddressInUseException =>
            [$"{taken.Message} (another process listens there: stop it, or give this server another address with --urls or ASPNETCORE_URLS)"],
        InvalidOperationException unreadable when ThrownBy(unreadable, typeof(ConfigurationBinder).FullName!) => [unreadable.Message],
        // Kestrel's "Unable to configure HTTPS endpoint. No server certificate was specified, ...", then how to make a
        // developer's certificate, over three lines: for an https address of Urls, and of Kestrel:Endpoints.
        InvalidOperationException https when ThrownBy(https, typeof(ListenOptionsHttpsExtensions).FullName!) || ThrownBy(https, KestrelEndpointsTls) =>
            [$"{https.Message.Split(['\r', '\n'])[0]} (an https address, in Urls or Kestrel:Endpoints, needs a certificate: "
                + "set Kestrel:Certificates:Default:Path, or listen on http behind a proxy that terminates TLS)"],
        AggregateException all when all.InnerExceptions.Select(Refusals).ToList() is var each && each.All(r => r.Count > 0) =>
            [.. each.SelectMany(r => r)],
        _ => [],
    };

    /// <summary>"Failed to convert configuration value 'abc' at 'Jobs:WorkerCount' to type 'System.Int32'.", thrown by the binder itself.</summary>
    private static bool ThrownBy(Exception e, string thrower)
    {
        for (var type = e.TargetSite?.DeclaringType; type is not null; type = type.DeclaringType)
        {
            if (type.FullName == thrower)
            {
                return true;
            }
        }
        return false;
    }
}
