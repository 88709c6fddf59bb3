namespace AgentCorex.Tests.Infrastructure;

/// <summary>A fixture with one server for all its tests; each test still makes its own keys and jobs.</summary>
public abstract class ServerTest
{
    protected AgentCorexApp App { get; private set; } = null!;

    /// <summary>A client with the configured admin key.</summary>
    protected HttpClient Admin { get; private set; } = null!;

    /// <summary>Configuration this fixture's server runs with, beside the test defaults.</summary>
    protected virtual IDictionary<string, string?>? Settings => null;

    [OneTimeSetUp]
    public void StartServer()
    {
        App = new AgentCorexApp(Settings);
        Admin = App.CreateAdminClient();
    }

    [OneTimeTearDown]
    public void StopServer()
    {
        Admin.Dispose();
        App.Dispose();
    }
}
