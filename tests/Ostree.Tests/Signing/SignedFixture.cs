using OstreeContainer.Ostree.Objects;

namespace OstreeContainer.Ostree.Tests.Signing;

/// <summary>
/// Keys made by the real gpg and a copy of the small fixture's archive repo signed by the
/// real <c>ostree gpg-sign</c> and <c>ostree summary --gpg-sign</c>, built once per test
/// process. The shared fixture itself is never modified. Tests read these files and tamper
/// only with copies in memory.
/// </summary>
public sealed class SignedFixture : IDisposable
{
    private static readonly Lazy<SignedFixture> Shared = new(() =>
    {
        var fixture = new SignedFixture();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => fixture.Dispose();
        return fixture;
    });

    private readonly string _repoParent;

    private SignedFixture()
    {
        Home = new GpgTestHome();

        // gpg 2.2 (Debian 12) "default" is an RSA-3072 primary that signs, plus an RSA
        // encryption subkey; "future-default" is an EdDSA (ed25519) primary.
        RsaKey = Home.GenerateKey("Test Signer <signer@example.org>");
        EdDsaKey = Home.GenerateKey("EdDSA Signer <eddsa@example.org>", "future-default");
        OtherKey = Home.GenerateKey("Unrelated <other@example.org>", "ed25519", "sign");
        SubkeyPrimary = Home.GenerateKey("Subkey Signer <subkey@example.org>", "ed25519", "cert");
        Home.Gpg("--quick-add-key", SubkeyPrimary, "ed25519", "sign", "never");
        SigningSubkey = Home.Fingerprints(SubkeyPrimary)[1];
        ExpiringKey = Home.GenerateKey("Expiring <expiring@example.org>", "ed25519", "sign", "1d");

        _repoParent = Fixtures.TempDirectory("signed-repo");
        Repo = Path.Combine(_repoParent, "repo");
        CopyDirectory(Fixtures.SmallRepo.ArchiveRepo, Repo);
        var fx = Fixtures.SmallRepo;
        Peer.Ostree(Repo, "gpg-sign", $"--gpg-homedir={Home.Directory}", fx.Commit2, RsaKey);
        Peer.Ostree(Repo, "gpg-sign", $"--gpg-homedir={Home.Directory}", fx.Commit1, EdDsaKey);
        Peer.Ostree(Repo, "gpg-sign", $"--gpg-homedir={Home.Directory}", fx.CommitWide, SubkeyPrimary);
        Peer.Ostree(Repo, "summary", "-u", $"--gpg-sign={RsaKey}", $"--gpg-homedir={Home.Directory}");
    }

    public static SignedFixture Instance => Shared.Value;

    public GpgTestHome Home { get; }

    public string RsaKey { get; }

    public string EdDsaKey { get; }

    public string OtherKey { get; }

    public string SubkeyPrimary { get; }

    public string SigningSubkey { get; }

    public string ExpiringKey { get; }

    /// <summary>The signed copy of the archive repo.</summary>
    public string Repo { get; }

    /// <summary>The 16-digit key id of a fingerprint.</summary>
    public static string KeyId(string fingerprint) => fingerprint[^16..];

    public byte[] CommitBytes(string commit) => File.ReadAllBytes(ObjectPath(Repo, commit, "commit"));

    public VariantDictionary CommitMeta(string commit) => VariantDictionary.Parse(File.ReadAllBytes(ObjectPath(Repo, commit, "commitmeta")));

    public static string ObjectPath(string repo, string commit, string extension) =>
        Path.Combine(repo, "objects", commit[..2], $"{commit[2..]}.{extension}");

    public void Dispose()
    {
        Home.Dispose();
        try
        {
            Directory.Delete(_repoParent, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var dir in Directory.EnumerateDirectories(from, "*", SearchOption.AllDirectories))
        {
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, dir)));
        }

        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            File.Copy(file, Path.Combine(to, Path.GetRelativePath(from, file)));
        }
    }
}
