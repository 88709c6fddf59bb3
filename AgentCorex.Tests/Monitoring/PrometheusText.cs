using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace AgentCorex.Tests.Monitoring;

/// <summary>A scrape of /metrics, read as Prometheus text: series by name and labels.</summary>
public sealed partial class PrometheusText(string text)
{
    public string Text { get; } = text;

    public static async Task<PrometheusText> ScrapeAsync(HttpClient client)
    {
        var response = await client.GetAsync("/metrics");
        var text = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), text);
        return new PrometheusText(text);
    }

    /// <summary>The sum of the series of this name whose labels include all of these (0 when there is none).</summary>
    public double Value(string name, params (string Label, string Value)[] labels)
    {
        var total = 0.0;
        foreach (Match series in Series().Matches(Text))
        {
            if (series.Groups["name"].Value != name)
            {
                continue;
            }
            var present = series.Groups["labels"].Value;
            if (labels.All(l => present.Contains($"{l.Label}=\"{l.Value}\"", StringComparison.Ordinal)))
            {
                total += double.Parse(series.Groups["value"].Value, CultureInfo.InvariantCulture);
            }
        }
        return total;
    }

    /// <summary>Scrapes until <paramref name="condition"/> holds (the exporter caches a scrape briefly), failing after the deadline.</summary>
    public static async Task<PrometheusText> WaitForAsync(HttpClient client, Func<PrometheusText, bool> condition, TimeSpan? within = null)
    {
        var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(10));
        while (true)
        {
            var scrape = await ScrapeAsync(client);
            if (condition(scrape))
            {
                return scrape;
            }
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"/metrics did not show what was expected in time; last scrape:\n{scrape.Text}");
            }
            await Task.Delay(50);
        }
    }

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>[^}]*)\})? (?<value>\S+)", RegexOptions.Multiline)]
    private static partial Regex Series();
}
