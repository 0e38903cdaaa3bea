using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;
using Org.BouncyCastle.Security;

namespace OstreeContainer.Ostree.Signing;

/// <summary>
/// An ed25519 signing key in ostree's (libsodium's) format: 64 bytes, the 32-byte seed
/// followed by the 32-byte public key, written as base64 (<c>ostree sign --keys-file</c>).
/// </summary>
public sealed class Ed25519SecretKey
{
    /// <summary>Bytes in a secret key (libsodium <c>crypto_sign_SECRETKEYBYTES</c>): seed ‖ public key.</summary>
    public const int Length = 64;

    /// <summary>Bytes in the seed half.</summary>
    public const int SeedLength = 32;

    private readonly Ed25519PrivateKeyParameters _parameters;

    private Ed25519SecretKey(Ed25519PrivateKeyParameters parameters)
    {
        _parameters = parameters;
        PublicKey = Ed25519PublicKey.FromBytes(parameters.GeneratePublicKey().GetEncoded());
    }

    /// <summary>The matching public key, to give to verifiers.</summary>
    public Ed25519PublicKey PublicKey { get; }

    /// <summary>Generates a new key from the system's secure random source.</summary>
    public static Ed25519SecretKey Generate() => new(new Ed25519PrivateKeyParameters(new SecureRandom()));

    /// <summary>Creates a key from 64 raw bytes, seed ‖ public key.</summary>
    /// <exception cref="InvalidDataException">Not 64 bytes, or the public half does not belong to the seed.</exception>
    public static Ed25519SecretKey FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Length)
        {
            SigningThrowHelper.ThrowInvalidKey("ed25519 secret key", $"{bytes.Length} bytes, expected {Length} (seed and public key)");
        }

        var key = new Ed25519SecretKey(new Ed25519PrivateKeyParameters(bytes[..SeedLength]));

        // libsodium signs with the stored public half; if it did not match the seed, every
        // signature would fail to verify under the key the user publishes.
        if (!key.PublicKey.Bytes.SequenceEqual(bytes[SeedLength..]))
        {
            SigningThrowHelper.ThrowInvalidKey("ed25519 secret key", "the public key half does not match the seed");
        }

        return key;
    }

    /// <summary>Parses the base64 form (surrounding whitespace ignored).</summary>
    /// <exception cref="InvalidDataException">Not base64, or not a valid 64-byte key.</exception>
    public static Ed25519SecretKey Parse(string base64)
    {
        ArgumentNullException.ThrowIfNull(base64);
        return FromBytes(SigningThrowHelper.DecodeBase64(base64, "ed25519 secret key"));
    }

    /// <summary>The base64 form ostree reads: seed ‖ public key.</summary>
    public string ToBase64()
    {
        var bytes = new byte[Length];
        _parameters.Encode(bytes.AsSpan(0, SeedLength));
        PublicKey.Bytes.CopyTo(bytes.AsSpan(SeedLength));
        return Convert.ToBase64String(bytes);
    }

    /// <summary>A 64-byte detached ed25519 signature of <paramref name="data"/>.</summary>
    public byte[] Sign(ReadOnlySpan<byte> data)
    {
        var signer = new Ed25519Signer();
        signer.Init(forSigning: true, _parameters);
        signer.BlockUpdate(data);
        return signer.GenerateSignature();
    }

    /// <summary>Names the key by its public half; never reveals the secret.</summary>
    public override string ToString() => $"ed25519 secret key for {PublicKey}";
}
