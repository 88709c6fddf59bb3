using AgentCorex.Tools;
using AgentCorex.Web.Monitoring;
using AgentCorex.Web.Tools;

namespace AgentCorex.Web.Execution;

/// <summary>
/// Runs one tool with a deadline. The tool's token fires at the deadline, and the caller is answered by
/// then even when the tool ignores its token (the tool's task is left to finish on its own).
/// </summary>
public sealed partial class ToolRunner(TimeProvider time, AgentCorexMetrics metrics, ILogger<ToolRunner> logger)
{
    private static readonly TimeSpan AbandonGrace = TimeSpan.FromSeconds(1);

    private static readonly Func<ILogger, string, string, IDisposable?> ExecutionScope =
        LoggerMessage.DefineScope<string, string>("execution {ExecutionId} of {Tool}");

    /// <param name="cancellationToken">The caller's: when it fires the run is abandoned and the exception rethrown.</param>
    /// <param name="stopping">A second token of the caller's (the server's shutdown deadline), treated alike.</param>
    public async Task<ToolOutcome> RunAsync(
        ToolDescriptor tool, object arguments, ToolExecutionContext context, TimeSpan timeout,
        CancellationToken cancellationToken, CancellationToken stopping = default)
    {
        var outcome = await RunWithDeadlineAsync(tool, arguments, context, timeout, cancellationToken, stopping);
        metrics.ToolRan(tool.Name, outcome.Kind switch
        {
            ToolOutcomeKind.Succeeded => "success",
            ToolOutcomeKind.TimedOut => "timeout",
            _ => "failed",
        }, outcome.ExecutionTimeMs);
        return outcome;
    }

    private async Task<ToolOutcome> RunWithDeadlineAsync(
        ToolDescriptor tool, object arguments, ToolExecutionContext context, TimeSpan timeout,
        CancellationToken cancellationToken, CancellationToken stopping)
    {
        // One source for the caller's tokens and the deadline: the tool's token fires on whichever comes first.
        // They are tied to it only if the tool is still running when it returns: most runs of a quick tool started
        // inline have finished by then, and need neither a timer nor a registration on either token.
        using var cancel = new CancellationTokenSource();
        if (CallerCanceled(cancellationToken, stopping))
        {
            cancel.Cancel();
        }
        using var scope = ExecutionScope(context.Logger, context.ExecutionId, tool.Name);
        var started = time.GetTimestamp();

        var execution = Start(tool.Tool, arguments, context, cancel.Token);
        using var deadline = execution.IsCompleted ? null : new Deadline(
            cancel, cancellationToken, stopping, time, started, timeout, logger, tool.Name, context.ExecutionId);
        try
        {
            // Waiting on the token (not the task alone) answers at the deadline even if the tool ignores it.
            var result = execution.IsCompleted ? await execution : await execution.WaitAsync(cancel.Token);
            if (ToolResultJson.TryWrite(result, out var problem) is { } json)
            {
                return ToolOutcome.Succeeded(json, Elapsed(started));
            }
            LogUnwritableResult(logger, tool.Name, context.ExecutionId, problem);
            return ToolOutcome.Failed(
                code: null, $"The tool's result cannot be written as JSON: {ToolResultJson.ForCaller(problem!)}", details: null, Elapsed(started));
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested && !CallerCanceled(cancellationToken, stopping))
        {
            ObserveAbandoned(execution, tool.Name);
            return ToolOutcome.TimedOut(Elapsed(started));
        }
        catch (OperationCanceledException) when (CallerCanceled(cancellationToken, stopping))
        {
            ObserveAbandoned(execution, tool.Name);
            throw;
        }
        catch (ToolFailedException failure)
        {
            var details = failure.Details;
            if (details.Count > 0 && ToolResultJson.TryWrite(details, out var problem) is null)
            {
                LogUnwritableDetails(logger, tool.Name, context.ExecutionId, problem);
                details = null; // the code and message still say what went wrong
            }
            return ToolOutcome.Failed(failure.Code, failure.Message, details, Elapsed(started));
        }
        catch (Exception failure)
        {
            LogToolException(logger, failure, tool.Name, context.ExecutionId);
            return ToolOutcome.Failed(code: null, failure.Message, details: null, Elapsed(started));
        }
    }

    /// <summary>
    /// What cancels a run still going when its tool returned: the deadline's timer (armed for what is left of the
    /// timeout) and the caller's two tokens. A token that has already fired cancels at once as it is registered.
    /// </summary>
    private sealed class Deadline : IDisposable
    {
        private readonly CancellationTokenSource cancel;
        private readonly TimeProvider time;
        private readonly long started;
        private readonly TimeSpan timeout;
        private readonly ITimer timer;
        private readonly CancellationTokenRegistration callerLink;
        private readonly CancellationTokenRegistration stoppingLink;
        private readonly ILogger logger;
        private readonly string tool;
        private readonly string executionId;

