using OstreeContainer.Oci;
using OstreeContainer.Oci.Images;

namespace OstreeContainer.ImageFormat.Tests;

public class LayerKindTests
{
    private static Descriptor Layer(int n, string? kind = null) => new()
    {
        MediaType = MediaTypes.OciLayerGzip,
        Digest = Digest.Compute([(byte)n]),
        Size = 1,
        Annotations = kind is null ? null : new SortedDictionary<string, string>(StringComparer.Ordinal) { [ImageAnnotationKeys.LayerKind] = kind },
    };

    private static readonly Dictionary<string, string> NoLabels = [];

    [Theory]
    [InlineData(LayerKind.Tree, "tree")]
    [InlineData(LayerKind.Repo, "repo")]
    [InlineData(LayerKind.Delta, "delta")]
    [InlineData(LayerKind.Meta, "meta")]
    public void ToAnnotation_ThenFromAnnotation_RoundTrips(LayerKind kind, string value)
    {
        Assert.Equal(value, LayerKinds.ToAnnotation(kind));
        Assert.Equal(kind, LayerKinds.FromAnnotation(value));
    }

    [Fact]
    public void ToAnnotation_Unknown_IsNeverWritten() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => LayerKinds.ToAnnotation(LayerKind.Unknown));

    [Fact]
    public void Classify_Annotated_UsesTheAnnotations()
    {
        var kinds = Classify([Layer(0, "tree"), Layer(1, "repo"), Layer(2, "delta"), Layer(3, "meta")], NoLabels);

        Assert.Equal([LayerKind.Tree, LayerKind.Repo, LayerKind.Delta, LayerKind.Meta], kinds);
    }

    [Fact]
    public void Classify_AnnotationsDropped_FallsBackToTheRepoLayersLabelWithTheTopLayerAsMeta()
    {
        var labels = new Dictionary<string, string> { [ImageLabelKeys.RepoLayers] = RepoLayersLabel.Format([2, 3]) };

        var kinds = Classify([Layer(0), Layer(1), Layer(2), Layer(3)], labels);

        Assert.Equal([LayerKind.Tree, LayerKind.Tree, LayerKind.Repo, LayerKind.Meta], kinds);
    }

    [Fact]
    public void Classify_UnknownAnnotationValue_IsUnknown()
    {
        var kinds = Classify([Layer(0), Layer(1, "something-else")], NoLabels);

        Assert.Equal([LayerKind.Unknown, LayerKind.Unknown], kinds);
    }

    [Fact]
    public void Classify_NoLabelsNoAnnotations_IsAPlainImage_EveryLayerDerived()
    {
        var kinds = Classify([Layer(0), Layer(1)], NoLabels);

        Assert.Equal([LayerKind.Derived, LayerKind.Derived], kinds);
        Assert.Equal(ImageShape.Plain, LayerKinds.ShapeOf(kinds));
    }

    [Fact]
    public void Classify_FinalDiffIdBelowTheTop_LayersAboveAreDerived_AndTheFinalLayerIsMeta()
    {
        // What buildah FROM + RUN makes: the base's labels copied, its annotations dropped.
        var labels = new Dictionary<string, string>
        {
            [ImageLabelKeys.Commit] = new string('a', 64),
            [ImageLabelKeys.RepoLayers] = RepoLayersLabel.Format([1, 2]),
            [ImageLabelKeys.FinalDiffId] = DiffId(2).ToString(),
        };

        var kinds = Classify([Layer(0), Layer(1), Layer(2), Layer(3), Layer(4)], labels);

        Assert.Equal([LayerKind.Tree, LayerKind.Repo, LayerKind.Meta, LayerKind.Derived, LayerKind.Derived], kinds);
        Assert.Equal(ImageShape.Derived, LayerKinds.ShapeOf(kinds));
    }

    [Fact]
    public void Classify_FinalDiffIdAtTheTop_IsTheImageAsBuilt()
    {
        var labels = new Dictionary<string, string> { [ImageLabelKeys.FinalDiffId] = DiffId(2).ToString() };

        var kinds = Classify([Layer(0, "tree"), Layer(1, "repo"), Layer(2, "meta")], labels);

        Assert.Equal([LayerKind.Tree, LayerKind.Repo, LayerKind.Meta], kinds);
        Assert.Equal(ImageShape.OstreeContainer, LayerKinds.ShapeOf(kinds));
    }

    [Fact]
    public void Classify_NoFinalDiffId_UnannotatedLayersAboveTheLastAnnotatedOneAreDerived()
    {
        var kinds = Classify([Layer(0, "tree"), Layer(1, "repo"), Layer(2, "meta"), Layer(3)], NoLabels);

        Assert.Equal([LayerKind.Tree, LayerKind.Repo, LayerKind.Meta, LayerKind.Derived], kinds);
    }

    [Fact]
    public void Classify_FinalDiffIdOfNoLayer_IsRefused()
    {
        var labels = new Dictionary<string, string> { [ImageLabelKeys.FinalDiffId] = DiffId(9).ToString() };

        var e = Assert.Throws<InvalidDataException>(() => Classify([Layer(0, "meta")], labels));

        Assert.Contains(ImageLabelKeys.FinalDiffId, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Describe_NamesEachShape()
    {
        Assert.Equal("ostree-container", LayerKinds.Describe(ImageShape.OstreeContainer));
        Assert.Equal("derived", LayerKinds.Describe(ImageShape.Derived));
        Assert.Equal("plain", LayerKinds.Describe(ImageShape.Plain));
    }

    private static Digest DiffId(int n) => Digest.Compute([(byte)n, 0xd1]);

    private static LayerKind[] Classify(Descriptor[] layers, IReadOnlyDictionary<string, string> labels) =>
        LayerKinds.Classify(layers, [.. layers.Select((_, i) => DiffId(i))], labels);
}
