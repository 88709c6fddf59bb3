using AgentCorex.Tests.Infrastructure;

namespace AgentCorex.Tests.Jobs;

/// <summary>Jobs:MinThreadPoolThreads raises the thread pool's floor as the server starts, so blocked submits do not starve it.</summary>
public sealed class ThreadPoolFloorTests() : ServerTest(TestStorage.Embedded)
{
    /// <summary>Above the default and the machine's cores, so only this setting can have put it there.</summary>
    private const int Floor = 97;

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Jobs:MinThreadPoolThreads"] = Floor.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    [Test]
    public void ServerStart_RaisesTheThreadPoolFloor()
    {
        ThreadPool.GetMinThreads(out var workers, out _);

        Assert.That(workers, Is.GreaterThanOrEqualTo(Floor));
    }
}
