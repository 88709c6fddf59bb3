using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using AgentCorex.Bench.BareEndpoint;

// The baselines for bench/run.sh, answering POST /execute_tool with what AgentCorex answers for `echo`, with the
// same host (WebApplication, Kestrel, JSON body parsed and serialized with the API's conventions) and none of
// AgentCorex's work (no validation, no tool catalog, no runner):
//   default             a minimal endpoint, without authentication: the bare endpoint
//   Bare:Shape=controller  an [ApiController] behind ASP.NET Core's authentication and authorization with an
//                       admin policy, as the design requires of AgentCorex: the floor that design sets
var builder = WebApplication.CreateBuilder(args);
var shape = builder.Configuration["Bare:Shape"] ?? "minimal";
builder.Services.ConfigureHttpJsonOptions(json => Conventions(json.SerializerOptions));

if (shape == "controller")
{
    ControllerFloor.Add(builder, Conventions);
}
else if (shape != "minimal")
{
    throw new InvalidOperationException($"Bare:Shape must be 'minimal' or 'controller', not '{shape}'.");
}

var app = builder.Build();
if (shape == "controller")
{
    ControllerFloor.Map(app);
}
else
{
    app.MapPost("/execute_tool", (BareRequest request) => Answer(request) is { } answer ? Results.Ok(answer) : Results.BadRequest());
}
app.MapGet("/health/ready", () => Results.Ok());

app.Run();

static void Conventions(JsonSerializerOptions json)
{
    json.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
    json.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
    json.Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping;
}

internal static partial class Program
{
    /// <summary>The echo answer, or null for a request without a message.</summary>
    internal static BareResponse? Answer(BareRequest request)
    {
        var message = request.Arguments is { ValueKind: JsonValueKind.Object } arguments
            && arguments.TryGetProperty("message", out var given) && given.ValueKind == JsonValueKind.String
                ? given.GetString()
                : null;
        return message is null ? null : new BareResponse(request.Tool ?? "", "success", new BareResult(message), 0, new BareTokens(0, 0));
    }
}

public sealed record BareRequest(string? Tool, JsonElement? Arguments);

public sealed record BareResponse(string Tool, string Status, BareResult Result, long ExecutionTimeMs, BareTokens TokensUsed);

public sealed record BareResult(string Message);

public sealed record BareTokens(long Input, long Output);
