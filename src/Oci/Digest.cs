using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using OstreeContainer.Errors;

namespace OstreeContainer.Oci;

/// <summary>
/// A content digest as the OCI image spec writes it: <c>algorithm:hex</c>. Only
/// <c>sha256</c> is produced; <c>sha512</c> is accepted when reading (image-spec
/// descriptor.md, "Registered algorithms").
/// </summary>
[JsonConverter(typeof(DigestJsonConverter))]
public readonly record struct Digest
{
    private Digest(string algorithm, string hex)
    {
        Algorithm = algorithm;
        Hex = hex;
    }

    /// <summary><c>sha256</c> or <c>sha512</c>.</summary>
    public string Algorithm { get; }

    /// <summary>The encoded part: lowercase hex of the hash.</summary>
    public string Hex { get; }

    /// <summary>True for <c>default(Digest)</c>.</summary>
    public bool IsEmpty => Algorithm is null;

    /// <summary>Parses <c>sha256:&lt;64 hex&gt;</c> or <c>sha512:&lt;128 hex&gt;</c>.</summary>
    /// <exception cref="InvalidDataException">Anything else.</exception>
    public static Digest Parse(string value) =>
        TryParse(value, out var digest)
            ? digest
            : throw new InvalidDataException($"'{Truncate(value)}' is not a digest (sha256:<64 lowercase hex>)");

    /// <summary>Parses a digest; false for anything that is not one.</summary>
    public static bool TryParse([NotNullWhen(true)] string? value, out Digest digest)
    {
        digest = default;
        if (value is null)
        {
            return false;
        }

        var colon = value.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            return false;
        }

        var algorithm = value[..colon];
        var hex = value[(colon + 1)..];
        var expected = algorithm switch
        {
            "sha256" => 64,
            "sha512" => 128,
            _ => -1,
        };
        if (hex.Length != expected || !IsLowerHex(hex))
        {
            return false;
        }

        digest = new Digest(algorithm, hex);
        return true;
    }

    /// <summary>The sha256 digest of <paramref name="data"/>.</summary>
    public static Digest Compute(ReadOnlySpan<byte> data)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(data, hash);
        return FromSha256(hash);
    }

    /// <summary>A sha256 digest from the 32 raw hash bytes.</summary>
    public static Digest FromSha256(ReadOnlySpan<byte> hash)
    {
        if (hash.Length != SHA256.HashSizeInBytes)
        {
            throw new ArgumentException($"a sha256 hash is {SHA256.HashSizeInBytes} bytes, got {hash.Length}", nameof(hash));
        }

        return new Digest("sha256", Convert.ToHexStringLower(hash));
    }

    /// <summary>A new incremental hasher for this digest's algorithm.</summary>
    public IncrementalHash CreateHasher() => CreateHasher(Algorithm ?? "sha256");

    /// <summary>A new incremental hasher for <paramref name="algorithm"/>.</summary>
    public static IncrementalHash CreateHasher(string algorithm) => algorithm switch
    {
        "sha256" => IncrementalHash.CreateHash(HashAlgorithmName.SHA256),
        "sha512" => IncrementalHash.CreateHash(HashAlgorithmName.SHA512),
        _ => throw new ArgumentException($"unsupported digest algorithm '{algorithm}'", nameof(algorithm)),
    };

    /// <summary>The digest of what <paramref name="hasher"/> has seen, in its algorithm.</summary>
    public static Digest FromHasher(IncrementalHash hasher)
    {
        ArgumentNullException.ThrowIfNull(hasher);
        var algorithm = hasher.AlgorithmName == HashAlgorithmName.SHA512 ? "sha512" : "sha256";
        return new Digest(algorithm, Convert.ToHexStringLower(hasher.GetHashAndReset()));
    }

    /// <summary><c>algorithm:hex</c>.</summary>
    public override string ToString() => IsEmpty ? string.Empty : $"{Algorithm}:{Hex}";

    private static bool IsLowerHex(string hex)
    {
        foreach (var c in hex)
        {
            if (!char.IsAsciiDigit(c) && c is not (>= 'a' and <= 'f'))
            {
                return false;
            }
        }

        return true;
    }

    private static string Truncate(string? value) =>
        value is null ? "(null)" : ErrorPolicy.Excerpt(value);
}

/// <summary>Reads and writes a <see cref="Digest"/> as its string form.</summary>
public sealed class DigestJsonConverter : JsonConverter<Digest>
{
    /// <inheritdoc />
    public override Digest Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var text = reader.GetString();
        return Digest.TryParse(text, out var digest)
            ? digest
            : throw new JsonException($"'{text}' is not a digest");
    }

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, Digest value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStringValue(value.ToString());
    }
}
