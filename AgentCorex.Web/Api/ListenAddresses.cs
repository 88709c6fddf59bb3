using System.Globalization;

namespace AgentCorex.Web.Api;

/// <summary>
/// The addresses the server is told to listen on, checked before anything starts. Kestrel reads them only as it binds,
/// after the database's migrations: a malformed one (<c>--urls notaurl</c>, a port past 65535) crashed the process
/// with a stack trace there, and a port list it cannot read (<c>ASPNETCORE_HTTP_PORTS=abc</c>) listened on port 80 of
/// every interface.
/// </summary>
internal static class ListenAddresses
{
    private const string Example = "such as http://localhost:5080 or https://0.0.0.0:443";

    public static void Check(IConfiguration configuration)
    {
        foreach (var address in Split(configuration["urls"]))
        {
            RefuseUnreadable("Urls (--urls, ASPNETCORE_URLS)", address);
        }
        foreach (var (key, name) in new[] { ("http_ports", "ASPNETCORE_HTTP_PORTS"), ("https_ports", "ASPNETCORE_HTTPS_PORTS") })
        {
            foreach (var port in Split(configuration[key]).Where(port => !IsPort(port)))
            {
                throw new StartupRefusedException($"{name} ({key}) names '{port}', which is not a port: a number from 0 to 65535 (several are separated by ';').");
            }
        }
        foreach (var endpoint in configuration.GetSection("Kestrel:Endpoints").GetChildren())
        {
            var url = endpoint.GetSection("Url");
            if (string.IsNullOrWhiteSpace(url.Value))
            {
                throw new StartupRefusedException($"{url.Path} is not set: each of Kestrel:Endpoints needs an address {Example}.");
            }
            RefuseUnreadable(url.Path, url.Value);
        }
    }

    private static void RefuseUnreadable(string setting, string address)
    {
        if (Unreadable(address) is { } why)
        {
            throw new StartupRefusedException($"{setting} names '{address}', {why}.");
        }
    }

    private static string? Unreadable(string address)
    {
        BindingAddress parsed;
        try
        {
            parsed = BindingAddress.Parse(address);
        }
        catch (FormatException)
        {
            return $"which is not an address {Example}";
        }
        if (!parsed.Scheme.Equals("http", StringComparison.OrdinalIgnoreCase) && !parsed.Scheme.Equals("https", StringComparison.OrdinalIgnoreCase))
        {
            return "whose scheme is neither http nor https";
        }
        if (parsed.IsUnixPipe || parsed.IsNamedPipe)
        {
            return null;
        }
        // BindingAddress reads a port it cannot parse as none (http://*:abc is port 80) and takes one past 65535.
        var start = address.IndexOf("://", StringComparison.Ordinal) + 3;
        var end = address.IndexOf('/', start);
        var authority = end < 0 ? address[start..] : address[start..end];
        var colon = authority.LastIndexOf(':');
        return colon > authority.LastIndexOf(']') && !IsPort(authority[(colon + 1)..]) ? "whose port is not a number from 0 to 65535" : null;
    }

    private static bool IsPort(string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port <= 65535;

    /// <summary>As the host splits them: on ';', each trimmed, the empty ones left out.</summary>
    private static string[] Split(string? addresses) =>
        addresses?.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [];
}
