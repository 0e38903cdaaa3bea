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
        var kinds = LayerKinds.Classify([Layer(0, "tree"), Layer(1, "repo"), Layer(2, "delta"), Layer(3, "meta")], NoLabels);

        Assert.Equal([LayerKind.Tree, LayerKind.Repo, LayerKind.Delta, LayerKind.Meta], kinds);
    }

    [Fact]
    public void Classify_AnnotationsDropped_FallsBackToTheRepoLayersLabelWithTheTopLayerAsMeta()
    {
        var labels = new Dictionary<string, string> { [ImageLabelKeys.RepoLayers] = RepoLayersLabel.Format([2, 3]) };

        var kinds = LayerKinds.Classify([Layer(0), Layer(1), Layer(2), Layer(3)], labels);

        Assert.Equal([LayerKind.Tree, LayerKind.Tree, LayerKind.Repo, LayerKind.Meta], kinds);
    }

    [Fact]
    public void Classify_PlainImage_IsUnknown()
    {
        var kinds = LayerKinds.Classify([Layer(0), Layer(1, "something-else")], NoLabels);

        Assert.Equal([LayerKind.Unknown, LayerKind.Unknown], kinds);
    }
}
