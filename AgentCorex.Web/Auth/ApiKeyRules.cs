namespace AgentCorex.Web.Auth;

public static class ApiKeyRules
{
    public const int MaxNameLength = 100;

    public static readonly string[] Plans = ["free", "pro", "enterprise"];
}
