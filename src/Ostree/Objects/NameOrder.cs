namespace OstreeContainer.Ostree.Objects;

/// <summary>
/// Orders names byte-wise by their UTF-8 encoding (C <c>strcmp</c>), as OSTree sorts
/// dirtree entries, xattrs and summary refs. UTF-8 byte order equals code-point order,
/// which differs from UTF-16 ordinal order only around surrogate pairs.
/// </summary>
public sealed class NameOrder : IComparer<string>
{
    /// <summary>The single instance.</summary>
    public static readonly NameOrder Instance = new();

    /// <inheritdoc/>
    public int Compare(string? x, string? y)
    {
        if (ReferenceEquals(x, y))
        {
            return 0;
        }

        if (x is null)
        {
            return -1;
        }

        if (y is null)
        {
            return 1;
        }

        var n = Math.Min(x.Length, y.Length);
        for (var i = 0; i < n; i++)
        {
            var a = x[i];
            var b = y[i];
            if (a == b)
            {
                continue;
            }

            // Surrogates (U+D800–U+DFFF) encode code points above U+FFFF, so they sort after U+E000–U+FFFF.
            if (char.IsSurrogate(a) != char.IsSurrogate(b))
            {
                return char.IsSurrogate(a) ? 1 : -1;
            }

            return a < b ? -1 : 1;
        }

        return x.Length.CompareTo(y.Length);
    }
}
