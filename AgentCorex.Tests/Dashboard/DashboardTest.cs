using AgentCorex.Tests.Infrastructure;

namespace AgentCorex.Tests.Dashboard;

/// <summary>A fixture's server, with a client that reads its dashboard as an operator does.</summary>
public abstract class DashboardTest(TestStorage storage) : ServerTest(storage)
{
    protected HttpClient Dashboard { get; private set; } = null!;

    [OneTimeSetUp]
    public void OpenDashboard() => Dashboard = App.CreateDashboardClient();

    [OneTimeTearDown]
    public void CloseDashboard() => Dashboard?.Dispose();
}
