using AgentCorex.Web.Execution;

namespace AgentCorex.Web.Jobs;

// A run's transitions: its start, its end, a cancel, and the cut-off of a run whose server stopped.
public sealed partial class JobLedger
{
    /// <summary>
    /// queued → running as <paramref name="attempt"/>, the one after the attempt its caller read; false when the job was
    /// no longer queued, was started meanwhile by another worker (then cut off and queued again: a start as the attempt
    /// read would count two runs as one against Jobs:MaxAttempts), or its key has been revoked (a revoked key's queued
    /// jobs never start).
    /// </summary>
    /// <param name="raises">
    /// Here and below: the bits of the events to mark pending with the change (see <see cref="JobEntry.EventsPending"/>),
    /// 0 when no webhook wants them.
    /// </param>
    public async Task<bool> TryStartAsync(string jobId, string hangfireId, int attempt, DateTime startedAt, int raises, CancellationToken cancellationToken)
    {
        return await WriteAsync(StartSql, cancellationToken, hangfireId, attempt, Timestamp(startedAt), raises, jobId, attempt - 1) == 1;
    }

    private const string StartSql =
        $$"""
        UPDATE jobs SET status = '{{JobStatus.Running}}', hangfire_id = {0}, attempt = {1}, started_at = {2}, events_pending = events_pending | {3}
        WHERE job_id = {4} AND {{StatusOfTheRowIs}}'{{JobStatus.Queued}}' AND attempt = {5}
            AND NOT EXISTS (SELECT 1 FROM api_keys k WHERE k.key_id = jobs.owner_key_id AND k.revoked_at IS NOT NULL)
        """;

    /// <summary>
    /// queued → running as the next attempt, in one statement that returns the started job (what a run needs of
    /// it); null when the job was not queued or its key has been revoked. SQL Server always answers null: its
    /// callers then read the job and start it with <see cref="TryStartAsync"/>.
    /// </summary>
    public async Task<JobEntry?> TryStartQueuedAsync(string jobId, string hangfireId, DateTime startedAt, int raises, CancellationToken cancellationToken)
    {
        if (IsSqlServer)
        {
            return null;
        }
        object?[] values = [hangfireId, Timestamp(startedAt), raises, jobId];
        return sqlite is not null
            ? await sqlite.QueryFirstAsync(StartQueuedSql, JobRow.Read, values, cancellationToken)
            : await QueryFirstAsync(StartQueuedSql, JobRow.Read, values, cancellationToken);
    }

    /// <summary>The start in one statement: the next attempt, and the started row back.</summary>
    private const string StartQueuedSql =
        $$"""
        UPDATE jobs SET status = '{{JobStatus.Running}}', hangfire_id = {0}, attempt = attempt + 1, started_at = {1}, events_pending = events_pending | {2}
        WHERE job_id = {3} AND {{StatusOfTheRowIs}}'{{JobStatus.Queued}}'
            AND NOT EXISTS (SELECT 1 FROM api_keys k WHERE k.key_id = jobs.owner_key_id AND k.revoked_at IS NOT NULL)
        RETURNING {{JobRow.Columns}}
        """;

    /// <summary>
    /// running (this attempt) → a final state, ended at <paramref name="endedAt"/> (not when the write is taken: an
    /// end kept through a database outage still says when the tool ended); false when something else ended it first
    /// (a forced cancel).
    /// </summary>
    public async Task<bool> TryFinishAsync(string jobId, int attempt, JobEnding ending, DateTime endedAt, int raises, CancellationToken cancellationToken)
    {
        return await WriteAsync(FinishSql, cancellationToken,
            ending.Status, Timestamp(endedAt), ending.ExecutionTimeMs, ending.Result, ending.ErrorCode, ending.ErrorMessage,
            ending.ErrorDetails, ending.TokensInput, ending.TokensOutput, raises, jobId, attempt) == 1;
    }

    private const string FinishSql =
        $$"""
        UPDATE jobs SET status = {0}, completed_at = {1}, execution_time_ms = {2}, result = {3}, error_code = {4}, error_message = {5},
            error_details = {6}, tokens_input = {7}, tokens_output = {8}, events_pending = events_pending | {9}
        WHERE job_id = {10} AND {{StatusOfTheRowIs}}'{{JobStatus.Running}}' AND attempt = {11}
        """;

    /// <summary>
    /// Ends a job that is in <paramref name="from"/> as canceled by <paramref name="canceler"/>, which its message
    /// keeps (<see cref="JobCanceler.Reason"/>; the API does not show a canceled job's message); false when it was not.
    /// </summary>
    public Task<bool> TryCancelAsync(string jobId, string from, JobCanceler canceler, int raises, CancellationToken cancellationToken) =>
        TryCancelAsync(jobId, from, canceler, raises, Now, cancellationToken);

