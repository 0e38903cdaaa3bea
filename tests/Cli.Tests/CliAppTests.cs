using System.CommandLine;

namespace OstreeContainer.Cli.Tests;

/// <summary>How the CLI ends: exit codes and what stderr holds for each kind of failure.</summary>
public class CliAppTests
{
    [Theory]
    [InlineData("prune", "--help")]
    [InlineData("prune")]
    [InlineData("-h", "prune", "--repo", "r")]
    [InlineData("prune", "--version")]
    public void Run_UnknownVerb_OneErrorLineNoHelp(params string[] args)
    {
        var result = CliRunner.Run(args);

        Assert.Equal((1, ""), (result.ExitCode, result.Stdout));
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal("ostree-container: error: unknown command 'prune' (see 'ostree-container --help')", line);
    }

    [Fact]
    public void Run_UnknownSubVerb_NamesItsGroup()
    {
        var result = CliRunner.Run("object-map", "bogus", "--help");

        Assert.Equal((1, ""), (result.ExitCode, result.Stdout));
        Assert.Equal("ostree-container: error: unknown command 'bogus' (see 'ostree-container object-map --help')", result.Stderr.Trim());
    }

    [Fact]
    public void Run_HelpOfAVerb_ExitsZeroWithItsHelp()
    {
        var result = CliRunner.Run("pull", "--help");

        Assert.Equal((0, ""), (result.ExitCode, result.Stderr));
        Assert.Contains(" pull <IMAGE> [options]", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_BadChoice_OneLineNamingTheChoices()
    {
        var result = CliRunner.Run("build", "--repo", "r", "--ref", "x", "--oci-dir", "d", "--compression", "lz4");

        Assert.Equal((1, ""), (result.ExitCode, result.Stdout));
        Assert.Equal(
            "ostree-container: error: --compression: 'lz4' is not gzip, zstd or none (see 'ostree-container build --help')",
            result.Stderr.Trim());
    }

    [Fact]
    public void Run_UserInputError_ExitsOneWithOneLine()
    {
        var result = CliRunner.Run("pull", "--repo", "/nonexistent", "--jobs", "0", "oci:/nonexistent");

        Assert.Equal(CliErrors.Failure, result.ExitCode);
        Assert.Equal("ostree-container: error: --jobs: expected 1..64", result.Stderr.Trim());
    }

    [Fact]
    public void Run_Bug_ExitsSeventyWithTheStackTrace()
    {
        var root = CliApp.Build();
        var explode = new Command("explode");
        explode.SetAction(_ => Explode(null));
        root.Add(explode);
        var stdout = new StringWriter();
        var stderr = new StringWriter();

        var code = CliApp.Run(root, ["explode"], stdout, stderr);

        Assert.Equal(CliErrors.InternalError, code);
        Assert.Equal(70, code);
        var lines = stderr.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("ostree-container: internal error", lines[0], StringComparison.Ordinal);
        Assert.Contains("System.ArgumentNullException", lines[0], StringComparison.Ordinal);
        Assert.Contains(lines, l => l.Contains($"at {typeof(CliAppTests).FullName}.{nameof(Explode)}", StringComparison.Ordinal));
    }

    [Fact]
    public void Run_Cancelled_Exits130()
    {
        var root = CliApp.Build();
        var cancel = new Command("cancel");
        cancel.SetAction(int (_) => throw new OperationCanceledException());
        root.Add(cancel);
        var stderr = new StringWriter();

        var code = CliApp.Run(root, ["cancel"], new StringWriter(), stderr);

        Assert.Equal((130, "ostree-container: cancelled"), (code, stderr.ToString().Trim()));
    }

    [Fact]
    public void BuildHelp_Compression_ListsTheChoicesInLowerCase()
    {
        var help = CliRunner.Run("build", "--help").Stdout;

        var line = Assert.Single(help.Split('\n'), l => l.Contains("--compression", StringComparison.Ordinal));
        Assert.Contains("--compression <gzip|zstd|none>", line, StringComparison.Ordinal);
        Assert.Contains("[default: gzip]", line, StringComparison.Ordinal);
        Assert.DoesNotContain("Gzip", line, StringComparison.Ordinal);
    }

    [Fact]
    public void PullHelp_Progress_ListsTheModesInLowerCase()
    {
        var help = CliRunner.Run("pull", "--help").Stdout;

        var line = Assert.Single(help.Split('\n'), l => l.Contains("--progress", StringComparison.Ordinal));
        Assert.Contains("--progress <auto|json|none>", line, StringComparison.Ordinal);
        Assert.Contains("[default: auto]", line, StringComparison.Ordinal);
    }

    [Fact]
    public void ServeHelp_Usage_NamesTheServerOptions()
    {
        var help = CliRunner.Run("serve", "--help").Stdout;

        Assert.Contains(" serve [<SERVER-OPTION>...] [options]", help, StringComparison.Ordinal);
        Assert.DoesNotContain("additional arguments", help, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("]]", help, StringComparison.Ordinal);
    }

    [Fact]
    public void Serve_ServerOptions_ReachTheWebserver()
    {
        var result = CliRunner.Run("serve", "--repo", "/nonexistent", "--urls", "http://127.0.0.1:0", "--request-logging", "false");

        Assert.NotEqual(0, result.ExitCode);
        // Not a parse error: the webserver got the options and refused the repository.
        Assert.Contains("repo-webserver: error: cannot serve /nonexistent", result.Stderr, StringComparison.Ordinal);
    }

    private static int Explode(string? value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return 0;
    }
}
