using System.Globalization;
using System.Text;

namespace AgentCorex.Web.Dashboard;

/// <summary>The dashboard's Tools page: a row per tool, with today's jobs, success rate and p95, and its work now.</summary>
internal sealed class ToolsPage(ToolsOverviewModel model) : AgentCorexPage(Title)
{
    public const string Title = "Tools";
    public const string Path = "/tools";

    protected override void Render(StringBuilder html)
    {
        html.Append("<div class=\"row\"><div class=\"col-md-12\">")
            .Append("<h1 id=\"page-title\" class=\"page-header\">Tools</h1>")
            .Append("<p class=\"text-muted\">Today is the UTC day since ")
            .Append(Encode(model.Since.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture)))
            .Append(": jobs created since then; success rate (completed of finished) and p95 execution time over the jobs that finished since then. Running and queued are now.</p>");
        if (model.Rows.Count == 0)
        {
            html.Append("<div class=\"alert alert-info\">No tools.</div></div></div>");
            return;
        }
        html.Append("<div class=\"table-responsive\"><table class=\"table agentcorex-tools\" aria-describedby=\"page-title\"><thead><tr>")
            .Append("<th>Tool</th><th class=\"align-right\">Jobs today</th><th class=\"align-right\">Success rate</th>")
            .Append("<th class=\"align-right\">p95 execution time</th><th class=\"align-right\">Running now</th><th class=\"align-right\">Queued now</th>")
            .Append("</tr></thead><tbody>");
        foreach (var row in model.Rows)
        {
            var finished = row.FinishedToday;
            html.Append("<tr data-tool=\"").Append(Encode(row.Tool)).Append("\">")
                .Append("<td class=\"word-break\"><code>").Append(Encode(row.Tool)).Append("</code></td>");
            Cell(html, "jobs-today", Number(row.JobsToday));
            Cell(html, "success-rate", finished.TotalJobs == 0 ? "–" : (finished.SuccessRate * 100).ToString("0.#", CultureInfo.InvariantCulture) + " %");
            Cell(html, "p95", finished.P95ExecutionTimeMs is { } p95 ? Number(p95) + " ms" : "–");
            Cell(html, "running-now", Number(row.RunningNow));
            Cell(html, "queued-now", Number(row.QueuedNow));
            html.Append("</tr>");
        }
        html.Append("</tbody></table></div></div></div>");
    }

    private static void Cell(StringBuilder html, string column, string text) =>
        html.Append("<td class=\"align-right\" data-column=\"").Append(column).Append("\">").Append(Encode(text)).Append("</td>");
}
