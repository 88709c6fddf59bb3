namespace AgentCorex.Tools;

/// <summary>
/// Base class of a tool plugin: a typed arguments record (validated by a FluentValidation
/// <c>AbstractValidator&lt;TArguments&gt;</c> in the same assembly) and a JSON-serialisable result.
/// </summary>
public abstract class Tool<TArguments, TResult> : ITool
    where TArguments : class
{
    public abstract string Name { get; }

    public abstract string Description { get; }

    public Type ArgumentsType => typeof(TArguments);

    public Type ResultType => typeof(TResult);

    public virtual bool SafeToRetry => false;

    public virtual bool NeverBlocks => false;

    public virtual TimeSpan EstimatedDuration => TimeSpan.FromSeconds(1);

    /// <summary>Runs the tool on arguments that have already passed validation.</summary>
    public abstract Task<TResult> ExecuteAsync(TArguments arguments, IToolContext context, CancellationToken cancellationToken);

    async Task<object?> ITool.ExecuteAsync(object arguments, IToolContext context, CancellationToken cancellationToken) =>
        await ExecuteAsync((TArguments)arguments, context, cancellationToken);
}
