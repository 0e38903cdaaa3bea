using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Json;
using OstreeContainer.Oci;
using OstreeContainer.Oci.Images;
using OstreeContainer.Oci.Layout;

namespace OstreeContainer.Cli.Tests.Commands;

/// <summary>
/// The CLI on derived and plain images: layouts made here the way buildah stacks a layer on
/// an image (the base's labels copied, layer annotations dropped), so these tests need no
/// container build; the images buildah itself makes are pulled in the ImagePuller tests.
/// </summary>
public class PullDerivedCommandTests
{
    private static readonly Lazy<string> BaseLayout = new(() =>
    {
        var repo = Path.Combine(Fixtures.TempDirectory("cli-derived-source"), "repo");
        Peer.Check("cp", "-a", Fixtures.SmallRepo.ArchiveRepo, repo);
        var layout = Path.Combine(Fixtures.TempDirectory("cli-derived"), "layout");
        var built = CliRunner.Run("build", "--repo", repo, "--ref", "fixture/main", "--webserver", NativeWebserver.Executable, "-q", "--oci-dir", $"{layout}:base");
        Assert.True(built.ExitCode == 0, built.Stderr);
        StackLayer(layout, "base", "derived", Tar(
            ("usr/share/added.txt", "added by a RUN step\n"u8.ToArray()),
            ("etc/derived.conf", "key=value\n"u8.ToArray()),
            ("tmp/build.log", "dropped\n"u8.ToArray())));
        return layout;
    });

    [Fact]
    public void Inspect_DerivedImage_NamesTheShapeTheBaseCommitAndTheDerivedLayer()
    {
        var result = CliRunner.Run("inspect", $"oci:{BaseLayout.Value}:derived");

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains("Shape:    derived (an ostree-container image with 1 layers stacked on it)", result.Stdout, StringComparison.Ordinal);
        Assert.Contains($"Commit:   {Fixtures.SmallRepo.Commit2} (the base commit", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("Derived layers (1, ", result.Stdout, StringComparison.Ordinal);
        var json = JsonDocument.Parse(CliRunner.Run("inspect", $"oci:{BaseLayout.Value}:derived", "--json").Stdout).RootElement;
        Assert.Equal("derived", json.GetProperty("shape").GetString());
        Assert.Equal(1, json.GetProperty("derivedLayers").GetArrayLength());
    }

    [Fact]
    public void Pull_DerivedImageNotPinned_StopsWithOneLineAndWritesNothing()
    {
        var repo = NewRepo("cli-derived-unpinned");
        var before = RepoSnapshot.Of(repo);

        var result = CliRunner.Run("pull", "--repo", repo, $"oci:{BaseLayout.Value}:derived", "--sign-verify", $"ed25519={AnyKey}");

        Assert.Equal(1, result.ExitCode);
        var line = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1];
        Assert.StartsWith("ostree-container: error: ", line, StringComparison.Ordinal);
        Assert.Contains("its 1 layer on top carry no OSTree signature; an image in a local layout cannot be pinned by digest: pass --insecure-no-signature", line, StringComparison.Ordinal);
        Assert.Equal(before, RepoSnapshot.Of(repo));
    }

    [Fact]
    public void Pull_DerivedImage_WritesACommitOnTheBase_AndShowSaysHowItWasTrusted()
    {
        var repo = NewRepo("cli-derived-pull");

        var pulled = CliRunner.Run("pull", "--repo", repo, $"oci:{BaseLayout.Value}:derived", "--insecure-no-signature", "--progress", "json");

        Assert.True(pulled.ExitCode == 0, pulled.Stderr);
        var result = JsonDocument.Parse(pulled.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]).RootElement;
        Assert.Equal("derived", result.GetProperty("shape").GetString());
        Assert.Equal(Fixtures.SmallRepo.Commit2, result.GetProperty("baseCommit").GetString());
        Assert.Equal(1, result.GetProperty("dropped").GetProperty("tmp").GetInt64());
        var commit = result.GetProperty("commit").GetString()!;
        Assert.Equal(commit, Peer.Ostree(repo, "rev-parse", "fixture/main").Trim());
        Peer.Ostree(repo, "fsck");
        Assert.Equal("key=value\n", Peer.Ostree(repo, "cat", commit, "/usr/etc/derived.conf"));
        Assert.Equal("added by a RUN step\n", Peer.Ostree(repo, "cat", commit, "/usr/share/added.txt"));

        var shown = CliRunner.Run("show", "--repo", repo, "fixture/main");

        Assert.True(shown.ExitCode == 0, shown.Stderr);
        Assert.Contains($"Parent:  {Fixtures.SmallRepo.Commit2}", shown.Stdout, StringComparison.Ordinal);
        Assert.Contains($"Base commit:  {Fixtures.SmallRepo.Commit2} (signature not checked: --insecure-no-signature)", shown.Stdout, StringComparison.Ordinal);
        Assert.Contains("Derived layers:  1, trusted as insecure-no-signature", shown.Stdout, StringComparison.Ordinal);
        Assert.Contains("Dropped:  tmp=1", shown.Stdout, StringComparison.Ordinal);

