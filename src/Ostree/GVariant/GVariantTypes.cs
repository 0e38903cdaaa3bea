namespace OstreeContainer.Ostree.GVariant;

/// <summary>Frequently used basic and container types, parsed once.</summary>
public static class GVariantTypes
{
    public static readonly GVariantType Boolean = GVariantType.Parse("b");
    public static readonly GVariantType Byte = GVariantType.Parse("y");
    public static readonly GVariantType UInt32 = GVariantType.Parse("u");
    public static readonly GVariantType UInt64 = GVariantType.Parse("t");
    public static readonly GVariantType String = GVariantType.Parse("s");
    public static readonly GVariantType StringArray = GVariantType.Parse("as");
    public static readonly GVariantType ByteArray = GVariantType.Parse("ay");
    public static readonly GVariantType ByteArrayArray = GVariantType.Parse("aay");
    public static readonly GVariantType VariantDictionary = GVariantType.Parse("a{sv}");
}
