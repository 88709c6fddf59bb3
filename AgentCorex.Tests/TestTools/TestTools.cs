using System.Text.Json.Serialization;
using AgentCorex.Tools;
using FluentValidation;

namespace AgentCorex.Tests.TestTools;

// Tools that misbehave on purpose. The test server loads this assembly through Tools:PluginPaths,
// which also proves that a plugin assembly is all it takes to add tools.

public sealed record IgnoreTokenArguments(int DurationMs);

public sealed record IgnoreTokenResult(bool Finished);

public sealed class IgnoreTokenArgumentsValidator : AbstractValidator<IgnoreTokenArguments>
{
    public IgnoreTokenArgumentsValidator() => RuleFor(a => a.DurationMs).InclusiveBetween(0, 60_000);
}

/// <summary>Blocks its thread and never looks at its cancellation token.</summary>
public sealed class IgnoreTokenTool : Tool<IgnoreTokenArguments, IgnoreTokenResult>
{
    public override string Name => "test_ignore_token";

    public override string Description => "Blocks for duration_ms, ignoring cancellation.";

    public override Task<IgnoreTokenResult> ExecuteAsync(IgnoreTokenArguments arguments, IToolContext context, CancellationToken cancellationToken)
    {
        Thread.Sleep(arguments.DurationMs);
        return Task.FromResult(new IgnoreTokenResult(true));
    }
}

public sealed record ThrowArguments(string Message);

public sealed record ThrowResult;

public sealed class ThrowArgumentsValidator : AbstractValidator<ThrowArguments>
{
    public ThrowArgumentsValidator() => RuleFor(a => a.Message).NotEmpty();
}

/// <summary>Throws an ordinary exception, as a buggy tool would.</summary>
public sealed class ThrowTool : Tool<ThrowArguments, ThrowResult>
{
    public override string Name => "test_throw";

    public override string Description => "Throws InvalidOperationException with the message.";

    public override Task<ThrowResult> ExecuteAsync(ThrowArguments arguments, IToolContext context, CancellationToken cancellationToken) =>
        throw new InvalidOperationException(arguments.Message);
}

public sealed record Target(string Host, int Port);

public sealed record NestedArguments(Target Target, IReadOnlyList<string> Tags, string? Note = null, string? ApiToken = null);

public sealed record NestedResult(string Address, int TagCount);

public sealed class NestedArgumentsValidator : AbstractValidator<NestedArguments>
{
    public NestedArgumentsValidator()
    {
        RuleFor(a => a.Target).SetValidator(new TargetValidator());
        RuleForEach(a => a.Tags).NotEmpty().MaximumLength(20);
        RuleFor(a => a.Note).MaximumLength(50);
    }
}

public sealed class TargetValidator : AbstractValidator<Target>
{
    public TargetValidator()
    {
        RuleFor(t => t.Host).NotEmpty();
        RuleFor(t => t.Port).InclusiveBetween(1, 65535);
    }
}

/// <summary>Nested and list arguments, to check that errors name them by JSON path.</summary>
public sealed class NestedTool : Tool<NestedArguments, NestedResult>
{
    public override string Name => "test_nested";

    public override string Description => "Joins a nested target into an address and counts tags, reporting tokens.";

    public override Task<NestedResult> ExecuteAsync(NestedArguments arguments, IToolContext context, CancellationToken cancellationToken)
    {
        context.ReportTokens(input: arguments.Tags.Count, output: 7);
        context.ReportTokens(input: 1, output: 0);
        return Task.FromResult(new NestedResult($"{arguments.Target.Host}:{arguments.Target.Port}", arguments.Tags.Count));
    }
}

/// <summary><c>Attempt</c>: a positional record's <c>[JsonIgnore]</c> parameter, no argument (ArgumentValidationTests).</summary>
public sealed record RecordArguments(string Label, [property: JsonIgnore] int Attempt);

public sealed record RecordResult(string Label);

public sealed class RecordArgumentsValidator : AbstractValidator<RecordArguments>
{
    public RecordArgumentsValidator() => RuleFor(a => a.Label).NotEmpty();
}

/// <summary>Remembers every run, so a test can tell whether a job ever ran.</summary>
public sealed class RecordTool : Tool<RecordArguments, RecordResult>
{
    public static readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> Runs = new();

    public override string Name => "test_record";

    public override string Description => "Counts its runs by execution id.";

    public override Task<RecordResult> ExecuteAsync(RecordArguments arguments, IToolContext context, CancellationToken cancellationToken)
    {
        Runs.AddOrUpdate(context.ExecutionId, 1, (_, n) => n + 1);
        return Task.FromResult(new RecordResult(arguments.Label));
    }
}

