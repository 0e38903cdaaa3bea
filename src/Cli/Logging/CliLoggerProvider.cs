using Microsoft.Extensions.Logging;

namespace OstreeContainer.Cli.Logging;

/// <summary>
/// Shows what the libraries log as the CLI's own stderr lines: an Information entry is its
/// message alone (one line per build or transfer step), a Warning is prefixed
/// <c>ostree-container: warning: </c> and an Error <c>ostree-container: error: </c>, the way
/// the CLI reports them itself. No timestamps, levels or categories: the user reads these
/// lines, scripts do not parse them. Exceptions attached to an entry are not printed (their
/// message is already in the entry's text; a failure that ends the command is reported by
/// the command).
/// </summary>
internal sealed class CliLoggerProvider : ILoggerProvider
{
    private const string WarningPrefix = "ostree-container: warning: ";
    private const string ErrorPrefix = "ostree-container: error: ";

    private readonly Action<string> _writeLine;

    /// <summary>Writes each entry with <paramref name="writeLine"/>, which must be thread-safe (parallel uploads log at once).</summary>
    public CliLoggerProvider(Action<string> writeLine)
    {
        ArgumentNullException.ThrowIfNull(writeLine);
        _writeLine = writeLine;
    }

    /// <summary>
    /// A factory whose entries reach <paramref name="writeLine"/>: Information and above, or
    /// only warnings and errors when <paramref name="quiet"/> (<c>-q</c> hides the step lines,
    /// never a warning). The caller disposes it.
    /// </summary>
    public static ILoggerFactory CreateFactory(Action<string> writeLine, bool quiet) =>
        // The constructor, not LoggerFactory.Create: that builds a dependency-injection
        // container only to hold one provider and one filter.
        new LoggerFactory([new CliLoggerProvider(writeLine)], new LoggerFilterOptions { MinLevel = quiet ? LogLevel.Warning : LogLevel.Information });

    /// <summary>The line shown for an entry at <paramref name="level"/> with text <paramref name="message"/>.</summary>
    public static string Format(LogLevel level, string message) => level switch
    {
        >= LogLevel.Error => ErrorPrefix + message,
        LogLevel.Warning => WarningPrefix + message,
        _ => message,
    };

    /// <inheritdoc/>
    public ILogger CreateLogger(string categoryName) => new CliLogger(_writeLine);

    /// <inheritdoc/>
    public void Dispose()
    {
    }

    private sealed class CliLogger(Action<string> writeLine) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        // The factory's filter decides; this logger shows whatever reaches it.
        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            ArgumentNullException.ThrowIfNull(formatter);
            if (IsEnabled(logLevel))
            {
                writeLine(Format(logLevel, formatter(state, exception)));
            }
        }
    }
}
