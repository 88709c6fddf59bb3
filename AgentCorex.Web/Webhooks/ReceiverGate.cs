using Microsoft.Extensions.Options;

namespace AgentCorex.Web.Webhooks;

/// <summary>
/// Keeps slow and dead receivers from taking this node's webhook workers (an attempt holds its Hangfire worker
/// until it ends). A receiver is slow once an attempt went unanswered (a timeout or a connection error) or took
/// half of Webhooks:AttemptTimeout or more, until it answers quickly again. A slow webhook has one attempt in
/// flight at most, and slow webhooks together half of the workers; no webhook has more than half. An attempt that
/// finds no room is put off, without being spent: by a second for a busy healthy webhook, by an attempt timeout
/// or a little more for a slow one, and by as long again as its receiver has been at work or slow
/// (<see cref="RetrySchedule.PutOff"/>). After an unanswered attempt the webhook's circuit is open for a
/// while (Webhooks:RetryBaseDelay, doubled at each further one, up to <see cref="MaxOpen"/>): attempts due
/// meanwhile are not made, and wait without being spent (<see cref="RetrySchedule.PutOff"/> too), so a dead
/// receiver costs one worker for one timeout per opening, whatever its backlog.
/// </summary>
public sealed class ReceiverGate(IOptions<WebhooksOptions> options, TimeProvider time)
{
    public static readonly TimeSpan MaxOpen = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan PutOff = TimeSpan.FromSeconds(1);

    private readonly Lock sync = new();
    private readonly Dictionary<string, Receiver> receivers = new(StringComparer.Ordinal);
    private int slowInFlight;

    private int HalfTheWorkers => Math.Max(1, options.Value.WorkerCount / 2);

    private int inFlight;

    /// <summary>Attempts this node is making now, for a stopping node to keep answering until they end.</summary>
    public int InFlight => Volatile.Read(ref inFlight);

    public Admission TryEnter(string webhookId)
    {
        var now = time.GetUtcNow();
        lock (sync)
        {
            var receiver = receivers.GetValueOrDefault(webhookId) ?? new Receiver { Since = now };
            if (receiver.OpenUntil > now)
            {
                return new Admission(AdmissionKind.CircuitOpen, receiver.OpenUntil, receiver.SilentSince);
            }
            if (receiver.Slow && (receiver.InFlight > 0 || slowInFlight >= HalfTheWorkers))
            {
                // Not before the attempts in flight have ended: a dead receiver's backlog comes back rarely,
                // or its put-off jobs would crowd the queue that healthy receivers' deliveries wait in.
                var timeout = options.Value.AttemptTimeout;
                return new Admission(AdmissionKind.Later, now + timeout + timeout * Random.Shared.NextDouble() / 2, receiver.Since);
            }
            if (receiver.InFlight >= HalfTheWorkers)
            {
                return new Admission(AdmissionKind.Later, now + PutOff + TimeSpan.FromMilliseconds(Random.Shared.Next(0, 500)), receiver.Since);
            }
            receiver.InFlight++;
            inFlight++;
            slowInFlight += receiver.Slow ? 1 : 0;
            receivers[webhookId] = receiver;
            return new Admission(AdmissionKind.Go, now);
        }
    }

    /// <summary>After an admitted attempt: <paramref name="answered"/> is false for a timeout or a connection error.</summary>
    public void Exit(string webhookId, bool answered, TimeSpan took) => Leave(webhookId, (answered, took));

    /// <summary>After an admission whose attempt was not made after all (another run of it was making it).</summary>
    public void Withdraw(string webhookId) => Leave(webhookId, null);

