using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using Hangfire.Common;
using Hangfire.Dashboard;
using Hangfire.Dashboard.Pages;

namespace AgentCorex.Web.Dashboard;

/// <summary>A page of AgentCorex's own inside Hangfire's layout (navigation, footer, scripts); every value it writes is encoded.</summary>
internal abstract class AgentCorexPage(string title) : RazorPage
{
    public override void Execute()
    {
        Layout = new LayoutPage(title);
        var html = new StringBuilder();
        Render(html);
        WriteLiteral(html.ToString());
    }

    protected abstract void Render(StringBuilder html);

    public static string Encode(string? text) => HtmlEncoder.Default.Encode(text ?? "");

    public static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// A moment in Hangfire's own way (<c>data-moment</c>: its script shows how long ago, with the browser's local
    /// time as the title), but written as ISO 8601 in UTC until the script runs, or where it does not: Hangfire's
    /// <see cref="HtmlHelper.RelativeTime"/> writes the server's culture's <c>11/30/2026 16:55:42</c>, with no zone.
    /// </summary>
    public static string Time(DateTime utc) =>
        $"<span data-moment=\"{Number(JobHelper.ToTimestamp(utc))}\">{utc.ToString("yyyy'-'MM'-'dd HH':'mm':'ss'Z'", CultureInfo.InvariantCulture)}</span>";
}
