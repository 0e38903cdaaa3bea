namespace OstreeContainer.Ostree.GVariant;

/// <summary>
/// A value of type <c>v</c>: a child value together with its type. Values in this
/// model are plain CLR objects: <see cref="bool"/>, <see cref="byte"/>, <see cref="short"/>,
/// <see cref="ushort"/>, <see cref="int"/>, <see cref="uint"/>, <see cref="long"/>,
/// <see cref="ulong"/>, <see cref="double"/>, <see cref="string"/>; <c>byte[]</c> for
/// <c>ay</c>; <c>object[]</c> for other arrays, tuples and dictionary entries;
/// <see cref="Variant"/> for <c>v</c>; <see langword="null"/> for an empty maybe.
/// </summary>
public sealed record Variant(GVariantType Type, object Value)
{
    /// <summary>A string variant <c>&lt;'…'&gt;</c>.</summary>
    public static Variant FromString(string value) => new(GVariantTypes.String, value);

    /// <summary>A variant holding a string array (<c>as</c>).</summary>
    public static Variant FromStrings(IEnumerable<string> values) => new(GVariantTypes.StringArray, values.Cast<object>().ToArray());

    /// <summary>A variant holding a byte string (<c>ay</c>).</summary>
    public static Variant FromBytes(byte[] value) => new(GVariantTypes.ByteArray, value);

    /// <summary>A variant holding a boolean.</summary>
    public static Variant FromBoolean(bool value) => new(GVariantTypes.Boolean, value);

    /// <summary>A variant holding a uint64 in GVariant (little-endian) order.</summary>
    public static Variant FromUInt64(ulong value) => new(GVariantTypes.UInt64, value);

    /// <summary>The value as a string when the variant holds <c>s</c>, <c>o</c> or <c>g</c>.</summary>
    public string? AsString() => Value as string;

    /// <summary>Renders the value in a GVariant-text-like form for display.</summary>
    public override string ToString() => GVariantText.Format(Type, Value);
}
