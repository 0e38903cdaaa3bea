using OstreeContainer.Oci;
using OstreeContainer.Ostree.Signing;

namespace OstreeContainer.ImagePuller.Tests;

/// <summary>
/// ed25519-signed commits: <c>--sign-verify</c> and remotes with <c>sign-verify=true</c>.
/// Debian's ostree is built without libsodium (<c>ostree sign</c> says "not implemented"),
/// so the signature is made by our Signing library and written as the commit's
/// <c>.commitmeta</c>; ostree itself configures the remote and checks the result (fsck).
/// </summary>
public class Ed25519SignatureTests
{
    private static readonly Lazy<(ImageReference Image, Ed25519SecretKey Key)> Signed = new(() =>
    {
        var key = Ed25519SecretKey.Generate();
        var dir = Fixtures.TempDirectory("ed25519");
        var repo = PullTestImages.SignedSmallRepo(dir, key);
        var (layout, _) = PullTestImages.Build(repo, "fixture/main", "signed", Path.Combine(dir, "layout"));
        return (ImageReference.Parse($"oci:{layout}:signed"), key);
    });

    [Fact]
    public async Task Pull_Ed25519Signed_AcceptedWithSignVerifyKeyAndFile()
    {
        var (image, key) = Signed.Value;
        var keyFile = Path.Combine(Fixtures.TempDirectory("keys"), "ed25519.pub");
        File.WriteAllText(keyFile, key.PublicKey.ToBase64() + "\n");
        foreach (var flag in new[] { $"ed25519={key.PublicKey.ToBase64()}", $"ed25519=file:{keyFile}" })
        {
            var repo = PullTestImages.NewRepo("archive");
            var result = await Pull(repo, image, new PullTrust { SignVerify = [flag] });
            Assert.True(result.SignatureVerified);
            Assert.Contains("ed25519", result.SignedBy, StringComparison.Ordinal);
            Peer.Ostree(repo, "fsck");
        }
    }

    [Fact]
    public async Task Pull_Ed25519Signed_AcceptedViaRemoteWithSignVerify()
    {
        var (image, key) = Signed.Value;
        var repo = PullTestImages.NewRepo("bare-user");
        Peer.Ostree(repo, "remote", "add", "--no-gpg-verify", "origin", "http://127.0.0.1:1/unused");
        Peer.Ostree(repo, "config", "set", "remote \"origin\".sign-verify", "true");
        Peer.Ostree(repo, "config", "set", "remote \"origin\".verification-ed25519-key", key.PublicKey.ToBase64());

        var result = await Pull(repo, image, new PullTrust { Remote = "origin" });

        Assert.True(result.SignatureVerified);
        Peer.Ostree(repo, "fsck");
    }

    [Fact]
    public async Task Pull_Ed25519WrongKey_RejectedAndRepoUnchanged()
    {
        var (image, _) = Signed.Value;
        var repo = PullTestImages.NewRepo("archive");
        var before = RepoSnapshot.Of(repo);

        var error = await Assert.ThrowsAsync<ImagePullException>(() =>
            Pull(repo, image, new PullTrust { SignVerify = [$"ed25519={Ed25519SecretKey.Generate().PublicKey.ToBase64()}"] }));

        Assert.Contains("commit", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, RepoSnapshot.Of(repo));
    }

    private static Task<PullResult> Pull(string repo, ImageReference image, PullTrust trust) =>
        ImageImporter.PullAsync(new ImagePullOptions { RepoPath = repo, Image = image, Trust = trust }, TestContext.Current.CancellationToken);
}
