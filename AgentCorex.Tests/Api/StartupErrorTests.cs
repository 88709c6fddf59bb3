using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using AgentCorex.Tests.Infrastructure;

namespace AgentCorex.Tests.Api;

/// <summary>A real process started with settings it cannot run with: what an operator sees, and the exit code a service manager sees.</summary>
[NonParallelizable]
public sealed partial class StartupErrorTests
{
    private string data = null!;

    [SetUp]
    public void MakeDataFolder() => data = Directory.CreateTempSubdirectory("agentcorex-startup-").FullName;

    [TearDown]
    public void RemoveDataFolder() => Directory.Delete(data, recursive: true);

    [Test]
    public async Task RefusedSettings_EndTheStart_WithTheirMessageAndExitCode1_NotAsACrash()
    {
        // The maximum below the default timeout (30000), which is left as it is.
        var output = await RefusedStartAsync(new() { ["Execution:MaxTimeoutMs"] = "1000" });

        Assert.That(output, Does.Contain("AgentCorex cannot start: Execution:DefaultTimeoutMs must not exceed Execution:MaxTimeoutMs."));
    }

    [Test]
    public async Task ASettingOutsideItsRange_IsRefusedByItsCheck_BeforeAnythingUsesIt()
    {
        // Hangfire's server took the negative worker count first, and threw from its own setter.
        var output = await RefusedStartAsync(new() { ["Jobs:WorkerCount"] = "-1" });

        Assert.That(output, Does.Contain("AgentCorex cannot start: ").And.Contain("'WorkerCount' with the error: 'The field WorkerCount must be between 0 and 1000.'"));
    }

    [TestCase("0")]
    [TestCase("1001")]
    public async Task ARunCountOutsideItsRange_IsRefused(string attempts)
    {
        // A job has at least its one run; past 1000 a crash at every run would go on for days.
        var output = await RefusedStartAsync(new() { ["Jobs:MaxAttempts"] = attempts });

        Assert.That(output, Does.Contain("AgentCorex cannot start: ").And.Contain("'MaxAttempts' with the error: 'The field MaxAttempts must be between 1 and 1000.'"));
    }

    [TestCase("Jobs:InMemoryJobExpiration", "00:00:10", "Jobs:InMemoryJobExpiration must be between 00:01:00 and 1.00:00:00.")]
    [TestCase("Jobs:InMemoryMaxFinishedJobs", "5", "Jobs:InMemoryMaxFinishedJobs must be between 10 and 10000000.")]
    public async Task AnEmbeddedHangfireBoundOutsideItsRange_IsRefused(string key, string value, string message)
    {
        var output = await RefusedStartAsync(new() { [key] = value });

        Assert.That(output, Does.Contain("AgentCorex cannot start: " + message));
    }

    [Test]
    public async Task ANegativeBoundOfQueuedJobsPerKey_IsRefused()
    {
        var output = await RefusedStartAsync(new() { ["Jobs:MaxQueuedPerKey"] = "-1" });

        Assert.That(output, Does.Contain("AgentCorex cannot start: Jobs:MaxQueuedPerKey must be 0 (no bound) or more."));
    }

    [TestCase("-1.00:00:00")]
    [TestCase("01:00:00")]
    [TestCase("3651.00:00:00")]
    public async Task AJobRetentionShorterThanHangfiresDayOrPastTenYears_IsRefused(string retention)
    {
        // Shorter, the dashboard would link Hangfire jobs whose ledger rows were gone.
        var output = await RefusedStartAsync(new() { ["Jobs:Retention"] = retention });

        Assert.That(output, Does.Contain("AgentCorex cannot start: Jobs:Retention must be between 1.00:00:00 and 3650.00:00:00, or unset to keep every job"));
    }

    [TestCase("0")]
    [TestCase("-5")]
    public async Task AConnectionLimitThatWouldRefuseEveryConnection_IsRefused(string limit)
    {
        // Kestrel would take 0 and refuse every connection; its own setter throws on a negative one, with a stack trace.
        var output = await RefusedStartAsync(new() { ["Kestrel:Limits:MaxConcurrentConnections"] = limit });

        Assert.That(output, Does.Contain($"AgentCorex cannot start: Kestrel:Limits:MaxConcurrentConnections is {limit}: it must be a positive whole number"));
    }

