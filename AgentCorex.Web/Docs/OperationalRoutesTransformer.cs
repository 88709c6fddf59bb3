using System.Text.Json.Nodes;
using AgentCorex.Web.Health;
using AgentCorex.Web.Monitoring;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace AgentCorex.Web.Docs;

/// <summary>
/// The routes that are not controllers, which ApiExplorer cannot see: <c>/health/live</c> and <c>/health/ready</c>
/// (health checks, no key) and <c>/metrics</c> (Prometheus text, an admin key or the scrape token). Described here
/// by hand, in the document's own terms, so that it lists every route of the server.
/// </summary>
internal sealed class OperationalRoutesTransformer : IOpenApiDocumentTransformer
{
    public const string HealthSchema = "HealthResponse";
    private const string HealthTag = "Health";
    private const string MonitoringTag = "Monitoring";

    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Components ??= new OpenApiComponents();
        document.Components.Schemas ??= new Dictionary<string, IOpenApiSchema>();
        document.Components.Schemas[HealthSchema] = Health();
        document.Paths ??= [];
        document.Tags ??= new HashSet<OpenApiTag>();
        document.Tags.Add(new OpenApiTag { Name = HealthTag, Description = "Probes for load balancers and orchestrators" });
        document.Tags.Add(new OpenApiTag { Name = MonitoringTag, Description = "Meters for Prometheus" });

        var health = new OpenApiSchemaReference(HealthSchema, document);
        document.Paths[HealthExtensions.LivePath] = Get("checkLive", HealthTag, "The process answers; no key needed", new()
        {
            ["200"] = Json("healthy: the process answers", health),
            ["500"] = ServerFailure(document),
        });
        document.Paths[HealthExtensions.ReadyPath] = Get("checkReady", HealthTag, "The process answers and can reach its database, whose schema is up to date; no key needed", new()
        {
            ["200"] = Json("healthy", health),
            ["503"] = Json("unhealthy: the database cannot be reached or its schema is not up to date, or the node is stopping", health),
            ["500"] = ServerFailure(document),
        });
        var metrics = Get("getMetrics", MonitoringTag, "OpenTelemetry meters in Prometheus text format, for an admin key or the scrape token (Monitoring:ScrapeToken)", new()
        {
            ["200"] = new OpenApiResponse
            {
                Description = "The meters, in Prometheus' text exposition format",
                Content = new Dictionary<string, OpenApiMediaType>
                {
                    ["text/plain"] = new() { Schema = new OpenApiSchema { Type = JsonSchemaType.String } },
                },
            },
            ["401"] = Unauthorized(document),
            ["500"] = ServerFailure(document),
        });
        metrics.Operations![HttpMethod.Get].Security =
        [
            new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(ApiDocumentTransformer.BearerScheme, document)] = [] },
        ];
        document.Paths[MonitoringExtensions.MetricsPath] = metrics;
        return Task.CompletedTask;
    }

    /// <summary>
    /// A GET that needs no key (the health checks: an empty <c>security</c>, which says so, where none would leave a
    /// client or linter to guess); /metrics sets its own.
    /// </summary>
    private static OpenApiPathItem Get(string operationId, string tag, string summary, OpenApiResponses responses) => new()
    {
        Operations = new Dictionary<HttpMethod, OpenApiOperation>
        {
            [HttpMethod.Get] = new()
            {
                OperationId = operationId,
                Summary = summary,
                Security = [],
                Tags = new HashSet<OpenApiTagReference> { new(tag) },
                Responses = responses,
            },
        },
    };

    private static OpenApiResponse Json(string description, IOpenApiSchema schema) => new()
    {
        Description = description,
        Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = new() { Schema = schema } },
    };

    private static OpenApiResponse Unauthorized(OpenApiDocument document)
    {
        var response = Json("UNAUTHORIZED: neither an admin key nor the scrape token", new OpenApiSchemaReference(nameof(Errors.ErrorEnvelope), document));
        response.Headers = new Dictionary<string, IOpenApiHeader>
        {
            ["WWW-Authenticate"] = new OpenApiHeader
            {
                Description = "Bearer",
                Required = true,
                Schema = new OpenApiSchema { Type = JsonSchemaType.String },
            },
        };
        return response;
    }

    private static OpenApiResponse ServerFailure(OpenApiDocument document) =>
        Json("INTERNAL_ERROR: the server failed", new OpenApiSchemaReference(nameof(Errors.ErrorEnvelope), document));

    /// <summary>{"status": "healthy", "checks": {"database": "healthy", ...}}, as <see cref="HealthExtensions"/> writes it.</summary>
    private static OpenApiSchema Health()
    {
        JsonNode[] statuses = ["healthy", "degraded", "unhealthy"];
        return new OpenApiSchema
        {
            Type = JsonSchemaType.Object,
            Required = new HashSet<string> { "status", "checks" },
            Properties = new Dictionary<string, IOpenApiSchema>
            {
                ["status"] = new OpenApiSchema { Type = JsonSchemaType.String, Enum = [.. statuses] },
                ["checks"] = new OpenApiSchema
                {
                    Type = JsonSchemaType.Object,
                    Description = "Each check's status, by name",
                    AdditionalProperties = new OpenApiSchema { Type = JsonSchemaType.String, Enum = [.. statuses.Select(s => s.DeepClone())] },
                },
            },
        };
    }
}
