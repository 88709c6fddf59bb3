using System.Text.Encodings.Web;
using System.Text.Json;
using AgentCorex.Web.Monitoring;
using AgentCorex.Web.Storage;
using Microsoft.EntityFrameworkCore;

namespace AgentCorex.Web.Auth;

/// <summary>
/// A fresh server must be usable: with no Auth:AdminKey and no admin key stored, the first start creates
/// one and prints it once to the console (never through the logger). Under Logging:Format=json the console is the
/// log's stream, which parsers read a JSON object a line: the banner is one such line there. The nodes of a cluster
/// starting together on a fresh database look and create one at a time, so only one key is made.
/// It is made once the server listens (the host's started step, after every service's start, the server's last): made
/// before, a start that then failed (an address in use) had made and printed it, and the next start, finding one,
/// printed none, so an operator who missed the failed start's output never saw it.
/// </summary>
internal sealed class AdminKeyBootstrap(IServiceScopeFactory scopes, ApiKeyAuthenticator authenticator, TimeProvider time, IConfiguration configuration)
    : IHostedLifecycleService
{
    private const string Shown = "AgentCorex created an admin API key. It is shown only this once; keep it safe";
    private const string OwnKey = "set Auth:AdminKey to use a key of your own instead";

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StartedAsync(CancellationToken cancellationToken)
    {
        if (authenticator.HasConfiguredAdminKey)
        {
            return;
        }
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
        await using var alone = await ClusterLock.TakeAsync(db, DatabaseLocks.BootstrapAdminKey, DatabaseLocks.SqlServerBootstrapAdminKey, cancellationToken);
        if (await db.ApiKeys.AnyAsync(k => k.IsAdmin && k.RevokedAt == null, cancellationToken))
        {
            return;
        }
        var (keyId, apiKey, hash) = ApiKeySecrets.Generate();
        db.ApiKeys.Add(new ApiKey
        {
            Id = keyId,
            Name = "bootstrap admin",
            Plan = "enterprise",
            IsAdmin = true,
            SecretHash = hash,
            CreatedAt = time.GetUtcNow().UtcDateTime,
        });
        await db.SaveChangesAsync(cancellationToken);
        await Console.Out.WriteLineAsync(LogFormatExtensions.IsJson(configuration) ? JsonBanner(apiKey) : $"""

            {Shown}:

                {apiKey}

            ({OwnKey})

            """);
    }

    /// <summary>The banner as the JSON console log writes a line: its fields, and the key in State.</summary>
    private string JsonBanner(string apiKey)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteString("Timestamp", time.GetUtcNow().UtcDateTime.ToString(LogFormatExtensions.JsonTimestampFormat, System.Globalization.CultureInfo.InvariantCulture));
            json.WriteNumber("EventId", 0);
            json.WriteString("LogLevel", "Warning");
            json.WriteString("Category", typeof(AdminKeyBootstrap).FullName);
            json.WriteString("Message", $"{Shown} ({OwnKey})");
            json.WriteStartObject("State");
            json.WriteString("AdminKey", apiKey);
            json.WriteEndObject();
            // Every line has the console formatter's fields, so that a reader need not tell the banner apart: it has no scope.
            json.WriteStartArray("Scopes");
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
