using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using OstreeContainer.Errors;
using OstreeContainer.ImageFormat;
using OstreeContainer.Oci.Images;
using OstreeContainer.Oci.Layout;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Summaries;

namespace OstreeContainer.ImageBuilder.Tests;

/// <summary>
/// Static deltas in images: generated when the repo lacks them (into a scratch directory,
/// the source repo untouched), carried when it has them, none with <see cref="DeltaSelection.None"/>;
/// the real ostree applies what the image carries.
/// </summary>
public class DeltaLayerTests
{
    // The OS fixture without its deltas (objects hard-linked, never written in place), C2
    // built twice from it: C1 -> C2 is generated both times. Shared by the class; built with
    // no test's token, so one test's end does not cancel the others' builds.
    private static readonly Lazy<Task<OsBuilds>> Os = new(async () =>
    {
        var os = Fixtures.OsRepo;
        var copy = Path.Combine(Fixtures.TempDirectory("os-nodeltas"), "repo");
        Peer.Check("cp", "-al", os.Repo, copy);
        Directory.Delete(Path.Combine(copy, DeltaName.DeltasDirectory), recursive: true);
        Directory.Delete(Path.Combine(copy, DeltaName.IndexesDirectory), recursive: true);
        var tmpBefore = Directory.EnumerateFileSystemEntries(Path.Combine(copy, "tmp")).Count();
        var first = Path.Combine(Fixtures.TempDirectory("os-delta-image"), "layout");
        var second = Path.Combine(Fixtures.TempDirectory("os-delta-image"), "layout");
        var a = await CommitImageBuilder.BuildToLayoutAsync(first, "c2", CommitImageBuilderTests.Options(copy, os.Branch), CancellationToken.None);
        var b = await CommitImageBuilder.BuildToLayoutAsync(second, "c2", CommitImageBuilderTests.Options(copy, os.Branch), CancellationToken.None);
        return new OsBuilds(copy, tmpBefore, first, a, b);
    });

    private sealed record OsBuilds(string Repo, int TmpEntriesBefore, string Layout, ImageBuildResult First, ImageBuildResult Second);

    // The small fixture's archive repo (it has C1 -> C2 and empty -> C2 deltas of ostree's own), private.
    private static readonly Lazy<string> SmallArchive = new(() => Copy(Fixtures.SmallRepo.ArchiveRepo, "small-archive"));

    // The small fixture's bare-user repo: no deltas.
    private static readonly Lazy<string> SmallBareUser = new(() => Copy(Fixtures.SmallRepo.BareUserRepo, "small-bareuser"));

    [Fact]
    public async Task Build_RepoWithoutTheDelta_OneGeneratedDeltaLayerAnnotatedFromParentWithItsSize()
    {
        var os = Fixtures.OsRepo;
        var (repo, tmpBefore, layout, result, _) = await Os.Value;

        var delta = Assert.Single(result.Layers, l => l.Kind == LayerKind.Delta);
        var info = DeltaLayerAnnotations.Read(delta.Descriptor);
        Assert.NotNull(info);
        Assert.Equal(os.Commit1, info.From);
        Assert.Equal(os.Commit2, info.To);
        var files = ExtractLayer(layout, delta.Descriptor);
        var directory = Path.Combine(files, ImagePaths.RepoDirectory, new DeltaName(Checksum.Parse(os.Commit1), Checksum.Parse(os.Commit2)).RelativeDirectory);
        Assert.Equal(Directory.EnumerateFiles(directory).Sum(f => new FileInfo(f).Length), info.Size);

        // Generated outside the source repo: no delta, no index, nothing left in tmp/.
        Assert.False(Directory.Exists(Path.Combine(repo, DeltaName.DeltasDirectory)), "the build wrote a delta into the source repo");
        Assert.False(Directory.Exists(Path.Combine(repo, DeltaName.IndexesDirectory)), "the build wrote a delta index into the source repo");
        Assert.Equal(tmpBefore, Directory.EnumerateFileSystemEntries(Path.Combine(repo, "tmp")).Count());
    }

    [Fact]
    public async Task Build_GeneratedDelta_OstreeAppliesItOfflineOntoC1AndGetsC2()
    {
        var os = Fixtures.OsRepo;
        var (repo, _, layout, result, _) = await Os.Value;
        var files = ExtractLayer(layout, result.Layers.Single(l => l.Kind == LayerKind.Delta).Descriptor);
        var name = new DeltaName(Checksum.Parse(os.Commit1), Checksum.Parse(os.Commit2));

        var client = Path.Combine(Fixtures.TempDirectory("os-delta-client"), "repo");
        Peer.Ostree(client, "init", "--mode=bare-user");
        Peer.Ostree(client, "pull-local", repo, os.Commit1);
        Peer.Ostree(client, "static-delta", "apply-offline", Path.Combine(files, ImagePaths.RepoDirectory, name.RelativeDirectory));

        Peer.Ostree(client, "refs", "--create=check", os.Commit2);
        Peer.Ostree(client, "fsck");
        Assert.Equal(Peer.Ostree(repo, "ls", "-R", "-C", "-X", os.Commit2), Peer.Ostree(client, "ls", "-R", "-C", "-X", os.Commit2));
    }

