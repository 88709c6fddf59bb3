using Microsoft.Extensions.Options;

namespace AgentCorex.Web.Api;

public static class StartupErrors
{
    /// <summary>
    /// Runs the server until it stops. A setting the configuration's checks refuse ends the start with what is wrong,
    /// on standard error, and exit code 1: an operator's mistake, not a crash (an unhandled exception aborts the process).
    /// </summary>
    public static int RunOrExplain(this WebApplication app)
    {
        try
        {
            app.Run();
            return 0;
        }
        catch (Exception e) when (Refusals(e) is { Count: > 0 } refusals)
        {
            Console.Error.WriteLine($"AgentCorex cannot start: {string.Join(" ", refusals)}");
            return 1;
        }
    }

    private static List<string> Refusals(Exception e) => e switch
    {
        OptionsValidationException invalid => [.. invalid.Failures],
        AggregateException all when all.InnerExceptions.All(i => i is OptionsValidationException) =>
            [.. all.InnerExceptions.Cast<OptionsValidationException>().SelectMany(i => i.Failures)],
        _ => [],
    };
}
