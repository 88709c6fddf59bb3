namespace AgentCorex.Web.Execution;

/// <summary>
/// Fires a token a tool may have registered callbacks on. <see cref="CancellationTokenSource.Cancel()"/> runs them inline
/// and, once all have run, throws if one threw: out of a timer's callback (a run's deadline, the shutdown's) that ended
/// the process, and out of a forced cancel it answered 500 for a cancel that had taken effect, skipping what follows it.
/// A callback that throws is the tool's fault, not the cancel's: the token has fired all the same.
/// </summary>
internal static class ToolTokenSource
{
    /// <summary>Fires <paramref name="source"/>; returns what its callbacks threw, if any. One disposed (its run ended meanwhile) is no fault.</summary>
    public static AggregateException? Cancel(CancellationTokenSource source)
    {
        try
        {
            source.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // the run ended meanwhile
        }
        catch (AggregateException callbacksFailed)
        {
            return callbacksFailed;
        }
        return null;
    }
}
