using Hangfire;
using Hangfire.Common;
using Hangfire.States;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.Infrastructure;

/// <summary>
/// Hangfire's client as the server has it, except that creating the job of one chosen ledger job, or moving a job to
/// Canceled, fails once, as it does when the database goes away between storing a change in the ledger and telling
/// Hangfire of it: a storage failure on demand. Or the next job is created, and something happens right after.
/// </summary>
public sealed class FailingHangfireClient : IBackgroundJobClient
{
    private IBackgroundJobClient inner = null!;
    private readonly Lock gate = new();
    private string? failNext;
    private bool failAny;
    private bool failCancel;
    private Action? alongside;
    private Action? afterNext;
    private int failed;

    public int Failed
    {
        get
        {
            lock (gate)
            {
                return failed;
            }
        }
    }

    public void FailNextCreateOf(string jobId)
    {
        lock (gate)
        {
            failNext = jobId;
        }
    }

    /// <summary>The next job created fails, and <paramref name="alongside"/> runs as it fails (say, the database going away).</summary>
    public void FailNextCreate(Action alongside)
    {
        lock (gate)
        {
            failAny = true;
            this.alongside = alongside;
        }
    }

    public string Create(Job job, IState state)
    {
        if (job.Args.Count > 0 && job.Args[0] is string jobId && TakeFailure(jobId, out var alongside))
        {
            alongside?.Invoke();
            throw Unavailable();
        }
        var created = inner.Create(job, state);
        Interlocked.Exchange(ref afterNext, null)?.Invoke();
        return created;
    }

    /// <summary>The next job is created, and <paramref name="after"/> runs once it is (say, a stop of the caller).</summary>
    public void AfterNextCreate(Action after) => Volatile.Write(ref afterNext, after);

    /// <summary>The next move of a job to Canceled fails, as when the database goes away just after a cancel was stored.</summary>
    public void FailNextCancel()
    {
        lock (gate)
        {
            failCancel = true;
        }
    }

    public bool ChangeState(string jobId, IState state, string expectedState)
    {
        if (state is AgentCorex.Web.Jobs.CanceledState)
        {
            lock (gate)
            {
                if (failCancel)
                {
                    (failCancel, failed) = (false, failed + 1);
                    throw Unavailable();
                }
            }
        }
        return inner.ChangeState(jobId, state, expectedState);
    }

    private static BackgroundJobClientException Unavailable() => new(
        "State change of a background job failed. See inner exception for details.",
        new Npgsql.NpgsqlException("Exception while reading from stream", new IOException("the storage did not answer")));

    private bool TakeFailure(string jobId, out Action? alongside)
    {
        alongside = null;
        lock (gate)
        {
            if (!failAny && failNext != jobId)
            {
                return false;
            }
            (failNext, failAny, alongside, this.alongside) = (null, false, this.alongside, null);
            failed++;
            return true;
        }
    }

    /// <summary>Wraps the registered client.</summary>
    internal void Wrap(IBackgroundJobClient client) => inner = client;
}

public static class FailingHangfireClientRegistration
{
    /// <summary>Puts <paramref name="client"/> in front of the IBackgroundJobClient the server registered.</summary>
    public static void Decorate(this IServiceCollection services, FailingHangfireClient client)
    {
        var registered = services.Last(d => d.ServiceType == typeof(IBackgroundJobClient));
        services.Remove(registered);
        services.AddSingleton<IBackgroundJobClient>(provider =>
        {
            client.Wrap(registered.ImplementationInstance as IBackgroundJobClient
                ?? (IBackgroundJobClient?)registered.ImplementationFactory?.Invoke(provider)
                ?? (IBackgroundJobClient)ActivatorUtilities.CreateInstance(provider, registered.ImplementationType!));
            return client;
        });
    }
}
