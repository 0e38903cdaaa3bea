using System.Text;

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

        var xattrs = new Xattr[items.Length];
        for (var i = 0; i < items.Length; i++)
        {
            var pair = (object[])items[i];
            var name = (byte[])pair[0];
            if (name.Length < 2 || name[^1] != 0 || Array.IndexOf(name, (byte)0) != name.Length - 1)
            {
                throw new InvalidDataException($"xattrs[{i}].name: not a non-empty NUL-terminated byte string");
            }

            xattrs[i] = new Xattr(Encoding.UTF8.GetString(name, 0, name.Length - 1), (byte[])pair[1]);
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
    public static IEnumerable<Xattr> Sorted(IEnumerable<Xattr> xattrs) => xattrs.OrderBy(x => x.Name, StringComparer.Ordinal);

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
