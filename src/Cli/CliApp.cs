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
        };
        return root;
    }

    /// <summary>Parses and runs <paramref name="args"/>, writing to the given streams; returns the exit code.</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        // Pushes and pulls log from parallel transfers; a caller's writer (a StringWriter
        // in tests, a StreamWriter in an embedding host) need not be thread-safe.
        output = TextWriter.Synchronized(output);
        error = TextWriter.Synchronized(error);
        var config = new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false };
        try
        {
            return Build().Parse(args).Invoke(config);
        }
        catch (Exception e) when (CliErrors.IsUserFacing(e))
        {
            error.WriteLine($"ostree-container: error: {CliErrors.Describe(e)}");
            if (Environment.GetEnvironmentVariable("OSTREE_CONTAINER_DEBUG") == "1")
            {
                error.WriteLine(e.ToString());
            }

            return 1;
        }
        catch (OperationCanceledException)
        {
            error.WriteLine("ostree-container: cancelled");
            return 130;
        }
    }
}
