namespace AgentCorex.Web.Storage;

/// <summary>
/// The locks AgentCorex takes in a server database to keep its nodes apart, in one table so that no two uses
/// share a key by accident. PostgreSQL advisory locks take two-part keys; the first part marks the key as
/// AgentCorex's ("ACXH", "ACXS" in ASCII), so no other user of advisory locks in the database meets ours.
/// SQL Server application locks are named.
/// </summary>
public static class DatabaseLocks
{
    /// <summary>
    /// "ACXH": what nodes do one at a time (schema installs, migrations, the bootstrap admin key at start; revocations
    /// of admin keys); the second part says which.
    /// </summary>
    public const int SchemaClass = 0x41435848;

    /// <summary>With <see cref="SchemaClass"/>: Hangfire.PostgreSql's schema.</summary>
    public const int HangfireSchema = 1;

    /// <summary>With <see cref="SchemaClass"/>: AgentCorex's own tables (EF Core migrations).</summary>
    public const int AgentCorexSchema = 2;

    /// <summary>With <see cref="SchemaClass"/>: the bootstrap admin key, made by the first node to start.</summary>
    public const int BootstrapAdminKey = 3;

    /// <summary>With <see cref="SchemaClass"/>: a revocation of an admin key, which must not take the last one.</summary>
    public const int AdminKeyRevocation = 4;

    /// <summary>"ACXS": one API key's execution slots; the second part is <c>hashtext(key_id)</c>.</summary>
    public const int SlotClass = 0x41435853;

    /// <summary>SQL Server: AgentCorex's own migrations.</summary>
    public const string SqlServerMigrations = "agentcorex_migrations";

    /// <summary>SQL Server: the bootstrap admin key.</summary>
    public const string SqlServerBootstrapAdminKey = "agentcorex_bootstrap_admin_key";

    /// <summary>SQL Server: a revocation of an admin key.</summary>
    public const string SqlServerAdminKeyRevocation = "agentcorex_admin_key_revocation";

    /// <summary>SQL Server: one API key's execution slots, followed by its key id.</summary>
    public const string SqlServerSlotsPrefix = "agentcorex_slots_";
}
