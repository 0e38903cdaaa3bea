using System.Formats.Tar;
using System.Text;
using OstreeContainer.ImageFormat;
using OstreeContainer.Oci;

namespace OstreeContainer.ImagePuller.Tests;

/// <summary>
/// Commits signed by the real <c>ostree gpg-sign</c> with keys made by the real gpg: accepted
/// with the right keys (keyring or ostree remote), rejected otherwise with refs and objects unchanged.
/// </summary>
public sealed class SignatureTests
{
    private const string Ref = "fixture/main";

    private static readonly Lazy<Signed> Setup = new(Create);

    [Fact]
    public async Task Pull_SignedCommit_AcceptedWithKeyring()
    {
        var s = Setup.Value;
        var repo = PullTestImages.NewRepo("bare-user");

        var result = await Pull(repo, s.Image("signed"), new PullTrust { KeyringPath = s.GoodKeyring });

        Assert.True(result.SignatureVerified);
        Assert.Contains("GPG key", result.SignedBy, StringComparison.Ordinal);
        Peer.Ostree(repo, "fsck");
        // The detached signature came along: ostree itself verifies it with the same key.
        Peer.Ostree(repo, "remote", "add", "--gpg-import", s.GoodKeyring, "check", "http://127.0.0.1:1/unused");
        Assert.Contains("Good signature", Peer.Ostree(repo, "show", "--gpg-verify-remote=check", Ref), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pull_SignedCommit_AcceptedViaRemoteWithGpgImport()
    {
        var s = Setup.Value;
        var repo = PullTestImages.NewRepo("archive");
        Peer.Ostree(repo, "remote", "add", $"--gpg-import={s.GoodKeyring}", "origin", "http://127.0.0.1:1/unused");

        var result = await Pull(repo, s.Image("signed"), new PullTrust { Remote = "origin" });

        Assert.True(result.SignatureVerified);
        Peer.Ostree(repo, "fsck");
    }

    [Fact]
    public async Task Pull_RemoteWithoutKeys_RefusedBeforeFetching()
    {
        var s = Setup.Value;
        var repo = PullTestImages.NewRepo("archive");
        Peer.Ostree(repo, "remote", "add", "origin", "http://127.0.0.1:1/unused");

        var error = await Assert.ThrowsAsync<ImagePullException>(() => Pull(repo, s.Image("signed"), new PullTrust { Remote = "origin" }));

        Assert.Contains("gpg-import", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("signed", "wrong-key")]
    [InlineData("unsigned", "good-key")]
    [InlineData("tampered-commitmeta", "good-key")]
    [InlineData("tampered-commit", "good-key")]
    public async Task Pull_BadSignature_RejectedAndRepoUnchanged(string tag, string key)
    {
        var s = Setup.Value;
        var repo = PullTestImages.NewRepo("archive");
        // A repo that already holds something, so "unchanged" is not just "empty".
        Peer.Ostree(repo, "pull-local", Fixtures.SmallRepo.ArchiveRepo, "fixture/v1");
        var before = RepoSnapshot.Of(repo);

        var error = await Assert.ThrowsAsync<ImagePullException>(() =>
            Pull(repo, s.Image(tag), new PullTrust { KeyringPath = key == "good-key" ? s.GoodKeyring : s.WrongKeyring }));

        Assert.DoesNotContain('\n', error.Message);
        Assert.Contains("commit", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, RepoSnapshot.Of(repo));
    }

    [Theory]
    [InlineData("escape-dotdot", "archive", "'..' component")]
    [InlineData("escape-absolute", "bare-user", "is absolute")]
    [InlineData("escape-hardlink", "archive", "hard link target has a '..' component")]
    [InlineData("escape-hardlink-absolute", "bare-user", "hard link target is absolute")]
    [InlineData("meta-escape-absolute", "archive", "is absolute")]
    public async Task Pull_LayerEscapingItsRoot_RejectedAndRepoUnchanged(string tag, string mode, string why)
    {
        var s = Setup.Value;
        var repo = PullTestImages.NewRepo(mode);
        // A repo that already holds something, so "unchanged" is not just "empty".
        Peer.Ostree(repo, "pull-local", Fixtures.SmallRepo.ArchiveRepo, "fixture/v1");
        var before = RepoSnapshot.Of(repo);

        var error = await Assert.ThrowsAsync<ImagePullException>(() => Pull(repo, s.Image(tag), new PullTrust { KeyringPath = s.GoodKeyring }));

        Assert.DoesNotContain('\n', error.Message);
        Assert.Contains("layer tar entry", error.Message, StringComparison.Ordinal);
        Assert.Contains(why, error.Message, StringComparison.Ordinal);
        Assert.Equal(before, RepoSnapshot.Of(repo));
    }

    private static Task<PullResult> Pull(string repo, ImageReference image, PullTrust trust) =>
        ImageImporter.PullAsync(new ImagePullOptions { RepoPath = repo, Image = image, Trust = trust }, TestContext.Current.CancellationToken);

    private static Signed Create()
    {
        var gpg = new GpgTestHome();
        var good = gpg.GenerateKey("Good Signer <good@example.org>");
        var wrong = gpg.GenerateKey("Wrong Signer <wrong@example.org>");
        var dir = Fixtures.TempDirectory("signed");
        var goodKeyring = Path.Combine(dir, "good.gpg");
        var wrongKeyring = Path.Combine(dir, "wrong.gpg");
        File.WriteAllBytes(goodKeyring, gpg.Export(good));
        File.WriteAllBytes(wrongKeyring, gpg.Export(wrong));

        var layout = Path.Combine(dir, "layout");
        var unsigned = Path.Combine(dir, "unsigned-repo");
        Peer.Check("cp", "-a", Fixtures.SmallRepo.ArchiveRepo, unsigned);
        var (_, unsignedImage) = PullTestImages.Build(unsigned, Ref, "unsigned", layout);

        var signed = Path.Combine(dir, "signed-repo");
        Peer.Check("cp", "-a", Fixtures.SmallRepo.ArchiveRepo, signed);
        Peer.Ostree(signed, "gpg-sign", $"--gpg-homedir={gpg.Directory}", Fixtures.SmallRepo.Commit2, good);
        var (_, signedImage) = PullTestImages.Build(signed, Ref, "signed", layout);

        var meta = signedImage.Layers.Count - 1;
        var commitPath = $"ostree/repo/objects/{Fixtures.SmallRepo.Commit2[..2]}/{Fixtures.SmallRepo.Commit2[2..]}.commit";
        // One byte of the signature packet flipped: the commitmeta still parses, the signature fails.
        PullTestImages.RewriteLayer(layout, "signed", "tampered-commitmeta", meta, (entry, data) =>
            entry.Name.EndsWith(".commitmeta", StringComparison.Ordinal) ? [(entry, Flip(data!, data!.Length - 40))] : PullTestImages.Keep(entry, data));
        // The commit's subject changed: the bytes no longer hash to the signed checksum.
        PullTestImages.RewriteLayer(layout, "signed", "tampered-commit", meta, (entry, data) =>
            entry.Name == commitPath ? [(entry, Replace(data!, "fixture commit 2", "fixture commit X"))] : PullTestImages.Keep(entry, data));

        var repoLayer = signedImage.Layers.Select((l, i) => (l, i)).First(x => x.l.Kind == LayerKind.Repo && x.l.Entries > 2).i;
        PullTestImages.RewriteLayer(layout, "signed", "escape-dotdot", repoLayer, PullTestImages.Keep, [PullTestImages.NewFile("ostree/repo/../../../etc/evil", [1, 2, 3])]);
        PullTestImages.RewriteLayer(layout, "signed", "escape-absolute", repoLayer, PullTestImages.Keep, [PullTestImages.NewFile("/etc/evil", [1, 2, 3])]);
        PullTestImages.RewriteLayer(layout, "signed", "escape-hardlink", repoLayer, PullTestImages.Keep,
            [(new PaxTarEntry(TarEntryType.HardLink, "ostree/repo/evil") { LinkName = "../../etc/shadow" }, null)]);
        PullTestImages.RewriteLayer(layout, "signed", "escape-hardlink-absolute", repoLayer, PullTestImages.Keep,
            [(new PaxTarEntry(TarEntryType.HardLink, "ostree/repo/evil") { LinkName = "/etc/shadow" }, null)]);
        // The meta layer is read (and verified) first: an escape there stops the pull before any repo layer.
        PullTestImages.RewriteLayer(layout, "signed", "meta-escape-absolute", meta, PullTestImages.Keep, [PullTestImages.NewFile("/ostree/repo/config", [1, 2, 3])]);
        return new Signed(gpg, layout, goodKeyring, wrongKeyring);
    }

    private static byte[] Flip(byte[] data, int index)
    {
        var copy = (byte[])data.Clone();
        copy[index] ^= 0x55;
        return copy;
    }

    private static byte[] Replace(byte[] data, string from, string to)
    {
        var text = Encoding.Latin1.GetString(data);
        Assert.Contains(from, text, StringComparison.Ordinal);
        return Encoding.Latin1.GetBytes(text.Replace(from, to, StringComparison.Ordinal));
    }

    private sealed record Signed(GpgTestHome Gpg, string Layout, string GoodKeyring, string WrongKeyring)
    {
        public ImageReference Image(string tag) => ImageReference.Parse($"oci:{Layout}:{tag}");
    }
}
