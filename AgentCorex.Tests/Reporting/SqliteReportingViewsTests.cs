using System.Data.Common;
using System.Globalization;
using AgentCorex.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace AgentCorex.Tests.Reporting;

/// <summary>reporting/sqlite/views.sql on a database file made by the app itself.</summary>
public sealed class SqliteReportingViewsTests : ReportingViewsTests
{
    private string dataDirectory = null!;
    private string timestampTheAppWrote = null!;

    protected override string Provider => "sqlite";

    protected override async Task<DbConnection> OpenMigratedDatabaseAsync(CancellationToken cancellationToken)
    {
        dataDirectory = Directory.CreateTempSubdirectory("agentcorex-reporting-").FullName;
        string keyId;
        // The server migrates the file as it starts, and writes one key as it always does. It is stopped
        // before the seed, so that no pass of its own (recovery, reconciliation) touches the seeded jobs.
        using (var app = new AgentCorexApp(dataDirectory: dataDirectory))
        {
            keyId = (await app.CreateKeyAsync()).KeyId;
        }
        var connection = new SqliteConnection($"Data Source={Path.Combine(dataDirectory, "agentcorex.db")};Pooling=False");
        await connection.OpenAsync(cancellationToken);
        await using var read = connection.CreateCommand();
        read.CommandText = "SELECT created_at FROM api_keys WHERE key_id = $id";
        read.Parameters.AddWithValue("$id", keyId);
        timestampTheAppWrote = (string)(await read.ExecuteScalarAsync(cancellationToken))!;
        return connection;
    }

    /// <summary>EF Core's text for a DateTime on SQLite: seven digits of fraction at most, trailing zeros dropped.</summary>
    protected override object Timestamp(DateTime utc) => utc.ToString("yyyy-MM-dd HH:mm:ss.FFFFFFF", CultureInfo.InvariantCulture);

    protected override Task DropDatabaseAsync()
    {
        Directory.Delete(dataDirectory, recursive: true);
        return Task.CompletedTask;
    }

    [Test]
    public void SeededTimestamps_HaveTheTextFormatTheAppWrites()
    {
        var parsed = DateTime.Parse(timestampTheAppWrote, CultureInfo.InvariantCulture);

        Assert.That(Timestamp(parsed), Is.EqualTo(timestampTheAppWrote));
    }
}