    private void Leave(string webhookId, (bool Answered, TimeSpan Took)? attempt)
    {
        var now = time.GetUtcNow();
        lock (sync)
        {
            var receiver = receivers[webhookId];
            slowInFlight -= receiver.Slow ? receiver.InFlight : 0;
            receiver.InFlight--;
            inFlight--;
            if (attempt is var (answered, took))
            {
                receiver.Slow = !answered || took >= options.Value.AttemptTimeout / 2;
                if (answered)
                {
                    receiver.Unanswered = 0;
                }
                else
                {
                    if (receiver.Unanswered == 0)
                    {
                        receiver.SilentSince = now;
                    }
                    receiver.Unanswered++;
                    var open = options.Value.RetryBaseDelay * Math.Pow(2, Math.Min(receiver.Unanswered - 1, 16));
                    receiver.OpenUntil = now + (open < MaxOpen ? open : MaxOpen);
                }
            }
            slowInFlight += receiver.Slow ? receiver.InFlight : 0;
            receiver.LeftAt = now;
            if (receiver is { InFlight: 0 } and ({ Slow: false } or { Deleted: true }))
            {
                receivers.Remove(webhookId); // only receivers in trouble or at work are remembered
            }
        }
    }

    /// <summary>A deleted webhook is forgotten, once its attempts in flight have ended.</summary>
    public void Forget(string webhookId)
    {
        lock (sync)
        {
            if (receivers.TryGetValue(webhookId, out var receiver))
            {
                receiver.Deleted = true;
                if (receiver.InFlight == 0)
                {
                    receivers.Remove(webhookId);
                }
            }
        }
    }

    /// <summary>
    /// Forgets the slow receivers with no attempt for <paramref name="idle"/> (the retry schedule's span: no delivery
    /// the last attempt knew of still waits for one) and whose circuit is closed: a webhook deleted on another node,
    /// or whose deliveries stopped, was otherwise remembered for as long as the node runs. Called by the sweep
    /// (<see cref="WebhookSweeper"/>), not by attempts.
    /// </summary>
    public void ForgetIdle(TimeSpan idle)
    {
        var now = time.GetUtcNow();
        lock (sync)
        {
            foreach (var (webhookId, receiver) in receivers)
            {
                if (receiver.InFlight == 0 && receiver.OpenUntil <= now && now - receiver.LeftAt >= idle)
                {
                    receivers.Remove(webhookId);
                }
            }
        }
    }

    /// <summary>The receivers remembered, for tests.</summary>
    internal int Count
    {
        get
        {
            lock (sync)
            {
                return receivers.Count;
            }
        }
    }

    private sealed class Receiver
    {
        /// <summary>When it was first remembered: it has been at work or slow (or silent) since, without a break.</summary>
        public DateTimeOffset Since { get; init; }

        public int InFlight { get; set; }

        public bool Slow { get; set; }

        public int Unanswered { get; set; }

        public DateTimeOffset OpenUntil { get; set; }

        /// <summary>When the first of its unanswered attempts in a row ended.</summary>
        public DateTimeOffset SilentSince { get; set; }

        /// <summary>When its last attempt ended.</summary>
        public DateTimeOffset LeftAt { get; set; }

        /// <summary>Its webhook was deleted while an attempt was in flight: forgotten when the last ends.</summary>
        public bool Deleted { get; set; }
    }
}

public enum AdmissionKind
{
    /// <summary>Make the attempt now, then call <see cref="ReceiverGate.Exit"/>.</summary>
    Go,

    /// <summary>
    /// No room now: try at <see cref="Admission.At"/>, without spending an attempt; the receiver has been at work or
    /// slow since <see cref="Admission.Since"/>.
    /// </summary>
    Later,

    /// <summary>
    /// The receiver did not answer moments ago: the attempt is not made now, nor spent; the circuit closes at
    /// <see cref="Admission.At"/>, and the receiver has not answered since <see cref="Admission.Since"/>.
    /// </summary>
    CircuitOpen,
}

/// <param name="Since">When the receiver's trouble began, for an attempt that is not made now (see <see cref="AdmissionKind"/>).</param>
public readonly record struct Admission(AdmissionKind Kind, DateTimeOffset At, DateTimeOffset Since = default);
