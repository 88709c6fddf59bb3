using System.Diagnostics;

namespace AgentCorex.Bench.LoadGenerator;

/// <summary>
/// CPU time used so far by this process and by the server. Server and generator share the machine's cores,
/// so CPU time per request says more about the server's cost than requests/s alone.
/// </summary>
internal readonly record struct CpuSample(TimeSpan Client, TimeSpan? Server)
{
    public static CpuSample Take(int? serverPid)
    {
        TimeSpan? server = null;
        if (serverPid is { } pid)
        {
            using var process = Process.GetProcessById(pid);
            server = process.TotalProcessorTime;
        }
        using var self = Process.GetCurrentProcess();
        return new CpuSample(self.TotalProcessorTime, server);
    }
}
