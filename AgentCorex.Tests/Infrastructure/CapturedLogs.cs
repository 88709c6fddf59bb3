using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace AgentCorex.Tests.Infrastructure;

/// <summary>Every line the server logs, with its scopes' values, to check what never may appear in a log.</summary>
public sealed class CapturedLogs : ILoggerProvider, ISupportExternalScope
{
    private readonly ConcurrentQueue<(LogLevel Level, string Line)> lines = new();
    private IExternalScopeProvider scopes = new LoggerExternalScopeProvider();

    public IReadOnlyCollection<string> Lines => [.. lines.Select(l => l.Line)];

    /// <summary>The lines logged at <paramref name="level"/>.</summary>
    public IReadOnlyCollection<string> At(LogLevel level) => [.. lines.Where(l => l.Level == level).Select(l => l.Line)];

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => scopes = scopeProvider;

    public void Dispose()
    {
    }

    private sealed class Logger(CapturedLogs logs, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => logs.scopes.Push(state);

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var line = $"{category}: {formatter(state, exception)} {exception}";
            logs.scopes.ForEachScope((scope, text) => line += $" [{scope}]", line);
            logs.lines.Enqueue((logLevel, line));
        }
    }
}