    [Fact]
    public async Task Build_GeneratedDelta_TheMetaLayerSummaryAndIndexListItWithTheSuperblockDigest()
    {
        var os = Fixtures.OsRepo;
        var (_, _, layout, result, _) = await Os.Value;
        var name = new DeltaName(Checksum.Parse(os.Commit1), Checksum.Parse(os.Commit2));
        var deltaFiles = ExtractLayer(layout, result.Layers.Single(l => l.Kind == LayerKind.Delta).Descriptor);
        var superblock = Checksum.FromBytes(SHA256.HashData(File.ReadAllBytes(Path.Combine(deltaFiles, ImagePaths.RepoDirectory, name.SuperblockPath))));
        var meta = Path.Combine(ExtractLayer(layout, result.Layers.Single(l => l.Kind == LayerKind.Meta).Descriptor), ImagePaths.RepoDirectory);

        // ostree's own reading of the summary, and ours of it and of the delta index.
        var view = Peer.Ostree(meta, "summary", "--view");
        Assert.Contains(name.ToString(), view, StringComparison.Ordinal);
        var listed = Summary.Parse(File.ReadAllBytes(Path.Combine(meta, "summary"))).StaticDeltas;
        Assert.Equal(superblock, Assert.Single(listed, d => d.Name == name).SuperblockDigest);
        var index = DeltaIndex.Parse(File.ReadAllBytes(Path.Combine(meta, name.IndexPath)));
        Assert.Equal(superblock, Assert.Single(index.Deltas).SuperblockDigest);
    }

    [Fact]
    public async Task Build_TwiceWithAGeneratedDelta_SameManifestDigest()
    {
        var (_, _, _, first, second) = await Os.Value;

        Assert.Equal(first.Layers.Single(l => l.Kind == LayerKind.Delta).Descriptor.Digest, second.Layers.Single(l => l.Kind == LayerKind.Delta).Descriptor.Digest);
        Assert.Equal(first.Manifest.Digest, second.Manifest.Digest);
    }

    [Fact]
    public async Task Build_NoDeltas_NeitherCarriesTheRepoDeltasNorGeneratesOne()
    {
        var small = Fixtures.SmallRepo;
        var layout = Path.Combine(Fixtures.TempDirectory("no-deltas"), "layout");

        var carried = await CommitImageBuilder.BuildToLayoutAsync(layout, "default", CommitImageBuilderTests.Options(SmallArchive.Value, "fixture/main"), TestContext.Current.CancellationToken);
        var none = await CommitImageBuilder.BuildToLayoutAsync(
            layout, "none", CommitImageBuilderTests.Options(SmallArchive.Value, "fixture/main") with { Deltas = DeltaSelection.None }, TestContext.Current.CancellationToken);

        // The repo has ostree's C1 -> C2 and from-scratch deltas: carried by default, both.
        Assert.Equal(
            [$"{small.Commit1}-{small.Commit2}", small.Commit2],
            carried.Layers.Where(l => l.Kind == LayerKind.Delta).Select(l => DeltaLayerAnnotations.Read(l.Descriptor)!).Select(d => d.From is null ? d.To : $"{d.From}-{d.To}").Order(StringComparer.Ordinal));
        Assert.DoesNotContain(none.Layers, l => l.Kind == LayerKind.Delta);
        var meta = Path.Combine(ExtractLayer(layout, none.Layers.Single(l => l.Kind == LayerKind.Meta).Descriptor), ImagePaths.RepoDirectory);
        Assert.Empty(Summary.Parse(File.ReadAllBytes(Path.Combine(meta, "summary"))).StaticDeltas);
        Assert.False(Directory.Exists(Path.Combine(meta, DeltaName.IndexesDirectory)));
    }

