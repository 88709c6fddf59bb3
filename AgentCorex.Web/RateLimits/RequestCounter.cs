namespace AgentCorex.Web.RateLimits;

/// <summary>Counts a key's requests in the current minute; the answer is the count including this request.</summary>
public interface IRequestCounter
{
    ValueTask<int> CountAsync(string keyId, string bucket, long minute, CancellationToken cancellationToken);
}
