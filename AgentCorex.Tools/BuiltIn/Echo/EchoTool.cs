using FluentValidation;

namespace AgentCorex.Tools.BuiltIn.Echo;

public sealed record EchoArguments(string Message);

public sealed record EchoResult(string Message);

public sealed class EchoArgumentsValidator : AbstractValidator<EchoArguments>
{
    public EchoArgumentsValidator() => RuleFor(a => a.Message).NotEmpty().MaximumLength(10_000);
}

public sealed class EchoTool : Tool<EchoArguments, EchoResult>
{
    public override string Name => "echo";

    public override string Description => "Returns the message it is given.";

    public override bool SafeToRetry => true;

    public override bool NeverBlocks => true;

    public override TimeSpan EstimatedDuration => TimeSpan.FromMilliseconds(1);

    public override Task<EchoResult> ExecuteAsync(EchoArguments arguments, IToolContext context, CancellationToken cancellationToken) =>
        Task.FromResult(new EchoResult(arguments.Message));
}
