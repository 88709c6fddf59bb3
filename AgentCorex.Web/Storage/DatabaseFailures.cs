using System.Data.Common;

namespace AgentCorex.Web.Storage;

/// <summary>
/// Tells a database that cannot be reached (stopped, restarting, not answering, out of connections) from a fault of
/// the request or of the code: the provider marks the former transient, whether it reaches the app bare or wrapped
/// by EF Core's execution strategy or by Hangfire's client.
/// </summary>
public static class DatabaseFailures
{
    public static bool IsUnavailable(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is DbException { IsTransient: true })
            {
                return true;
            }
        }
        return false;
    }
}
