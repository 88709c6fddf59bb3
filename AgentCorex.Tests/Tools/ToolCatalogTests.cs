using AgentCorex.Tools;
using AgentCorex.Tools.BuiltIn.Echo;
using AgentCorex.Web.Api;
using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Tools;
using FluentValidation;
using Microsoft.AspNetCore.Hosting;
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

    [Test]
    public void Catalog_RefusesTwoValidatorsOfOneArgumentsType_NamingBoth()
    {
        using var services = new ServiceCollection()
            .AddValidatorsFromAssemblyContaining<EchoTool>(ServiceLifetime.Singleton)
            .AddSingleton<IValidator<EchoArguments>, ShortEchoValidator>()
            .BuildServiceProvider();

        var error = Assert.Throws<StartupRefusedException>(() => new ToolCatalog([new EchoTool()], services, NullLoggerFactory.Instance));

        Assert.That(error!.Message, Does.Contain("'echo' has 2 validators").And.Contain(nameof(EchoArgumentsValidator)).And.Contain(nameof(ShortEchoValidator)));
    }

    [TestCase(typeof(BacktrackingEchoValidator), @"'^(a)\1$'", "without backtracking")]
    [TestCase(typeof(WordBoundaryEchoValidator), @"'\bcat\b'", "word boundary")]
    public void Catalog_RefusesAValidatorThatCannotBeCreated_NamingTheToolAndThePattern(Type validator, string pattern, string why)
    {
        using var services = new ServiceCollection()
            .AddSingleton(typeof(IValidator<EchoArguments>), validator)
            .BuildServiceProvider();

        var error = Assert.Throws<StartupRefusedException>(() => new ToolCatalog([new EchoTool()], services, NullLoggerFactory.Instance));

        Assert.That(error!.Message, Does.Contain("tool 'echo'").And.Contain(pattern).And.Contain(why));
    }

    [Test]
    public void Catalog_RefusesAToolWhoseNameThrows_NamingItsType()
    {
        using var services = Validators();

        var error = Assert.Throws<StartupRefusedException>(() => new ToolCatalog([new NameThrows()], services, NullLoggerFactory.Instance));

        Assert.That(error!.Message, Does.Contain(typeof(NameThrows).FullName).And.Contain("not configured yet"));
    }

    [Test]
    public void ATool_ThatCannotBeCreated_StopsTheStartNamingIt()
    {
        using var services = new ServiceCollection().BuildServiceProvider();

        var missing = Assert.Throws<StartupRefusedException>(() => ToolsExtensions.Create(services, typeof(NeedsAClient)));
        var throwing = Assert.Throws<StartupRefusedException>(() => ToolsExtensions.Create(services, typeof(ConstructorThrows)));

        Assert.That(missing!.Message, Does.Contain(typeof(NeedsAClient).FullName).And.Contain(nameof(IHttpClientFactory)));
        Assert.That(throwing!.Message, Does.Contain(typeof(ConstructorThrows).FullName).And.Contain("no settings"));
    }

    [Test]
    public void ATool_ThatTakesAScopedService_StopsTheStartNamingIt_InEveryEnvironment()
    {
        using var app = new AgentCorexApp();
        using var production = app.WithWebHostBuilder(host => host.UseEnvironment("Production"));
        var services = production.Services;

        // The host validates scopes outside Development too: a scoped service is not given to a singleton.
        Assert.Throws<InvalidOperationException>(() => services.GetService<AgentCorex.Web.Storage.AgentCorexDb>());
        var refused = Assert.Throws<StartupRefusedException>(() => ToolsExtensions.Create(services, typeof(NeedsADatabase)));
        Assert.That(refused!.Message, Does.Contain(typeof(NeedsADatabase).FullName).And.Contain("scoped"));
    }

    private sealed class NeedsADatabase(AgentCorex.Web.Storage.AgentCorexDb db) : Tool<EchoArguments, EchoResult>
    {
        public override string Name => "needs_a_database";

        public override string Description => "Holds a DbContext for every run: what a tool must not do.";

        public override Task<EchoResult> ExecuteAsync(EchoArguments arguments, IToolContext context, CancellationToken cancellationToken) =>
            Task.FromResult(new EchoResult(db.GetType().Name));
    }

    private sealed class ShortEchoValidator : AbstractValidator<EchoArguments>
    {
        public ShortEchoValidator() => RuleFor(a => a.Message).MaximumLength(3);
    }

    private sealed class BacktrackingEchoValidator : AbstractValidator<EchoArguments>
    {
        public BacktrackingEchoValidator() => RuleFor(a => a.Message).MatchesPublished(@"^(a)\1$");
    }

    /// <summary>ECMA-262's \b is by ASCII's word characters, .NET's by Unicode's, and without backtracking it has no other.</summary>
    private sealed class WordBoundaryEchoValidator : AbstractValidator<EchoArguments>
    {
        public WordBoundaryEchoValidator() => RuleFor(a => a.Message).MatchesPublished(@"\bcat\b");
    }

    private sealed class NameThrows : Tool<EchoArguments, EchoResult>
    {
        public override string Name => throw new InvalidOperationException("not configured yet");

        public override string Description => "Its name is not known.";

        public override Task<EchoResult> ExecuteAsync(EchoArguments arguments, IToolContext context, CancellationToken cancellationToken) =>
            Task.FromResult(new EchoResult(arguments.Message));
    }

    private sealed class NeedsAClient(IHttpClientFactory clients) : Tool<EchoArguments, EchoResult>
    {
        public override string Name => "needs_a_client";

        public override string Description => "Calls out.";

        public override Task<EchoResult> ExecuteAsync(EchoArguments arguments, IToolContext context, CancellationToken cancellationToken) =>
            Task.FromResult(new EchoResult(clients.GetType().Name));
    }

    private sealed class ConstructorThrows : Tool<EchoArguments, EchoResult>
    {
        public ConstructorThrows() => throw new InvalidOperationException("no settings");

        public override string Name => "constructor_throws";

        public override string Description => "Cannot be made.";

        public override Task<EchoResult> ExecuteAsync(EchoArguments arguments, IToolContext context, CancellationToken cancellationToken) =>
            Task.FromResult(new EchoResult(arguments.Message));
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
