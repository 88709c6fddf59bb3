using System.Data.Common;
using AgentCorex.Tests.Infrastructure;
using Npgsql;

namespace AgentCorex.Tests.Reporting;

/// <summary>reporting/postgresql/views.sql on a database of the test cluster, migrated by the app itself.</summary>
public sealed class PostgreSqlReportingViewsTests : ReportingViewsTests
{
    protected override string Provider => "postgresql";

    protected override async Task<DbConnection> OpenMigratedDatabaseAsync(CancellationToken cancellationToken)
    {
        var settings = await ServerTest.PostgreSqlSettingsAsync();
        // The server migrates the database as it starts; it is stopped before the seed, so that no pass of
        // its own (reconciliation) touches the seeded jobs.
        using (var app = new AgentCorexApp(settings))
        {
            await app.CreateKeyAsync();
        }
        var connection = new NpgsqlConnection(settings["ConnectionStrings:AgentCorex"]);
        await connection.OpenAsync(cancellationToken);
        return connection;
    }
}
