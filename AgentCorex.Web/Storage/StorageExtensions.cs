using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace AgentCorex.Web.Storage;

public static class StorageExtensions
{
    /// <summary>The app's database, chosen by Storage:Provider; its schema is brought up to date at start.</summary>
    public static WebApplicationBuilder AddStorage(this WebApplicationBuilder builder)
    {
        var options = StorageOptions.From(builder.Configuration);
        var connectionString = builder.Configuration.GetConnectionString("AgentCorex") ?? StorageOptions.DefaultConnectionString;

        switch (options.Provider)
        {
            case StorageProvider.Embedded:
                var sqlite = EmbeddedConnectionString(connectionString, builder.Environment.ContentRootPath);
                var synchronous = options.SqliteSynchronous.ToUpperInvariant() is "NORMAL" or "FULL" or "EXTRA"
                    ? options.SqliteSynchronous.ToUpperInvariant()
                    : throw new InvalidOperationException($"Storage:SqliteSynchronous must be NORMAL, FULL or EXTRA, not '{options.SqliteSynchronous}'.");
                builder.Services.AddDbContextPool<AgentCorexDb>(db => db.UseSqlite(sqlite).AddInterceptors(new SqlitePragmas(synchronous)));
                builder.Services.AddSingleton(new WriteGate(serialize: true));
                break;
            default:
                throw new InvalidOperationException($"Storage:Provider '{options.Provider}' is not supported.");
        }

        builder.Services.AddHostedService<StorageInitializer>();
        return builder;
    }

    /// <summary>A relative SQLite path is taken from the content root, and its folder is made on first start.</summary>
    private static string EmbeddedConnectionString(string connectionString, string contentRoot)
    {
        var csb = new SqliteConnectionStringBuilder(connectionString);
        if (csb.DataSource is not (":memory:" or "") && csb.Mode != SqliteOpenMode.Memory)
        {
            csb.DataSource = Path.GetFullPath(csb.DataSource, contentRoot);
            Directory.CreateDirectory(Path.GetDirectoryName(csb.DataSource)!);
        }
        return csb.ToString();
    }
}
