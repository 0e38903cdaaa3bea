using System.Text.Json;

namespace OstreeContainer.Cli.Tests.Commands;

/// <summary>The build verb end to end: layouts and pushes to a real docker-registry, checked with skopeo.</summary>
public class BuildCommandTests
{
    // A private copy: other tests in this process add refs and deltas to the shared
    // fixture, which would change the image between two builds of one test.
    private static readonly Lazy<string> Repo = new(() =>
    {
        var copy = Path.Combine(Fixtures.TempDirectory("build-source"), "repo");
        Peer.Run("cp", ["-a", Fixtures.SmallRepo.ArchiveRepo, copy]).EnsureSuccess("cp -a");
        return copy;
    });

    private static string[] Build(params string[] rest) =>
        ["build", "--repo", Repo.Value, "--ref", "fixture/main", "--webserver", NativeWebserver.Executable, .. rest];

    [Fact]
    public void Build_OciDir_PrintsTheDigestSkopeoSees()
    {
        var dir = Path.Combine(Fixtures.TempDirectory("cli-build"), "layout");

        var result = CliRunner.Run(Build("--oci-dir", $"{dir}:v2", "--label", "org.example.team=os"));

        Assert.Equal(0, result.ExitCode);
        var inspect = Peer.Run(Peer.Require("skopeo"), ["inspect", $"oci:{dir}:v2"]).EnsureSuccess("skopeo inspect");
        using var json = JsonDocument.Parse(inspect.Stdout);
        Assert.Equal(result.Stdout.Trim(), json.RootElement.GetProperty("Digest").GetString());
        Assert.Equal("os", json.RootElement.GetProperty("Labels").GetProperty("org.example.team").GetString());
    }

    [Fact]
    public void Build_QuietFromATreeWithoutTheLoader_StillWarnsOnOneLine()
    {
        // The small fixture has no glibc: the image's webserver could not start in it.
        var dir = Path.Combine(Fixtures.TempDirectory("cli-build"), "layout");

        var result = CliRunner.Run(Build("--oci-dir", dir, "-q"));

        Assert.Equal(0, result.ExitCode);
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("ostree-container: warning: commit ", line, StringComparison.Ordinal);
        Assert.Contains("ld-linux", line, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_Push_SkopeoCopiesItBackWithTheSameDigestAndARebuildUploadsNothing()
    {
        using var registry = LocalRegistry.Start();
        var image = $"{registry.Host}/os/fixture:main";

        var first = CliRunner.Run(Build("--push", image, "--tls-verify=false"));
        Assert.True(first.ExitCode == 0, first.Stderr);

        var copy = Path.Combine(Fixtures.TempDirectory("skopeo-copy"), "layout");
        Peer.Run(Peer.Require("skopeo"), ["copy", "--src-tls-verify=false", $"docker://{image}", $"oci:{copy}:main"]).EnsureSuccess("skopeo copy");
        var copied = Peer.Run("skopeo", ["inspect", $"oci:{copy}:main"]).EnsureSuccess("skopeo inspect");
        using (var json = JsonDocument.Parse(copied.Stdout))
        {
            Assert.Equal(first.Stdout.Trim(), json.RootElement.GetProperty("Digest").GetString());
        }

        var uploadsBefore = registry.Requests("POST", "/blobs/uploads/").Count;
        var second = CliRunner.Run(Build("--push", $"docker://{image}", "--tls-verify=false"));

        Assert.True(second.ExitCode == 0, second.Stderr);
        Assert.Equal(first.Stdout.Trim(), second.Stdout.Trim());
        Assert.Equal(uploadsBefore, registry.Requests("POST", "/blobs/uploads/").Count);
        Assert.Contains("0 blobs uploaded", second.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_Push_ParallelUploadsNeverWriteToTheCallersWriterAtOnce()
    {
        // A caller's writer need not be thread-safe (a StringWriter corrupted its buffer
        // once when two uploads logged at the same moment). This one fails loudly when
        // entered twice, and lingers inside each write so overlaps cannot slip by.
        using var registry = LocalRegistry.Start();
        var stderr = new OverlapDetectingWriter();

        var code = CliApp.Run(Build("--push", $"{registry.Host}/os/fixture:main", "--tls-verify=false"), new StringWriter(), stderr);

        Assert.True(code == 0, stderr.ToString());
        Assert.Equal(0, stderr.Overlaps);
        Assert.True(stderr.ToString().Split('\n').Count(l => l.StartsWith("pushed sha256:", StringComparison.Ordinal)) > 1, stderr.ToString());
    }

    private sealed class OverlapDetectingWriter : StringWriter
    {
        private int _inside;

        public int Overlaps { get; private set; }

        public override void WriteLine(string? value)
        {
            if (Interlocked.Exchange(ref _inside, 1) == 1)
            {
                Overlaps++;
            }

            Thread.Sleep(5);
            base.WriteLine(value);
            Volatile.Write(ref _inside, 0);
        }
    }

    [Fact]
    public void Build_PushWithWrongCredentials_OneLineErrorWithoutThePassword()
    {
        using var registry = LocalRegistry.Start("builder", "right-password");

        var result = CliRunner.Run(Build("--push", $"{registry.Host}/os/fixture:main", "--tls-verify=false", "--creds", "builder:wrong-secret-42"));

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith("ostree-container: error:", result.Stderr.Trim().Split('\n')[^1], StringComparison.Ordinal);
        Assert.Contains("authentication failed", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong-secret-42", result.Stderr + result.Stdout, StringComparison.Ordinal);
        Assert.Single(result.Stderr.Trim().Split('\n'), l => l.StartsWith("ostree-container: error:", StringComparison.Ordinal));
    }

    [Fact]
    public void Build_PushWithRightCredentials_Succeeds()
    {
        using var registry = LocalRegistry.Start("builder", "right-password");

        var result = CliRunner.Run(Build("--push", $"{registry.Host}/os/fixture:main", "--tls-verify=false", "--creds", "builder:right-password", "-q"));

        Assert.True(result.ExitCode == 0, result.Stderr);
        Peer.Run("skopeo", ["inspect", "--tls-verify=false", "--creds", "builder:right-password", $"docker://{registry.Host}/os/fixture:main"]).EnsureSuccess("skopeo inspect");
    }

    [Fact]
    public void Build_UnreachableRegistry_OneLineError()
    {
        var result = CliRunner.Run(Build("--push", "127.0.0.1:9/os/fixture:main", "--tls-verify=false", "-q"));

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("127.0.0.1:9", result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--max-layers", "2")]
    [InlineData("--compression", "lz4")]
    [InlineData("--platform", "linux")]
    public void Build_BadOption_OneLineErrorNamingIt(string option, string value)
    {
        var dir = Path.Combine(Fixtures.TempDirectory("cli-build"), "layout");

        var result = CliRunner.Run(Build("--oci-dir", dir, option, value));

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains(option, result.Stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(dir));
    }

    [Fact]
    public void Build_UnknownRef_FailsAndLeavesNoLayout()
    {
        var dir = Path.Combine(Fixtures.TempDirectory("cli-build"), "layout");

        var result = CliRunner.Run(["build", "--repo", Fixtures.SmallRepo.ArchiveRepo, "--ref", "nope", "--webserver", NativeWebserver.Executable, "--oci-dir", dir]);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("nope", result.Stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(dir));
    }
}
