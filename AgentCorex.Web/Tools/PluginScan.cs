namespace AgentCorex.Web.Tools;

/// <summary>
/// What the start's scan of the plugins passed over (types that need an assembly the server does not have, files beside a
/// plugin named alone that cannot be loaded; a folder's
/// files that are no .NET assembly, <paramref name="NotAssemblies"/>), for the catalog to log once it has a logger: the
/// scan runs before the host is built.
/// </summary>
public sealed record PluginScan(IReadOnlyList<string> PassedOver, IReadOnlyList<string> NotAssemblies);
