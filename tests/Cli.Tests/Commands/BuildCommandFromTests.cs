using System.Text.Json;

namespace OstreeContainer.Cli.Tests.Commands;

/// <summary>
/// <c>build --from</c> end to end against a real docker-registry: bases pushed by our own
/// build or by buildah, derived images copied back with skopeo and unpacked with umoci.
/// </summary>
public class BuildCommandFromTests
{
    private static string[] Build(string rev, params string[] rest) =>
        ["build", "--repo", Fixtures.SmallRepo.ArchiveRepo, "--ref", rev, "--webserver", NativeWebserver.Executable, .. rest];

    private static JsonDocument RawManifest(string image) =>
        JsonDocument.Parse(Peer.Run(Peer.Require("skopeo"), ["inspect", "--raw", "--tls-verify=false", $"docker://{image}"]).EnsureSuccess("skopeo inspect --raw").Stdout);

    /// <summary>skopeo copies <paramref name="image"/> to a layout, umoci unpacks it; returns the rootfs without /ostree.</summary>
    private static string CopyAndUnpack(string image)
    {
        var layout = Path.Combine(Fixtures.TempDirectory("skopeo-copy"), "layout");
        Peer.Run(Peer.Require("skopeo"), ["copy", "--src-tls-verify=false", $"docker://{image}", $"oci:{layout}:x"]).EnsureSuccess("skopeo copy");
        return UnpackLayout(layout, "x");
    }

    private static string UnpackLayout(string layout, string tag)
    {
        var bundle = Path.Combine(Fixtures.TempDirectory("umoci"), "bundle");
        Peer.Run(Peer.Require("umoci"), ["unpack", "--image", $"{layout}:{tag}", bundle]).EnsureSuccess("umoci unpack");
        var rootfs = Path.Combine(bundle, "rootfs");
        Assert.True(File.Exists(Path.Combine(rootfs, "ostree", "object-map")), "no /ostree/object-map");
        Directory.Delete(Path.Combine(rootfs, "ostree"), recursive: true);
        return rootfs;
    }

    /// <summary><c>ostree checkout</c> of <paramref name="commit"/> with usr/etc as etc and var/tmp added, as images hold it.</summary>
    private static string ExpectedTree(string commit)
    {
        var dir = Path.Combine(Fixtures.TempDirectory("expected"), "root");
        Peer.Ostree(Fixtures.SmallRepo.ArchiveRepo, "checkout", commit, dir);
        var varTmp = Path.Combine(dir, "var", "tmp");
        Directory.CreateDirectory(varTmp);
        File.SetUnixFileMode(varTmp, (UnixFileMode)Convert.ToInt32("1777", 8));
        return dir;
    }

    [Fact]
    public void Build_FromOstreeBaseInTheSameRegistry_FetchesOnlyConfigAndMetaLayerAndMountsTheRest()
    {
        using var registry = LocalRegistry.Start();
        var baseImage = $"{registry.Host}/os/base:v1";
        var pushed = CliRunner.Run(Build("fixture/v1", "--push", baseImage, "--tls-verify=false", "-q"));
        Assert.True(pushed.ExitCode == 0, pushed.Stderr);
        using var baseManifest = RawManifest(baseImage);
        var layers = baseManifest.RootElement.GetProperty("layers").EnumerateArray()
            .Select(l => (Digest: l.GetProperty("digest").GetString()!, Kind: l.GetProperty("annotations").GetProperty("ostree.container.layer").GetString()!))
            .ToList();
        var config = baseManifest.RootElement.GetProperty("config").GetProperty("digest").GetString()!;
        var meta = Assert.Single(layers, l => l.Kind == "meta").Digest;
        var before = registry.Requests("GET", "/blobs/").Count;

        var derived = CliRunner.Run(Build("fixture/main", "--from", $"docker://{baseImage}", "--push", $"{registry.Host}/os/derived:main", "--tls-verify=false"));

        Assert.True(derived.ExitCode == 0, derived.Stderr);
        var fetched = registry.Requests("GET", "/blobs/").Skip(before).Select(r => r.Path).ToList();
        Assert.Equal(new[] { $"/v2/os/base/blobs/{config}", $"/v2/os/base/blobs/{meta}" }.Order(StringComparer.Ordinal), fetched.Order(StringComparer.Ordinal));
        Assert.Contains("4 files", derived.Stderr, StringComparison.Ordinal);
        var distinct = layers.Select(l => l.Digest).Distinct().Count();
        Assert.Contains($"{distinct} mounted from the base", derived.Stderr, StringComparison.Ordinal);
        Assert.Equal(distinct, registry.Requests("POST", "mount=").Count(r => r.Status == 201));

        Assert.Empty(TreeDiff.Compare(ExpectedTree(Fixtures.SmallRepo.Commit2), CopyAndUnpack($"{registry.Host}/os/derived:main"), ownership: true));
    }

