using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

// The baseline for bench/run.sh: POST /execute_tool answering what AgentCorex answers for `echo`, with the
// same host (WebApplication, Kestrel, JSON body parsed and serialized with the API's conventions) and none
// of AgentCorex's work (no auth, no validation, no tool catalog, no runner).
var builder = WebApplication.CreateBuilder(args);
builder.Services.ConfigureHttpJsonOptions(json =>
{
    json.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
    json.SerializerOptions.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
    json.SerializerOptions.Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping;
});

var app = builder.Build();

app.MapPost("/execute_tool", (BareRequest request) =>
{
    var message = request.Arguments is { ValueKind: JsonValueKind.Object } arguments
        && arguments.TryGetProperty("message", out var given) && given.ValueKind == JsonValueKind.String
            ? given.GetString()
            : null;
    return message is null
        ? Results.BadRequest()
        : Results.Ok(new BareResponse(request.Tool ?? "", "success", new BareResult(message), 0, new BareTokens(0, 0)));
});
app.MapGet("/health/ready", () => Results.Ok());

app.Run();

internal sealed record BareRequest(string? Tool, JsonElement? Arguments);

internal sealed record BareResponse(string Tool, string Status, BareResult Result, long ExecutionTimeMs, BareTokens TokensUsed);

internal sealed record BareResult(string Message);

internal sealed record BareTokens(long Input, long Output);
