using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;
using AgentCorex.Tests.Infrastructure;

namespace AgentCorex.Tests.Dashboard;

/// <summary>Reading the dashboard's pages as an operator does: the admin key as the Basic password.</summary>
public static partial class DashboardPages
{
    public static HttpClient CreateDashboardClient(this Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactory<Program> app)
    {
        var client = app.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue(
            "Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("ops:" + AgentCorexApp.AdminKey)));
        return client;
    }

    public static async Task<string> GetPageAsync(this HttpClient dashboard, string path)
    {
        var response = await dashboard.GetAsync("/hangfire" + path);
        var html = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), html);
        return html;
    }

    /// <summary>Polls a page until it shows what is expected (the ledger and Hangfire change a moment apart).</summary>
    public static async Task<string> WaitForPageAsync(this HttpClient dashboard, string path, Func<string, bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            var html = await dashboard.GetPageAsync(path);
            if (condition(html))
            {
                return html;
            }
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"{path} did not show {what} in time:\n{html}");
            }
            await Task.Delay(50);
        }
    }

    /// <summary>A cell of the Tools page: the text of column <paramref name="column"/> in the row of <paramref name="tool"/> (as encoded in the page).</summary>
    public static string? ToolCell(string html, string encodedTool, string column)
    {
        var row = Regex.Match(html, $"<tr data-tool=\"{Regex.Escape(encodedTool)}\">(.*?)</tr>", RegexOptions.Singleline);
        return row.Success ? Regex.Match(row.Groups[1].Value, $"data-column=\"{column}\">([^<]*)</td>").Groups[1].Value : null;
    }

    /// <summary>The value of a sidebar or menu metric as rendered.</summary>
    public static int? Metric(string html, string name)
    {
        var match = Regex.Match(html, $"data-metric=\"{Regex.Escape(name)}\"[^>]*>([0-9,]*)</span>");
        return match.Success ? int.Parse(match.Groups[1].Value.Replace(",", "", StringComparison.Ordinal), System.Globalization.CultureInfo.InvariantCulture) : null;
    }

    /// <summary>The row of a ledger job on a Timed out or Canceled list.</summary>
    public static string? ListedRow(string html, string jobId)
    {
        var row = Regex.Match(html, $"<tr data-job=\"{Regex.Escape(jobId)}\">(.*?)</tr>", RegexOptions.Singleline);
        return row.Success ? row.Groups[1].Value : null;
    }
}