    [Test]
    public async Task AServerTimeoutOfFewerThanThreeHeartbeats_IsRefused()
    {
        // One late heartbeat would take a live node for dead, and restart its Hangfire server under its jobs.
        var output = await RefusedStartAsync(new() { ["Jobs:ServerHeartbeatInterval"] = "00:00:30", ["Jobs:ServerTimeout"] = "00:01:00" });

        Assert.That(output, Does.Contain("AgentCorex cannot start: Jobs:ServerTimeout must be at least three times Jobs:ServerHeartbeatInterval and at most 01:00:00."));
    }

    [TestCase("agentcorex")]
    [TestCase("/agentcorex/")]
    [TestCase("/agentcorex?x=1")]
    [TestCase("/agent%20corex")]
    public async Task APathBaseThatIsNotAPrefixOfPaths_IsRefused(string pathBase)
    {
        // Without the leading '/', PathString would throw from inside the start, with a stack trace; the others are
        // refused rather than guessed at (a query is no part of a path; Kestrel decodes %20 before the prefix is compared,
        // so that one would match no request).
        var output = await RefusedStartAsync(new() { ["Server:PathBase"] = pathBase });

        Assert.That(output, Does.Contain("AgentCorex cannot start: Server:PathBase must be a path that starts with '/' and does not end with one"));
    }

    [TestCase("letmein")]
    [TestCase("only-23-characters-long")]
    public async Task AnAdminKeyShortEnoughToGuess_IsRefused_WithoutShowingIt(string adminKey)
    {
        // Any string used to be taken: a one-character key opened every endpoint and the dashboard.
        var output = await RefusedStartAsync(new() { ["Auth:AdminKey"] = adminKey });

        Assert.Multiple(() =>
        {
            Assert.That(output, Does.Contain("AgentCorex cannot start: Auth:AdminKey must be 24 to 256 characters (or unset, for the first start to create one)."));
            Assert.That(output, Does.Not.Contain(adminKey));
        });
    }

    [TestCase("acx-own-admin-key-of-thirty-chars\n")]
    [TestCase("acx-own-admin-key\tof-thirty-chars")]
    [TestCase("                              ")]
    [TestCase("   ")]
    public async Task AnAdminKeyWithWhiteSpace_IsRefused_WithoutShowingIt(string adminKey)
    {
        // A secret file's newline was kept: no client sends it, so every request was a 401. Thirty spaces opened the
        // dashboard with a password of spaces.
        var output = await RefusedStartAsync(new() { ["Auth:AdminKey"] = adminKey });

        Assert.Multiple(() =>
        {
            Assert.That(output, Does.Contain("AgentCorex cannot start: ").And.Contain("Auth:AdminKey must not hold white space or control characters"));
            Assert.That(output, Does.Not.Contain("acx-own-admin-key"));
        });
    }

    [Test]
    public async Task AScrapeTokenWithANewline_IsRefused_WithoutShowingIt()
    {
        var output = await RefusedStartAsync(new() { ["Monitoring:ScrapeToken"] = "scrape-token-read-from-a-file\n" });

        Assert.Multiple(() =>
        {
            Assert.That(output, Does.Contain("AgentCorex cannot start: Monitoring:ScrapeToken must not hold white space or control characters"));
            Assert.That(output, Does.Not.Contain("scrape-token-read-from-a-file"));
        });
    }

    [TestCase("Jobs:WorkerCount", "five", "System.Int32")]
    [TestCase("Storage:Provider", "Oracle", "AgentCorex.Web.Storage.StorageProvider")]
    [TestCase("Jobs:ShutdownTimeout", "soon", "System.TimeSpan")]
    public async Task ASettingThatIsNotOfItsType_IsNamed(string key, string value, string type)
    {
        var output = await RefusedStartAsync(new() { [key] = value });

        Assert.That(output, Does.Contain($"AgentCorex cannot start: Failed to convert configuration value '{value}' at '{key}' to type '{type}'."));
    }

