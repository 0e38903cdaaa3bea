using OstreeContainer.ImageFormat;
using OstreeContainer.Oci;
using OstreeContainer.Oci.Images;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Repository;

namespace OstreeContainer.ImagePuller.Tests;

/// <summary>Which path a pull takes, chosen from the manifest and the repo alone (the small fixture's repo, only read).</summary>
public sealed class PullPlanTests
{
    private const string Target = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    [Fact]
    public void Choose_RefAtOneFromCommit_PrefersItsDeltaOverASmallerOne()
    {
        var small = Fixtures.SmallRepo;
        var repo = OstreeRepo.Open(small.ArchiveRepo);
        var info = Image(Delta(1, small.Commit1, 100), Delta(2, small.Commit2, 900), Delta(3, null, 50));
        var headOfRef = repo.TryResolveRev("fixture/main", out var head) ? head.ToString() : null;
        Assert.Equal(small.Commit2, headOfRef);

        var byRef = PullPlan.Choose(info, repo, "fixture/main", null);
        var byAny = PullPlan.Choose(info, repo, "other/ref", null);

        Assert.Equal((PullPath.Delta, small.Commit2, 901L), (byRef.Path, byRef.Delta!.Info.From, byRef.BytesToFetch));
        Assert.Equal((PullPath.Delta, small.Commit1, 101L), (byAny.Path, byAny.Delta!.Info.From, byAny.BytesToFetch));
        Assert.Equal(3, byAny.Deltas.Count);
    }

    [Fact]
    public void Choose_NoDeltaFits_LayersWithTheReasonAndTheirBytes()
    {
        var repo = OstreeRepo.Open(Fixtures.SmallRepo.ArchiveRepo);
        var absent = new string('e', 64);
        string Reason(params ImageLayer[] deltas) => PullPlan.Choose(Image(deltas), repo, "fixture/main", null).Reason!;

        Assert.Equal("the image carries no delta", Reason());
        Assert.Equal("the image's only delta to its commit is from scratch (repo layers cost less to import)", Reason(Delta(1, null, 10)));
        Assert.Equal("no delta in the image starts from a commit this repository has", Reason(Delta(1, absent, 10)));
        Assert.Equal("no delta in the image ends at its commit", Reason(Delta(1, Fixtures.SmallRepo.Commit1, 10, to: absent)));
        var unannotated = new ImageLayer(1, Descriptor(1, 10, null), DigestOf(1), LayerKind.Delta);
        Assert.Equal("the image is format 1.0: its delta layers are not annotated", Reason(unannotated));

        // Bytes: the meta layer and the repo layers (once per digest) the state does not list.
        var plan = PullPlan.Choose(Image(), repo, "fixture/main", null);
        Assert.Equal((PullPath.Layers, 3 + 7 + 5L), (plan.Path, plan.BytesToFetch));
        var state = new PullState { Manifest = "sha256:" + new string('0', 64), Commit = Target, Layers = [DigestOf(7).ToString()] };
        Assert.Equal(3 + 5L, PullPlan.Choose(Image(), repo, "fixture/main", state).BytesToFetch);
    }

    private static ImageInfo Image(params ImageLayer[] deltas) => new(
        DigestOf(99),
        MediaTypes.OciManifest,
        new Dictionary<string, string> { [ImageLabelKeys.Format] = deltas.Any(d => d.Descriptor.Annotations is not null) ? "1.1" : "1.0" },
        Checksum.Parse(Target),
        "fixture/main",
        null,
        [
            new ImageLayer(10, Descriptor(7, 7, null), DigestOf(7), LayerKind.Repo),
            new ImageLayer(11, Descriptor(7, 7, null), DigestOf(7), LayerKind.Repo),
            new ImageLayer(12, Descriptor(5, 5, null), DigestOf(5), LayerKind.Repo),
            .. deltas,
            new ImageLayer(20, Descriptor(3, 3, null), DigestOf(3), LayerKind.Meta),
        ]);

    private static ImageLayer Delta(int seed, string? from, long size, string to = Target) =>
        new(seed, Descriptor(seed, size + 1, new SortedDictionary<string, string>(DeltaLayerAnnotations.Create(new DeltaLayerInfo(from, to, size)).ToDictionary())), DigestOf(seed), LayerKind.Delta);

    private static Descriptor Descriptor(int seed, long size, SortedDictionary<string, string>? annotations) => new()
    {
        MediaType = MediaTypes.OciLayerTar,
        Digest = DigestOf(seed),
        Size = size,
        Annotations = annotations,
    };

    private static Digest DigestOf(int seed) => Digest.Compute([(byte)seed]);
}
