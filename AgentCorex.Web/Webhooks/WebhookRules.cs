namespace AgentCorex.Web.Webhooks;

public static class WebhookRules
{
    public const int MaxUrlLength = 2048;
}