    [TestCase("RateLimits:Plans:gold:RequestsPerMinute", "5", "RateLimits:Plans:gold names no plan: the plans are free, pro, enterprise.")]
    [TestCase("RateLimits:Plans:enterprize:MaxConcurrent", "5", "RateLimits:Plans:enterprize names no plan")]
    [TestCase("RateLimits:Plans:pro:MaxConcurent", "5", "RateLimits:Plans:pro:MaxConcurent is not a plan's limit: they are RequestsPerMinute and MaxConcurrent.")]
    [TestCase("RateLimits:Plans:free:MaxConcurrent", "lots", "Failed to convert configuration value 'lots' at 'RateLimits:Plans:free:MaxConcurrent' to type 'System.Int32'.")]
    public async Task APlanSettingTheBinderPassesOver_IsNamed(string key, string value, string message)
    {
        // Each started without a word, the plan's default limits in force.
        var output = await RefusedStartAsync(new() { [key] = value });

        Assert.That(output, Does.Contain("AgentCorex cannot start: " + message));
    }

    [Test]
    public async Task OnASharedDatabase_ADrainAsLongAsTheInvisibility_IsRefused()
    {
        // A stopping node stops hiding the jobs it still runs: another node would take them over and run them twice.
        var settings = (await ServerTest.PostgreSqlSettingsAsync()).ToDictionary(s => s.Key, s => s.Value!);
        settings["Jobs:InvisibilityTimeout"] = "00:00:20";
        settings["Jobs:ShutdownTimeout"] = "00:00:30";

        var output = await RefusedStartAsync(settings);

        Assert.That(output, Does.Contain("AgentCorex cannot start: Jobs:ShutdownTimeout must be at most half of Jobs:InvisibilityTimeout on a shared database"));
    }

    [Test]
    public async Task APluginPathThatIsNotThere_IsNamed()
    {
        var output = await RefusedStartAsync(new() { ["Tools:PluginPaths:1"] = "/nonexistent/plugins.dll" });

        Assert.That(output, Does.Contain("AgentCorex cannot start: Tools:PluginPaths names '/nonexistent/plugins.dll', which is neither a .dll file nor a folder."));
    }

    [Test]
    public async Task APluginBuiltAgainstAnotherFluentValidation_IsRefused_NamingItsValidatorAndBothVersions()
    {
        // Built the natural way (dotnet add package FluentValidation takes 12.x), its validator needs FluentValidation 12:
        // the type was dropped without a word, and the tool refused for want of a validator it has.
        var plugin = await PluginBuild.BuildAsync(data, "Shout", ShoutPlugin(withValidator: true), new Dictionary<string, string> { ["FluentValidation"] = "12.2.0" });

        var output = await RefusedStartAsync(new() { ["Tools:PluginPaths:1"] = plugin });

        Assert.That(output, Does.Contain($"AgentCorex cannot start: Plugin Shout ({Path.Combine(plugin, "Shout.dll")}): type Shout.ShoutArgumentsValidator cannot be loaded: "
            + "FluentValidation, Version=12.0.0.0 could not be loaded: the server has FluentValidation 11."));
    }

    [Test]
    public async Task AReferenceAssemblyInAPluginFolder_IsRefused_NamingIt()
    {
        // Loaded as a plugin's dependency, a file the loader refuses crashed the start with its BadImageFormatException
        // and a stack trace (exit 134).
        var plugin = await PluginBuild.BuildAsync(data, "Shout", ShoutPlugin(withValidator: true), new Dictionary<string, string> { ["FluentValidation"] = "11.11.0" },
            libraries: new Dictionary<string, string> { ["Shelf"] = "namespace Shelf; public static class Books { }" });
        var referenceAssembly = Path.Combine(plugin, "Shelf.dll");
        File.Copy(Directory.GetFiles(Path.Combine(data, "Shelf", "obj"), "Shelf.dll", SearchOption.AllDirectories)
            .Single(f => Path.GetFileName(Path.GetDirectoryName(f)) == "ref"), referenceAssembly, overwrite: true);

        var output = await RefusedStartAsync(new() { ["Tools:PluginPaths:1"] = plugin });

        Assert.Multiple(() =>
        {
            Assert.That(output, Does.Contain($"AgentCorex cannot start: Tools:PluginPaths holds {referenceAssembly}, which cannot be loaded: "));
            Assert.That(output, Does.Not.Contain(" at System."));
        });
    }

