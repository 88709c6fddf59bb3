using FluentValidation;

namespace AgentCorex.Tools.BuiltIn.Fail;

public sealed record FailArguments(string Message, string Code = "TOOL_FAILED");

public sealed record FailResult;

public sealed class FailArgumentsValidator : AbstractValidator<FailArguments>
{
    public FailArgumentsValidator()
    {
        RuleFor(a => a.Message).NotEmpty().MaximumLength(10_000);
        // The code a ToolFailedException takes; the pattern is published in the schema. A code too long is not matched.
        RuleFor(a => a.Code).Cascade(CascadeMode.Stop).NotEmpty().MaximumLength(ToolFailedException.MaxCodeLength).MatchesPublished(ToolFailedException.CodePattern)
            .WithMessage("'code' must be UPPER_SNAKE_CASE.");
    }
}

/// <summary>Always fails with the given message and code: for testing how clients handle failures.</summary>
public sealed class FailTool : Tool<FailArguments, FailResult>
{
    public override string Name => "fail";

    public override string Description => "Fails with the given message; its code is reported in error.details.tool_code.";

    public override bool SafeToRetry => true;

    public override bool NeverBlocks => true;

    public override TimeSpan EstimatedDuration => TimeSpan.FromMilliseconds(1);

    public override Task<FailResult> ExecuteAsync(FailArguments arguments, IToolContext context, CancellationToken cancellationToken) =>
        throw new ToolFailedException(arguments.Code, arguments.Message);
}
