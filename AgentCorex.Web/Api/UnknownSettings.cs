using System.ComponentModel;
using System.Reflection;

namespace AgentCorex.Web.Api;

/// <summary>A key of one of the server's own sections that no setting takes, and the setting it is closest to, if one is close.</summary>
internal sealed record UnknownSetting(string Path, string? Closest);

/// <summary>
/// Keys of the server's own sections that no setting takes (<c>Jobs:WorkerCuont=4</c> in appsettings.json,
/// <c>Jobs__WorkerCuont</c>, <c>--Jobs:WorkerCuont</c>): the binder passes over them without a word, and the operator
/// believes a setting applies that does not. Each is logged once at start as a Warning, named with the closest setting
/// when one is a letter or two away, never with its value (it may be a secret). A Warning, not a refusal: during a
/// rolling upgrade a configuration shared by every node carries the newer build's settings, which the older nodes must
/// still start with. Sections read by others (Logging, Kestrel, ConnectionStrings, AllowedHosts) are theirs to check.
/// </summary>
internal sealed partial class UnknownSettings
{
    /// <summary>Edits (a letter added, dropped, changed, or two swapped) within which a known setting is offered.</summary>
    private const int MaxEdits = 2;

    /// <summary>
    /// The server's sections and the options classes each is bound to: every class of this assembly with a
    /// <c>const string Section</c>, as every options class has, so a section added later is checked too.
    /// </summary>
    public static IReadOnlyDictionary<string, Type[]> Sections { get; } = SectionsOf(typeof(UnknownSettings).Assembly.GetTypes());

    /// <summary>
    /// The types' sections, each with every type that names it: two classes may bind one section (a feature's own
    /// settings beside another's), and a start that this check, a Warning only, stopped on their meeting
    /// (TypeInitializationException) would be worse than any misspelt key.
    /// </summary>
    internal static IReadOnlyDictionary<string, Type[]> SectionsOf(IEnumerable<Type> types) => types
        .Select(type => (Type: type, Field: type.GetField("Section", BindingFlags.Public | BindingFlags.Static)))
        .Where(s => s.Field is { IsLiteral: true } && s.Field.FieldType == typeof(string))
        .GroupBy(s => (string)s.Field!.GetRawConstantValue()!, s => s.Type, StringComparer.OrdinalIgnoreCase)
        .ToDictionary(g => g.Key, g => g.ToArray(), StringComparer.OrdinalIgnoreCase);

    public static List<UnknownSetting> In(IConfiguration configuration) => In(configuration, Sections);

    /// <summary>The keys of <paramref name="sections"/> no setting of any of their types takes.</summary>
    internal static List<UnknownSetting> In(IConfiguration configuration, IReadOnlyDictionary<string, Type[]> sections) =>
        [.. sections.SelectMany(section => UnknownProperties(configuration.GetSection(section.Key), section.Value))];

    /// <summary>Logs each unknown key of <paramref name="configuration"/>, one Warning each.</summary>
    public static void Warn(IConfiguration configuration, ILogger logger)
    {
        foreach (var unknown in In(configuration))
        {
            if (unknown.Closest is { } closest)
            {
                LogUnknownNear(logger, unknown.Path, closest);
            }
            else
            {
                LogUnknown(logger, unknown.Path);
            }
        }
    }

    /// <summary>
    /// The keys under <paramref name="section"/> that the binder passes over when it binds <paramref name="type"/>: under
    /// a value, every key; under a list or a dictionary, none of the entries (any key is one), but what their own type
    /// does not take; under a class, the keys that name none of its properties.
    /// </summary>
    private static IEnumerable<UnknownSetting> Unknown(IConfigurationSection section, Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (IsValue(type))
        {
            return section.GetChildren().Select(child => new UnknownSetting(child.Path, null));
        }
        if (EntryType(type) is { } entry)
        {
            return section.GetChildren().SelectMany(child => Unknown(child, entry));
        }
        return UnknownProperties(section, [type]);
    }

    /// <summary>The keys under <paramref name="section"/> that name no property of any of <paramref name="types"/>.</summary>
    private static IEnumerable<UnknownSetting> UnknownProperties(IConfigurationSection section, Type[] types)
    {
        var settings = Settings(types);
        return section.GetChildren().SelectMany(child => settings.TryGetValue(child.Key, out var setting)
            ? Unknown(child, setting)
            : [new UnknownSetting(child.Path, Closest(child.Key, settings.Keys) is { } closest ? $"{section.Path}:{closest}" : null)]);
    }

    /// <summary>A type the binder reads from one string (a number, a TimeSpan, an enum), as it decides.</summary>
    private static bool IsValue(Type type) => type == typeof(string) || TypeDescriptor.GetConverter(type).CanConvertFrom(typeof(string));

    /// <summary>The type of a dictionary's values or a list's items.</summary>
    private static Type? EntryType(Type type)
    {
        if (type.IsArray)
        {
            return type.GetElementType();
        }
        var generics = type.GetInterfaces().Prepend(type).Where(i => i.IsGenericType).ToList();
        return generics.FirstOrDefault(i => i.GetGenericTypeDefinition() is var d && (d == typeof(IDictionary<,>) || d == typeof(IReadOnlyDictionary<,>)))
                ?.GetGenericArguments()[1]
            ?? generics.FirstOrDefault(i => i.GetGenericTypeDefinition() == typeof(IEnumerable<>))?.GetGenericArguments()[0];
    }

    /// <summary>
    /// The properties the binder fills, by the key it reads each from (case aside, as it reads them): of every type, the
    /// first type's where two take one key.
    /// </summary>
    private static Dictionary<string, Type> Settings(Type[] types) => types
        .SelectMany(type => type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        .Where(p => p.GetIndexParameters().Length == 0 && p.GetMethod is not null)
        .Select(p => (Key: p.GetCustomAttribute<ConfigurationKeyNameAttribute>()?.Name ?? p.Name, p.PropertyType))
        .DistinctBy(p => p.Key, StringComparer.OrdinalIgnoreCase)
        .ToDictionary(p => p.Key, p => p.PropertyType, StringComparer.OrdinalIgnoreCase);

    private static string? Closest(string key, IEnumerable<string> settings) => settings
        .Select(setting => (Setting: setting, Edits: Edits(key, setting)))
        .Where(s => s.Edits <= MaxEdits && s.Edits < key.Length / 2)
        .OrderBy(s => s.Edits)
        .Select(s => s.Setting)
        .FirstOrDefault();

    /// <summary>The optimal string alignment distance, case aside: WorkerCuont is one edit from WorkerCount.</summary>
    private static int Edits(string a, string b)
    {
        a = a.ToUpperInvariant();
        b = b.ToUpperInvariant();
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }
        for (var j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }
        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                }
            }
        }
        return d[a.Length, b.Length];
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Setting} is no setting of this server, and is ignored: did you mean {Closest}?")]
    private static partial void LogUnknownNear(ILogger logger, string setting, string closest);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Setting} is no setting of this server, and is ignored (README, Configuration)")]
    private static partial void LogUnknown(ILogger logger, string setting);
}
