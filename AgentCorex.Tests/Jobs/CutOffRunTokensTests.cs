using AgentCorex.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace AgentCorex.Tests.Jobs;

/// <summary>
/// A run that a stop's deadline cut off writes its cut-off itself, and knows the tokens its tool had reported: a job
/// not safe to run twice ends failed SERVER_RESTARTED with them in the ledger, for reporting's sums, where it kept 0/0.
/// (A node of its own, to stop, with the tests' Jobs:ShutdownTimeout of 0.5 s.)
/// </summary>
public sealed class CutOffRunTokensTests
{
    [Test]
    public async Task ARunCutOffByAStop_EndsFailed_WithTheTokensItsToolHadReported()
    {
        var data = Directory.CreateTempSubdirectory("agentcorex-cutoff-tokens-").FullName;
        try
        {
            string jobId;
            using (var node = new AgentCorexApp(dataDirectory: data))
            {
                using var admin = node.CreateAdminClient();
                // test_spend is not safe to retry: cut off, it ends failed rather than going back to the queue.
                jobId = await admin.SubmitAsync("test_spend", new { input_tokens = 120, output_tokens = 30, duration_ms = 60_000 });
                await admin.WaitForJobAsync(jobId, j => j.Str("status") == "running" && j["progress"]?["current_step"]?.GetValue<string>() == "spent");
            }
            await AgentCorexApp.LetGoOfDatabaseAsync(data);

            await using var connection = new SqliteConnection($"Data Source={Path.Combine(data, "agentcorex.db")};Mode=ReadOnly;Pooling=False");
            await connection.OpenAsync();
            await using var command = new SqliteCommand("SELECT status, error_code, tokens_input, tokens_output FROM jobs WHERE job_id = $id", connection);
            command.Parameters.AddWithValue("$id", jobId);
            await using var row = await command.ExecuteReaderAsync();
            Assert.That(await row.ReadAsync(), Is.True);
            Assert.That((row.GetString(0), row.GetString(1), row.GetInt64(2), row.GetInt64(3)), Is.EqualTo(("failed", "SERVER_RESTARTED", 120L, 30L)));
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }
}
