using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
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
}
