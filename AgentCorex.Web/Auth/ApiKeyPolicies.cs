namespace AgentCorex.Web.Auth;

public static class ApiKeyPolicies
{
    public const string Admin = "admin";
}
