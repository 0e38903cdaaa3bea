using System.CommandLine;
using System.CommandLine.Parsing;
using OstreeContainer.Errors;

namespace OstreeContainer.Cli;

/// <summary>
/// How the CLI ends: the exit codes, and how failures are told to the user. Failures of
/// input or environment (<see cref="ErrorPolicy.IsUserFacing"/>) are one line; anything else
/// is a bug, reported as one with its stack trace.
/// </summary>
internal static class CliErrors
{
    /// <summary>The command failed because of its input or environment; stderr says why in one line.</summary>
    public const int Failure = 1;

    /// <summary>A bug: stderr holds "internal error" and the stack trace (<c>EX_SOFTWARE</c> of sysexits.h).</summary>
    public const int InternalError = 70;

    /// <summary>Cancelled by SIGINT or SIGTERM (128 + SIGINT, as shells report it).</summary>
    public const int Cancelled = 130;

    private const string Prefix = "ostree-container: error: ";

    /// <summary>Reports <paramref name="e"/> on <paramref name="error"/> and returns the exit code for it.</summary>
    public static int Report(Exception e, TextWriter error)
    {
        if (e is OperationCanceledException)
        {
            error.WriteLine("ostree-container: cancelled");
            return Cancelled;
        }

        if (ErrorPolicy.IsUserFacing(e))
        {
            error.WriteLine(Prefix + ErrorPolicy.Describe(e));
            if (Environment.GetEnvironmentVariable("OSTREE_CONTAINER_DEBUG") == "1")
            {
                error.WriteLine(e.ToString());
            }

            return Failure;
        }

        error.WriteLine($"ostree-container: internal error (a bug; please report it with what follows): {e.GetType().FullName}: {ErrorPolicy.Describe(e)}");
        error.WriteLine(e.ToString());
        return InternalError;
    }

    /// <summary>
    /// A command line that does not parse, as one line: an unknown verb is named (whatever
    /// else is on the line, <c>--help</c> included); other errors are listed with a pointer
    /// to the verb's help. Null when the line parses or asks for help of a verb that exists.
    /// </summary>
    public static string? DescribeParseFailure(ParseResult parse)
    {
        if (parse.Tokens.Count == 0)
        {
            // Nothing typed: the root's help (System.CommandLine's answer) is the useful one.
            return null;
        }

        var command = parse.CommandResult;
        var path = CommandPath(command);
        if (command.Command.Subcommands.Count > 0
            && parse.UnmatchedTokens.FirstOrDefault() is { } token && !token.StartsWith('-'))
        {
            return $"{Prefix}unknown command '{token}' (see '{path} --help')";
        }

        if (parse.Errors.Count == 0 || parse.Action is not System.CommandLine.Invocation.ParseErrorAction)
        {
            return null;
        }

        return $"{Prefix}{string.Join("; ", parse.Errors.Select(e => e.Message.TrimEnd('.')))} (see '{path} --help')";
    }

    /// <summary><c>ostree-container object-map lookup</c> for the lookup verb's result.</summary>
    private static string CommandPath(CommandResult command)
    {
        var names = new List<string>();
        for (SymbolResult? result = command; result is CommandResult { Parent: not null } verb; result = verb.Parent)
        {
            names.Add(verb.Command.Name);
        }

        names.Add("ostree-container");
        names.Reverse();
        return string.Join(' ', names);
    }
}
