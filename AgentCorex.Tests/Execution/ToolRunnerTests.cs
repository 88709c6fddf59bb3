using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentCorex.Tests.Infrastructure;
using AgentCorex.Tests.TestTools;
using AgentCorex.Tools;
using AgentCorex.Web.Api;
using AgentCorex.Web.Execution;
using AgentCorex.Web.Tools;
using FluentValidation;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace AgentCorex.Tests.Execution;

/// <summary>Where a tool starts: on the caller's thread only when it declares that it never blocks, else on a thread of its own.</summary>
public sealed class ToolRunnerTests : ServerTest
{
    [TestCase("test_inline", true)]
    [TestCase("test_pooled", false)]
    public void Tool_StartsOnTheCallersThread_OnlyWhenItNeverBlocks(string name, bool onCallersThread)
    {
        var runner = App.Services.GetRequiredService<ToolRunner>();
        var tool = App.Services.GetRequiredService<ToolCatalog>().Find(name)!;
        int caller = 0;
        ToolOutcome? outcome = null;
        // A thread of its own, outside the pool: whatever the pool does, only an inline start runs the tool on it.
        var thread = new Thread(() =>
        {
            caller = Environment.CurrentManagedThreadId;
            outcome = runner.RunAsync(tool, new ThreadArguments(), Context(), TimeSpan.FromSeconds(10), CancellationToken.None).GetAwaiter().GetResult();
        });
        thread.Start();
        Assert.That(thread.Join(TimeSpan.FromSeconds(10)), Is.True);

        Assert.That(outcome?.Kind, Is.EqualTo(ToolOutcomeKind.Succeeded));
        var started = JsonSerializer.Deserialize<ThreadResult>(outcome!.Result!.Utf8, ApiJson.Options)!;
        Assert.That(started.StartedOnThread == caller, Is.EqualTo(onCallersThread), $"caller {caller}, tool started on {started.StartedOnThread}");
        // One that may block starts on a thread of its own: blocked and abandoned, it must not hold one of the pool's.
        Assert.That(started.StartedOnPoolThread, Is.False, "started on a thread of the pool");
    }

