using Microsoft.Data.Sqlite;
using static SQLitePCL.raw;

namespace AgentCorex.Web.Storage;

/// <summary>
/// The embedded database's file, which must stay the file this process opened. Deleted, moved away or replaced (an
/// operator's rm, a backup copied over it) while the server runs, the connections SQLite has open go on writing to the
/// file they opened, which no longer has that name: every job accepted from then on would be missing at the next
/// start, while connections opened later find another file or none. Once gone, it stays gone for this process: the
/// writer refuses every write as the database being unavailable, and <see cref="EmbeddedDatabaseWatch"/> stops the
/// server, whose next start takes the file it then finds.
/// </summary>
public sealed class EmbeddedDatabaseFile(string path)
{
    private volatile bool gone;
    private string? held;

    public string Path => path;

    /// <summary>Whether the file is known to be gone, or no longer has its name: a stat, for every turn of the writer.</summary>
    public bool IsGone => gone || (gone = !File.Exists(path));

    /// <summary>As <see cref="IsGone"/>, and also a file this process holds open whose name now belongs to another (replaced): for the watch.</summary>
    public bool Check() => IsGone || (gone = HeldButUnlinked());

    /// <summary>What a write is refused with once the file is gone: unavailable, as a database that cannot be opened (DatabaseFailures).</summary>
    public SqliteException Refusal() =>
        new($"SQLite Error 14: the database file '{path}' was deleted, moved or replaced while the server ran", SQLITE_CANTOPEN);

    /// <summary>
    /// Linux names a file that lost its name "(deleted)" among the process's open files; elsewhere a replacement goes
    /// unseen. One descriptor of the file is looked at each time, and all of them only when that one was closed: with
    /// thousands of streams open, a scan of every descriptor a second cost a few percent of a core.
    /// </summary>
    private bool HeldButUnlinked()
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }
        var unlinked = path + " (deleted)";
        var seen = held is null ? null : LinkOf(held);
        if (seen == path || seen == unlinked)
        {
            return seen == unlinked;
        }
        held = null;
        foreach (var descriptor in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            var target = LinkOf(descriptor);
            if (target == unlinked)
            {
                return true;
            }
            if (target == path)
            {
                held ??= descriptor;
            }
        }
        return false;
    }

    private static string? LinkOf(string descriptor)
    {
        try
        {
            return new FileInfo(descriptor).LinkTarget;
        }
        catch (IOException)
        {
            return null; // closed meanwhile
        }
    }
}
