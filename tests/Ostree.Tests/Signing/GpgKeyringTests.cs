using System.Text;
using OstreeContainer.Ostree.Signing;

namespace OstreeContainer.Ostree.Tests.Signing;

/// <summary>Keyrings as the real <c>gpg --export</c> writes them, alone, concatenated and in a trusted.gpg.d-style directory.</summary>
public class GpgKeyringTests
{
    private static SignedFixture Fx => SignedFixture.Instance;

    [Fact]
    public void Parse_BinaryExport_HasTheKeysFingerprint()
    {
        var keyring = GpgKeyring.Parse(Fx.Home.Export(Fx.RsaKey));

        Assert.Equal(1, keyring.Count);
        Assert.Equal([Fx.RsaKey], keyring.Fingerprints);
    }

    [Fact]
    public void Parse_ConcatenatedBinaryExports_ReadsEveryKey()
    {
        var data = Fx.Home.Export(Fx.RsaKey).Concat(Fx.Home.Export(Fx.EdDsaKey)).ToArray();

        var keyring = GpgKeyring.Parse(data);

        Assert.Equal([Fx.RsaKey, Fx.EdDsaKey], keyring.Fingerprints);
    }

    [Fact]
    public void Parse_ArmoredBlocks_ReadsEveryKeyOfEveryBlock()
    {
        // One block holding two keys (gpg --export --armor A B), followed by a second block.
        var twoKeys = Fx.Home.Gpg("--armor", "--export", Fx.RsaKey, Fx.EdDsaKey);
        var data = Encoding.ASCII.GetBytes("\n" + twoKeys + Encoding.ASCII.GetString(Fx.Home.Export(Fx.OtherKey, armor: true)));

        var keyring = GpgKeyring.Parse(data);

        Assert.Equal(3, keyring.Count);
        Assert.Equal(new[] { Fx.RsaKey, Fx.EdDsaKey, Fx.OtherKey }.Order(), keyring.Fingerprints.Order());
    }

    [Fact]
    public void Parse_Empty_IsAnEmptyKeyring()
    {
        Assert.Equal(0, GpgKeyring.Parse([]).Count);
        Assert.Equal(0, GpgKeyring.Empty.Count);
    }

    [Fact]
    public void Load_Directory_ReadsOnlyWhatOstreeReads()
    {
        var dir = Fixtures.TempDirectory("trusted.gpg.d");
        File.WriteAllBytes(Path.Combine(dir, "a.gpg"), Fx.Home.Export(Fx.RsaKey));
        File.WriteAllBytes(Path.Combine(dir, "b.gpg"), Fx.Home.Export(Fx.EdDsaKey, armor: true));
        File.WriteAllText(Path.Combine(dir, "trustdb.gpg"), "not a keyring");
        File.WriteAllText(Path.Combine(dir, "secring.gpg"), "not a keyring");
        File.WriteAllText(Path.Combine(dir, "README"), "not a keyring");
        var elsewhere = Path.Combine(dir, "other.key");
        File.WriteAllBytes(elsewhere, Fx.Home.Export(Fx.OtherKey));
        File.CreateSymbolicLink(Path.Combine(dir, "link.gpg"), elsewhere);
        Directory.CreateDirectory(Path.Combine(dir, "sub.gpg"));

        var keyring = GpgKeyring.Load(dir);

        Assert.Equal([Fx.RsaKey, Fx.EdDsaKey], keyring.Fingerprints);
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public void Load_File_ReadsIt()
    {
        var dir = Fixtures.TempDirectory("keyring-file");
        var file = Path.Combine(dir, "remote.trustedkeys.gpg");
        File.WriteAllBytes(file, Fx.Home.Export(Fx.SubkeyPrimary));

        var keyring = GpgKeyring.Load(file);

        Assert.Equal([Fx.SubkeyPrimary], keyring.Fingerprints);
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public void Load_MissingPath_ThrowsIOException()
    {
        Assert.ThrowsAny<IOException>(() => GpgKeyring.Load("/nonexistent/keyring.gpg"));
    }

    [Theory]
    [InlineData("hello, world")]
    [InlineData("-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nabc\n-----END PGP PRIVATE KEY BLOCK-----\n")]
    [InlineData("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n!!!!\n-----END PGP PUBLIC KEY BLOCK-----\n")]
    public void Parse_NotAKeyring_ThrowsInvalidDataNamingTheSource(string text)
    {
        var error = Assert.Throws<InvalidDataException>(() => GpgKeyring.Parse(Encoding.ASCII.GetBytes(text), "keys.asc"));

        Assert.StartsWith("keys.asc: ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_GpgKeybox_ThrowsInvalidDataSayingToExport()
    {
        var keybox = File.ReadAllBytes(Path.Combine(Fx.Home.Directory, "pubring.kbx"));

        var error = Assert.Throws<InvalidDataException>(() => GpgKeyring.Parse(keybox, "pubring.kbx"));

        Assert.Contains("gpg --export", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_SecretKeyExport_ThrowsInvalidData()
    {
        var file = Path.Combine(Fx.Home.Directory, $"secret-{Guid.NewGuid():N}");
        Fx.Home.Gpg("--output", file, "--export-secret-keys", Fx.OtherKey);

        Assert.Throws<InvalidDataException>(() => GpgKeyring.Parse(File.ReadAllBytes(file), "secret"));
        File.Delete(file);
    }

    [Fact]
    public void Parse_EveryTruncation_ParsesOrThrowsInvalidDataOnly()
    {
        var export = Fx.Home.Export(Fx.EdDsaKey);
        var failures = 0;
        for (var length = 1; length < export.Length; length++)
        {
            try
            {
                GpgKeyring.Parse(export.AsSpan(0, length));
            }
            catch (InvalidDataException)
            {
                failures++;
            }
        }

        // Most prefixes cut a packet in half; a few end on a packet boundary and parse.
        Assert.True(failures > export.Length / 2, $"only {failures} of {export.Length} truncations rejected");
    }
}
