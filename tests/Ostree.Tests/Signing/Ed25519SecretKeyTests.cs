using OstreeContainer.Ostree.Signing;

namespace OstreeContainer.Ostree.Tests.Signing;

/// <summary>Secret keys in ostree's (libsodium's) 64-byte seed ‖ public format.</summary>
public class Ed25519SecretKeyTests
{
    [Theory]
    // RFC 8032 §7.1, tests 1 and 2: seed, public key, message, signature.
    [InlineData(
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b")]
    [InlineData(
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00")]
    public void Sign_Rfc8032Vector_ProducesTheSpecifiedSignature(string seed, string publicKey, string message, string signature)
    {
        var key = Ed25519SecretKey.Parse(Convert.ToBase64String(Convert.FromHexString(seed + publicKey)));

        Assert.Equal(publicKey, Convert.ToHexStringLower(key.PublicKey.Bytes));
        Assert.Equal(signature, Convert.ToHexStringLower(key.Sign(Convert.FromHexString(message))));
    }

    [Fact]
    public void Generate_ToBase64ThenParse_IsTheSameKey()
    {
        var key = Ed25519SecretKey.Generate();

        var text = key.ToBase64();
        var parsed = Ed25519SecretKey.Parse(text);

        Assert.Equal(64, Convert.FromBase64String(text).Length);
        Assert.Equal(key.PublicKey, parsed.PublicKey);
        Assert.Equal(key.PublicKey.Bytes.ToArray(), Convert.FromBase64String(text)[32..]);
        Assert.Equal(key.Sign("data"u8), parsed.Sign("data"u8));
        Assert.NotEqual(Ed25519SecretKey.Generate().PublicKey, key.PublicKey);
    }

    [Fact]
    public void ToString_NeverRevealsTheSecret()
    {
        var key = Ed25519SecretKey.Generate();
        var seed = Convert.ToBase64String(Convert.FromBase64String(key.ToBase64())[..32]);

        Assert.DoesNotContain(seed[..12], key.ToString(), StringComparison.Ordinal);
        Assert.Contains(key.PublicKey.ToBase64(), key.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(32)]
    [InlineData(63)]
    [InlineData(65)]
    public void Parse_WrongLength_ThrowsInvalidData(int length)
    {
        var error = Assert.Throws<InvalidDataException>(() => Ed25519SecretKey.Parse(Convert.ToBase64String(new byte[length])));

        Assert.Equal($"ed25519 secret key: {length} bytes, expected 64 (seed and public key)", error.Message);
    }

    [Fact]
    public void FromBytes_PublicHalfOfAnotherKey_ThrowsInvalidData()
    {
        var bytes = Convert.FromBase64String(Ed25519SecretKey.Generate().ToBase64());
        Ed25519SecretKey.Generate().PublicKey.Bytes.CopyTo(bytes.AsSpan(32));

        var error = Assert.Throws<InvalidDataException>(() => Ed25519SecretKey.FromBytes(bytes));

        Assert.Equal("ed25519 secret key: the public key half does not match the seed", error.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("%%%")]
    public void Parse_MalformedBase64_ThrowsInvalidData(string text)
    {
        Assert.Throws<InvalidDataException>(() => Ed25519SecretKey.Parse(text));
    }
}
