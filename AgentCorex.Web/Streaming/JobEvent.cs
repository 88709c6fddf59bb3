using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using AgentCorex.Web.Api;
using AgentCorex.Web.Jobs;

namespace AgentCorex.Web.Streaming;

/// <summary>
/// One event of a job's stream: the job as GET /jobs/{id} shows it. Its id is derived from that content, so
/// every node names the same state alike, and a client reconnecting with Last-Event-ID (to any node) is not
/// sent again the state it already has.
/// </summary>
public sealed record JobEvent(string Id, string Json, bool IsFinal)
{
    public static JobEvent From(JobResponse job)
    {
        var json = JsonSerializer.Serialize(job, ApiJson.Options);
        var id = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(json)).AsSpan(0, 12));
        return new JobEvent(id, json, JobStatus.IsFinal(job.Status));
    }
}
