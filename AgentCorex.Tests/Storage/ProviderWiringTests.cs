using AgentCorex.Web.Api;
using AgentCorex.Web.Jobs;
using AgentCorex.Web.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.Storage;

/// <summary>
/// How each Storage:Provider is wired, checked without its server: SQL Server cannot run on these machines,
/// so its path is held to the same code and checked here (PostgreSQL and the embedded default also run for real).
/// </summary>
public sealed class ProviderWiringTests
{
    private static ServiceProvider Wire(string provider, string? connectionString)
    {
        var builder = WebApplication.CreateBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Storage:Provider"] = provider,
            ["ConnectionStrings:AgentCorex"] = connectionString,
        });
        builder.AddStorage();
        return builder.Services.BuildServiceProvider();
    }

    [TestCase("SqlServer", "Server=db.example;Database=agentcorex;User ID=agentcorex;Password=x;TrustServerCertificate=true", typeof(SqlServerAgentCorexDb), "Microsoft.EntityFrameworkCore.SqlServer")]
    [TestCase("PostgreSql", "Host=db.example;Database=agentcorex;Username=agentcorex", typeof(PostgreSqlAgentCorexDb), "Npgsql.EntityFrameworkCore.PostgreSQL")]
    [TestCase("Embedded", "Data Source=agentcorex-wiring.db", typeof(AgentCorexDb), "Microsoft.EntityFrameworkCore.Sqlite")]
    public void EachProvider_GetsItsOwnContext_AndMigrations_ThatMatchTheModel(string provider, string connectionString, Type context, string efProvider)
    {
        using var services = Wire(provider, connectionString);
        using var scope = services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();

        Assert.Multiple(() =>
        {
            Assert.That(db.GetType(), Is.EqualTo(context));
            Assert.That(db.Database.ProviderName, Is.EqualTo(efProvider));
            Assert.That(db.Database.GetMigrations(), Is.Not.Empty, "the schema is created by migrations on first start");
            Assert.That(db.Database.HasPendingModelChanges(), Is.False, "the model changed without a migration for this provider");
            var script = db.Database.GenerateCreateScript();
            Assert.That(script, Does.Contain("jobs").And.Contain("api_keys").And.Contain("ix_jobs_owner_created"));
        });
    }

    [Test]
    public void SqlServer_Timestamps_AreDatetime2_NotTheOldDatetime()
    {
        using var services = Wire("SqlServer", "Server=db.example;Database=agentcorex");
        using var scope = services.CreateScope();
        var script = scope.ServiceProvider.GetRequiredService<AgentCorexDb>().Database.GenerateCreateScript();

        Assert.That(script, Does.Contain("[created_at] datetime2 NOT NULL"));
    }

    [TestCase("SqlServer")]
    [TestCase("PostgreSql")]
    public void ServerProviders_WithoutAConnectionString_StopTheStart_NamingTheSetting(string provider)
    {
        var error = Assert.Throws<StartupRefusedException>(() => Wire(provider, connectionString: null));

        Assert.That(error!.Message, Does.Contain("ConnectionStrings:AgentCorex").And.Contain(provider));
    }

    [Test]
    public void HangfireSqlServer_UsesTheRecommendedOptions_OnMicrosoftDataSqlClient()
    {
        var options = HangfireStorage.SqlServerOptions(new JobsOptions { InvisibilityTimeout = TimeSpan.FromMinutes(3) });

        Assert.Multiple(() =>
        {
            Assert.That(options.SqlClientFactory, Is.SameAs(Microsoft.Data.SqlClient.SqlClientFactory.Instance));
            Assert.That(options.SlidingInvisibilityTimeout, Is.EqualTo(TimeSpan.FromMinutes(3)), "Jobs:InvisibilityTimeout");
            Assert.That(options.QueuePollInterval, Is.EqualTo(TimeSpan.Zero), "blocking fetch, no polling delay");
            Assert.That(options.CommandBatchMaxTimeout, Is.EqualTo(TimeSpan.FromMinutes(5)));
            Assert.That(options.UseRecommendedIsolationLevel, Is.True);
            Assert.That(options.DisableGlobalLocks, Is.True);
            Assert.That(options.PrepareSchemaIfNecessary, Is.True, "Hangfire's tables are made on first start");
            Assert.That(options.SchemaName, Is.EqualTo("hangfire"));
        });
    }

    [Test]
    public void HangfirePostgreSql_SlidesItsInvisibilityTimeout_AndPollsOften_LongPollingOnlyWhenAsked()
    {
        var options = HangfireStorage.PostgreSqlOptions(new JobsOptions { InvisibilityTimeout = TimeSpan.FromSeconds(90), QueuePollInterval = TimeSpan.FromSeconds(2) });
        var defaults = HangfireStorage.PostgreSqlOptions(new JobsOptions());
        var longPolling = HangfireStorage.PostgreSqlOptions(new JobsOptions { LongPolling = true });

        Assert.Multiple(() =>
        {
            Assert.That(options.UseSlidingInvisibilityTimeout, Is.True);
            Assert.That(options.InvisibilityTimeout, Is.EqualTo(TimeSpan.FromSeconds(90)));
            Assert.That(defaults.EnableLongPolling, Is.False, "Jobs:LongPolling is off by default");
            Assert.That(defaults.QueuePollInterval, Is.EqualTo(TimeSpan.FromMilliseconds(200)));
            Assert.That(longPolling.EnableLongPolling, Is.True);
            Assert.That(options.QueuePollInterval, Is.EqualTo(TimeSpan.FromSeconds(2)));
            Assert.That(options.PrepareSchemaIfNecessary, Is.False, "installed before, under a lock that nodes starting together wait on");
            Assert.That(options.SchemaName, Is.EqualTo("hangfire"));
        });
    }
}
