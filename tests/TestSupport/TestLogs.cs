using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace OstreeContainer.TestSupport;

/// <summary>One entry a <see cref="TestLogs"/> kept.</summary>
/// <param name="Category">The logger's category (usually the logging type's full name).</param>
/// <param name="Level">Its level.</param>
/// <param name="EventId">Its event id.</param>
/// <param name="Message">The formatted message.</param>
/// <param name="Exception">The exception logged with it, if any.</param>
public sealed record LogEntry(string Category, LogLevel Level, EventId EventId, string Message, Exception? Exception);

/// <summary>
/// Keeps every entry logged through it, at every level, for tests that assert what a
/// component logged. It is a logger factory (pass it where a library takes an
/// <see cref="ILoggerFactory"/>) and a logger provider (add it to a host's logging).
/// Thread-safe; <paramref name="echo"/>, when given, also receives each message (from
/// whichever thread logged it).
/// </summary>
public sealed class TestLogs(Action<string>? echo = null) : ILoggerFactory, ILoggerProvider
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();
    private readonly Action<string>? _echo = echo;

    /// <summary>The entries so far, in the order they were logged.</summary>
    public IReadOnlyList<LogEntry> Entries => [.. _entries];

    /// <summary>The messages so far at <paramref name="level"/>.</summary>
    public IReadOnlyList<string> Messages(LogLevel level) => [.. _entries.Where(e => e.Level == level).Select(e => e.Message)];

    /// <inheritdoc/>
    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    /// <summary>Not supported: this factory is its own only provider.</summary>
    public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException("TestLogs is its own provider");

    /// <inheritdoc/>
    public void Dispose()
    {
    }

    private sealed class Logger(TestLogs logs, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var message = formatter(state, exception);
            logs._entries.Enqueue(new LogEntry(category, logLevel, eventId, message, exception));
            logs._echo?.Invoke(message);
        }
    }
}