        var again = CliRunner.Run("pull", "--repo", repo, $"oci:{BaseLayout.Value}:derived", "--insecure-no-signature", "--progress", "json");

        Assert.True(again.ExitCode == 0, again.Stderr);
        var rerun = JsonDocument.Parse(again.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]).RootElement;
        Assert.True(rerun.GetProperty("upToDate").GetBoolean());
        Assert.Equal(commit, rerun.GetProperty("commit").GetString());
    }

    [Fact]
    public void Pull_PlainImage_NeedsARef_ThenImportsWithoutParent()
    {
        var layout = Path.Combine(Fixtures.TempDirectory("cli-plain"), "layout");
        PlainImage(layout, "v1", Tar(("usr/bin/hello", "#!/bin/sh\necho hello\n"u8.ToArray()), ("etc/hostname", "plain\n"u8.ToArray())));
        var repo = NewRepo("cli-plain-pull");

        var noRef = CliRunner.Run("pull", "--repo", repo, $"oci:{layout}:v1", "--insecure-no-signature");

        Assert.Equal(1, noRef.ExitCode);
        Assert.Contains("plain image (no ostree labels), so it names no ref: name one with --ref", noRef.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1], StringComparison.Ordinal);

        var pulled = CliRunner.Run("pull", "--repo", repo, $"oci:{layout}:v1", "--insecure-no-signature", "--ref", "plain/v1");

        Assert.True(pulled.ExitCode == 0, pulled.Stderr);
        Peer.Ostree(repo, "fsck");
        var shown = CliRunner.Run("show", "--repo", repo, "plain/v1");
        Assert.DoesNotContain("Parent:", shown.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("Base commit:", shown.Stdout, StringComparison.Ordinal);
        Assert.Equal("plain\n", Peer.Ostree(repo, "cat", "plain/v1", "/usr/etc/hostname"));
    }

    // Any valid ed25519 public key (the curve's base point): keys given, so the pull reads the manifest.
    private static readonly string AnyKey = Convert.ToBase64String(Convert.FromHexString("58" + string.Concat(Enumerable.Repeat("66", 31))));

    private static string NewRepo(string prefix)
    {
        var repo = Path.Combine(Fixtures.TempDirectory(prefix), "repo");
        Peer.Check("ostree", "init", $"--repo={repo}", "--mode=bare-user");
        return repo;
    }

    private static byte[] Tar(params (string Name, byte[] Data)[] files)
    {
        var tar = new MemoryStream();
        using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            var directories = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (name, data) in files)
            {
                var parent = Path.GetDirectoryName(name)!;
                if (directories.Add(parent))
                {
                    writer.WriteEntry(new PaxTarEntry(TarEntryType.Directory, parent + "/") { Mode = (UnixFileMode)0x1ED });
                }

                writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { Mode = (UnixFileMode)0x1ED, DataStream = new MemoryStream(data) });
            }
        }

        return tar.ToArray();
    }

    // What buildah does with FROM + RUN: one more gzip layer, the config's labels kept, the
    // layer annotations gone.
    private static void StackLayer(string layout, string tag, string newTag, byte[] tar)
    {
        var image = ImageLayout.Open(layout);
        var manifest = OciJson.ParseManifest(image.ResolveManifest(tag).Bytes);
        var config = OciJson.ParseConfig(image.ReadBlob(manifest.Config, OciJson.MaxDocumentBytes));
        var layer = image.WriteBlob(Gzip(tar), MediaTypes.OciLayerGzip);
        var newConfig = image.WriteBlob(
            OciJson.Serialize(config with { RootFs = config.RootFs with { DiffIds = [.. config.RootFs.DiffIds, Digest.Compute(tar)] } }),
            manifest.Config.MediaType);
        var layers = manifest.Layers.Select(l => l with { Annotations = null }).Append(layer).ToList();
        image.SetManifest(image.WriteBlob(OciJson.Serialize(manifest with { Config = newConfig, Layers = layers, Annotations = null }), MediaTypes.OciManifest), newTag);
    }

    private static void PlainImage(string layout, string tag, byte[] tar)
    {
        var image = ImageLayout.Create(layout);
        var layer = image.WriteBlob(Gzip(tar), MediaTypes.OciLayerGzip);
        var config = new ImageConfig
        {
            Architecture = "amd64",
            Os = "linux",
            Created = "2026-12-01T00:00:00Z",
            RootFs = new RootFs { DiffIds = [Digest.Compute(tar)] },
        };
        var configBlob = image.WriteBlob(OciJson.Serialize(config), MediaTypes.OciConfig);
        var manifest = new ImageManifest { MediaType = MediaTypes.OciManifest, Config = configBlob, Layers = [layer] };
        image.SetManifest(image.WriteBlob(OciJson.Serialize(manifest), MediaTypes.OciManifest), tag);
    }

    private static byte[] Gzip(byte[] bytes)
    {
        var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(bytes);
        }

        return compressed.ToArray();
    }
}