public sealed record SideEffectArguments(int DurationMs);

public sealed record SideEffectResult(int DurationMs);

public sealed class SideEffectArgumentsValidator : AbstractValidator<SideEffectArguments>
{
    public SideEffectArgumentsValidator() => RuleFor(a => a.DurationMs).InclusiveBetween(0, 600_000);
}

/// <summary>Waits like `wait`, but declares side effects: it must never be run twice.</summary>
public sealed class SideEffectTool : Tool<SideEffectArguments, SideEffectResult>
{
    public override string Name => "test_side_effect";

    public override string Description => "Waits, honouring cancellation; not safe to retry.";

    public override bool SafeToRetry => false;

    public override async Task<SideEffectResult> ExecuteAsync(SideEffectArguments arguments, IToolContext context, CancellationToken cancellationToken)
    {
        context.ReportProgress("working", 1);
        await Task.Delay(arguments.DurationMs, cancellationToken);
        return new SideEffectResult(arguments.DurationMs);
    }
}

public sealed record ThreadArguments(int DurationMs = 0);

public sealed record ThreadResult(int StartedOnThread, bool StartedOnPoolThread);

public sealed class ThreadArgumentsValidator : AbstractValidator<ThreadArguments>
{
    public ThreadArgumentsValidator() => RuleFor(a => a.DurationMs).InclusiveBetween(0, 60_000);
}

/// <summary>Declares that it never blocks; tells which thread started it, then waits without looking at its token.</summary>
public sealed class InlineTool : Tool<ThreadArguments, ThreadResult>
{
    public override string Name => "test_inline";

    public override string Description => "Never blocks: reports the thread it started on, then awaits duration_ms, ignoring cancellation.";

    public override bool NeverBlocks => true;

    public override async Task<ThreadResult> ExecuteAsync(ThreadArguments arguments, IToolContext context, CancellationToken cancellationToken)
    {
        var thread = Environment.CurrentManagedThreadId;
        var pooled = Thread.CurrentThread.IsThreadPoolThread;
        if (arguments.DurationMs > 0)
        {
            await Task.Delay(arguments.DurationMs, CancellationToken.None);
        }
        return new ThreadResult(thread, pooled);
    }
}

/// <summary>The same, without the declaration: the host must not start it on the caller's thread.</summary>
public sealed class PooledTool : Tool<ThreadArguments, ThreadResult>
{
    public override string Name => "test_pooled";

    public override string Description => "May block: reports the thread it started on.";

    public override Task<ThreadResult> ExecuteAsync(ThreadArguments arguments, IToolContext context, CancellationToken cancellationToken) =>
        Task.FromResult(new ThreadResult(Environment.CurrentManagedThreadId, Thread.CurrentThread.IsThreadPoolThread));
}

public sealed record BadResultArguments(bool InDetails = false);

public sealed record BadResult(double Ratio);

public sealed class BadResultArgumentsValidator : AbstractValidator<BadResultArguments>;

/// <summary>Returns (or fails with details holding) a number JSON cannot express.</summary>
public sealed class BadResultTool : Tool<BadResultArguments, BadResult>
{
    public override string Name => "test_bad_result";

    public override string Description => "Returns NaN, or fails with NaN in its error's details.";

    public override bool SafeToRetry => true;

    public override Task<BadResult> ExecuteAsync(BadResultArguments arguments, IToolContext context, CancellationToken cancellationToken) =>
        arguments.InDetails
            ? throw new ToolFailedException("RATIO_UNDEFINED", "no ratio", new Dictionary<string, object?> { ["ratio"] = double.NaN, ["of"] = "x" })
            : Task.FromResult(new BadResult(double.NaN));
}

public sealed record NameArguments(string Name);

public sealed record NameResult(string Name);

public sealed class NameArgumentsValidator : AbstractValidator<NameArguments>
{
    public NameArgumentsValidator() =>
        RuleFor(a => a.Name).MustAsync(async (name, cancellationToken) =>
        {
            await Task.Delay(1, cancellationToken); // a look-up, as a real check of a name would make
            return name != "taken";
        }).WithMessage("'name' is taken.");
}

/// <summary>A validator with an asynchronous rule, which only ValidateAsync runs.</summary>
public sealed class AsyncRuleTool : Tool<NameArguments, NameResult>
{
    public override string Name => "test_async_rule";

    public override string Description => "Takes a name that is not taken.";

    public override Task<NameResult> ExecuteAsync(NameArguments arguments, IToolContext context, CancellationToken cancellationToken) =>
        Task.FromResult(new NameResult(arguments.Name));
}

