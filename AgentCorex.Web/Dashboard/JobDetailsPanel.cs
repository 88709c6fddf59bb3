using System.Text;
using System.Text.Encodings.Web;
using AgentCorex.Web.Jobs;
using AgentCorex.Web.Storage;
using Hangfire.Dashboard;

namespace AgentCorex.Web.Dashboard;

/// <summary>The AgentCorex panel on a Hangfire job's page: what the ledger knows of the job, arguments redacted.</summary>
internal static class JobDetailsPanel
{
    public static NonEscapedString Render(JobDetailsRendererDto dto)
    {
        if (dto.JobDetails.Job?.Args is not [string jobId, ..])
        {
            return new NonEscapedString("");
        }
        var services = dto.Page.Context.GetHttpContext().RequestServices;
        var db = services.GetRequiredService<AgentCorexDb>();
        var job = db.Jobs.Find(jobId);
        if (job is null)
        {
            return new NonEscapedString("");
        }
        var owner = db.ApiKeys.Find(job.OwnerKeyId)?.Name ?? job.OwnerKeyId;
        dto.JobDetails.Properties.TryGetValue(JobProgressPublisher.ParameterName, out var progress);

        var html = new StringBuilder("<h3>AgentCorex</h3><table class=\"table table-condensed\"><tbody>");
        Row(html, "Job", job.Id);
        Row(html, "Tool", job.Tool);
        Row(html, "Owner key", owner);
        Row(html, "Status", job.Status);
        Row(html, "Arguments", ArgumentRedaction.Redact(job.Arguments), code: true);
        if (progress is not null)
        {
            Row(html, "Progress", progress, code: true);
        }
        if (job.Result is not null)
        {
            Row(html, "Result", job.Result, code: true);
        }
        if (job.ErrorCode is not null)
        {
            Row(html, "Error", $"{job.ErrorCode}: {job.ErrorMessage}");
        }
        html.Append("</tbody></table>");
        return new NonEscapedString(html.ToString());
    }

    private static void Row(StringBuilder html, string label, string value, bool code = false)
    {
        var encoded = HtmlEncoder.Default.Encode(value);
        html.Append("<tr><th>").Append(label).Append("</th><td>")
            .Append(code ? $"<code>{encoded}</code>" : encoded)
            .Append("</td></tr>");
    }
}
