using System.Reflection;

namespace AgentCorex.Web.Docs;

/// <summary>
/// The values a field takes, as the list the server keeps them in: a static member of <paramref name="owner"/>
/// (<c>All</c> unless named), such as <c>JobEventNames.All</c> or <c>ErrorCodes.All</c>, which an attribute's constant
/// arguments (<see cref="System.ComponentModel.DataAnnotations.AllowedValuesAttribute"/>) cannot name.
/// <see cref="AllowedValuesSchemaTransformer"/> publishes them as the field's enum, or its items' for a list.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class PublishedValuesAttribute(Type owner, string member = "All") : Attribute
{
    public IEnumerable<string> Values =>
        (owner.GetField(member, BindingFlags.Public | BindingFlags.Static)?.GetValue(null)
            ?? owner.GetProperty(member, BindingFlags.Public | BindingFlags.Static)?.GetValue(null)) as IEnumerable<string>
        ?? throw new InvalidOperationException($"{owner.Name}.{member} is no public static list of strings");
}
