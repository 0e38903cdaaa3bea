namespace OstreeContainer.Oci.Tests;

public class ImageReferenceTests
{
    [Theory]
    [InlineData("docker://127.0.0.1:5000/os/example:v1", "127.0.0.1:5000", "os/example", "v1")]
    [InlineData("127.0.0.1:5000/example:v1", "127.0.0.1:5000", "example", "v1")]
    [InlineData("localhost/example", "localhost", "example", "latest")]
    [InlineData("debian:stable", "docker.io", "library/debian", "stable")]
    [InlineData("quay.io/fedora/fedora-bootc:40", "quay.io", "fedora/fedora-bootc", "40")]
    public void Parse_RegistryNames_SplitsHostRepositoryAndTag(string text, string registry, string repository, string tag)
    {
        var reference = ImageReference.Parse(text);

        Assert.Equal(ImageTransport.Registry, reference.Transport);
        Assert.Equal(registry, reference.Registry);
        Assert.Equal(repository, reference.Repository);
        Assert.Equal(tag, reference.Tag);
    }

    [Fact]
    public void Parse_PinnedDigest_AsksForTheDigest()
    {
        var digest = Digest.Compute([]);
        var reference = ImageReference.Parse($"docker://reg.example/os@{digest}");

        Assert.Equal(digest, reference.Digest);
        Assert.Null(reference.Tag);
        Assert.Equal(digest.ToString(), reference.ManifestReference);
    }

    [Theory]
    [InlineData("oci:/tmp/out", "/tmp/out", null)]
    [InlineData("oci:/tmp/out:exampleos", "/tmp/out", "exampleos")]
    [InlineData("oci:relative/dir:v1.0", "relative/dir", "v1.0")]
    public void Parse_OciLayout_SplitsPathAndTag(string text, string path, string? tag)
    {
        var reference = ImageReference.Parse(text);

        Assert.Equal(ImageTransport.OciLayout, reference.Transport);
        Assert.Equal(path, reference.Path);
        Assert.Equal(tag, reference.Tag);
        Assert.Equal(text, reference.ToString());
    }

    [Theory]
    [InlineData("docker://Reg.example/UPPER:tag")]
    [InlineData("docker://reg.example/os:bad tag")]
    [InlineData("docker://reg.example/os@sha256:123")]
    [InlineData("http://reg.example/os")]
    [InlineData("oci:")]
    public void Parse_Malformed_ThrowsFormatException(string text)
    {
        Assert.Throws<FormatException>(() => ImageReference.Parse(text));
    }
}