public sealed record ShapesArguments(
    Target Target,
    IReadOnlyList<Target> Mirrors,
    bool Verbose = false,
    string? Mode = null,
    DateTimeOffset? When = null,
    Dictionary<string, int>? Weights = null,
    Priority? Priority = null,
    Dictionary<string, Target>? Hosts = null,
    DateTime? Until = null,
    Uri? Callback = null,
    DateOnly? On = null,
    TimeOnly? At = null,
    TimeSpan? Every = null,
    IReadOnlyList<Uri>? Links = null,
    Dictionary<Priority, int>? Quotas = null);

public enum Priority
{
    Low,
    VeryHigh,
}

public sealed record ShapesResult(string Address, string? Mode, object? Extra, Priority? Priority = null, DateTime? Until = null);

public sealed class ShapesArgumentsValidator : AbstractValidator<ShapesArguments>
{
    public ShapesArgumentsValidator()
    {
        RuleFor(a => a.Target.Host).Must(host => host != "localhost").WithMessage("'host' must not be localhost.");
        RuleFor(a => a.Mode).NotEmpty().When(a => a.Verbose);
        // A validator's own bug, as a tool author may write one.
        RuleFor(a => a.Mode).Must(mode => mode != "crash" ? true : throw new InvalidOperationException("the validator's own bug, secret-42"));
    }
}

/// <summary>
/// Arguments and a result of the shapes tool authors write: rules on nested members, conditions, dates and times, URIs,
/// maps (of objects too, keyed by an enum too), enums, nullable results.
/// </summary>
public sealed class ShapesTool : Tool<ShapesArguments, ShapesResult>
{
    public override string Name => "test_shapes";

    public override string Description => "Joins the target into an address; gives the mode back, null when none.";

    public override Task<ShapesResult> ExecuteAsync(ShapesArguments arguments, IToolContext context, CancellationToken cancellationToken) =>
        Task.FromResult(new ShapesResult($"{arguments.Target.Host}:{arguments.Target.Port}", arguments.Mode, Extra: null, arguments.Priority, arguments.Until));
}

public sealed record ToolFailureArguments(string Code, string Message);

public sealed record ToolFailureResult;

public sealed class ToolFailureArgumentsValidator : AbstractValidator<ToolFailureArguments>;

/// <summary>Fails with whatever code and message it is given, as a careless tool would (a malformed code, a blank message).</summary>
public sealed class ToolFailureTool : Tool<ToolFailureArguments, ToolFailureResult>
{
    public override string Name => "test_tool_failure";

    public override string Description => "Throws ToolFailedException with the code and message, and details {\"disk\": \"sda\"}.";

    public override Task<ToolFailureResult> ExecuteAsync(ToolFailureArguments arguments, IToolContext context, CancellationToken cancellationToken) =>
        throw new ToolFailedException(arguments.Code, arguments.Message, new Dictionary<string, object?> { ["disk"] = "sda" });
}

public sealed record ServersNamesFailureArguments;

public sealed record ServersNamesFailureResult;

public sealed class ServersNamesFailureArgumentsValidator : AbstractValidator<ServersNamesFailureArguments>;

/// <summary>
/// Fails with details named as the server's own are, typed as the tool chose: a limit that is text, as a plugin's may
/// be, and a tool_code that is a number (the server puts the tool's code there in its place).
/// </summary>
public sealed class ServersNamesFailureTool : Tool<ServersNamesFailureArguments, ServersNamesFailureResult>
{
    public override string Name => "test_servers_names_failure";

    public override string Description => "Throws ToolFailedException QUOTA_SPENT with details {\"limit\": \"x\", \"tool_code\": 5}.";

    public override Task<ServersNamesFailureResult> ExecuteAsync(ServersNamesFailureArguments arguments, IToolContext context, CancellationToken cancellationToken) =>
        throw new ToolFailedException("QUOTA_SPENT", "the quota is spent", new Dictionary<string, object?> { ["limit"] = "x", ["tool_code"] = 5 });
}

public sealed record ThrowingCallbackArguments(int DurationMs);

public sealed record ThrowingCallbackResult(int DurationMs);

public sealed class ThrowingCallbackArgumentsValidator : AbstractValidator<ThrowingCallbackArguments>
{
    public ThrowingCallbackArgumentsValidator() => RuleFor(a => a.DurationMs).InclusiveBetween(0, 600_000);
}

/// <summary>
/// Registers a callback on its token that throws, as a tool's cancel hook may (a client it closes fails), then waits on
/// the token (its progress says "registered" once the callback is). The registration is left in place: disposed as the
/// wait ends, it could be gone before its turn came.
/// </summary>
public sealed class ThrowingCallbackTool : Tool<ThrowingCallbackArguments, ThrowingCallbackResult>
{
    public override string Name => "test_throwing_callback";