    [Fact]
    public void Build_FromBaseInAnotherRegistry_UploadsTheBaseBlobsVerified()
    {
        using var source = LocalRegistry.Start();
        using var target = LocalRegistry.Start();
        var baseImage = $"{source.Host}/os/base:v1";
        Assert.Equal(0, CliRunner.Run(Build("fixture/v1", "--push", baseImage, "--tls-verify=false", "-q")).ExitCode);
        using var baseManifest = RawManifest(baseImage);
        var baseLayers = baseManifest.RootElement.GetProperty("layers").EnumerateArray().Select(l => l.GetProperty("digest").GetString()!).Distinct().ToList();

        var derived = CliRunner.Run(Build("fixture/main", "--from", baseImage, "--push", $"{target.Host}/os/derived:main", "--tls-verify=false"));

        Assert.True(derived.ExitCode == 0, derived.Stderr);
        Assert.Contains("0 mounted from the base", derived.Stderr, StringComparison.Ordinal);
        Assert.All(baseLayers, digest => Assert.True(File.Exists(target.BlobDataPath(digest)), $"{digest} not in the target registry"));
        Assert.Empty(TreeDiff.Compare(ExpectedTree(Fixtures.SmallRepo.Commit2), CopyAndUnpack($"{target.Host}/os/derived:main"), ownership: true));
    }

    [Fact]
    public void Build_FromBuildahDockerV2s2BaseInARegistry_WritesALayoutThatUnpacksToTheCommit()
    {
        using var registry = LocalRegistry.Start();
        var work = Fixtures.TempDirectory("buildah");
        string[] storage = ["--root", Path.Combine(work, "root"), "--runroot", Path.Combine(work, "run"), "--storage-driver", "vfs"];
        var env = new Dictionary<string, string> { ["BUILDAH_RUNTIME"] = "runc" };
        string Buildah(params string[] args) =>
            Peer.Run(Peer.Require("buildah"), [.. storage, .. args], env: env).EnsureSuccess($"buildah {args[0]}").Stdout.Trim();
        var container = Buildah("from", "scratch");
        Buildah("copy", container, Fixtures.SmallRepo.Tree("tree") + "/", "/");
        Buildah("commit", "-q", "--format", "docker", container, "base:1");
        Buildah("push", "--tls-verify=false", "--format", "v2s2", "base:1", $"docker://{registry.Host}/plain/base:1");
        using (var raw = RawManifest($"{registry.Host}/plain/base:1"))
        {
            Assert.Equal("application/vnd.docker.distribution.manifest.v2+json", raw.RootElement.GetProperty("mediaType").GetString());
        }

        var dir = Path.Combine(Fixtures.TempDirectory("cli-build"), "layout");
        var result = CliRunner.Run(Build("fixture/main", "--from", $"{registry.Host}/plain/base:1", "--oci-dir", $"{dir}:derived", "--tls-verify=false"));

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains("de-duplicated", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("4 files", result.Stderr, StringComparison.Ordinal);
        Peer.Run(Peer.Require("skopeo"), ["inspect", $"oci:{dir}:derived"]).EnsureSuccess("skopeo inspect");
        Assert.Empty(TreeDiff.Compare(ExpectedTree(Fixtures.SmallRepo.Commit2), UnpackLayout(dir, "derived"), ownership: true));
    }

    [Fact]
    public void Build_FromRegistryBaseWithATamperedBlob_OneLineErrorAndNoLayout()
    {
        using var registry = LocalRegistry.Start();
        var baseImage = $"{registry.Host}/os/base:v1";
        Assert.Equal(0, CliRunner.Run(Build("fixture/v1", "--push", baseImage, "--tls-verify=false", "-q")).ExitCode);
        using var manifest = RawManifest(baseImage);
        var victim = manifest.RootElement.GetProperty("layers").EnumerateArray().First().GetProperty("digest").GetString()!;
        var path = registry.BlobDataPath(victim);
        var bytes = File.ReadAllBytes(path);
        bytes[bytes.Length / 2] ^= 0x55;
        File.WriteAllBytes(path, bytes);
        var dir = Path.Combine(Fixtures.TempDirectory("cli-build"), "layout");

        var result = CliRunner.Run(Build("fixture/main", "--from", baseImage, "--oci-dir", dir, "--tls-verify=false", "-q"));

        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.Stderr.Trim().Split('\n'));
        Assert.StartsWith("ostree-container: error:", line, StringComparison.Ordinal);
        Assert.Contains(victim, line, StringComparison.Ordinal);
        Assert.False(Directory.Exists(dir), "a failed build left a layout behind");
    }

    [Theory]
    [InlineData("oci-archive:/tmp/x.tar")]
    [InlineData("docker://127.0.0.1:5000/Bad/Name")]
    public void Build_BadFrom_OneLineErrorNamingTheOption(string value)
    {
        var dir = Path.Combine(Fixtures.TempDirectory("cli-build"), "layout");

        var result = CliRunner.Run(Build("fixture/main", "--from", value, "--oci-dir", dir));

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("--from", result.Stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(dir));
    }
}
