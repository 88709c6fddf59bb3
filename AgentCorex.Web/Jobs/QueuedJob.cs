namespace AgentCorex.Web.Jobs;

/// <summary>What handing a ledger job to Hangfire needs of it (its arguments stay in the ledger, read as it starts).</summary>
internal sealed record QueuedJob(string Id, string Tool, string OwnerKeyId);
