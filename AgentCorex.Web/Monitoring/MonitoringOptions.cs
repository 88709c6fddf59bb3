using System.ComponentModel.DataAnnotations;

namespace AgentCorex.Web.Monitoring;

public sealed class MonitoringOptions
{
    public const string Section = "Monitoring";

    /// <summary>
    /// A token a Prometheus server may scrape /metrics with instead of an admin key (Bearer); unset, only admin keys
    /// may. Long enough not to be guessed.
    /// </summary>
    [MinLength(24)]
    [MaxLength(256)]
    public string? ScrapeToken { get; set; }
}
