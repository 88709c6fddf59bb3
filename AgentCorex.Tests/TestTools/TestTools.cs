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

public sealed record NestedArguments(Target Target, IReadOnlyList<string> Tags, string? Note = null);

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
