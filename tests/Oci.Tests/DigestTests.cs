using System.Text;
using OstreeContainer.Oci.Images;

namespace OstreeContainer.Oci.Tests;

public class DigestTests
{
    [Fact]
    public void Compute_EmptyInput_IsTheWellKnownEmptySha256()
    {
        Assert.Equal(
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            Digest.Compute([]).ToString());
    }

    [Theory]
    [InlineData("sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855")]
    [InlineData("sha256:e3b0")]
    [InlineData("md5:d41d8cd98f00b204e9800998ecf8427e")]
    [InlineData("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    [InlineData("")]
    public void TryParse_Malformed_ReturnsFalse(string text)
    {
        Assert.False(Digest.TryParse(text, out _));
        Assert.Throws<InvalidDataException>(() => Digest.Parse(text));
    }

    [Fact]
    public void Serialize_Manifest_IsCanonicalCompactJsonWithSortedAnnotations()
    {
        var config = Digest.Compute(Encoding.UTF8.GetBytes("{}"));
        var manifest = new ImageManifest
        {
            MediaType = MediaTypes.OciManifest,
            Config = new Descriptor { MediaType = MediaTypes.OciConfig, Digest = config, Size = 2 },
            Layers = [],
            Annotations = new SortedDictionary<string, string>(StringComparer.Ordinal) { ["z"] = "1", ["a"] = "2" },
        };

        var json = Encoding.UTF8.GetString(OciJson.Serialize(manifest));

        Assert.Equal(
            "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\""
            + config + "\",\"size\":2},\"layers\":[],\"annotations\":{\"a\":\"2\",\"z\":\"1\"}}",
            json);
        Assert.Equal(manifest.Config, OciJson.ParseManifest(Encoding.UTF8.GetBytes(json)).Config);
    }

    [Fact]
    public void ParseManifest_BadDigest_ThrowsInvalidData()
    {
        var json = "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"sha256:zz\",\"size\":1},\"layers\":[]}"u8.ToArray();
        var e = Assert.Throws<InvalidDataException>(() => OciJson.ParseManifest(json));
        Assert.Contains("digest", e.Message, StringComparison.Ordinal);
    }
}