    [Fact]
    public async Task Build_DeltaFromEmpty_AddsAFromScratchDeltaOstreeAppliesToAnEmptyRepo()
    {
        var small = Fixtures.SmallRepo;
        var repo = SmallBareUser.Value;
        var layout = Path.Combine(Fixtures.TempDirectory("from-empty"), "layout");

        var result = await CommitImageBuilder.BuildToLayoutAsync(
            layout, "latest", CommitImageBuilderTests.Options(repo, "fixture/main") with { Deltas = DeltaSelection.Default with { From = [DeltaSelection.Empty] } }, TestContext.Current.CancellationToken);

        // The parent's delta (generated: this repo has none) and the from-scratch one.
        var deltas = result.Layers.Where(l => l.Kind == LayerKind.Delta).Select(l => (Layer: l, Info: DeltaLayerAnnotations.Read(l.Descriptor)!)).ToList();
        Assert.Equal([small.Commit1, null], deltas.Select(d => d.Info.From).OrderBy(f => f is null));
        var scratch = deltas.Single(d => d.Info.From is null);
        var files = ExtractLayer(layout, scratch.Layer.Descriptor);
        var client = Path.Combine(Fixtures.TempDirectory("from-empty-client"), "repo");
        Peer.Ostree(client, "init", "--mode=bare-user");
        Peer.Ostree(client, "static-delta", "apply-offline", Path.Combine(files, ImagePaths.RepoDirectory, new DeltaName(null, Checksum.Parse(small.Commit2)).RelativeDirectory));
        Peer.Ostree(client, "refs", "--create=check", small.Commit2);
        Peer.Ostree(client, "fsck");
        Assert.Equal(Peer.Ostree(repo, "ls", "-R", "-C", "-X", small.Commit2), Peer.Ostree(client, "ls", "-R", "-C", "-X", small.Commit2));
        Assert.False(Directory.Exists(Path.Combine(repo, DeltaName.DeltasDirectory)), "the build wrote a delta into the source repo");
    }

    [Theory]
    [InlineData("no/such/ref", "no such ref or commit")]
    [InlineData("0000000000000000000000000000000000000000000000000000000000000000", "no such ref or commit")]
    [InlineData("fixture/main", "the one being built")]
    public async Task Build_BadDeltaFrom_FailsOnOneLineAndLeavesNoLayout(string rev, string expected)
    {
        var dir = Path.Combine(Fixtures.TempDirectory("bad-delta-from"), "layout");

        var e = await Assert.ThrowsAsync<UserInputException>(() => CommitImageBuilder.BuildToLayoutAsync(
            dir, "latest", CommitImageBuilderTests.Options(SmallBareUser.Value, "fixture/main") with { Deltas = DeltaSelection.Default with { From = [rev] } }, TestContext.Current.CancellationToken));

        Assert.StartsWith($"--delta-from {rev}: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
        Assert.False(Directory.Exists(dir), "a failed build left a layout behind");
    }

    [Fact]
    public async Task Build_ParentMissingFromTheRepo_NoDeltaAndTheLogSaysWhy()
    {
        // A repo holding C2 alone: its parent C1 is not there.
        var small = Fixtures.SmallRepo;
        var repo = Path.Combine(Fixtures.TempDirectory("no-parent"), "repo");
        Peer.Ostree(repo, "init", "--mode=archive");
        Peer.Ostree(repo, "pull-local", small.ArchiveRepo, small.Commit2);
        using var logs = new TestLogs();
        var dir = Path.Combine(Fixtures.TempDirectory("no-parent-image"), "layout");

        var result = await CommitImageBuilder.BuildToLayoutAsync(
            dir, "latest", CommitImageBuilderTests.Options(repo, small.Commit2) with { LoggerFactory = logs }, TestContext.Current.CancellationToken);

        Assert.DoesNotContain(result.Layers, l => l.Kind == LayerKind.Delta);
        Assert.Contains(logs.Messages(Microsoft.Extensions.Logging.LogLevel.Information), l => l.Contains($"no static delta from the parent: the repo lacks parent commit {small.Commit1}", StringComparison.Ordinal));
    }

    private static string Copy(string source, string prefix)
    {
        var copy = Path.Combine(Fixtures.TempDirectory(prefix), "repo");
        Peer.Check("cp", "-a", source, copy);
        return copy;
    }

    /// <summary>Extracts a layer blob of <paramref name="layout"/> (gzip tar) into a new directory.</summary>
    internal static string ExtractLayer(string layout, Descriptor layer)
    {
        var target = Fixtures.TempDirectory("layer");
        var blob = ImageLayout.Open(layout).BlobPath(layer.Digest);
        using var gzip = new GZipStream(File.OpenRead(blob), CompressionMode.Decompress);
        using var tar = new TarReader(gzip);
        while (tar.GetNextEntry() is { } entry)
        {
            var path = Path.Combine(target, entry.Name);
            switch (entry.EntryType)
            {
                case TarEntryType.Directory:
                    Directory.CreateDirectory(path);
                    break;
                case TarEntryType.RegularFile or TarEntryType.V7RegularFile:
                    Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                    entry.ExtractToFile(path, overwrite: false);
                    break;
            }
        }

        return target;
    }
}