    [Test]
    public async Task AToolWithoutAValidator_IsRefusedInOneLine_WithoutTheHostsStackTrace()
    {
        // The catalog was built by the host's start, which logged "Hosting failed to start" and a stack trace first.
        var plugin = await PluginBuild.BuildAsync(data, "Shout", ShoutPlugin(withValidator: false));

        var output = await RefusedStartAsync(new() { ["Tools:PluginPaths:1"] = plugin });

        Assert.Multiple(() =>
        {
            Assert.That(output, Does.Contain("AgentCorex cannot start: Tool 'shout' has no validator: add a public AbstractValidator<ShoutArguments> to Shout."));
            Assert.That(output, Does.Not.Contain("Hosting failed to start"));
            Assert.That(output, Does.Not.Contain(" at AgentCorex."));
        });
    }

    [Test]
    public async Task TwoPluginFoldersCarryingOneDependency_LoadItOnce()
    {
        // Each folder's copy (two builds of one version) was loaded into the server's one load context: the second
        // crashed the start (FileLoadException: Assembly with same name is already loaded).
        var first = await BuildCommonAsync("a", build: 1, "1.0.0");
        var second = await BuildCommonAsync("b", build: 2, "1.0.0");

        await using var server = await ServerProcess.StartAsync(data, new Dictionary<string, string> { ["Tools:PluginPaths:1"] = first, ["Tools:PluginPaths:2"] = second });

        using var client = server.CreateClient();
        Assert.That((await client.GetAsync("/tools")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task TwoPluginFoldersCarryingTwoVersionsOfADependency_AreRefused_NamingBoth()
    {
        var first = await BuildCommonAsync("a", build: 1, "1.0.0");
        var second = await BuildCommonAsync("b", build: 2, "2.0.0");

        var output = await RefusedStartAsync(new() { ["Tools:PluginPaths:1"] = first, ["Tools:PluginPaths:2"] = second });

        Assert.That(output, Does.Contain($"AgentCorex cannot start: Tools:PluginPaths holds Common 1.0.0.0 ({Path.Combine(first, "Common.dll")}) "
            + $"and 2.0.0.0 ({Path.Combine(second, "Common.dll")}): the server loads one copy of an assembly for every plugin; build them against one version of Common."));
    }

    [Test]
    public async Task APluginNamedAloneBesideAnotherVersionOfAFoldersDependency_IsRefused_NamingBoth()
    {
        // The library beside a plugin named by its .dll is loaded as a folder's is, into the server's one load context.
        var first = await BuildCommonAsync("a", build: 1, "1.0.0");
        var second = await PluginBuild.BuildAsync(Directory.CreateDirectory(Path.Combine(data, "b")).FullName, "Lone",
            "namespace Lone; public static class Uses { public static int Build() => Common.Build.Number; }", version: "2.0.0",
            libraries: new Dictionary<string, string> { ["Common"] = CommonSource(build: 2) });

        var output = await RefusedStartAsync(new() { ["Tools:PluginPaths:1"] = first, ["Tools:PluginPaths:2"] = Path.Combine(second, "Lone.dll") });

        Assert.That(output, Does.Contain($"AgentCorex cannot start: Tools:PluginPaths holds Common 1.0.0.0 ({Path.Combine(first, "Common.dll")}) "
            + $"and 2.0.0.0 ({Path.Combine(second, "Common.dll")}): the server loads one copy of an assembly for every plugin; build them against one version of Common."));
    }

    [Test]
    public async Task APluginFolderHoldingANativeLibrary_Starts_WithItsTools()
    {
        // A RID-specific publish puts native libraries (e_sqlite3.dll, Microsoft.Data.SqlClient.SNI.dll) beside the
        // plugin: each stopped the start as "not a .NET assembly".
        var plugin = await PluginBuild.BuildAsync(data, "Shout", ShoutPlugin(withValidator: true), new Dictionary<string, string> { ["FluentValidation"] = "11.11.0" });
        var native = Path.Combine(plugin, "e_sqlite3.dll");
        await File.WriteAllBytesAsync(native, [0x7F, (byte)'E', (byte)'L', (byte)'F', 2, 1, 1, 0]);

        await using var server = await ServerProcess.StartAsync(data, new Dictionary<string, string>
        {
            ["Tools:PluginPaths:1"] = plugin,
            ["Logging:LogLevel:AgentCorex.Web.Tools.ToolCatalog"] = "Debug",
        });

        using var client = server.CreateClient();
        var tools = (await (await client.GetAsync("/tools")).ReadObjectAsync())["tools"]!.AsArray().Select(t => t.Str("name"));
        Assert.Multiple(() =>
        {
            Assert.That(tools, Does.Contain("shout"));
            Assert.That(server.Output, Does.Contain($"Tools:PluginPaths: {native} is not a .NET assembly (a native library, say), passed over"));
        });
    }

    /// <summary>A library two plugins' folders may both carry, built in <paramref name="folder"/>; each build is another file.</summary>
    private async Task<string> BuildCommonAsync(string folder, int build, string version) =>
        await PluginBuild.BuildAsync(Directory.CreateDirectory(Path.Combine(data, folder)).FullName, "Common", CommonSource(build), version: version);

    private static string CommonSource(int build) => $"namespace Common; public static class Build {{ public const int Number = {build}; }}";

    private static string ShoutPlugin(bool withValidator) => $$"""
        using AgentCorex.Tools;
        namespace Shout;
        public sealed record ShoutArguments(string Message);
        public sealed record ShoutResult(string Message);
        {{(withValidator ? "public sealed class ShoutArgumentsValidator : FluentValidation.AbstractValidator<ShoutArguments> { }" : "")}}
        public sealed class ShoutTool : Tool<ShoutArguments, ShoutResult>
        {
            public override string Name => "shout";
            public override string Description => "Shouts.";
            public override Task<ShoutResult> ExecuteAsync(ShoutArguments arguments, IToolContext context, CancellationToken cancellationToken) =>
                Task.FromResult(new ShoutResult(arguments.Message.ToUpperInvariant()));
        }
        """;

    [Test]
    public async Task APluginPathThatIsNoAssembly_IsNamed()
    {
        // The loader's BadImageFormatException crashed the start with a stack trace.
        var notes = Path.Combine(data, "notes.dll");
        await File.WriteAllTextAsync(notes, "not an assembly");

        var output = await RefusedStartAsync(new() { ["Tools:PluginPaths:1"] = notes });

        Assert.That(output, Does.Contain($"AgentCorex cannot start: Tools:PluginPaths names '{notes}', which is not a .NET assembly."));
    }

    [Test]
    public async Task AConnectionStringItsProviderCannotRead_IsRefused_WithoutShowingIt()
    {
        var output = await RefusedStartAsync(new()
        {
            ["Storage:Provider"] = "PostgreSql",
            ["ConnectionStrings:AgentCorex"] = "Host=127.0.0.1;Port=not-a-port;Password=hunter2-secret",
        });

        Assert.Multiple(() =>
        {
            Assert.That(output, Does.Contain("AgentCorex cannot start: ConnectionStrings:AgentCorex is not a connection string PostgreSql can use: "));
            Assert.That(output, Does.Not.Contain("hunter2-secret"));
        });
    }

    [TestCase("Database=agentcorex;Username=agentcorex;Password=hunter2-secret",
        "ConnectionStrings:AgentCorex is not a connection string PostgreSql can use: it names no Host (the PostgreSQL server's name or address).")]
    [TestCase(" ", "Storage:Provider is PostgreSql: set ConnectionStrings:AgentCorex (env ConnectionStrings__AgentCorex) to its database.")]
    public async Task APostgreSqlConnectionStringWithoutAHost_IsRefused_WithoutShowingIt(string connectionString, string message)
    {
        // Npgsql reads it, and refused it only as Hangfire's set-up made a connection of it: a crash with a stack trace.
        var output = await RefusedStartAsync(new() { ["Storage:Provider"] = "PostgreSql", ["ConnectionStrings:AgentCorex"] = connectionString });

        Assert.Multiple(() =>
        {
            Assert.That(output, Does.Contain("AgentCorex cannot start: " + message));
            Assert.That(output, Does.Not.Contain("hunter2-secret"));
        });
    }

    [TestCase("Logging:LogLevel:Default")]
    [TestCase("Logging:Console:LogLevel:Microsoft.AspNetCore")]
    public async Task ALogLevelThatIsNoLevel_IsNamed(string key)
    {
        // The logger factory threw on it as it made the first logger: a crash with a stack trace.
        var output = await RefusedStartAsync(new() { [key] = "Loud" });

        Assert.That(output, Does.Contain($"AgentCorex cannot start: {key} is 'Loud', not a log level: Trace, Debug, Information, Warning, Error, Critical or None."));
    }

    [TestCase("urls", "notaurl", "Urls (--urls, ASPNETCORE_URLS) names 'notaurl', which is not an address such as http://localhost:5080")]
    [TestCase("ASPNETCORE_URLS", "garbage", "Urls (--urls, ASPNETCORE_URLS) names 'garbage', which is not an address")]
    [TestCase("Kestrel:Endpoints:Http:Url", "htp:/bad", "Kestrel:Endpoints:Http:Url names 'htp:/bad', which is not an address")]
    [TestCase("urls", "ftp://127.0.0.1:2121", "Urls (--urls, ASPNETCORE_URLS) names 'ftp://127.0.0.1:2121', whose scheme is neither http nor https.")]
    [TestCase("urls", "http://127.0.0.1:70000", "Urls (--urls, ASPNETCORE_URLS) names 'http://127.0.0.1:70000', whose port is not a number from 0 to 65535.")]
    [TestCase("urls", "http://127.0.0.1:abc", "Urls (--urls, ASPNETCORE_URLS) names 'http://127.0.0.1:abc', whose port is not a number from 0 to 65535.")]
    [TestCase("ASPNETCORE_HTTP_PORTS", "abc", "ASPNETCORE_HTTP_PORTS (http_ports) names 'abc', which is not a port: a number from 0 to 65535")]
    public async Task AnAddressThatIsNoAddress_IsNamed_BeforeTheDatabaseIsTouched(string key, string value, string message)
    {
        // Kestrel read them only as it bound, after the migrations: a crash with a stack trace, or (ASPNETCORE_HTTP_PORTS=abc,
        // http://host:abc) port 80.
        var output = key.StartsWith("ASPNETCORE_", StringComparison.Ordinal)
            ? await RefusedStartAsync([], new() { [key] = value })
            : await RefusedStartAsync(new() { [key] = value });

        Assert.Multiple(() =>
        {
            Assert.That(output, Does.Contain("AgentCorex cannot start: " + message));
            Assert.That(File.Exists(Path.Combine(data, "agentcorex.db")), Is.False, "no database made");
        });
    }

    [TestCase("urls")]
    [TestCase("Kestrel:Endpoints:Https:Url")]
    public async Task AnHttpsAddressWithoutACertificate_IsExplained(string key)
    {
        // Kestrel finds no certificate only as it binds: the host's own "Hosting failed to start" comes first, as for an
        // address in use. A Kestrel:Endpoints entry's refusal comes from another of Kestrel's types, and crashed the start.
        // HOME is an empty folder: on a machine with an ASP.NET Core developer certificate (~/.dotnet/corefx/cryptography/
        // x509stores/my), Kestrel would take that one and the server would start.
        var home = Directory.CreateDirectory(Path.Combine(data, "home")).FullName;
        var output = await RefusedStartAsync(new() { [key] = $"https://127.0.0.1:{ClosedPort()}" }, new() { ["HOME"] = home });

        Assert.That(output, Does.Contain("AgentCorex cannot start: Unable to configure HTTPS endpoint. No server certificate was specified, and the default "
            + "developer certificate could not be found or is out of date. (an https address, in Urls or Kestrel:Endpoints, needs a certificate: "));
    }

    [Test]
    public async Task APostgreSqlServerThatCannotBeReached_IsNamed()
    {
        var port = ClosedPort();
        var output = await RefusedStartAsync(new()
        {
            ["Storage:Provider"] = "PostgreSql",
            ["ConnectionStrings:AgentCorex"] = $"Host=127.0.0.1;Port={port};Username=agentcorex;Password=hunter2-secret;Database=agentcorex;Timeout=3",
        });

        Assert.Multiple(() =>
        {
            Assert.That(output, Does.Contain($"AgentCorex cannot start: the PostgreSql database cannot be used: Failed to connect to 127.0.0.1:{port}"));
            Assert.That(output, Does.Not.Contain("hunter2-secret"));
        });
    }

    [Test]
    public async Task OnSqlServer_TheClientGoesAsFarAsTheNetwork()
    {
        // With .NET's invariant globalization mode, as the build once set, Microsoft.Data.SqlClient refuses every
        // connection ("Globalization Invariant Mode is not supported"): SQL Server could never be used at all.
        var port = ClosedPort();
        var output = await RefusedStartAsync(new()
        {
            ["Storage:Provider"] = "SqlServer",
            ["ConnectionStrings:AgentCorex"] = $"Server=127.0.0.1,{port};User Id=sa;Password=hunter2-secret;TrustServerCertificate=true;Connect Timeout=2",
        });

        Assert.Multiple(() =>
        {
            Assert.That(output, Does.Not.Contain("Globalization Invariant Mode"));
            Assert.That(output, Does.Contain("AgentCorex cannot start: the database cannot be opened or brought up to date: A network-related or instance-specific error"));
            Assert.That(output, Does.Not.Contain("hunter2-secret"));
        });
    }

    /// <summary>
    /// Hangfire.SqlServer's installer tries three times and warns each time, then warns again and errs once more for
    /// its options: about 104 stack frames came before the line that says what is wrong. Each is one line now.
    /// </summary>
    [Test]
    public async Task OnSqlServer_AServerThatCannotBeReached_IsSaidWithoutHangfiresStackTraces()
    {
        var output = await RefusedStartAsync(new()
        {
            ["Storage:Provider"] = "SqlServer",
            ["ConnectionStrings:AgentCorex"] = $"Server=127.0.0.1,{ClosedPort()};User Id=sa;Password=hunter2-secret;TrustServerCertificate=true;Connect Timeout=2",
        });

        Assert.Multiple(() =>
        {
            Assert.That(output, Does.Contain("AgentCorex cannot start: the database cannot be opened or brought up to date: A network-related or instance-specific error"));
            Assert.That(output, Does.Contain("An exception occurred while trying to perform the migration"), "Hangfire's warning, in one line");
            Assert.That(Entries(output).Where(e => e.StartsWith("Hangfire.", StringComparison.Ordinal) && Regex.IsMatch(e, @"\n\s+at ")), Is.Empty, output);
        });
    }

    [Test]
    public async Task OnSqlServer_InvariantGlobalizationSetByTheOperator_IsExplained()
    {
        var output = await RefusedStartAsync(
            new()
            {
                ["Storage:Provider"] = "SqlServer",
                ["ConnectionStrings:AgentCorex"] = $"Server=127.0.0.1,{ClosedPort()};User Id=sa;Password=hunter2-secret;TrustServerCertificate=true;Connect Timeout=2",
            },
            new() { ["DOTNET_SYSTEM_GLOBALIZATION_INVARIANT"] = "1" });

        Assert.That(output, Does.Contain("AgentCorex cannot start: the SqlServer database cannot be used: Globalization Invariant Mode is not supported. (SQL Server's client needs ICU: do not set DOTNET_SYSTEM_GLOBALIZATION_INVARIANT)"));
    }

    [Test]
    public async Task AnAddressInUse_IsExplained()
    {
        using var other = new TcpListener(IPAddress.Loopback, 0);
        other.Start();
        var address = $"http://127.0.0.1:{((IPEndPoint)other.LocalEndpoint).Port}";

        var output = await RefusedStartAsync(new() { ["urls"] = address });

        Assert.That(output, Does.Contain($"AgentCorex cannot start: Failed to bind to address {address}: address already in use. (another process listens there"));
    }

    [Test]
    public async Task AStartThatCannotListen_MakesNoAdminKey_AndTheNextStartPrintsOne()
    {
        // The key was made and printed before the bind failed; the next start found it and printed none: lost.
        var noKey = new Dictionary<string, string> { ["Auth:AdminKey"] = "" };
        using (var other = new TcpListener(IPAddress.Loopback, 0))
        {
            other.Start();
            var refused = await RefusedStartAsync(new(noKey) { ["urls"] = $"http://127.0.0.1:{((IPEndPoint)other.LocalEndpoint).Port}" });
            Assert.That(ApiKeyPattern().IsMatch(refused), Is.False, refused);
        }

        await using var server = await ServerProcess.StartAsync(data, noKey);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!ApiKeyPattern().IsMatch(server.Output) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }
        var printed = ApiKeyPattern().Match(server.Output);
        Assert.That(printed.Success, Is.True, server.Output);
        using var client = server.CreateClient(printed.Value);
        Assert.That((await client.GetAsync("/api_keys")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task AnAddressInUse_OnPostgreSql_LogsNoBackgroundServiceAsFailed()
    {
        // The host is disposed without a stop when its start fails: a background loop ending on its canceled token then
        // read to the host as a failure, which logged "BackgroundService failed" and a Critical line after the reason.
        using var other = new TcpListener(IPAddress.Loopback, 0);
        other.Start();
        var address = $"http://127.0.0.1:{((IPEndPoint)other.LocalEndpoint).Port}";
        var settings = (await ServerTest.PostgreSqlSettingsAsync()).ToDictionary(s => s.Key, s => s.Value!);
        settings["urls"] = address;

        var output = await RefusedStartAsync(settings);

        Assert.Multiple(() =>
        {
            Assert.That(output, Does.Contain($"AgentCorex cannot start: Failed to bind to address {address}: address already in use."));
            Assert.That(output, Does.Not.Contain("BackgroundService failed"));
            Assert.That(output, Does.Not.Contain("crit:"));
        });
    }

    /// <summary>
    /// The start's recovery of the jobs a kill left behind must write to the ledger. An audit restarted a server on a full
    /// disk: the process aborted (exit code 134) with an unhandled exception's stack trace. The ledger here refuses
    /// every change of a job, as a full disk refuses every write, by a trigger the test adds between the two starts.
    /// </summary>
    [Test]
    public async Task ALedgerThatRefusesTheRecoveryOfJobs_EndsTheStart_WithExitCode1_NotAsACrash()
    {
        await using (var first = await ServerProcess.StartAsync(data))
        {
            using var client = first.CreateClient();
            var jobId = await client.SubmitAsync("wait", new { duration_ms = 60_000 });
            await client.WaitForStatusAsync(jobId, "running");
            await first.KillAsync();
        }
        await using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(data, "agentcorex.db")};Pooling=False"))
        {
            await connection.OpenAsync();
            await using var refuse = connection.CreateCommand();
            refuse.CommandText = "CREATE TRIGGER refuse BEFORE UPDATE ON jobs BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;";
            await refuse.ExecuteNonQueryAsync();
        }

        var output = await RefusedStartAsync([]);

        Assert.That(output, Does.Contain("AgentCorex cannot start: the jobs the last run left queued or running cannot be recovered: SQLite Error 19: 'database or disk is full'."));
    }

    /// <summary>Starts the server expecting it to refuse: exit code 1, and never the runtime's report of an unhandled exception.</summary>
    private async Task<string> RefusedStartAsync(Dictionary<string, string> settings, Dictionary<string, string>? environment = null)
    {
        var failure = Assert.ThrowsAsync<InvalidOperationException>(async () => await ServerProcess.StartAsync(data, settings, environment))!;
        Assert.Multiple(() =>
        {
            Assert.That(failure.Message, Does.StartWith("the server exited with 1:"));
            Assert.That(failure.Message, Does.Not.Contain("Unhandled exception"));
        });
        return failure.Message;
    }

    [GeneratedRegex("acx_[a-z0-9]{12}_[a-z0-9]{40}")]
    private static partial Regex ApiKeyPattern();

    /// <summary>The console log's entries ("warn: Category[0]" and the lines under it), each from its category on.</summary>
    private static IEnumerable<string> Entries(string output) =>
        Regex.Split(output, @"^(?:trce|dbug|info|warn|fail|crit): ", RegexOptions.Multiline).Skip(1);

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
