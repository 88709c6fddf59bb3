using System.Text;

namespace AgentCorex.Web.Dashboard;

/// <summary>A list of ledger jobs (Timed out, Canceled, Interrupted), beside Hangfire's own lists in the Jobs sidebar.</summary>
internal sealed class EndedJobsPage(EndedJobsModel model) : AgentCorexPage(model.List.Title)
{
    protected override void Render(StringBuilder html)
    {
        var list = model.List;
        var pager = model.Pager;
        pager.BasePageUrl = Url.To(list.Path);
        html.Append("<div class=\"row\"><div class=\"col-md-3\">").Append(Html.JobsSidebar()).Append("</div><div class=\"col-md-9\">")
            .Append("<h1 id=\"page-title\" class=\"page-header\">").Append(Encode(list.Title)).Append("</h1>")
            .Append("<p class=\"text-muted\">").Append(Encode(Caption(model))).Append("</p>");
        if (pager.TotalRecordCount == 0)
        {
            html.Append("<div class=\"alert alert-info\">No jobs.</div></div></div>");
            return;
        }
        html.Append("<div class=\"js-jobs-list\"><div class=\"btn-toolbar btn-toolbar-top\">").Append(Html.PerPageSelector(pager)).Append("</div>")
            .Append("<div class=\"table-responsive\"><table class=\"table agentcorex-ended-jobs\" aria-describedby=\"page-title\"><thead><tr>")
            .Append("<th class=\"min-width\">Hangfire job</th><th>Job</th><th>Tool</th><th>Owner key</th><th>Reason</th><th class=\"align-right\">Ended</th>")
            .Append("</tr></thead><tbody>");
        foreach (var row in model.Rows)
        {
            html.Append("<tr data-job=\"").Append(Encode(row.JobId)).Append("\"><td class=\"min-width\">")
                .Append(row.HangfireId is null ? "<em>never started</em>"
                    : !row.HangfireKept ? "<em title=\"Hangfire no longer has this job; the ledger keeps it\">expired</em>"
                    : Html.JobIdLink(row.HangfireId).ToString())
                .Append("</td><td><code>").Append(Encode(row.JobId)).Append("</code></td>")
                .Append("<td><code>").Append(Encode(row.Tool)).Append("</code></td>")
                .Append("<td class=\"agentcorex-wrap\">").Append(Encode(row.Owner)).Append("</td>")
                .Append("<td class=\"agentcorex-wrap\">").Append(Encode(row.Reason)).Append("</td>")
                .Append("<td class=\"min-width align-right\">")
                .Append(row.EndedAt is { } ended ? Time(DateTime.SpecifyKind(ended, DateTimeKind.Utc)) : "")
                .Append("</td></tr>");
        }
        html.Append("</tbody></table></div>").Append(Html.Paginator(pager)).Append("</div></div></div>");
    }

    /// <summary>What the list is, and why a row may have no Hangfire job to open, as the storage in use keeps them.</summary>
    private static string Caption(EndedJobsModel model) =>
        "From the AgentCorex job ledger, the latest ended first. A job canceled before it started never had a Hangfire job of its own to show; "
        + $"a Hangfire job also expires {Duration(model.HangfireExpiration)} after it ends"
        + (model.HangfireMaxFinishedJobs is { } max ? $", once {Number(max)} jobs have ended after it" : "")
        + (model.HangfireForgetsOnRestart ? ", or at a restart of this embedded server," : "") + " while the ledger keeps it.";

    private static string Duration(TimeSpan span) =>
        span.TotalDays >= 1 && span.TotalDays % 1 == 0 ? Count((int)span.TotalDays, "day")
        : span.TotalHours >= 1 && span.TotalHours % 1 == 0 ? Count((int)span.TotalHours, "hour")
        : Count((int)Math.Ceiling(span.TotalMinutes), "minute");

    private static string Count(int count, string unit) => $"{count} {unit}{(count == 1 ? "" : "s")}";
}
