using System.Formats.Tar;
using System.Text;
using OstreeContainer.ImageFormat;
using OstreeContainer.Oci;

namespace OstreeContainer.ImagePuller.Tests;

/// <summary>
/// Derived layers carry no OSTree signature: a small signed image with a buildah COPY on top
/// imports only when pinned by digest (or with --insecure-no-signature), and crafted layers
/// appended to it are refused with one line, the target repo unchanged.
/// </summary>
public class DerivedImageTrustTests
{
    private const string Ref = "derived/small";

    [Fact]
    public async Task Pull_DerivedByTagWithSignedBase_StopsBeforeWritingAndSaysPinByDigest()
    {
        var small = DerivedTestImages.Small;
        using var registry = LocalRegistry.Start();
        using var client = PullTestImages.Client();
        var pinned = DerivedTestImages.PushPinned(registry, client, small.Layout, DerivedTestImages.SmallDerived, "derived/small");
        var byTag = ImageReference.Parse($"docker://{registry.Host}/derived/small:{DerivedTestImages.SmallDerived}");
        var repo = PullTestImages.NewRepo("archive");
        var before = RepoSnapshot.Of(repo);

        var error = await Assert.ThrowsAsync<ImagePullException>(() => DerivedImagePullTests.Pull(repo, byTag, Ref, KeyTrust(small), client));

        DerivedImagePullTests.AssertOneLine(error.Message);
        Assert.Contains("digest", error.Message, StringComparison.Ordinal);
        Assert.Contains("--insecure-no-signature", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, RepoSnapshot.Of(repo));
        var config = Oci.Images.OciJson.ParseManifest(Oci.Layout.ImageLayout.Open(small.Layout).ResolveManifest(DerivedTestImages.SmallDerived).Bytes).Config.Digest;
        Assert.All(registry.Requests("GET", "/blobs/"), r => Assert.EndsWith(config.ToString(), r.Path, StringComparison.Ordinal));
        TestContext.Current.TestOutputHelper?.WriteLine(error.Message);

        // The same image pinned by digest, with the key: the base is verified, the layers trusted by the digest.
        var result = await DerivedImagePullTests.Pull(repo, pinned, Ref, KeyTrust(small), client);
        Assert.True(result.SignatureVerified);
        Assert.Equal(small.BaseCommit, result.BaseCommit);
        Assert.Equal(small.BaseCommit, DerivedImagePullTests.Parent(repo, result.Commit));
        Peer.Ostree(repo, "fsck");
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"pinned: {DerivedImagePullTests.MetadataKey(repo, result.Commit, CommitMetadataKeys.DerivedTrust)}");
    }

    [Fact]
    public async Task Pull_DerivedByTagWithInsecureNoSignature_Imports()
    {
        var small = DerivedTestImages.Small;
        using var registry = LocalRegistry.Start();
        using var client = PullTestImages.Client();
        DerivedTestImages.PushPinned(registry, client, small.Layout, DerivedTestImages.SmallDerived, "derived/small");
        var byTag = ImageReference.Parse($"docker://{registry.Host}/derived/small:{DerivedTestImages.SmallDerived}");
        var repo = PullTestImages.NewRepo("bare-user");

        var result = await DerivedImagePullTests.Pull(repo, byTag, Ref, new PullTrust { InsecureNoSignature = true }, client);

        Assert.False(result.SignatureVerified);
        Assert.Equal(ImageShape.Derived, result.Shape);
        Peer.Ostree(repo, "fsck");
        DerivedTestImages.AssertCommitIsImage(repo, result.Commit, "bare-user", small.Layout, DerivedTestImages.SmallDerived);
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"insecure: {DerivedImagePullTests.MetadataKey(repo, result.Commit, CommitMetadataKeys.DerivedTrust)}");
    }

    public static TheoryData<string> MaliciousLayers => [.. Crafted.Keys];

    [Theory]
    [MemberData(nameof(MaliciousLayers))]
    public async Task Pull_CraftedLayerOnTop_RefusedWithOneLineRepoUnchanged(string name)
    {
        var small = DerivedTestImages.Small;
        var tag = CraftedTag(name);
        var repo = PullTestImages.NewRepo("bare-user");
        var before = RepoSnapshot.Of(repo);
        var options = ImageImporterTests.Options(repo, ImageReference.Parse($"oci:{small.Layout}:{tag}")) with
        {
            Ref = Ref,
            Limits = new global::OstreeContainer.ImagePuller.Derived.LayerApplyLimits { MaxEntries = BombLimit },
        };

        var error = await Assert.ThrowsAsync<ImagePullException>(() => ImageImporter.PullAsync(options, TestContext.Current.CancellationToken));

        TestContext.Current.TestOutputHelper?.WriteLine($"{name}: {error.Message}");
        DerivedImagePullTests.AssertOneLine(error.Message);
        // The layer is what was refused (not, say, a missing feature): the line names the problem.
        // (The image reference, which holds the tag bad-NAME, does not count.)
        var said = error.Message.Replace(options.Image.ToString(), "IMAGE", StringComparison.Ordinal).Replace(tag, "TAG", StringComparison.Ordinal);
        Assert.True(Expected[name].Any(w => said.Contains(w, StringComparison.OrdinalIgnoreCase)), $"'{error.Message}' names none of {string.Join(", ", Expected[name])}");
        var written = RepoSnapshot.Of(repo);
        written.ExceptWith(before);
        var baseHeld = Peer.Run("ostree", [$"--repo={repo}", "show", small.BaseCommit]).ExitCode == 0;
        Assert.True(written.Count == 0, $"the refused pull left {written.Count(w => w.StartsWith("objects/", StringComparison.Ordinal))} objects{(baseHeld ? $" (the base commit {small.BaseCommit[..12]} is now in the repo)" : "")} and refs [{string.Join(", ", written.Where(w => w.StartsWith("refs/", StringComparison.Ordinal)))}]");
        Assert.False(Directory.Exists(Path.Combine(Path.GetDirectoryName(repo)!, "x")), "../x was written beside the repo");
    }

    [Fact]
    public async Task Pull_SmallDerivedUnderTheBombLimit_Imports()
    {
        // The limit the bomb test uses lets the honest image through: the bomb is what stops it.
        var small = DerivedTestImages.Small;
        var repo = PullTestImages.NewRepo("archive");
        var options = ImageImporterTests.Options(repo, ImageReference.Parse($"oci:{small.Layout}:{DerivedTestImages.SmallDerived}")) with
        {
            Ref = Ref,
            Limits = new global::OstreeContainer.ImagePuller.Derived.LayerApplyLimits { MaxEntries = BombLimit },
        };

        var result = await ImageImporter.PullAsync(options, TestContext.Current.CancellationToken);

        Assert.Equal(ImageShape.Derived, result.Shape);
        Peer.Ostree(repo, "fsck");
    }

    private const int BombLimit = 1000;

    private static PullTrust KeyTrust(DerivedTestImages.SmallSet small) => new() { SignVerify = [$"ed25519={small.Key.PublicKey.ToBase64()}"] };

    // Each crafted layer, appended to the small derived image as tag "bad-NAME" (made once).
    private static readonly Dictionary<string, Func<byte[]>> Crafted = new(StringComparer.Ordinal)
    {
        ["dotdot"] = () => DerivedTestImages.Tar([File("../x", "escaped\n")]),
        ["absolute"] = () => DerivedTestImages.Tar([File("/usr/share/abs", "absolute\n")]),
        ["hardlink-escaping"] = () => DerivedTestImages.Tar([(new PaxTarEntry(TarEntryType.HardLink, "usr/share/evil") { LinkName = "../../../etc/shadow" }, null)]),
        ["whiteout-escaping"] = () => DerivedTestImages.Tar([File("usr/../../.wh.etc", "")]),
        ["whiteout-of-root"] = () => DerivedTestImages.Tar([File(".wh.", "")]),
        ["whiteout-of-root-dot"] = () => DerivedTestImages.Tar([File("./.wh..", "")]),
        ["device"] = () => DerivedTestImages.Tar([(new PaxTarEntry(TarEntryType.CharacterDevice, "usr/share/null") { DeviceMajor = 1, DeviceMinor = 3 }, null)]),
        ["ten-gb-claim"] = () => TenGigabyteClaim(sparse: false),
        ["ten-gb-sparse"] = () => TenGigabyteClaim(sparse: true),
        ["bomb"] = () => DerivedTestImages.Tar(Enumerable.Range(0, BombLimit * 5).Select(i => File($"usr/share/bomb/{i}", ""))),
    };

    // Words one of which the refusal must hold, per crafted layer.
    private static readonly Dictionary<string, string[]> Expected = new(StringComparer.Ordinal)
    {
        ["dotdot"] = [".."],
        ["absolute"] = ["absolute", "/usr/share/abs"],
        ["hardlink-escaping"] = ["link", ".."],
        ["whiteout-escaping"] = ["..", "whiteout"],
        ["whiteout-of-root"] = ["whiteout", "root"],
        ["whiteout-of-root-dot"] = ["whiteout", "root", ".."],
        ["device"] = ["device"],
        ["ten-gb-claim"] = ["10737418240", "space", "size", "end of", "truncated"],
        ["ten-gb-sparse"] = ["sparse"],
        ["bomb"] = ["entries", $"{BombLimit}"],
    };

    private static readonly Dictionary<string, Lazy<string>> Tags = Crafted.ToDictionary(
        c => c.Key,
        c => new Lazy<string>(() =>
        {
            var tag = $"bad-{c.Key}";
            DerivedTestImages.AppendLayer(DerivedTestImages.Small.Layout, DerivedTestImages.SmallDerived, tag, c.Value());
            return tag;
        }),
        StringComparer.Ordinal);

    private static string CraftedTag(string name)
    {
        lock (Tags)
        {
            return Tags[name].Value;
        }
    }

    private static (TarEntry, byte[]?) File(string name, string content) =>
        (new PaxTarEntry(TarEntryType.RegularFile, name) { Mode = (UnixFileMode)Convert.ToInt32("644", 8) }, Encoding.UTF8.GetBytes(content));

    // A regular file whose PAX size claims 10 GiB, followed by a few bytes and the end of the
    // archive (TarWriter will not write a header it cannot back with data, so it is built by
    // hand); with sparse, GNU sparse 1.0 records claim a 10 GiB real size for a 512-byte file.
    private static byte[] TenGigabyteClaim(bool sparse)
    {
        const long TenGiB = 10L << 30;
        var records = sparse
            ? new[] { ("GNU.sparse.major", "1"), ("GNU.sparse.minor", "0"), ("GNU.sparse.name", "usr/share/huge"), ("GNU.sparse.realsize", TenGiB.ToString(System.Globalization.CultureInfo.InvariantCulture)) }
            : new[] { ("size", TenGiB.ToString(System.Globalization.CultureInfo.InvariantCulture)) };
        var pax = new StringBuilder();
        foreach (var (key, value) in records)
        {
            var body = $" {key}={value}\n";
            var length = body.Length + 1;
            while ($"{length}{body}".Length != length)
            {
                length++;
            }

            pax.Append(length).Append(body);
        }

        var paxBytes = Encoding.ASCII.GetBytes(pax.ToString());
        var output = new MemoryStream();
        output.Write(Header("PaxHeaders/huge", 'x', paxBytes.Length));
        output.Write(Padded(paxBytes));
        output.Write(Header(sparse ? "usr/share/GNUSparseFile.0/huge" : "usr/share/huge", '0', 512));
        output.Write(new byte[512]);
        output.Write(new byte[1024]);
        return output.ToArray();
    }

    private static byte[] Padded(byte[] data) => [.. data, .. new byte[(512 - (data.Length % 512)) % 512]];

    // A ustar header: name, mode, uid, gid, size, mtime, checksum, type, magic.
    private static byte[] Header(string name, char type, long size)
    {
        var header = new byte[512];
        void Put(int offset, string text) => Encoding.ASCII.GetBytes(text).CopyTo(header, offset);
        Put(0, name);
        Put(100, "0000644\0");
        Put(108, "0000000\0");
        Put(116, "0000000\0");
        Put(124, Convert.ToString(size, 8).PadLeft(11, '0') + "\0");
        Put(136, "00000000000\0");
        Put(148, "        ");
        header[156] = (byte)type;
        Put(257, "ustar\0");
        Put(263, "00");
        var sum = header.Sum(b => (int)b);
        Put(148, Convert.ToString(sum, 8).PadLeft(6, '0') + "\0 ");
        return header;
    }
}
