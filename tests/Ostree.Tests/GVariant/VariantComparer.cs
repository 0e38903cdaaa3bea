using OstreeContainer.Ostree.GVariant;

namespace OstreeContainer.Ostree.Tests.GVariant;

/// <summary>
/// Structural equality of decoded values (<c>object[]</c>, <c>byte[]</c>, <see cref="Variant"/>,
/// boxed basics), which the records' reference equality on arrays does not give.
/// </summary>
internal sealed class VariantComparer : IEqualityComparer<object?>
{
    public static readonly VariantComparer Instance = new();

    public new bool Equals(object? x, object? y) => (x, y) switch
    {
        (null, null) => true,
        (null, _) or (_, null) => false,
        (byte[] a, byte[] b) => a.AsSpan().SequenceEqual(b),
        (object[] a, object[] b) => a.Length == b.Length && a.Zip(b).All(p => Equals(p.First, p.Second)),
        (Variant a, Variant b) => a.Type.Signature == b.Type.Signature && Equals(a.Value, b.Value),
        _ => x.Equals(y),
    };

    public int GetHashCode(object? obj) => 0;
}