    [Test]
    public async Task ToolThatNeverBlocks_ButIgnoresItsToken_IsStillAnsweredAtTheDeadline()
    {
        var watch = Stopwatch.StartNew();
        var response = await Admin.PostJsonAsync("/execute_tool", new { tool = "test_inline", arguments = new { duration_ms = 5000 }, timeout_ms = 300 });
        watch.Stop();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.GatewayTimeout));
        Assert.That((await response.ReadObjectAsync()).Str("error.code"), Is.EqualTo("EXECUTION_TIMEOUT"));
        Assert.That(watch.ElapsedMilliseconds, Is.InRange(295, 2500));
    }

    [Test]
    public async Task ToolThatThrowsBeforeReturningATask_Fails_LikeOneWhoseTaskFaults()
    {
        var runner = App.Services.GetRequiredService<ToolRunner>();
        var tool = new ToolDescriptor(new ThrowsAtOnce(), new InlineValidator<object>(), [], [], NullLogger.Instance);

        var outcome = await runner.RunAsync(tool, new object(), Context(), TimeSpan.FromSeconds(10), CancellationToken.None);

        Assert.That(outcome.Kind, Is.EqualTo(ToolOutcomeKind.Failed));
        Assert.That(outcome.ErrorMessage, Is.EqualTo("thrown before any task"));
    }

    [Test]
    public void Deadline_FiringAsTheRunEnds_IsNoFault()
    {
        // The timer's callback can be under way while the run, just ended, disposes its token source: an exception
        // there would be unhandled on a timer thread, and end the process.
        var ended = new CancellationTokenSource();
        ended.Dispose();

        Assert.That(ToolTokenSource.Cancel(ended), Is.Null);

        using var running = new CancellationTokenSource();
        Assert.That(ToolTokenSource.Cancel(running), Is.Null);
        Assert.That(running.IsCancellationRequested, Is.True);
    }

    [TestCase(false, false)]
    [TestCase(false, true)]
    [TestCase(true, false)]
    [TestCase(true, true)]
    public async Task CallersToken_OrTheShutdown_FiringMidRun_CancelsTheTool_AndTheRunRethrows(bool shutdown, bool neverBlocks)
    {
        var runner = App.Services.GetRequiredService<ToolRunner>();
        var watcher = new TokenWatcher(neverBlocks);
        var tool = new ToolDescriptor(watcher, new InlineValidator<object>(), [], [], NullLogger.Instance);
        using var caller = new CancellationTokenSource();
        using var stopping = new CancellationTokenSource();

        var run = runner.RunAsync(tool, new object(), Context(), TimeSpan.FromMinutes(1), caller.Token, stopping.Token);
        var toolsToken = await watcher.Started.Task.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.That(toolsToken.IsCancellationRequested, Is.False);
        (shutdown ? stopping : caller).Cancel();

        Assert.That(async () => await run.WaitAsync(TimeSpan.FromSeconds(5)), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(toolsToken.IsCancellationRequested, Is.True, "the tool's own token fired");
    }

    [Test]
    public async Task CallersToken_AlreadyFired_IsTheToolsTokenFromTheStart()
    {
        var runner = App.Services.GetRequiredService<ToolRunner>();
        var watcher = new TokenWatcher(neverBlocks: true);
        var tool = new ToolDescriptor(watcher, new InlineValidator<object>(), [], [], NullLogger.Instance);

        var run = runner.RunAsync(tool, new object(), Context(), TimeSpan.FromMinutes(1), new CancellationToken(canceled: true));

        Assert.That((await watcher.Started.Task).IsCancellationRequested, Is.True);
        Assert.That(async () => await run, Throws.InstanceOf<OperationCanceledException>());
    }

    [Test]
    public async Task ATimedOutRun_HasRunItsWholeTimeout_EvenWhenTheTimerFiresEarly()
    {
        // Timers keep a coarse clock (a few ms on Linux): here they fire 50 ms early, every time.
        var runner = new ToolRunner(new EarlyTimers(TimeSpan.FromMilliseconds(50)), App.Services.GetRequiredService<Web.Monitoring.AgentCorexMetrics>(), NullLogger<ToolRunner>.Instance);
        var tool = App.Services.GetRequiredService<ToolCatalog>().Find("test_inline")!;

        var outcome = await runner.RunAsync(tool, new ThreadArguments(DurationMs: 5000), Context(), TimeSpan.FromMilliseconds(200), CancellationToken.None);

        Assert.That(outcome.Kind, Is.EqualTo(ToolOutcomeKind.TimedOut));
        Assert.That(outcome.ExecutionTimeMs, Is.GreaterThanOrEqualTo(200), "timed out only once its timeout has passed");
    }

    public enum Firing
    {
        Deadline,
        ShutdownDeadline,
        CallersToken,
    }

    [TestCase(Firing.Deadline)]
    [TestCase(Firing.ShutdownDeadline)]
    [TestCase(Firing.CallersToken)]
    public async Task AToolsTokenCallbackThatThrows_IsLoggedOnce_AndTheRunEndsAsItWouldHave(Firing firing)
    {
        // The deadline's timer and the shutdown's (ShutdownDeadline's CancelAfter) fire on a timer thread, where what
        // the tool's callbacks threw was unhandled, and ended the process; the fake clock's Advance runs them here.
        var time = new FakeTimeProvider();
        var logs = new CapturedLogs();
        using var loggers = new LoggerFactory([logs]);
        var runner = new ToolRunner(time, App.Services.GetRequiredService<Web.Monitoring.AgentCorexMetrics>(), loggers.CreateLogger<ToolRunner>());
        var tool = App.Services.GetRequiredService<ToolCatalog>().Find("test_throwing_callback")!;
        using var caller = new CancellationTokenSource();
        using var shutdown = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
        var timeout = firing == Firing.Deadline ? TimeSpan.FromSeconds(1) : TimeSpan.FromMinutes(1);

        var run = runner.RunAsync(tool, new ThrowingCallbackArguments(DurationMs: 600_000), Context(), timeout, caller.Token, shutdown.Token);
        Assert.That(run.IsCompleted, Is.False, "the tool waits on its token");
        if (firing == Firing.ShutdownDeadline)
        {
            shutdown.CancelAfter(TimeSpan.FromSeconds(1));
        }
        Assert.That(() =>
        {
            if (firing == Firing.CallersToken)
            {
                caller.Cancel();
            }
            else
            {
                time.Advance(TimeSpan.FromSeconds(1));
            }
        }, Throws.Nothing);

        if (firing == Firing.Deadline)
        {
            Assert.That((await run.WaitAsync(TimeSpan.FromSeconds(5))).Kind, Is.EqualTo(ToolOutcomeKind.TimedOut));
        }
        else
        {
            Assert.That(async () => await run.WaitAsync(TimeSpan.FromSeconds(5)), Throws.InstanceOf<OperationCanceledException>());
        }
        Assert.That(logs.At(LogLevel.Warning).Where(l => l.Contains("cancellation token that threw")),
            Has.One.Contains("test_throwing_callback").And.Contains("the tool's cancel hook failed"));
    }

    private static ToolExecutionContext Context() => new(ExecutionIds.New(), NullLogger.Instance);

    /// <summary>Not a plugin (not public): implements the contract directly, throwing from the call itself.</summary>
    private sealed class ThrowsAtOnce : ITool
    {
        public string Name => "test_throws_at_once";

        public string Description => "";

        public Type ArgumentsType => typeof(object);

        public Type ResultType => typeof(object);

        public bool SafeToRetry => false;

        public bool NeverBlocks => true;

        public TimeSpan EstimatedDuration => TimeSpan.Zero;

        public Task<object?> ExecuteAsync(object arguments, IToolContext context, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("thrown before any task");
    }

    /// <summary>Hands out the token it was given, then waits on it.</summary>
    private sealed class TokenWatcher(bool neverBlocks) : ITool
    {
        public TaskCompletionSource<CancellationToken> Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public string Name => "test_token_watcher";

        public string Description => "";

        public Type ArgumentsType => typeof(object);

        public Type ResultType => typeof(object);

        public bool SafeToRetry => false;

        public bool NeverBlocks => neverBlocks;

        public TimeSpan EstimatedDuration => TimeSpan.Zero;

        public async Task<object?> ExecuteAsync(object arguments, IToolContext context, CancellationToken cancellationToken)
        {
            Started.SetResult(cancellationToken);
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return null;
        }
    }
}
