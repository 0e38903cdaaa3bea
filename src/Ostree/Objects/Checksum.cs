using System.Security.Cryptography;
using OstreeContainer.Errors;

namespace OstreeContainer.Ostree.Objects;

/// <summary>
/// A SHA-256 object checksum: 32 bytes, written as 64 lowercase hex characters. Ordering
/// is byte-wise, which equals the ordering of the hex strings.
/// </summary>
public readonly struct Checksum : IEquatable<Checksum>, IComparable<Checksum>
{
    /// <summary>Bytes in a checksum.</summary>
    public const int Length = 32;

    /// <summary>Characters in the hex form.</summary>
    public const int HexLength = 64;

    private static readonly byte[] Zero = new byte[Length];

    // Immutable once constructed; never exposed writable.
    private readonly byte[]? _bytes;

    private Checksum(ReadOnlySpan<byte> bytes)
    {
        _bytes = bytes.ToArray();
    }

    /// <summary>The raw 32 bytes.</summary>
    public ReadOnlySpan<byte> Bytes => _bytes ?? Zero;

    /// <summary>Creates a checksum from exactly 32 raw bytes.</summary>
    /// <exception cref="InvalidDataException">Not 32 bytes.</exception>
    public static Checksum FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Length)
        {
            throw new InvalidDataException($"checksum is {bytes.Length} bytes, expected {Length}");
        }

        return new Checksum(bytes);
    }

    /// <summary>Parses 64 lowercase hex characters.</summary>
    /// <exception cref="InvalidDataException">Not a valid checksum string.</exception>
    public static Checksum Parse(string hex) =>
        TryParse(hex, out var checksum)
            ? checksum
            : throw new InvalidDataException($"'{Truncate(hex)}' is not a checksum (64 lowercase hex characters)");

    /// <summary>Parses 64 lowercase hex characters; false if <paramref name="hex"/> is anything else.</summary>
    public static bool TryParse(ReadOnlySpan<char> hex, out Checksum checksum)
    {
        checksum = default;
        if (hex.Length != HexLength)
        {
            return false;
        }

        foreach (var c in hex)
        {
            if (!char.IsAsciiDigit(c) && c is not (>= 'a' and <= 'f'))
            {
                return false;
            }
        }

        Span<byte> bytes = stackalloc byte[Length];
        Convert.FromHexString(hex, bytes, out _, out _);
        checksum = new Checksum(bytes);
        return true;
    }

    /// <summary>SHA-256 of <paramref name="data"/>.</summary>
    public static Checksum Compute(ReadOnlySpan<byte> data)
    {
        Span<byte> hash = stackalloc byte[Length];
        SHA256.HashData(data, hash);
        return new Checksum(hash);
    }

    /// <summary>The final hash of an incremental SHA-256.</summary>
    public static Checksum From(IncrementalHash hash)
    {
        ArgumentNullException.ThrowIfNull(hash);
        Span<byte> bytes = stackalloc byte[Length];
        hash.GetHashAndReset(bytes);
        return new Checksum(bytes);
    }

    /// <summary>The 64-character lowercase hex form.</summary>
    public override string ToString() => Convert.ToHexStringLower(Bytes);

    /// <summary>The first <paramref name="chars"/> hex characters followed by '…', for messages.</summary>
    public string ToShortString(int chars = 12) => ToString()[..chars] + "…";

    /// <inheritdoc/>
    public bool Equals(Checksum other) => Bytes.SequenceEqual(other.Bytes);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is Checksum other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => BitConverter.ToInt32(Bytes);

    /// <inheritdoc/>
    public int CompareTo(Checksum other) => Bytes.SequenceCompareTo(other.Bytes);

    public static bool operator ==(Checksum left, Checksum right) => left.Equals(right);

    public static bool operator !=(Checksum left, Checksum right) => !left.Equals(right);

    public static bool operator <(Checksum left, Checksum right) => left.CompareTo(right) < 0;

    public static bool operator >(Checksum left, Checksum right) => left.CompareTo(right) > 0;

    public static bool operator <=(Checksum left, Checksum right) => left.CompareTo(right) <= 0;

    public static bool operator >=(Checksum left, Checksum right) => left.CompareTo(right) >= 0;

    private static string Truncate(string? s) => ErrorPolicy.Excerpt(s);
}
