using System.ComponentModel.DataAnnotations;

namespace AgentCorex.Web.Execution;

public sealed class ExecutionOptions
{
    public const string Section = "Execution";

    /// <summary>The timeout of a direct execution that names none.</summary>
    [Range(1, int.MaxValue)]
    public int DefaultTimeoutMs { get; set; } = 30_000;

    /// <summary>The longest timeout_ms a direct execution may ask for.</summary>
    [Range(1, int.MaxValue)]
    public int MaxTimeoutMs { get; set; } = 300_000;
}
