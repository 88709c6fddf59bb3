using System.Data.Common;

namespace AgentCorex.Web.Jobs;

/// <summary>A job's row as the ledger's plain SQL reads it: its columns, and the entry made of them.</summary>
internal static class JobRow
{
    /// <summary>A job's whole row, in the order <see cref="Read"/> reads it.</summary>
    public const string Columns =
        """
        job_id, hangfire_id, owner_key_id, tool, arguments, status, parked, timeout_ms, attempt, created_at, started_at,
            completed_at, execution_time_ms, result, error_code, error_message, error_details, tokens_input, tokens_output, events_pending
        """;

    /// <summary>A row of <see cref="Columns"/>, as EF Core would read it.</summary>
    public static JobEntry Read(DbDataReader row) => new()
    {
        Id = row.GetString(0),
        HangfireId = row.IsDBNull(1) ? null : row.GetString(1),
        OwnerKeyId = row.GetString(2),
        Tool = row.GetString(3),
        Arguments = row.GetString(4),
        Status = row.GetString(5),
        Parked = row.GetBoolean(6),
        TimeoutMs = row.GetInt32(7),
        Attempt = row.GetInt32(8),
        CreatedAt = row.GetDateTime(9),
        StartedAt = row.IsDBNull(10) ? null : row.GetDateTime(10),
        CompletedAt = row.IsDBNull(11) ? null : row.GetDateTime(11),
        ExecutionTimeMs = row.IsDBNull(12) ? null : row.GetInt64(12),
        Result = row.IsDBNull(13) ? null : row.GetString(13),
        ErrorCode = row.IsDBNull(14) ? null : row.GetString(14),
        ErrorMessage = row.IsDBNull(15) ? null : row.GetString(15),
        ErrorDetails = row.IsDBNull(16) ? null : row.GetString(16),
        TokensInput = row.GetInt64(17),
        TokensOutput = row.GetInt64(18),
        EventsPending = row.GetInt32(19),
    };
}
