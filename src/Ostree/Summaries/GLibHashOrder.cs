using System.Text;

namespace OstreeContainer.Ostree.Summaries;

/// <summary>
/// Reproduces the iteration order of a GLib 2.74 <c>GHashTable</c> keyed by strings
/// (<c>g_str_hash</c>), which is the order in which <c>g_variant_dict_end</c> emits a
/// <c>GVariantDict</c>. <c>ostree summary -u</c> builds the summary metadata, each ref's
/// metadata and every delta index through a <c>GVariantDict</c>, so matching its bytes means
/// matching this order. It depends only on the keys and the order they were inserted
/// (ghash.c: prime-modulo start bucket, quadratic probing, in-place resize on growth).
/// </summary>
/// <remarks>Ported from glib/ghash.c at tag 2.74.6 (Debian 12); only insertion is modelled, never removal.</remarks>
internal sealed class GLibHashOrder<TValue>
{
    // ghash.c HASH_TABLE_MIN_SHIFT: 1 << 3 == 8 buckets.
    private const int MinShift = 3;

    // ghash.c UNUSED_HASH_VALUE / HASH_IS_REAL: 0 = empty, 1 = tombstone, >= 2 = occupied.
    private const uint Unused = 0;

    // ghash.c prime_mod: the largest prime below each power of two.
    private static readonly int[] PrimeMod =
    [
        1, 2, 3, 7, 13, 31, 61, 127, 251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521,
        131071, 262139, 524287, 1048573, 2097143, 4194301, 8388593, 16777213, 33554393,
        67108859, 134217689, 268435399, 536870909, 1073741789, 2147483647,
    ];

    private uint[] _hashes;
    private string?[] _keys;
    private TValue?[] _values;
    private int _size;
    private uint _mod;
    private uint _mask;
    private int _nodes;
    private int _occupied;

    public GLibHashOrder()
    {
        SetShift(MinShift);
        _hashes = new uint[_size];
        _keys = new string?[_size];
        _values = new TValue?[_size];
    }

    /// <summary>Number of distinct keys.</summary>
    public int Count => _nodes;

    /// <summary>Orders <paramref name="entries"/> (given in insertion order) as <c>g_variant_dict_end</c> would emit them.</summary>
    public static List<KeyValuePair<string, TValue>> Order(IEnumerable<KeyValuePair<string, TValue>> entries)
    {
        var table = new GLibHashOrder<TValue>();
        foreach (var (key, value) in entries)
        {
            table.Insert(key, value);
        }

        return table.Entries();
    }

    /// <summary><c>g_hash_table_insert</c>: adds the key, or replaces the value of an existing key in place.</summary>
    public void Insert(string key, TValue value)
    {
        ArgumentNullException.ThrowIfNull(key);
        var hash = StrHash(key);
        // g_hash_table_lookup_node: values 0 and 1 are reserved markers.
        if (hash < 2)
        {
            hash = 2;
        }

        var index = HashToIndex(hash);
        var step = 0u;
        while (_hashes[index] != Unused)
        {
            if (_hashes[index] == hash && string.Equals(_keys[index], key, StringComparison.Ordinal))
            {
                _values[index] = value;
                return;
            }

            step++;
            index = (index + step) & _mask;
        }

        _hashes[index] = hash;
        _keys[index] = key;
        _values[index] = value;
        _nodes++;
        _occupied++;
        MaybeResize();
    }

    /// <summary>The entries in <c>GHashTableIter</c> order: bucket 0 upwards.</summary>
    public List<KeyValuePair<string, TValue>> Entries()
    {
        var result = new List<KeyValuePair<string, TValue>>(_nodes);
        for (var i = 0; i < _size; i++)
        {
            if (_hashes[i] >= 2)
            {
                result.Add(new(_keys[i]!, _values[i]!));
            }
        }

        return result;
    }

    /// <summary>
    /// <c>g_str_hash</c>: djb2 over the UTF-8 bytes read as <b>signed</b> chars, so bytes
    /// above 0x7F subtract (GLib declares <c>const signed char *p</c>).
    /// </summary>
    internal static uint StrHash(string key)
    {
        var h = 5381u;
        foreach (var b in Encoding.UTF8.GetBytes(key))
        {
            h = (h << 5) + h + (uint)(sbyte)b;
        }

        return h;
    }

    // g_hash_table_hash_to_index: multiply by 11 (wrapping guint) before the prime modulo.
    private uint HashToIndex(uint hash) => hash * 11 % _mod;

    private void SetShift(int shift)
    {
        _size = 1 << shift;
        _mod = (uint)PrimeMod[shift];
        _mask = (uint)_size - 1;
    }

    // g_hash_table_maybe_resize: shrink below 1/4 load, grow at 15/16 including tombstones.
    private void MaybeResize()
    {
        if ((_size > _nodes * 4 && _size > 1 << MinShift) || _size <= _occupied + (_occupied / 16))
        {
            Resize();
        }
    }

    // g_hash_table_resize + resize_map: entries are relocated in place, walking the old
    // buckets in order; an entry landing on a not-yet-relocated one evicts it, and the
    // evicted entry is placed next. The result differs from a fresh re-insertion when
    // probe sequences collide, which is why this is ported rather than approximated.
    private void Resize()
    {
        var oldSize = _size;
        // g_hash_table_set_shift_from_size (nnodes * 1.333): a double truncated to gint.
        var shift = Math.Max(ClosestShift((int)(_nodes * 1.333)), MinShift);
        SetShift(shift);
        if (_size > oldSize)
        {
            Array.Resize(ref _hashes, _size);
            Array.Resize(ref _keys, _size);
            Array.Resize(ref _values, _size);
        }

        var relocated = new bool[Math.Max(_size, oldSize)];
        for (var i = 0; i < oldSize; i++)
        {
            var nodeHash = _hashes[i];
            if (nodeHash < 2)
            {
                _hashes[i] = Unused;
                continue;
            }

            if (relocated[i])
            {
                continue;
            }

            _hashes[i] = Unused;
            var key = _keys[i];
            var value = _values[i];
            _keys[i] = null;
            _values[i] = default;
            while (true)
            {
                var index = HashToIndex(nodeHash);
                var step = 0u;
                while (relocated[index])
                {
                    step++;
                    index = (index + step) & _mask;
                }

                relocated[index] = true;
                var replacedHash = _hashes[index];
                _hashes[index] = nodeHash;
                var replacedKey = _keys[index];
                var replacedValue = _values[index];
                _keys[index] = key;
                _values[index] = value;
                if (replacedHash < 2)
                {
                    break;
                }

                nodeHash = replacedHash;
                key = replacedKey;
                value = replacedValue;
            }
        }

        if (_size < oldSize)
        {
            Array.Resize(ref _hashes, _size);
            Array.Resize(ref _keys, _size);
            Array.Resize(ref _values, _size);
        }

        _occupied = _nodes;
    }

    // g_hash_table_find_closest_shift: the number of significant bits of n.
    private static int ClosestShift(int n)
    {
        var i = 0;
        for (; n != 0; i++)
        {
            n >>= 1;
        }

        return i;
    }
}
