namespace OstreeContainer.Cli.Tests.Commands;

/// <summary>The push verb: a layout to a real docker-registry.</summary>
public class PushCommandTests
{
    [Fact]
    public void Push_Layout_RegistryServesTheSameDigest()
    {
        var dir = Path.Combine(Fixtures.TempDirectory("cli-push"), "layout");
        var built = CliRunner.Run("build", "--repo", Fixtures.SmallRepo.ArchiveRepo, "--ref", "fixture/main", "--webserver", NativeWebserver.Executable, "--oci-dir", $"{dir}:v1", "-q");
        Assert.True(built.ExitCode == 0, built.Stderr);
        using var registry = LocalRegistry.Start();

        var pushed = CliRunner.Run("push", $"oci:{dir}:v1", $"docker://{registry.Host}/os/fixture:v1", "--tls-verify=false");

        Assert.True(pushed.ExitCode == 0, pushed.Stderr);
        Assert.Equal(built.Stdout.Trim(), pushed.Stdout.Trim());
        var inspect = Peer.Run(Peer.Require("skopeo"), ["inspect", "--tls-verify=false", "--format", "{{.Digest}}", $"docker://{registry.Host}/os/fixture:v1"]).EnsureSuccess("skopeo inspect");
        Assert.Equal(built.Stdout.Trim(), inspect.Stdout.Trim());
    }

    [Fact]
    public void Push_NotALayout_OneLineError()
    {
        var result = CliRunner.Run("push", "docker://a.example/x:1", "b.example/y:1");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("SOURCE must be oci:", result.Stderr, StringComparison.Ordinal);
    }
}
