using AgentCorex.Tools;
using AgentCorex.Tools.BuiltIn.Echo;
using AgentCorex.Web.Api;
using AgentCorex.Web.Tools;
using FluentValidation;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace AgentCorex.Tests.Tools;

public sealed class ToolCatalogTests
{
    private static ServiceProvider Validators() => new ServiceCollection()
        .AddValidatorsFromAssemblyContaining<EchoTool>(ServiceLifetime.Singleton)
        .BuildServiceProvider();

    [Test]
    public void Catalog_RefusesTwoToolsWithOneName_NamingBoth()
    {
        using var services = Validators();

        var error = Assert.Throws<StartupRefusedException>(() => new ToolCatalog([new EchoTool(), new AnotherEcho()], services, NullLoggerFactory.Instance));

        Assert.That(error!.Message, Does.Contain("'echo'").And.Contain(nameof(EchoTool)).And.Contain(nameof(AnotherEcho)));
    }

    [Test]
    public void Catalog_RefusesNameThatIsNotSnakeCase()
    {
        using var services = Validators();

        var error = Assert.Throws<StartupRefusedException>(() => new ToolCatalog([new BadlyNamed()], services, NullLoggerFactory.Instance));

        Assert.That(error!.Message, Does.Contain("'Echo-Tool'").And.Contain("snake_case"));
    }

    [Test]
    public void Catalog_RefusesToolWithoutValidator()
    {
        using var services = new ServiceCollection().BuildServiceProvider();

        var error = Assert.Throws<StartupRefusedException>(() => new ToolCatalog([new EchoTool()], services, NullLoggerFactory.Instance));

        Assert.That(error!.Message, Does.Contain("no validator").And.Contain(nameof(EchoArguments)));
    }

    // Private: the test server scans this assembly's public tools, and these must not reach it.
    private sealed class AnotherEcho : Tool<EchoArguments, EchoResult>
    {
        public override string Name => "echo";

        public override string Description => "A second echo.";

        public override Task<EchoResult> ExecuteAsync(EchoArguments arguments, IToolContext context, CancellationToken cancellationToken) =>
            Task.FromResult(new EchoResult(arguments.Message));
    }

    private sealed class BadlyNamed : Tool<EchoArguments, EchoResult>
    {
        public override string Name => "Echo-Tool";

        public override string Description => "Not snake_case.";

        public override Task<EchoResult> ExecuteAsync(EchoArguments arguments, IToolContext context, CancellationToken cancellationToken) =>
            Task.FromResult(new EchoResult(arguments.Message));
    }
}