    public override string Description => "Registers a cancellation callback that throws, then waits duration_ms on its token.";

    public override bool NeverBlocks => true;

    public override async Task<ThrowingCallbackResult> ExecuteAsync(ThrowingCallbackArguments arguments, IToolContext context, CancellationToken cancellationToken)
    {
        cancellationToken.Register(static () => throw new InvalidOperationException("the tool's cancel hook failed"));
        context.ReportProgress("registered", 1);
        await Task.Delay(arguments.DurationMs, cancellationToken);
        return new ThrowingCallbackResult(arguments.DurationMs);
    }
}

public sealed record FlakyCheckArguments(string Label);

public sealed record FlakyCheckResult(string Label);

/// <summary>
/// Passes a label's first check (a submit's) and throws at every later one (the job's run), as a validator asking a
/// service that went down in between does.
/// </summary>
public sealed class FlakyCheckArgumentsValidator : AbstractValidator<FlakyCheckArguments>
{
    public static readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> Checks = new();

    public FlakyCheckArgumentsValidator() =>
        RuleFor(a => a.Label).MustAsync(async (label, cancellationToken) =>
        {
            await Task.Yield(); // a call to the service
            return Checks.AddOrUpdate(label, 1, (_, n) => n + 1) == 1 ? true : throw new HttpRequestException("the label service is down, secret-17");
        });
}

/// <summary>A validator that throws once its arguments have been checked at submit.</summary>
public sealed class FlakyCheckTool : Tool<FlakyCheckArguments, FlakyCheckResult>
{
    public override string Name => "test_flaky_check";

    public override string Description => "Gives its label back; its validator fails from a label's second check on.";

    public override Task<FlakyCheckResult> ExecuteAsync(FlakyCheckArguments arguments, IToolContext context, CancellationToken cancellationToken) =>
        Task.FromResult(new FlakyCheckResult(arguments.Label));
}

public sealed record SpendArguments(int InputTokens, int OutputTokens, int DurationMs);

public sealed record SpendResult(int DurationMs);

public sealed class SpendArgumentsValidator : AbstractValidator<SpendArguments>
{
    public SpendArgumentsValidator()
    {
        RuleFor(a => a.InputTokens).GreaterThanOrEqualTo(0);
        RuleFor(a => a.OutputTokens).GreaterThanOrEqualTo(0);
        RuleFor(a => a.DurationMs).InclusiveBetween(0, 600_000);
    }
}

/// <summary>Reports tokens, then says so (its one step) and waits, honouring cancellation: a run stopped after it spent them.</summary>
public sealed class SpendTool : Tool<SpendArguments, SpendResult>
{
    public override string Name => "test_spend";

    public override string Description => "Reports tokens, then waits.";

    public override async Task<SpendResult> ExecuteAsync(SpendArguments arguments, IToolContext context, CancellationToken cancellationToken)
    {
        context.ReportTokens(arguments.InputTokens, arguments.OutputTokens);
        context.ReportProgress("spent", 1);
        await Task.Delay(arguments.DurationMs, cancellationToken);
        return new SpendResult(arguments.DurationMs);
    }
}

public sealed record GateArguments(string Gate);

public sealed record GateResult(bool Opened);

public sealed class GateArgumentsValidator : AbstractValidator<GateArguments>
{
    public GateArgumentsValidator() => RuleFor(a => a.Gate).NotEmpty();
}

/// <summary>
/// Runs until the test opens its gate (<see cref="Open"/>), honouring cancellation; its progress says "waiting" once it
/// does. Not safe to retry. A test that must act while a job runs then acts at its own pace, not in a time the tool
/// gives it, which a loaded machine may not.
/// </summary>
public sealed class GateTool : Tool<GateArguments, GateResult>
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, TaskCompletionSource> Gates = new();

    public override string Name => "test_gate";

    public override string Description => "Waits until the test opens the gate it names; not safe to retry.";

    public override bool SafeToRetry => false;

    /// <summary>Lets the runs waiting at <paramref name="gate"/> end, and any that come to it later pass.</summary>
    public static void Open(string gate) => GateNamed(gate).TrySetResult();

    /// <summary>Whether a run has come to <paramref name="gate"/> (or it was opened): the tool is running, past its arguments.</summary>
    public static bool Reached(string gate) => Gates.ContainsKey(gate);

    public override async Task<GateResult> ExecuteAsync(GateArguments arguments, IToolContext context, CancellationToken cancellationToken)
    {
        context.ReportProgress("waiting", 1);
        await GateNamed(arguments.Gate).Task.WaitAsync(cancellationToken);
        return new GateResult(true);
    }

    private static TaskCompletionSource GateNamed(string gate) =>
        Gates.GetOrAdd(gate, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
}
