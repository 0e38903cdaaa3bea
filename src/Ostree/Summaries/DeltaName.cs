using System.Diagnostics.CodeAnalysis;
using OstreeContainer.Ostree.Objects;

namespace OstreeContainer.Ostree.Summaries;

/// <summary>
/// Identifies a static delta: the commit it starts from (none for a from-scratch delta) and
/// the commit it produces. Its name is <c>FROM-TO</c> or <c>TO</c> in hex (the keys of
/// <c>ostree.static-deltas</c>); its files live under a path built from the "modified
/// base64" form of both checksums (ostree-format.md §8.1).
/// </summary>
/// <param name="From">The starting commit, or null for a from-scratch delta.</param>
/// <param name="To">The target commit.</param>
public readonly record struct DeltaName(Checksum? From, Checksum To)
{
    /// <summary>Characters in the modified base64 form of a checksum (44 minus the '=' pad).</summary>
    public const int ModifiedBase64Length = 43;

    /// <summary>The repo folder holding delta directories.</summary>
    public const string DeltasDirectory = "deltas";

    /// <summary>The repo folder holding delta index files.</summary>
    public const string IndexesDirectory = "delta-indexes";

    /// <summary>The file name of the superblock inside a delta directory.</summary>
    public const string SuperblockFileName = "superblock";

    /// <summary>True for a delta that needs no starting commit.</summary>
    public bool IsFromScratch => From is null;

    /// <summary>
    /// The delta directory relative to the repo root, without a trailing slash:
    /// <c>deltas/F[0:2]/F[2:]-T</c> or <c>deltas/T[0:2]/T[2:]</c> (F, T modified base64).
    /// </summary>
    public string RelativeDirectory
    {
        get
        {
            var to = ToModifiedBase64(To);
            if (From is not { } from)
            {
                return $"{DeltasDirectory}/{to[..2]}/{to[2..]}";
            }

            var f = ToModifiedBase64(from);
            return $"{DeltasDirectory}/{f[..2]}/{f[2..]}-{to}";
        }
    }

    /// <summary>The superblock file relative to the repo root.</summary>
    public string SuperblockPath => $"{RelativeDirectory}/{SuperblockFileName}";

    /// <summary>
    /// The superblock metadata key under which <c>static-delta generate</c> embeds the
    /// target commit's detached metadata (<c>deltas/…/commitmeta</c>, no file of that name exists).
    /// </summary>
    public string DetachedMetadataKey => $"{RelativeDirectory}/commitmeta";

    /// <summary>The index file for this delta's target (see <see cref="IndexPathFor"/>).</summary>
    public string IndexPath => IndexPathFor(To);

    /// <summary>Part file <paramref name="index"/> (decimal, from 0), relative to the repo root.</summary>
    public string PartPath(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        return $"{RelativeDirectory}/{index}";
    }

    /// <summary>The delta index file listing every delta to <paramref name="to"/>: <c>delta-indexes/T[0:2]/T[2:].index</c>.</summary>
    public static string IndexPathFor(Checksum to)
    {
        var t = ToModifiedBase64(to);
        return $"{IndexesDirectory}/{t[..2]}/{t[2..]}.index";
    }

    /// <summary>The name used in summaries and indexes: <c>FROM-TO</c> or <c>TO</c>, lowercase hex.</summary>
    public override string ToString() => From is { } from ? $"{from}-{To}" : To.ToString();

    /// <summary>Parses <c>FROM-TO</c> or <c>TO</c> (hex), as <c>_ostree_parse_delta_name</c> does.</summary>
    /// <exception cref="InvalidDataException">Not a delta name.</exception>
    public static DeltaName Parse(string name) =>
        TryParse(name, out var delta)
            ? delta
            : throw new InvalidDataException($"'{name}' is not a static delta name (TO or FROM-TO, 64 hex characters each)");

    /// <summary>Parses <c>FROM-TO</c> or <c>TO</c> (hex); false for anything else.</summary>
    public static bool TryParse([NotNullWhen(true)] string? name, out DeltaName delta)
    {
        delta = default;
        if (name is null)
        {
            return false;
        }

        var dash = name.IndexOf('-', StringComparison.Ordinal);
        if (dash < 0)
        {
            if (!Checksum.TryParse(name, out var to))
            {
                return false;
            }

            delta = new DeltaName(null, to);
            return true;
        }

        if (!Checksum.TryParse(name.AsSpan(0, dash), out var f) || !Checksum.TryParse(name.AsSpan(dash + 1), out var t))
        {
            return false;
        }

        delta = new DeltaName(f, t);
        return true;
    }

    /// <summary>
    /// The "modified base64" of a checksum: standard base64 of the 32 bytes without the
    /// trailing '=' (43 characters), '/' replaced by '_' so it can be a file name; '+' stays.
    /// </summary>
    public static string ToModifiedBase64(Checksum checksum)
    {
        Span<char> chars = stackalloc char[44];
        Convert.TryToBase64Chars(checksum.Bytes, chars, out _);
        chars.Replace('/', '_');
        return new string(chars[..ModifiedBase64Length]);
    }

    /// <summary>Parses the modified base64 form; only the canonical 43-character encoding is accepted.</summary>
    public static bool TryParseModifiedBase64(ReadOnlySpan<char> text, out Checksum checksum)
    {
        checksum = default;
        if (text.Length != ModifiedBase64Length || text.ContainsAny('/', '='))
        {
            return false;
        }

        Span<char> padded = stackalloc char[44];
        text.CopyTo(padded);
        padded.Replace('_', '/');
        padded[^1] = '=';
        Span<byte> bytes = stackalloc byte[Checksum.Length + 1];
        if (!Convert.TryFromBase64Chars(padded, bytes, out var written) || written != Checksum.Length)
        {
            return false;
        }

        checksum = Checksum.FromBytes(bytes[..Checksum.Length]);
        // 43 characters carry 258 bits: the last one must have its 2 low bits clear,
        // otherwise two spellings would name the same delta.
        return ToModifiedBase64(checksum).AsSpan().SequenceEqual(text);
    }

    /// <summary>
    /// Parses a delta directory path relative to the repo root (<c>deltas/XX/REST</c>,
    /// optionally with a trailing '/', a <c>superblock</c> or part file name is not accepted).
    /// </summary>
    public static bool TryParseDirectory(string? relativePath, out DeltaName delta)
    {
        delta = default;
        if (relativePath is null)
        {
            return false;
        }

        var parts = relativePath.TrimEnd('/').Split('/');
        return parts.Length == 3 && parts[0] == DeltasDirectory && parts[1].Length == 2 && TryParseSplitName(parts[1], parts[2], out delta);
    }

    /// <summary>
    /// Parses the two directory levels under <c>deltas/</c>: the first two characters of the
    /// first checksum, then the rest (<c>F[2:]-T</c> or <c>T[2:]</c>).
    /// </summary>
    internal static bool TryParseSplitName(string first, string rest, out DeltaName delta)
    {
        delta = default;
        var compact = first + rest;
        var dash = compact.IndexOf('-', StringComparison.Ordinal);
        if (dash < 0)
        {
            if (!TryParseModifiedBase64(compact, out var to))
            {
                return false;
            }

            delta = new DeltaName(null, to);
            return true;
        }

        if (!TryParseModifiedBase64(compact.AsSpan(0, dash), out var f) || !TryParseModifiedBase64(compact.AsSpan(dash + 1), out var t))
        {
            return false;
        }

        delta = new DeltaName(f, t);
        return true;
    }
}
