namespace AgentCorex.Web.Errors;

internal static class JsonPaths
{
    /// <summary>"$.a.b[0]" → "a.b[0]": how the contract names an argument.</summary>
    public static string ToArgument(string? path) => path switch
    {
        null or "" or "$" => "$",
        _ when path.StartsWith("$.", StringComparison.Ordinal) => path[2..],
        _ when path.StartsWith('$') => path[1..],
        _ => path,
    };
}
