namespace AgentCorex.Web.Auth;

/// <summary>
/// The endpoint also takes its API key as <c>?access_token=</c>, for browsers' EventSource, which cannot set
/// headers. Only where marked: a key in a URL ends up in histories and proxies, so nowhere else takes one.
/// </summary>
[AttributeUsage(AttributeTargets.Method | AttributeTargets.Class)]
public sealed class AccessTokenQueryAttribute : Attribute
{
    public const string Parameter = "access_token";
}
