using System.Text.Json;

namespace OstreeContainer.Cli.Tests.Commands;

public class InspectCommandTests
{
    [Fact]
    public void InspectJson_LabelWithPlus_PrintsThePlusAsIs()
    {
        var repo = Path.Combine(Fixtures.TempDirectory("cli-inspect-source"), "repo");
        Peer.Check("cp", "-a", Fixtures.SmallRepo.ArchiveRepo, repo);
        var dir = Path.Combine(Fixtures.TempDirectory("cli-inspect"), "layout");
        var build = CliRunner.Run(
            "build", "--repo", repo, "--ref", "fixture/main", "--webserver", NativeWebserver.Executable, "-q",
            "--oci-dir", $"{dir}:v1", "--label", "org.example.version=1.0+build.5 <rc>");
        Assert.True(build.ExitCode == 0, build.Stderr);

        var result = CliRunner.Run("inspect", $"oci:{dir}:v1", "--json");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("\"org.example.version\": \"1.0+build.5 <rc>\"", result.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("\\u002B", result.Stdout, StringComparison.OrdinalIgnoreCase);
        using var json = JsonDocument.Parse(result.Stdout);
        Assert.Equal("1.0+build.5 <rc>", json.RootElement.GetProperty("labels").GetProperty("org.example.version").GetString());
    }

    [Fact]
    public void Inspect_NotAnImage_ExitsOneWithOneLine()
    {
        var result = CliRunner.Run("inspect", $"oci:{Fixtures.TempDirectory("cli-inspect-empty")}:v1");

        Assert.Equal((1, ""), (result.ExitCode, result.Stdout));
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("ostree-container: error: inspecting oci:", line, StringComparison.Ordinal);
    }
}
