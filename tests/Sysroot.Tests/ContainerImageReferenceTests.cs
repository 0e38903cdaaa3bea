using OstreeContainer.ImagePuller;
using OstreeContainer.Oci;

namespace OstreeContainer.Sysroot.Tests;

/// <summary>
/// The origin grammar, written from the forms ostree-rs-ext (bootc's <c>OstreeImageReference</c>)
/// and rpm-ostree's docs/container.md document: every form they read parses here to the same
/// meaning, and what we write is the form they write.
/// </summary>
public class ContainerImageReferenceTests
{
    [Theory]
    // rpm-ostree docs/container.md, "URL format for ostree native containers".
    [InlineData("ostree-unverified-registry:quay.io/fedora/fedora-coreos:stable", ImageVerification.Unverified, null, ContainerTransport.Registry, "quay.io/fedora/fedora-coreos:stable", "ostree-unverified-registry:quay.io/fedora/fedora-coreos:stable")]
    [InlineData("ostree-unverified-image:registry:quay.io/exampleos/os:latest", ImageVerification.Unverified, null, ContainerTransport.Registry, "quay.io/exampleos/os:latest", "ostree-unverified-registry:quay.io/exampleos/os:latest")]
    [InlineData("ostree-unverified-image:docker://quay.io/exampleos/os:latest", ImageVerification.Unverified, null, ContainerTransport.Registry, "quay.io/exampleos/os:latest", "ostree-unverified-registry:quay.io/exampleos/os:latest")]
    [InlineData("ostree-unverified-image:oci:/var/lib/os:v1", ImageVerification.Unverified, null, ContainerTransport.OciDir, "/var/lib/os:v1", "ostree-unverified-image:oci:/var/lib/os:v1")]
    [InlineData("ostree-unverified-image:oci-archive:/tmp/os.tar", ImageVerification.Unverified, null, ContainerTransport.OciArchive, "/tmp/os.tar", "ostree-unverified-image:oci-archive:/tmp/os.tar")]
    [InlineData("ostree-remote-image:fedora:registry:quay.io/coreos/fedora-coreos:stable", ImageVerification.OstreeRemote, "fedora", ContainerTransport.Registry, "quay.io/coreos/fedora-coreos:stable", "ostree-remote-image:fedora:docker://quay.io/coreos/fedora-coreos:stable")]
    [InlineData("ostree-remote-image:fedora:docker://quay.io/coreos/fedora-coreos:stable", ImageVerification.OstreeRemote, "fedora", ContainerTransport.Registry, "quay.io/coreos/fedora-coreos:stable", "ostree-remote-image:fedora:docker://quay.io/coreos/fedora-coreos:stable")]
    // The example in ostree-rs-ext's container module documentation.
    [InlineData("ostree-remote-registry:fedora:quay.io/coreos/fedora-coreos:stable", ImageVerification.OstreeRemote, "fedora", ContainerTransport.Registry, "quay.io/coreos/fedora-coreos:stable", "ostree-remote-image:fedora:docker://quay.io/coreos/fedora-coreos:stable")]
    [InlineData("ostree-image-signed:docker://quay.io/exampleos/os@sha256:0000000000000000000000000000000000000000000000000000000000000000", ImageVerification.Signed, null, ContainerTransport.Registry, "quay.io/exampleos/os@sha256:0000000000000000000000000000000000000000000000000000000000000000", "ostree-image-signed:docker://quay.io/exampleos/os@sha256:0000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("ostree-image-signed:registry:127.0.0.1:5000/os/x:stable", ImageVerification.Signed, null, ContainerTransport.Registry, "127.0.0.1:5000/os/x:stable", "ostree-image-signed:docker://127.0.0.1:5000/os/x:stable")]
    [InlineData("ostree-unverified-image:containers-storage:localhost/os", ImageVerification.Unverified, null, ContainerTransport.ContainerStorage, "localhost/os", "ostree-unverified-image:containers-storage:localhost/os")]
    public void Parse_DocumentedForms_MeanWhatBootcReadsAndWriteAsBootcWrites(string text, ImageVerification verification, string? remote, ContainerTransport transport, string name, string written)
    {
        var parsed = ContainerImageReference.Parse(text);

        Assert.Equal(new ContainerImageReference(verification, remote, transport, name), parsed);
        Assert.Equal(written, parsed.ToString());
        Assert.Equal(parsed, ContainerImageReference.Parse(written));
    }

    [Theory]
    [InlineData("quay.io/os:latest", "unknown scheme 'quay.io/os'")]
    [InlineData("docker://quay.io/os:latest", "unknown scheme 'docker'")]
    [InlineData("ostree-unverified-registry", "missing ':'")]
    [InlineData("ostree-remote-image:fedora", "missing ':' after the remote name")]
    [InlineData("ostree-remote-registry:quay.io/os", "missing ':' after the remote name")]
    [InlineData("ostree-unverified-image:docker:quay.io/os", "missing // in docker://")]
    [InlineData("ostree-unverified-image:http://quay.io/os", "unknown transport 'http'")]
    [InlineData("ostree-image-signed:quay.io/os:latest", "unknown transport 'quay.io/os'")]
    [InlineData("ostree-image-signed:quay.io/os", "missing ':' after the transport")]
    [InlineData("ostree-unverified-registry:", "empty image name")]
    [InlineData("ostree-unverified-image:oci:", "empty image name")]
    [InlineData("ostree-remote-image::docker://quay.io/os", "empty remote name")]
    public void Parse_Malformed_OneLineNamingTheFault(string text, string expected)
    {
        var e = Assert.Throws<FormatException>(() => ContainerImageReference.Parse(text));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void For_OurImageNames_RecordsTheSchemeTheTrustImplies()
    {
        var image = ImageReference.Parse("docker://127.0.0.1:5000/os/x:stable");

        Assert.Equal("ostree-unverified-registry:127.0.0.1:5000/os/x:stable", Origin(image, new PullTrust { InsecureNoSignature = true }));
        Assert.Equal("ostree-remote-image:exampleos:docker://127.0.0.1:5000/os/x:stable", Origin(image, new PullTrust { Remote = "exampleos" }));
        Assert.Equal("ostree-image-signed:docker://127.0.0.1:5000/os/x:stable", Origin(image, new PullTrust { SignVerify = ["ed25519=AAAA"] }));
        Assert.Equal("ostree-image-signed:docker://127.0.0.1:5000/os/x:stable", Origin(image, new PullTrust { KeyringPath = "/k.gpg" }));
        Assert.Equal("ostree-unverified-image:oci:/srv/layout:c1", Origin(ImageReference.Parse("oci:/srv/layout:c1"), new PullTrust { InsecureNoSignature = true }));
        Assert.Null(SysrootUpdater.ParseTarget("docker://h:1/os/x:t", new PullTrust()).Origin);

        // A bare name gets Docker Hub's canonical form, as skopeo would resolve it.
        Assert.Equal("ostree-unverified-registry:docker.io/library/debian:12", Origin(ImageReference.Parse("debian:12"), new PullTrust { InsecureNoSignature = true }));

        // An origin-style argument keeps its own scheme and names the image it says.
        var (pulled, origin) = SysrootUpdater.ParseTarget("ostree-remote-registry:exampleos:127.0.0.1:5000/os/x:stable", new PullTrust());
        Assert.Equal("docker://127.0.0.1:5000/os/x:stable", pulled.ToString());
        Assert.Equal("ostree-remote-image:exampleos:docker://127.0.0.1:5000/os/x:stable", origin!.ToString());
    }

    [Fact]
    public void ToImageReference_TransportsWeCannotPull_OneLine()
    {
        var e = Assert.Throws<NotSupportedException>(() => ContainerImageReference.Parse("ostree-unverified-image:containers-storage:localhost/os").ToImageReference());
        Assert.Equal("image 'containers-storage:localhost/os': the containers-storage transport is not supported (use a registry, oci: or oci-archive:)", e.Message);
    }

    [Fact]
    public void TrustFor_EachScheme_MapsToPullTrust()
    {
        var none = new PullTrust();
        Assert.True(SysrootUpdater.TrustFor(ContainerImageReference.Parse("ostree-unverified-registry:h/os:1"), none).InsecureNoSignature);
        Assert.Equal("fedora", SysrootUpdater.TrustFor(ContainerImageReference.Parse("ostree-remote-registry:fedora:h/os:1"), none).Remote);
        var keys = new PullTrust { SignVerify = ["ed25519=AAAA"] };
        Assert.Same(keys, SysrootUpdater.TrustFor(ContainerImageReference.Parse("ostree-image-signed:docker://h/os:1"), keys));

        var e = Assert.Throws<SysrootException>(() => SysrootUpdater.TrustFor(ContainerImageReference.Parse("ostree-image-signed:docker://h/os:1"), none));
        Assert.Equal("ostree-image-signed:docker://h/os:1 asks for a signed image: pass the keys its commit is signed with (--keyring FILE or --sign-verify ed25519=KEY|file:PATH)", e.Message);
        Assert.Throws<SysrootException>(() => SysrootUpdater.TrustFor(ContainerImageReference.Parse("ostree-remote-registry:fedora:h/os:1"), new PullTrust { Remote = "other" }));
    }

    [Fact]
    public void Origin_WrittenAsBootcWritesIt_ReadBack()
    {
        var reference = ContainerImageReference.Parse("ostree-unverified-registry:quay.io/os/x:stable");

        var text = DeploymentOrigin.Format(reference);

        Assert.Equal("[origin]\ncontainer-image-reference=ostree-unverified-registry:quay.io/os/x:stable\n", text);
        Assert.Equal(reference, DeploymentOrigin.TryParseImage(text));

        // An origin bootc wrote (extra groups), and one of a plain ostree deployment.
        Assert.Equal(
            ContainerImageReference.Parse("ostree-remote-image:fedora:docker://quay.io/coreos/fedora-coreos:stable"),
            DeploymentOrigin.TryParseImage("[origin]\ncontainer-image-reference=ostree-remote-image:fedora:docker://quay.io/coreos/fedora-coreos:stable\n\n[bootc]\nkargs=foo\n"));
        Assert.Null(DeploymentOrigin.TryParseImage("[origin]\nrefspec=fedora:fedora/x86_64/coreos/stable\n"));
    }

    private static string Origin(ImageReference image, PullTrust trust)
    {
        var v = SysrootUpdater.VerificationOf(trust)!.Value;
        return ContainerImageReference.For(image, v.Verification, v.Remote).ToString();
    }
}
