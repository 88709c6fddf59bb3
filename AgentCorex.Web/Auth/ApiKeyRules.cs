namespace AgentCorex.Web.Auth;

public static class ApiKeyRules
{
    public const int MaxNameLength = 100;

    /// <summary>
    /// A name without control characters (char.IsControl's: U+0000 to U+001F, U+007F to U+009F), which would corrupt
    /// listings, logs and terminals. A pattern rather than a check in code, so that the OpenAPI document states it;
    /// (?!\n) because .NET's $ also matches before a final newline.
    /// </summary>
    public const string NamePattern = @"^[^\u0000-\u001F\u007F-\u009F]*(?!\n)$";

    public static readonly string[] Plans = ["free", "pro", "enterprise"];
}
