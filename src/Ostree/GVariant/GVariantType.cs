using System.Collections.Concurrent;
using OstreeContainer.Errors;

namespace OstreeContainer.Ostree.GVariant;

/// <summary>
/// A parsed GVariant type string with the two properties serialisation needs:
/// alignment and fixed size (GVariant specification §2.3). Instances are cached and
/// immutable, so each type string is parsed once per process.
/// </summary>
public sealed class GVariantType
{
    /// <summary>GLib refuses containers nested deeper than this (G_VARIANT_MAX_RECURSION_DEPTH).</summary>
    public const int MaxDepth = 128;

    private static readonly ConcurrentDictionary<string, GVariantType> Cache = new(StringComparer.Ordinal);

    private GVariantType(string signature, char kind, int alignment, int fixedSize, GVariantType? element, GVariantType[] members)
    {
        Signature = signature;
        Kind = kind;
        Alignment = alignment;
        FixedSize = fixedSize;
        Element = element;
        Members = members;
        ValueCount = 1 + (kind == 'm' ? element!.ValueCount : 0) + members.Sum(m => m.ValueCount);
    }

    /// <summary>The type string, e.g. <c>(a{sv}aya(say)sstayay)</c>.</summary>
    public string Signature { get; }

    /// <summary>The leading character: a basic type letter, <c>a</c>, <c>m</c>, <c>v</c>, <c>(</c> or <c>{</c>.</summary>
    public char Kind { get; }

    /// <summary>Alignment in bytes: 1, 2, 4 or 8.</summary>
    public int Alignment { get; }

    /// <summary>Serialised size when the type is fixed-size, otherwise 0.</summary>
    public int FixedSize { get; }

    /// <summary>Whether every value of this type serialises to the same number of bytes.</summary>
    public bool IsFixedSize => FixedSize > 0;

    /// <summary>Element type of an array or maybe.</summary>
    public GVariantType? Element { get; }

    /// <summary>Member types of a tuple or dictionary entry (empty otherwise).</summary>
    public IReadOnlyList<GVariantType> Members { get; }

    /// <summary>
    /// Decoded values in one value of this type, not counting the contents of arrays and
    /// variants: 1 for a basic type, 1 + the members' counts for a tuple. The reader uses it
    /// to bound what an array of small elements expands into.
    /// </summary>
    internal int ValueCount { get; }

    /// <summary>True for <c>s</c>, <c>o</c> and <c>g</c>.</summary>
    public bool IsString => Kind is 's' or 'o' or 'g';

    /// <summary>True for <c>(…)</c> and <c>{…}</c>.</summary>
    public bool IsTuple => Kind is '(' or '{';

    /// <summary>True for the byte array <c>ay</c>, which is handled as raw bytes.</summary>
    public bool IsByteArray => Kind == 'a' && Element!.Kind == 'y';

    /// <summary>Parses (or returns the cached) type for a complete, single type string.</summary>
    /// <exception cref="InvalidDataException">The string is not exactly one valid type.</exception>
    public static GVariantType Parse(string signature)
    {
        ArgumentNullException.ThrowIfNull(signature);
        if (Cache.TryGetValue(signature, out var cached))
        {
            return cached;
        }

        if (!TryParse(signature, out var type))
        {
            throw new InvalidDataException($"invalid GVariant type string '{Printable(signature)}'");
        }

        return type;
    }

    /// <summary>Parses a type string read from untrusted data (a variant's type).</summary>
    public static bool TryParse(string signature, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out GVariantType? type)
    {
        ArgumentNullException.ThrowIfNull(signature);
        if (Cache.TryGetValue(signature, out type))
        {
            return true;
        }

        var pos = 0;
        type = ParseOne(signature, ref pos, 0);
        if (type is null || pos != signature.Length)
        {
            type = null;
            return false;
        }

        // Bound the cache: variant types come from untrusted data.
        if (Cache.Count < 4096)
        {
            Cache.TryAdd(signature, type);
        }

        return true;
    }

    /// <inheritdoc/>
    public override string ToString() => Signature;

    private static GVariantType? ParseOne(string s, ref int pos, int depth)
    {
        if (pos >= s.Length || depth > MaxDepth)
        {
            return null;
        }

        var start = pos;
        var c = s[pos++];
        switch (c)
        {
            case 'b' or 'y':
                return Basic(c, 1);
            case 'n' or 'q':
                return Basic(c, 2);
            case 'i' or 'u' or 'h':
                return Basic(c, 4);
            case 'x' or 't' or 'd':
                return Basic(c, 8);
            case 's' or 'o' or 'g':
                return new GVariantType(c.ToString(), c, 1, 0, null, []);
            case 'v':
                return new GVariantType("v", 'v', 8, 0, null, []);
            case 'a' or 'm':
            {
                var element = ParseOne(s, ref pos, depth + 1);
                return element is null
                    ? null
                    : new GVariantType(s[start..pos], c, element.Alignment, 0, element, []);
            }

            case '(' or '{':
            {
                var close = c == '(' ? ')' : '}';
                var members = new List<GVariantType>();
                while (pos < s.Length && s[pos] != close)
                {
                    var member = ParseOne(s, ref pos, depth + 1);
                    if (member is null)
                    {
                        return null;
                    }

                    members.Add(member);
                }

                if (pos >= s.Length)
                {
                    return null;
                }

                pos++;
                // A dictionary entry is a key of basic type and one value.
                if (c == '{' && (members.Count != 2 || !IsBasic(members[0].Kind)))
                {
                    return null;
                }

                return Tuple(s[start..pos], c, [.. members]);
            }

            default:
                return null;
        }
    }

    private static bool IsBasic(char kind) => kind is 'b' or 'y' or 'n' or 'q' or 'i' or 'u' or 'h' or 'x' or 't' or 'd' or 's' or 'o' or 'g';

    private static GVariantType Basic(char c, int size) => new(c.ToString(), c, size, size, null, []);

    private static GVariantType Tuple(string signature, char kind, GVariantType[] members)
    {
        var alignment = 1;
        var size = 0;
        var fixedSize = true;
        foreach (var member in members)
        {
            alignment = Math.Max(alignment, member.Alignment);
            if (!member.IsFixedSize)
            {
                fixedSize = false;
                continue;
            }

            size = Align(size, member.Alignment) + member.FixedSize;
        }

        // The unit type '()' serialises as one zero byte.
        var total = fixedSize ? Math.Max(1, Align(size, alignment)) : 0;
        return new GVariantType(signature, kind, alignment, total, null, members);
    }

    internal static int Align(int offset, int alignment) => (offset + alignment - 1) & ~(alignment - 1);

    internal static string Printable(string s) => ErrorPolicy.Excerpt(s);
}
