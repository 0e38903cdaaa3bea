using OstreeContainer.Ostree.Signing;

namespace OstreeContainer.Ostree.Tests.Signing;

/// <summary>Public keys in ostree's base64 format, alone and as a <c>verification-ed25519-file</c>.</summary>
public class Ed25519PublicKeyTests
{
    // RFC 8032 §7.1, test 1.
    private const string Rfc8032PublicKeyHex = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

    private static readonly string Rfc8032PublicKey = Convert.ToBase64String(Convert.FromHexString(Rfc8032PublicKeyHex));

    [Fact]
    public void Parse_Base64WithSurroundingWhitespace_RoundTrips()
    {
        var key = Ed25519PublicKey.Parse($"  {Rfc8032PublicKey}\r\n");

        Assert.Equal(Rfc8032PublicKeyHex, Convert.ToHexStringLower(key.Bytes));
        Assert.Equal(Rfc8032PublicKey, key.ToBase64());
        Assert.Equal(key, Ed25519PublicKey.FromBytes(Convert.FromHexString(Rfc8032PublicKeyHex)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("not base64!")]
    // The RFC 8032 key unpadded, and in the URL-safe alphabet: ostree writes neither.
    [InlineData("11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo")]
    [InlineData("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo=")]
    public void Parse_MalformedBase64_ThrowsInvalidData(string text)
    {
        var error = Assert.Throws<InvalidDataException>(() => Ed25519PublicKey.Parse(text));

        Assert.StartsWith("ed25519 public key: ", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(31)]
    [InlineData(33)]
    [InlineData(64)]
    public void Parse_WrongLength_ThrowsInvalidData(int length)
    {
        var text = Convert.ToBase64String(new byte[length]);

        var error = Assert.Throws<InvalidDataException>(() => Ed25519PublicKey.Parse(text));

        Assert.Equal($"ed25519 public key: {length} bytes, expected 32", error.Message);
    }

    [Fact]
    public void FromBytes_NotACurvePoint_ThrowsInvalidData()
    {
        // y = 2 has no x on edwards25519.
        var bytes = new byte[32];
        bytes[0] = 2;

        var error = Assert.Throws<InvalidDataException>(() => Ed25519PublicKey.FromBytes(bytes));

        Assert.Equal("ed25519 public key: not a valid curve point", error.Message);
    }

    [Fact]
    public void ParseList_OneKeyPerLine_SkipsBlankLinesAndDuplicates()
    {
        var other = Ed25519SecretKey.Generate().PublicKey.ToBase64();
        var text = $"{Rfc8032PublicKey}\r\n\n{other}\n{Rfc8032PublicKey}\n";

        var keys = Ed25519PublicKey.ParseList(text);

        Assert.Equal([Rfc8032PublicKey, other], keys.Select(k => k.ToBase64()));
    }

    [Fact]
    public void ParseList_BadLine_ThrowsNamingSourceAndLine()
    {
        var text = $"{Rfc8032PublicKey}\n\nAAAA\n";

        var error = Assert.Throws<InvalidDataException>(() => Ed25519PublicKey.ParseList(text, "trusted.ed25519"));

        Assert.Equal("trusted.ed25519:3: ed25519 public key: 3 bytes, expected 32", error.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("\n\n")]
    public void ParseList_NoKeys_ThrowsInvalidData(string text)
    {
        var error = Assert.Throws<InvalidDataException>(() => Ed25519PublicKey.ParseList(text, "keys"));

        Assert.Equal("keys: no ed25519 public keys", error.Message);
    }

    [Fact]
    public void LoadFile_KeyFile_ReadsEveryKey()
    {
        var dir = Fixtures.TempDirectory("ed25519-keys");
        var path = Path.Combine(dir, "trusted.ed25519");
        var second = Ed25519SecretKey.Generate().PublicKey;
        File.WriteAllText(path, $"{Rfc8032PublicKey}\n{second}\n");

        var keys = Ed25519PublicKey.LoadFile(path);

        Assert.Equal([Ed25519PublicKey.Parse(Rfc8032PublicKey), second], keys);
        Directory.Delete(dir, recursive: true);
    }
}
