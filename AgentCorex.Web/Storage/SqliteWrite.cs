namespace AgentCorex.Web.Storage;

/// <summary>
/// One write handed to the <see cref="SqliteWriter"/>: waiting, then taken by its thread or withdrawn by its
/// caller (never both), run, and completed once its turn's transaction is committed or lost.
/// </summary>
internal abstract class SqliteWrite
{
    private const int Waiting = 0, Taken = 1, Withdrawn = 2;
    private int state;

    /// <summary>Claims the write for the thread; false when its caller withdrew it first.</summary>
    public bool TryTake() => Interlocked.CompareExchange(ref state, Taken, Waiting) == Waiting;

    protected bool TryWithdraw() => Interlocked.CompareExchange(ref state, Withdrawn, Waiting) == Waiting;

    /// <summary>Runs the statement and keeps its outcome, reported by <see cref="Complete"/>; resets any earlier outcome.</summary>
    public abstract void Run(SqliteStatements statements);

    public abstract void Failed(Exception failure);

    public abstract void Complete();
}

/// <summary>A write whose caller awaits <see cref="Task"/> for what its statement answers.</summary>
internal sealed class SqliteWrite<T>(Func<SqliteStatements, T> statement) : SqliteWrite
{
    // Continuations run on the thread pool, never on the writer's thread.
    private readonly TaskCompletionSource<T> outcome = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private CancellationTokenRegistration withdrawal;
    private T? result;
    private Exception? failure;

    public Task<T> Task => outcome.Task;

    public void WithdrawOn(CancellationToken cancellationToken)
    {
        if (cancellationToken.CanBeCanceled)
        {
            withdrawal = cancellationToken.Register(static (state, token) =>
            {
                var write = (SqliteWrite<T>)state!;
                if (write.TryWithdraw())
                {
                    write.outcome.TrySetCanceled(token);
                }
            }, this);
        }
    }

    public override void Run(SqliteStatements statements)
    {
        failure = null;
        result = statement(statements);
    }

    public override void Failed(Exception failure) => this.failure = failure;

    public override void Complete()
    {
        withdrawal.Dispose();
        if (failure is null)
        {
            outcome.TrySetResult(result!);
        }
        else
        {
            outcome.TrySetException(failure);
        }
    }
}
