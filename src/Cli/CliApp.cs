using System.CommandLine;
using OstreeContainer.Cli.Commands;

namespace OstreeContainer.Cli;

/// <summary>The <c>ostree-container</c> command tree. Verbs parse, call a library, report.</summary>
public static class CliApp
{
    /// <summary>Builds the root command with every verb.</summary>
    public static RootCommand Build()
    {
        var root = new RootCommand("ostree-container: OSTree repositories and OCI images, natively.")
        {
            InitCommand.Create(),
            CommitCommand.Create(),
            CheckoutCommand.Create(),
            FsckCommand.Create(),
            ShowCommand.Create(),
            RefsCommand.Create(),
            ServeCommand.Create(),
            ObjectMapCommand.Create(),
            BuildCommand.Create(),
            PushCommand.Create(),
            PullCommand.Create(),
            InspectCommand.Create(),
            StaticDeltaCommand.Create(),
            DeployCommand.Create(),
            UpgradeCommand.Create(),
            SwitchCommand.Create(),
        };
        return root;
    }

    /// <summary>
    /// Parses and runs <paramref name="args"/>, writing to the given streams; returns the exit
    /// code: 0, 1 for a failure of input or environment (one line on <paramref name="error"/>),
    /// 70 for an internal error (a bug: its stack trace on <paramref name="error"/>), 130 when
    /// cancelled.
    /// </summary>
    public static int Run(string[] args, TextWriter output, TextWriter error) => Run(Build(), args, output, error);

    /// <summary>Runs <paramref name="args"/> against <paramref name="root"/> (tests pass a tree with extra verbs).</summary>
    internal static int Run(RootCommand root, string[] args, TextWriter output, TextWriter error)
    {
        // Pushes and pulls log from parallel transfers; a caller's writer (a StringWriter
        // in tests, a StreamWriter in an embedding host) need not be thread-safe.
        output = TextWriter.Synchronized(output);
        error = TextWriter.Synchronized(error);
        // 'ostree container VERB …' runs 'ostree-container container VERB …' (ostree runs
        // ostree-CMD from PATH for a subcommand it does not know).
        if (args is ["container", ..])
        {
            args = args[1..];
        }

        var config = new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false };
        try
        {
            var parse = root.Parse(args);
            if (CliErrors.DescribeParseFailure(parse) is { } line)
            {
                // One line, not the whole help: an unknown verb with --help is still an error.
                error.WriteLine(line);
                return CliErrors.Failure;
            }

            return parse.Invoke(config);
        }
        catch (Exception e)
        {
            return CliErrors.Report(e, error);
        }
    }
}
