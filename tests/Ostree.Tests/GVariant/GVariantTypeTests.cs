using OstreeContainer.Ostree.GVariant;

namespace OstreeContainer.Ostree.Tests.GVariant;

/// <summary>Type strings: what parses, alignment and fixed size (GVariant specification §2.3, ostree-format.md §1.2).</summary>
public class GVariantTypeTests
{
    [Theory]
    [InlineData("b", 1, 1)]
    [InlineData("y", 1, 1)]
    [InlineData("n", 2, 2)]
    [InlineData("q", 2, 2)]
    [InlineData("i", 4, 4)]
    [InlineData("u", 4, 4)]
    [InlineData("h", 4, 4)]
    [InlineData("x", 8, 8)]
    [InlineData("t", 8, 8)]
    [InlineData("d", 8, 8)]
    [InlineData("s", 1, 0)]
    [InlineData("o", 1, 0)]
    [InlineData("g", 1, 0)]
    [InlineData("v", 8, 0)]
    [InlineData("ay", 1, 0)]
    [InlineData("at", 8, 0)]
    [InlineData("mu", 4, 0)]
    [InlineData("()", 1, 1)]
    [InlineData("(uuu)", 4, 12)]
    [InlineData("(yt)", 8, 16)]
    [InlineData("(ty)", 8, 16)]
    [InlineData("(ny)", 2, 4)]
    [InlineData("(y())", 1, 2)]
    [InlineData("((y)(t))", 8, 16)]
    [InlineData("{yt}", 8, 16)]
    [InlineData("{sv}", 8, 0)]
    [InlineData("(yaytt)", 8, 0)]
    [InlineData("(uuua(ayay))", 4, 0)]
    [InlineData("(a{sv}aya(say)sstayay)", 8, 0)]
    [InlineData("(tuuuusa(ayay))", 8, 0)]
    public void Parse_ValidType_HasSpecAlignmentAndFixedSize(string signature, int alignment, int fixedSize)
    {
        var type = GVariantType.Parse(signature);

        Assert.Equal(signature, type.Signature);
        Assert.Equal(alignment, type.Alignment);
        Assert.Equal(fixedSize, type.FixedSize);
        Assert.Equal(fixedSize > 0, type.IsFixedSize);
    }

    [Fact]
    public void Parse_Tuple_ExposesMembersAndElements()
    {
        var type = GVariantType.Parse("(a{sv}ay)");

        Assert.True(type.IsTuple);
        Assert.Equal(["a{sv}", "ay"], type.Members.Select(m => m.Signature));
        Assert.Equal("{sv}", type.Members[0].Element!.Signature);
        Assert.Equal(["s", "v"], type.Members[0].Element!.Members.Select(m => m.Signature));
        Assert.True(type.Members[1].IsByteArray);
        Assert.False(type.Members[0].IsByteArray);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("(", "unbalanced open")]
    [InlineData(")", "unbalanced close")]
    [InlineData("(y", "unclosed tuple")]
    [InlineData("y)", "trailing close")]
    [InlineData("((y)", "one close missing")]
    [InlineData("(y))", "one close too many")]
    [InlineData("{sv", "unclosed dict entry")]
    [InlineData("{sv)", "mismatched brackets")]
    [InlineData("(sv}", "mismatched brackets")]
    [InlineData("a", "array without element")]
    [InlineData("m", "maybe without element")]
    [InlineData("aa", "array of array without element")]
    [InlineData("yy", "two types")]
    [InlineData("(y)y", "two types")]
    [InlineData("{vs}", "variant key")]
    [InlineData("{(y)s}", "tuple key")]
    [InlineData("{ays}", "array key")]
    [InlineData("{msy}", "maybe key")]
    [InlineData("{{ss}s}", "dict entry key")]
    [InlineData("{s}", "dict entry with one member")]
    [InlineData("{}", "dict entry with no member")]
    [InlineData("{sss}", "dict entry with three members")]
    [InlineData("z", "unknown letter")]
    [InlineData("r", "indefinite tuple")]
    [InlineData("*", "indefinite any")]
    [InlineData("?", "indefinite basic")]
    [InlineData("a{sv}\0", "trailing NUL")]
    [InlineData(" y", "leading space")]
    public void TryParse_InvalidType_ReturnsFalse(string signature, string why)
    {
        Assert.False(GVariantType.TryParse(signature, out var type), why);
        Assert.Null(type);
        var e = Assert.Throws<InvalidDataException>(() => GVariantType.Parse(signature));
        Assert.Contains("invalid GVariant type string", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData('a', ' ', 64, true)]
    [InlineData('m', ' ', 64, true)]
    [InlineData('(', ')', 64, true)]
    [InlineData('a', ' ', 200, false)]
    [InlineData('(', ')', 200, false)]
    [InlineData('a', ' ', 10_000, false)]
    [InlineData('(', ')', 10_000, false)]
    [InlineData('m', ' ', 100_000, false)]
    public void TryParse_DeepNesting_AcceptsModerateRejectsTooDeepWithoutStackOverflow(char open, char close, int depth, bool valid)
    {
        var signature = new string(open, depth) + "y" + (close == ' ' ? "" : new string(close, depth));

        Assert.Equal(valid, GVariantType.TryParse(signature, out _));
    }

    [Fact]
    public void TryParse_NestingAtTheLimit_IsTheGLibBoundary()
    {
        // G_VARIANT_MAX_RECURSION_DEPTH = 128 containers around the innermost basic type.
        Assert.True(GVariantType.TryParse(new string('a', GVariantType.MaxDepth) + "y", out _));
        Assert.False(GVariantType.TryParse(new string('a', GVariantType.MaxDepth + 1) + "y", out _));
    }

    [Fact]
    public void Parse_SameSignatureTwice_ReturnsTheCachedInstance()
    {
        Assert.Same(GVariantType.Parse("a(sayay)"), GVariantType.Parse("a(sayay)"));
    }

    [Fact]
    public void Parse_Null_IsACallerBug()
    {
        Assert.Throws<ArgumentNullException>(() => GVariantType.Parse(null!));
    }
}
