namespace AgentCorex.Web.Docs;

/// <summary>
/// Where an action's 201 says the item it created is (its Location header), as a route of the API that reads it:
/// ApiExplorer cannot see a header the action sets, so <see cref="ResponseHeadersTransformer"/> documents it from this.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
internal sealed class CreatedLocationAttribute(string route) : Attribute
{
    public string Route { get; } = route;
}