        /// <param name="logger">Where a callback the tool registered on its token that throws as it fires is told, naming the run.</param>
        public Deadline(
            CancellationTokenSource cancel, CancellationToken caller, CancellationToken stopping, TimeProvider time, long started, TimeSpan timeout,
            ILogger logger, string tool, string executionId)
        {
            this.cancel = cancel;
            this.time = time;
            this.started = started;
            this.timeout = timeout;
            this.logger = logger;
            this.tool = tool;
            this.executionId = executionId;
            timer = time.CreateTimer(static deadline => ((Deadline)deadline!).Reached(), this, Left(), Timeout.InfiniteTimeSpan);
            callerLink = caller.UnsafeRegister(static deadline => ((Deadline)deadline!).Cancel(), this);
            stoppingLink = stopping.UnsafeRegister(static deadline => ((Deadline)deadline!).Cancel(), this);
        }

        private TimeSpan Left() => timeout - time.GetElapsedTime(started) is { Ticks: > 0 } left ? left : TimeSpan.Zero;

        /// <summary>
        /// The timer's callback. Timers keep a coarse clock (a few ms on Linux) and may fire that much early: then
        /// the rest is waited for, so that a run is never answered as timed out before its timeout has passed.
        /// </summary>
        private void Reached()
        {
            if (Left() is { Ticks: > 0 } left)
            {
                try
                {
                    timer.Change(left, Timeout.InfiniteTimeSpan);
                }
                catch (ObjectDisposedException)
                {
                    // the run ended meanwhile
                }
                return;
            }
            Cancel();
        }

        /// <summary>
        /// Fires the tool's token, from the timer or a caller's token's callback, where an exception would be unhandled
        /// (on a timer thread it ends the process): a callback of the tool's that throws is logged, and the run ends as
        /// it would have without it.
        /// </summary>
        private void Cancel()
        {
            if (ToolTokenSource.Cancel(cancel) is { } failed)
            {
                LogCallbackFailed(logger, failed, tool, executionId);
            }
        }

        public void Dispose()
        {
            timer.Dispose();
            callerLink.Dispose();
            stoppingLink.Dispose();
        }
    }

    private static bool CallerCanceled(CancellationToken cancellationToken, CancellationToken stopping) =>
        cancellationToken.IsCancellationRequested || stopping.IsCancellationRequested;

    /// <summary>
    /// A tool that may block is started on a thread of its own, so that a synchronous wait before its first await
    /// cannot hold up the deadline, and so that a tool that blocks and ignores its token, abandoned at its deadline,
    /// holds that thread and not one of the pool's: those serve every request and every continuation, and a few
    /// hundred of them blocked starved the server (submits took minutes, timeouts came late). After its first await
    /// the tool goes on where its awaits take it, as any async code does. One that never blocks starts here, with no
    /// thread hop.
    /// </summary>
    private static Task<object?> Start(ITool tool, object arguments, ToolExecutionContext context, CancellationToken cancellationToken)
    {
        if (!tool.NeverBlocks)
        {
            return Task.Factory.StartNew(
                () => tool.ExecuteAsync(arguments, context, cancellationToken),
                CancellationToken.None,
                TaskCreationOptions.LongRunning | TaskCreationOptions.DenyChildAttach,
                TaskScheduler.Default).Unwrap();
        }
        try
        {
            return tool.ExecuteAsync(arguments, context, cancellationToken);
        }
        catch (Exception e)
        {
            return Task.FromException<object?>(e); // thrown before it returned a task: the same outcome as a faulted one
        }
    }

    private long Elapsed(long started) => (long)time.GetElapsedTime(started).TotalMilliseconds;

    /// <summary>
    /// The caller has been answered; the tool's task is watched for a while longer, so that a tool that
    /// ignores its token is reported, and a late fault never goes unobserved.
    /// </summary>
    private void ObserveAbandoned(Task execution, string toolName) => _ = ObserveAsync(execution, toolName);

    private async Task ObserveAsync(Task execution, string toolName)
    {
        try
        {
            await execution.WaitAsync(AbandonGrace, time);
        }
        catch (TimeoutException)
        {
            LogAbandoned(logger, toolName, AbandonGrace.TotalMilliseconds);
            await execution.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        }
        catch (Exception)
        {
            // canceled or failed after the deadline, as expected: observed
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tool {Tool} threw in execution {ExecutionId}")]
    private static partial void LogToolException(ILogger logger, Exception exception, string tool, string executionId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tool {Tool} returned a result that cannot be written as JSON in execution {ExecutionId}: {Problem}")]
    private static partial void LogUnwritableResult(ILogger logger, string tool, string executionId, string? problem);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tool {Tool} failed in execution {ExecutionId} with details that cannot be written as JSON, left out: {Problem}")]
    private static partial void LogUnwritableDetails(ILogger logger, string tool, string executionId, string? problem);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tool {Tool} registered a callback on its cancellation token that threw as the token fired in execution {ExecutionId}; the run was canceled all the same")]
    private static partial void LogCallbackFailed(ILogger logger, Exception exception, string tool, string executionId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tool {Tool} ignored its cancellation token: still running {GraceMs} ms after its deadline")]
    private static partial void LogAbandoned(ILogger logger, string tool, double graceMs);
}
