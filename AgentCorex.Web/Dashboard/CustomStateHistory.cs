using System.Globalization;
using Hangfire.Common;
using Hangfire.Dashboard;

namespace AgentCorex.Web.Dashboard;

/// <summary>What a job's history shows of the data of the Timeout and Canceled states (see Jobs/JobStates.cs).</summary>
internal static class CustomStateHistory
{
    public static NonEscapedString Timeout(HtmlHelper html, IDictionary<string, string> data) =>
        data.TryGetValue("TimeoutMs", out var ms) && long.TryParse(ms, NumberStyles.None, CultureInfo.InvariantCulture, out var timeoutMs)
            ? new NonEscapedString($"<dl class=\"dl-horizontal\"><dt>Timeout:</dt><dd>{html.HtmlEncode(html.ToHumanDuration(TimeSpan.FromMilliseconds(timeoutMs), false))} ({timeoutMs} ms)</dd></dl>")
            : JobHistoryRenderer.DefaultRenderer(html, data);

    public static NonEscapedString Canceled(HtmlHelper html, IDictionary<string, string> data) =>
        data.TryGetValue("CanceledAt", out var at) && JobHelper.DeserializeNullableDateTime(at) is { } canceledAt
            ? new NonEscapedString($"<dl class=\"dl-horizontal\"><dt>Canceled at:</dt><dd>{AgentCorexPage.Time(canceledAt)}</dd></dl>")
            : JobHistoryRenderer.DefaultRenderer(html, data);
}
