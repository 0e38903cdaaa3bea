using OstreeContainer.Oci;
using OstreeContainer.Oci.Images;

namespace OstreeContainer.ImageFormat.Tests;

public class DeltaLayerAnnotationsTests
{
    private const string From = "c0f3c4972b8b8d5a6c5b2d3f4e5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6";
    private const string To = "e628d89d0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5061728394a5b";

    private static Descriptor Layer(IEnumerable<KeyValuePair<string, string>> annotations) => new()
    {
        MediaType = MediaTypes.OciLayerGzip,
        Digest = Digest.Compute([1]),
        Size = 1,
        Annotations = new SortedDictionary<string, string>(annotations.ToDictionary(), StringComparer.Ordinal),
    };

    [Theory]
    [InlineData(From)]
    [InlineData(null)]
    public void Create_ThenRead_RoundTrips(string? from)
    {
        var delta = new DeltaLayerInfo(from, To, 1_461_349);

        var read = DeltaLayerAnnotations.Read(Layer(DeltaLayerAnnotations.Create(delta)));

        Assert.Equal(delta, read);
    }

    [Fact]
    public void Create_FromScratch_WritesEmpty()
    {
        var annotations = DeltaLayerAnnotations.Create(new DeltaLayerInfo(null, To, 5)).ToDictionary();

        Assert.Equal("empty", annotations[ImageAnnotationKeys.DeltaFrom]);
        Assert.Equal("5", annotations[ImageAnnotationKeys.DeltaSize]);
    }

    [Fact]
    public void Read_NoDeltaAnnotations_IsNull() =>
        Assert.Null(DeltaLayerAnnotations.Read(Layer([KeyValuePair.Create(ImageAnnotationKeys.LayerKind, "delta")])));

    [Theory]
    [InlineData(ImageAnnotationKeys.DeltaFrom, "C0F3")]
    [InlineData(ImageAnnotationKeys.DeltaTo, "empty")]
    [InlineData(ImageAnnotationKeys.DeltaSize, "-1")]
    [InlineData(ImageAnnotationKeys.DeltaSize, "1e6")]
    public void Read_MalformedValue_NamesTheAnnotation(string key, string value)
    {
        var annotations = DeltaLayerAnnotations.Create(new DeltaLayerInfo(From, To, 5)).ToDictionary();
        annotations[key] = value;

        var e = Assert.Throws<InvalidDataException>(() => DeltaLayerAnnotations.Read(Layer(annotations)));

        Assert.Contains(key, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_SomeAnnotationsMissing_Fails()
    {
        var annotations = DeltaLayerAnnotations.Create(new DeltaLayerInfo(From, To, 5)).ToDictionary();
        annotations.Remove(ImageAnnotationKeys.DeltaSize);

        Assert.Throws<InvalidDataException>(() => DeltaLayerAnnotations.Read(Layer(annotations)));
    }

    [Fact]
    public void Restore_LayersWithoutAnnotations_GetTheDeltaTheLabelNamesByDiffId()
    {
        var from = new string('a', 64);
        var to = new string('b', 64);
        var deltaDiffId = Digest.Compute([2]);
        Descriptor Plain(int n) => new() { MediaType = MediaTypes.OciLayerGzip, Digest = Digest.Compute([(byte)n, 9]), Size = 1 };
        var labels = new Dictionary<string, string>
        {
            [ImageLabelKeys.DeltaLayers] = DeltaLayerAnnotations.FormatLabel([(deltaDiffId, new DeltaLayerInfo(from, to, 42)), (Digest.Compute([7]), new DeltaLayerInfo(null, to, 9))]),
        };

        var restored = DeltaLayerAnnotations.Restore([Plain(1), Plain(2), Plain(3)], [Digest.Compute([1]), deltaDiffId, Digest.Compute([3])], labels);

        Assert.Null(restored[0].Annotations);
        Assert.Equal("delta", restored[1].Annotation(ImageAnnotationKeys.LayerKind));
        Assert.Equal(new DeltaLayerInfo(from, to, 42), DeltaLayerAnnotations.Read(restored[1]));
        Assert.Null(restored[2].Annotations);
    }

    [Fact]
    public void Restore_MalformedLabel_NamesIt()
    {
        var labels = new Dictionary<string, string> { [ImageLabelKeys.DeltaLayers] = "sha256:nothex empty" };

        var e = Assert.Throws<InvalidDataException>(() => DeltaLayerAnnotations.Restore([], [], labels));

        Assert.Contains(ImageLabelKeys.DeltaLayers, e.Message, StringComparison.Ordinal);
    }
}
