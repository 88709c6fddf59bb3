using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace AgentCorex.Bench.BareEndpoint;

/// <summary>
/// The least the design asks of POST /execute_tool: a controller, a bearer key checked by an authentication
/// handler in constant time, and an admin policy. It does none of AgentCorex's own work.
/// </summary>
internal static class ControllerFloor
{
    public const string Scheme = "Bearer";
    public const string AdminPolicy = "admin";

    public static void Add(WebApplicationBuilder builder, Action<JsonSerializerOptions> conventions)
    {
        builder.Services.AddControllers().AddJsonOptions(json => conventions(json.JsonSerializerOptions));
        builder.Services.AddAuthentication(Scheme).AddScheme<AuthenticationSchemeOptions, BearerKeyHandler>(Scheme, null);
        builder.Services.AddAuthorizationBuilder().AddPolicy(AdminPolicy, policy => policy.RequireAuthenticatedUser().RequireRole("admin"));
    }

    public static void Map(WebApplication app)
    {
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapControllers().RequireAuthorization();
    }
}

/// <summary>Accepts the one key bench/run.sh hands both servers in BENCH_BEARER.</summary>
internal sealed class BearerKeyHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    private static readonly byte[] Expected = Encoding.UTF8.GetBytes(
        "Bearer " + (Environment.GetEnvironmentVariable("BENCH_BEARER") is { Length: > 0 } key
            ? key
            : throw new InvalidOperationException("The controller shape needs the key in BENCH_BEARER.")));

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var given = Encoding.UTF8.GetBytes(Request.Headers.Authorization.ToString());
        if (!CryptographicOperations.FixedTimeEquals(given, Expected))
        {
            return Task.FromResult(AuthenticateResult.Fail("Unknown key."));
        }
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, "bench"), new Claim(ClaimTypes.Role, "admin")], Scheme.Name);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Scheme.Name)));
    }
}

[ApiController]
[Route("execute_tool")]
[Authorize(Policy = ControllerFloor.AdminPolicy)]
public sealed class ExecuteToolController : ControllerBase
{
    [HttpPost]
    public IActionResult Execute(BareRequest request) => Program.Answer(request) is { } answer ? Ok(answer) : BadRequest();
}
