using OstreeContainer.Ostree.GVariant;

namespace OstreeContainer.Ostree.Objects;

/// <summary>
/// An <c>a{sv}</c> dictionary that keeps its entries in their serialised order: OSTree
/// does not sort commit, summary or detached metadata, so re-serialising must reproduce
/// the order it was read in. Lookups scan linearly (these dictionaries are small).
/// </summary>
public sealed class VariantDictionary
{
    private readonly List<KeyValuePair<string, Variant>> _entries;

    /// <summary>An empty dictionary.</summary>
    public VariantDictionary()
    {
        _entries = [];
    }

    /// <summary>A dictionary with these entries in this order.</summary>
    public VariantDictionary(IEnumerable<KeyValuePair<string, Variant>> entries)
    {
        _entries = [.. entries];
    }

    /// <summary>The entries in serialised order.</summary>
    public IReadOnlyList<KeyValuePair<string, Variant>> Entries => _entries;

    /// <summary>Number of entries.</summary>
    public int Count => _entries.Count;

    /// <summary>The value of <paramref name="key"/>, or null.</summary>
    public Variant? this[string key] => TryGet(key, out var value) ? value : null;

    /// <summary>Looks up the first entry named <paramref name="key"/>.</summary>
    public bool TryGet(string key, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Variant? value)
    {
        foreach (var (k, v) in _entries)
        {
            if (k == key)
            {
                value = v;
                return true;
            }
        }

        value = null;
        return false;
    }

    /// <summary>The string value of <paramref name="key"/>, or null when absent or not a string.</summary>
    public string? GetString(string key) => this[key]?.Value as string;

    /// <summary>Replaces the value of <paramref name="key"/> in place, or appends it.</summary>
    public void Set(string key, Variant value)
    {
        ArgumentNullException.ThrowIfNull(value);
        for (var i = 0; i < _entries.Count; i++)
        {
            if (_entries[i].Key == key)
            {
                _entries[i] = new(key, value);
                return;
            }
        }

        _entries.Add(new(key, value));
    }

    /// <summary>Removes <paramref name="key"/>; true if it was present.</summary>
    public bool Remove(string key) => _entries.RemoveAll(e => e.Key == key) > 0;

    /// <summary>Parses serialised <c>a{sv}</c> bytes in normal form.</summary>
    /// <exception cref="InvalidDataException">Malformed or not in normal form.</exception>
    public static VariantDictionary Parse(ReadOnlySpan<byte> data) =>
        FromValue(GVariantReader.DecodeNormal(GVariantTypes.VariantDictionary, data));

    /// <summary>Serialises to <c>a{sv}</c> bytes.</summary>
    public byte[] Serialize() => GVariantWriter.Encode(GVariantTypes.VariantDictionary, ToValue());

    internal static VariantDictionary FromValue(object value)
    {
        var items = (object[])value;
        var entries = new List<KeyValuePair<string, Variant>>(items.Length);
        foreach (object[] entry in items)
        {
            entries.Add(new((string)entry[0], (Variant)entry[1]));
        }

        return new VariantDictionary(entries);
    }

    internal object[] ToValue()
    {
        var items = new object[_entries.Count];
        for (var i = 0; i < items.Length; i++)
        {
            items[i] = new object[] { _entries[i].Key, _entries[i].Value };
        }

        return items;
    }
}
