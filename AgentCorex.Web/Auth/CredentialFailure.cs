namespace AgentCorex.Web.Auth;

/// <summary>How refused credentials came; each is a label of the failures' metric.</summary>
public enum CredentialScheme
{
    Bearer,
    Basic,
    Form,
    AccessToken,
}

/// <summary>
/// What was wrong with presented credentials: for the operator (the log, the metric), never for the client, whose 401
/// says the same whatever it is, so that it does not learn which key ids exist.
/// </summary>
public enum CredentialFault
{
    /// <summary>An Authorization header that holds no key in a scheme the route takes, or a key too long to check.</summary>
    Malformed,
    NoSuchKey,
    /// <summary>A stored key's id with another secret: a typo, or a guess at a known id.</summary>
    WrongSecret,
    Revoked,
    /// <summary>A valid key where only an admin key opens (the dashboard's 401, /metrics).</summary>
    NotAdmin,
}

/// <summary>Credentials a request presented, refused with 401.</summary>
public sealed record CredentialFailure(CredentialScheme Scheme, CredentialFault Fault)
{
    public string SchemeLabel => Scheme switch
    {
        CredentialScheme.Bearer => "bearer",
        CredentialScheme.Basic => "basic",
        CredentialScheme.Form => "form",
        _ => "access_token",
    };

    public string FaultLabel => Fault switch
    {
        CredentialFault.Malformed => "malformed",
        CredentialFault.NoSuchKey => "no_such_key",
        CredentialFault.WrongSecret => "wrong_secret",
        CredentialFault.Revoked => "revoked",
        _ => "not_admin",
    };

    public string FaultInWords => Fault switch
    {
        CredentialFault.Malformed => "malformed credentials",
        CredentialFault.NoSuchKey => "no such key",
        CredentialFault.WrongSecret => "wrong secret for an existing key",
        CredentialFault.Revoked => "revoked key",
        _ => "not an admin key",
    };
}

/// <summary>What a presented key came to: its identity, or (<see cref="Identity"/> null) what was wrong with it.</summary>
public readonly record struct ApiKeyCheck(ApiKeyIdentity? Identity, CredentialFault Fault)
{
    public static ApiKeyCheck Valid(ApiKeyIdentity identity) => new(identity, default);

    public static ApiKeyCheck Refused(CredentialFault fault) => new(null, fault);

    /// <summary>Why the key does not open what only admin keys open; null when it is an admin's.</summary>
    public CredentialFault? AdminFault => Identity switch
    {
        { IsAdmin: true } => null,
        null => Fault,
        _ => CredentialFault.NotAdmin,
    };
}
