using System.Text;
using System.Text.Unicode;
using OstreeContainer.Ostree.GVariant;

namespace OstreeContainer.Ostree.Objects;

/// <summary>One extended attribute. In GVariant the name carries its trailing NUL; here it does not.</summary>
public sealed record Xattr(string Name, byte[] Value)
{
    /// <summary>Decodes an <c>a(ayay)</c> value (already framed by the GVariant reader).</summary>
    internal static IReadOnlyList<Xattr> FromValue(object value)
    {
        var items = (object[])value;
        if (items.Length == 0)
        {
            return [];
        }

        // Only the canonical form is accepted, the one libglnx writes and ToValue reproduces:
        // names sorted by strcmp without duplicates, no empty values, and names that survive
        // the round trip through string. Anything else would re-serialise to different bytes,
        // i.e. a different checksum, without any error.
        var xattrs = new Xattr[items.Length];
        byte[]? previous = null;
        for (var i = 0; i < items.Length; i++)
        {
            var pair = (object[])items[i];
            var name = (byte[])pair[0];
            var data = (byte[])pair[1];
            if (name.Length < 2 || name[^1] != 0 || Array.IndexOf(name, (byte)0) != name.Length - 1)
            {
                throw FieldPath.Error($"[{i}].name", "not a non-empty NUL-terminated byte string");
            }

            if (!Utf8.IsValid(name))
            {
                throw FieldPath.Error($"[{i}].name", "not valid UTF-8");
            }

            // Comparing with the NUL included is strcmp order: a prefix sorts first.
            if (previous is not null && previous.AsSpan().SequenceCompareTo(name) >= 0)
            {
                throw FieldPath.Error($"[{i}].name", $"'{Encoding.UTF8.GetString(name, 0, name.Length - 1)}' is not sorted after the previous name (or is a duplicate)");
            }

            if (data.Length == 0)
            {
                throw FieldPath.Error($"[{i}].value", "empty; OSTree omits xattrs without a value");
            }

            previous = name;
            xattrs[i] = new Xattr(Encoding.UTF8.GetString(name, 0, name.Length - 1), data);
        }

        return xattrs;
    }

    /// <summary>Encodes xattrs as <c>a(ayay)</c> values: sorted by name (strcmp), empty values dropped, as libostree does.</summary>
    internal static object[] ToValue(IReadOnlyList<Xattr> xattrs)
    {
        if (xattrs.Count == 0)
        {
            return [];
        }

        var result = new List<object>(xattrs.Count);
        foreach (var x in Sorted(xattrs))
        {
            if (x.Value.Length == 0)
            {
                continue;
            }

            var name = new byte[Encoding.UTF8.GetByteCount(x.Name) + 1];
            Encoding.UTF8.GetBytes(x.Name, name);
            result.Add(new object[] { name, x.Value });
        }

        return [.. result];
    }

    /// <summary>Xattrs in the order OSTree serialises them (byte-wise by name).</summary>
    /// <remarks>
    /// Byte-wise on UTF-8 (strcmp), not <see cref="StringComparer.Ordinal"/>: UTF-16 order
    /// puts names with characters above U+FFFF before those with U+E000–U+FFFF.
    /// </remarks>
    public static IEnumerable<Xattr> Sorted(IEnumerable<Xattr> xattrs) => xattrs.OrderBy(x => x.Name, NameOrder.Instance);

    /// <summary>Whether two lists hold the same attributes in the same order.</summary>
    public static bool SequenceEqual(IReadOnlyList<Xattr> a, IReadOnlyList<Xattr> b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.Count != b.Count)
        {
            return false;
        }

        for (var i = 0; i < a.Count; i++)
        {
            if (a[i].Name != b[i].Name || !a[i].Value.AsSpan().SequenceEqual(b[i].Value))
            {
                return false;
            }
        }

        return true;
    }
}