    /// <summary>As above, canceled at <paramref name="canceledAt"/>, by which a write whose answer was lost is known (<see cref="IsTimeWritten"/>).</summary>
    public async Task<bool> TryCancelAsync(string jobId, string from, JobCanceler canceler, int raises, DateTime canceledAt, CancellationToken cancellationToken) =>
        await WriteAsync(CancelSql, cancellationToken, Timestamp(canceledAt), canceler.Reason(from), raises, jobId, from) == 1;

    /// <summary>
    /// running (this attempt) → canceled at <paramref name="canceledAt"/>: a run's own cancel, with the tokens its tool
    /// had reported. A newer attempt (another worker's, which took the job over while this run's node stalled) is not
    /// this run's to cancel; false then too.
    /// </summary>
    public async Task<bool> TryCancelAsync(
        string jobId, int attempt, JobCanceler canceler, int raises, TokensUsed tokens, DateTime canceledAt, CancellationToken cancellationToken) =>
        await WriteAsync(CancelAttemptSql, cancellationToken,
            Timestamp(canceledAt), canceler.Reason(JobStatus.Running), raises, tokens.Input, tokens.Output, jobId, attempt) == 1;

    /// <summary>
    /// The tokens a run's tool had reported, on its job that a cancel stored first ended in this attempt (a forced
    /// DELETE, on any node): the cancel could not know them. False when the job is not canceled in that attempt.
    /// </summary>
    public async Task<bool> TryKeepCanceledTokensAsync(string jobId, int attempt, TokensUsed tokens, CancellationToken cancellationToken) =>
        await WriteAsync(CanceledTokensSql, cancellationToken, tokens.Input, tokens.Output, jobId, attempt) == 1;

    private const string CancelSetSql =
        $$"""
        UPDATE jobs SET status = '{{JobStatus.Canceled}}', completed_at = {0}, error_message = {1}, events_pending = events_pending | {2}
        """;

    private const string CancelSql = $"{CancelSetSql}\nWHERE job_id = {{3}} AND {StatusOfTheRowIs}{{4}}";

    private const string CancelAttemptSql =
        $"{CancelSetSql}, tokens_input = {{3}}, tokens_output = {{4}}\nWHERE job_id = {{5}} AND {StatusOfTheRowIs}'{JobStatus.Running}' AND attempt = {{6}}";

    private const string CanceledTokensSql =
        $$"""
        UPDATE jobs SET tokens_input = {0}, tokens_output = {1}
        WHERE job_id = {2} AND {{StatusOfTheRowIs}}'{{JobStatus.Canceled}}' AND attempt = {3}
        """;

    /// <summary>
    /// A run that was cut off (its server stopped or died), ended as <paramref name="end"/> says: back to the queue, or
    /// failed SERVER_RESTARTED (raising <paramref name="raisesWhenFailed"/>). Only a job still running in that attempt is
    /// touched. Here the run's tokens are not known (the run itself did not write the cut-off: its node died), and the
    /// failed row keeps none.
    /// </summary>
    public Task<bool> TryInterruptAsync(string jobId, int attempt, CutOffEnd end, int raisesWhenFailed, CancellationToken cancellationToken) =>
        TryInterruptAsync(jobId, attempt, end, raisesWhenFailed, new TokensUsed(0, 0), Now, cancellationToken);

    /// <summary>
    /// The cut-off written by the run itself, which knows the tokens its tool had reported: a failed row keeps them, as a
    /// canceled run's does. A requeued row does not: it shows the tokens of the run that ends it, as every ended job
    /// shows its own run's (the cut-off run's are then not counted). A failed row ends at <paramref name="endedAt"/>, by which
    /// a write whose answer was lost is known (<see cref="IsInterruptedAsync"/>).
    /// </summary>
    public async Task<bool> TryInterruptAsync(
        string jobId, int attempt, CutOffEnd end, int raisesWhenFailed, TokensUsed tokens, DateTime endedAt, CancellationToken cancellationToken) =>
        await (end.FailureMessage is not { } message
            ? WriteAsync(RequeueInterruptedSql, cancellationToken, jobId, attempt)
            : WriteAsync(FailInterruptedSql, cancellationToken, Timestamp(endedAt), JobErrors.ServerRestarted, message, raisesWhenFailed,
                tokens.Input, tokens.Output, jobId, attempt)) == 1;

    private const string RequeueInterruptedSql =
        $$"""
        UPDATE jobs SET status = '{{JobStatus.Queued}}', started_at = NULL
        WHERE job_id = {0} AND {{StatusOfTheRowIs}}'{{JobStatus.Running}}' AND attempt = {1}
        """;

    private const string FailInterruptedSql =
        $$"""
        UPDATE jobs SET status = '{{JobStatus.Failed}}', completed_at = {0}, error_code = {1}, error_message = {2}, events_pending = events_pending | {3},
            tokens_input = {4}, tokens_output = {5}
        WHERE job_id = {6} AND {{StatusOfTheRowIs}}'{{JobStatus.Running}}' AND attempt = {7}
        """;
}
