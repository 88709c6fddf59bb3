using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentCorex.Web.Api;
using AgentCorex.Web.Execution;
using AgentCorex.Web.Jobs;
using AgentCorex.Web.Storage;
using Hangfire.Dashboard;
using Microsoft.EntityFrameworkCore;
using static AgentCorex.Web.Dashboard.AgentCorexPage;

namespace AgentCorex.Web.Dashboard;

/// <summary>
/// The AgentCorex panel on a Hangfire job's page: what the ledger knows of the job (tool, owner key, arguments
/// with secrets redacted, progress while it runs, result or error). Hangfire calls job page renderers
/// synchronously, in the middle of its own synchronous reads of the job, so the ledger is read so too.
/// </summary>
internal static class JobDetailsPanel
{
    public static NonEscapedString Render(JobDetailsRendererDto dto)
    {
        if (dto.JobDetails.Job?.Args is not [string jobId, ..])
        {
            return new NonEscapedString("");
        }
        var db = dto.Page.Context.GetHttpContext().RequestServices.GetRequiredService<AgentCorexDb>();
        var job = db.Jobs.AsNoTracking().SingleOrDefault(j => j.Id == jobId);
        if (job is null)
        {
            return new NonEscapedString("");
        }
        var owner = db.ApiKeys.Where(k => k.Id == job.OwnerKeyId).Select(k => k.Name).SingleOrDefault() ?? job.OwnerKeyId;

        var html = new StringBuilder("<div class=\"agentcorex-job\" id=\"agentcorex-job\"><h3>AgentCorex</h3><table class=\"table table-condensed\"><tbody>");
        Row(html, "Job", $"<code>{Encode(job.Id)}</code>");
        Row(html, "Tool", $"<code>{Encode(job.Tool)}</code>");
        Row(html, "Owner key", Encode(owner));
        Row(html, "Status", $"<span data-status=\"{Encode(job.Status)}\">{Encode(job.Status)}</span>");
        Row(html, "Arguments", Json(job.Arguments));
        if (job.Status == JobStatus.Running)
        {
            dto.JobDetails.Properties.TryGetValue(JobProgressPublisher.ParameterName, out var stored);
            Row(html, "Progress", ProgressBar(stored is null ? null : JsonSerializer.Deserialize<ToolProgress>(stored, ApiJson.Options)));
        }
        if (job.ExecutionTimeMs is { } ms)
        {
            Row(html, "Execution time", $"{Number(ms)} ms");
        }
        if (job.Result is not null)
        {
            Row(html, "Result", Json(job.Result));
        }
        if (job.ErrorCode is not null)
        {
            Row(html, "Error", $"<code class=\"agentcorex-error-code\">{Encode(job.ErrorCode)}</code> {Encode(job.ErrorMessage is null ? null : SecretValues.Redact(job.ErrorMessage))}"
                + (job.ErrorDetails is null ? "" : Json(job.ErrorDetails)));
        }
        html.Append("</tbody></table></div>");
        return new NonEscapedString(html.ToString());
    }

    /// <summary>Bootstrap's progress bar, which the dashboard's stylesheet has, with the tool's last report.</summary>
    private static string ProgressBar(ToolProgress? progress)
    {
        var percentage = Math.Clamp(progress?.Percentage ?? 0, 0, 100);
        var text = progress is null
            ? "no progress reported yet"
            : $"current step <code>{Encode(progress.CurrentStep)}</code> · total steps {Number(progress.TotalSteps)} · {Number(percentage)} %";
        return $"""<div class="progress"><div class="progress-bar progress-bar-striped active" role="progressbar" aria-valuenow="{Number(percentage)}" aria-valuemin="0" aria-valuemax="100" style="width: {Number(percentage)}%; min-width: 2em;">{Number(percentage)} %</div></div><div class="text-muted agentcorex-progress-text">{text}</div>""";
    }

    /// <summary>JSON from the ledger, indented, with the values of secret-named keys hidden (a result may carry them too).</summary>
    private static string Json(string json)
    {
        var redacted = JsonNode.Parse(ArgumentRedaction.Redact(json))?.ToJsonString(Indented) ?? "null";
        return $"<pre><code>{Encode(redacted)}</code></pre>";
    }

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static void Row(StringBuilder html, string label, string content) =>
        html.Append("<tr><th class=\"width-15\">").Append(label).Append("</th><td>").Append(content).Append("</td></tr>");
}
