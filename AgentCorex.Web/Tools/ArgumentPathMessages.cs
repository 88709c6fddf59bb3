using FluentValidation.Internal;

namespace AgentCorex.Web.Tools;

/// <summary>
/// A message names the argument as the error's <c>argument</c> does: FluentValidation's {PropertyName} is the member
/// alone (<c>'port'</c> for <c>target.port</c>, <c>'tags'</c> for <c>tags[1]</c>), and a client may show the message
/// without the argument. A name a rule gives itself (WithName), which is not its path's last member, is kept.
/// </summary>
internal sealed class ArgumentPathMessages : MessageFormatter
{
    public override string BuildMessage(string messageTemplate)
    {
        if (PlaceholderValues.TryGetValue("PropertyPath", out var value) && value is string { Length: > 0 } path
            && PlaceholderValues.TryGetValue(PropertyName, out var name) && name is string member && path != member
            && LastMember(path) == member)
        {
            AppendPropertyName(path);
        }
        return base.BuildMessage(messageTemplate);
    }

    /// <summary>"target.port" → "port", "tags[1]" → "tags", "hosts[primary].port" → "port".</summary>
    private static string LastMember(string path)
    {
        var end = path.Length;
        while (end > 0 && path[end - 1] == ']' && path.LastIndexOf('[', end - 1) is var open and >= 0)
        {
            end = open;
        }
        var member = path[..end];
        return member[(member.LastIndexOf('.') + 1)..];
    }
}
