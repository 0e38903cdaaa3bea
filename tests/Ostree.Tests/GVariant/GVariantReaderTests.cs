using OstreeContainer.Ostree.GVariant;

namespace OstreeContainer.Ostree.Tests.GVariant;

/// <summary>
/// The reader decodes the worked examples back, reads the offset width from the container
/// size, and rejects malformed or non-normal data with <see cref="InvalidDataException"/>.
/// </summary>
public class GVariantReaderTests
{
    [Theory]
    [MemberData(nameof(GVariantWriterTests.WorkedExamples), MemberType = typeof(GVariantWriterTests))]
    public void DecodeNormal_WorkedExample_GivesTheValueBack(string example, string hex)
    {
        var (type, expected) = GVariantWriterTests.Example(example);

        Assert.Equal(expected, GVariantReader.DecodeNormal(type, Hex.Bytes(hex)), VariantComparer.Instance);
    }

    [Theory]
    [InlineData(0L, 0)]
    [InlineData(1L, 1)]
    [InlineData(255L, 1)]
    [InlineData(256L, 2)]
    [InlineData(65535L, 2)]
    [InlineData(65536L, 4)]
    [InlineData(4294967295L, 4)]
    [InlineData(4294967296L, 8)]
    public void OffsetSize_ContainerSize_GivesSpecWidth(long size, int width)
    {
        Assert.Equal(width, GVariantReader.OffsetSize(size));
    }

    [Theory]
    [InlineData("as")]
    [InlineData("a(say)")]
    [InlineData("a{sv}")]
    [InlineData("au")]
    [InlineData("a(yt)")]
    public void DecodeNormal_EmptyData_IsAnEmptyArray(string signature)
    {
        Assert.Empty((object[])GVariantReader.DecodeNormal(GVariantType.Parse(signature), []));
    }

    [Fact]
    public void DecodeNormal_Unit_IsOneZeroByte()
    {
        var unit = GVariantType.Parse("()");

        Assert.Empty((object[])GVariantReader.DecodeNormal(unit, [0]));
        Assert.Throws<InvalidDataException>(() => GVariantReader.DecodeNormal(unit, [1]));
        Assert.Throws<InvalidDataException>(() => GVariantReader.DecodeNormal(unit, []));
        Assert.Throws<InvalidDataException>(() => GVariantReader.DecodeNormal(unit, [0, 0]));
    }

    [Fact]
    public void DecodeNormal_Maybe_NothingJustAndFixedJust()
    {
        Assert.Null(GVariantReader.DecodeNormal(GVariantType.Parse("ms"), []));
        Assert.Equal("a", GVariantReader.DecodeNormal(GVariantType.Parse("ms"), Hex.Bytes("610000")));
        Assert.Equal(5u, GVariantReader.DecodeNormal(GVariantType.Parse("mu"), Hex.Bytes("05000000")));
        Assert.Null(GVariantReader.DecodeNormal(GVariantType.Parse("mu"), []));
    }

    [Fact]
    public void DecodeNormal_NestedVariant_KeepsBothTypes()
    {
        var value = (Variant)GVariantReader.DecodeNormal(GVariantType.Parse("v"), Hex.Bytes("7800 0073 0076"));

        Assert.Equal("v", value.Type.Signature);
        var inner = Assert.IsType<Variant>(value.Value);
        Assert.Equal("s", inner.Type.Signature);
        Assert.Equal("x", inner.Value);
    }

    [Fact]
    public void DecodeNormal_DictEntry_ReadsKeyAndAlignedValue()
    {
        var entry = (object[])GVariantReader.DecodeNormal(GVariantType.Parse("{sv}"), Hex.Bytes("6b657900 00000000 07000000 00 75 04"));

        Assert.Equal("key", entry[0]);
        Assert.Equal(7u, ((Variant)entry[1]).Value);
    }

    [Fact]
    public void DecodeNormal_FixedTuples_ReadMembersAtTheirAlignment()
    {
        Assert.Equal(new object[] { 1u, 2u, 3u }, (object[])GVariantReader.DecodeNormal(GVariantType.Parse("(uuu)"), Hex.Bytes("010000000200000003000000")));
        Assert.Equal(new object[] { (byte)1, 2UL }, (object[])GVariantReader.DecodeNormal(GVariantType.Parse("(yt)"), Hex.Bytes("01000000000000000200000000000000")));
        Assert.Equal(new object[] { 1UL, (byte)2 }, (object[])GVariantReader.DecodeNormal(GVariantType.Parse("(ty)"), Hex.Bytes("01000000000000000200000000000000")));
    }

    [Fact]
    public void DecodeNormal_LargeArray_UsesFourByteOffsets()
    {
        // 70,000 bytes of body: the container is over 65535 bytes, so W = 4.
        var items = Enumerable.Range(0, 7000).Select(i => (object)new string('z', 9)).ToArray();
        var bytes = GVariantWriter.Encode(GVariantTypes.StringArray, items);

        Assert.Equal(70_000 + (7000 * 4), bytes.Length);
        Assert.Equal(7000, ((object[])GVariantReader.DecodeNormal(GVariantTypes.StringArray, bytes)).Length);
    }

    /// <summary>Malformed data of a type, and a phrase its error must contain.</summary>
    public static TheoryData<string, string, string, string> Malformed => new()
    {
        { "boolean 2", "b", "02", "boolean byte is 2" },
        { "boolean 2 in array", "ab", "010002", "[2]: boolean byte is 2" },
        { "fixed tuple short", "(uuu)", "0100000002000000030000", "must be 12 bytes" },
        { "fixed tuple long", "(uuu)", "01000000020000000300000000", "must be 12 bytes" },
        { "fixed tuple padding", "(yt)", "01010000000000000200000000000000", "padding" },
        { "fixed tuple end padding", "(ty)", "01000000000000000200000000000001", "padding" },
        { "unit not zero", "()", "01", "padding" },
        { "string without NUL", "s", "6162", "NUL-terminated" },
        { "empty string data", "s", "", "NUL-terminated" },
        { "string with NUL", "s", "61006200", "contains a NUL" },
        { "string invalid UTF-8", "s", "ff00", "UTF-8" },
        { "string overlong UTF-8", "s", "c0af00", "UTF-8" },
        { "string encoded surrogate", "s", "eda08000", "UTF-8" },
        { "string truncated UTF-8", "s", "e69700", "UTF-8" },
        { "array table past the end", "aay", "616263010207", "outside" },
        { "array offsets decreasing", "aay", "616263020103", "[1]: framing offset 1 out of order" },
        { "array offset into the table", "aay", "616263010403", "[1]: framing offset 4" },
        { "array offset table misaligned", "as", string.Concat(Enumerable.Repeat("61", 255)) + "fe00", "outside" },
        { "array element padding", "av", "010079 0000000001 020079 03 0b", "padding" },
        { "fixed array not a multiple", "a(yt)", string.Concat(Enumerable.Repeat("00", 31)), "not a multiple of 16" },
        { "tuple offset beyond body", "(ss)", "6100620009", "member 0: framing offset 9" },
        { "tuple empty", "(ss)", "", "member 0: tuple too short" },
        { "tuple member overlaps", "(ss)", "610062000a", "member 0" },
        { "tuple member before previous end", "(sss)", "6100620063000102", "member 1" },
        { "tuple trailing garbage", "(sy)", "610007ff02", "unexpected bytes" },
        { "variant without separator", "v", "7878", "no type separator" },
        { "variant empty type", "v", "7800", "type string is empty" },
        { "variant unknown type", "v", "007a", "not a single valid type" },
        { "variant two types", "v", "007373", "not a single valid type" },
        { "variant non-ASCII type", "v", "00c3a9", "not ASCII" },
        { "variant child size", "v", "01020075", "<u>: 'u' must be 4 bytes" },
        { "variant child string", "v", "6162 0073", "<s>: string is not NUL-terminated" },
        { "maybe fixed size", "mu", "0102", "must be 4 bytes" },
        { "maybe lacks zero", "ms", "610001", "trailing zero" },
        { "dict entry value", "a{sv}", "6b657900 00000000 07000000 00 7a 04 0f", "[0].value: variant type 'z'" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Decode_Malformed_ThrowsInvalidDataExceptionNamingTheProblem(string name, string signature, string hex, string expected)
    {
        var type = GVariantType.Parse(signature);
        var data = Hex.Bytes(hex);

        var e = Assert.Throws<InvalidDataException>(() => GVariantReader.Decode(type, data));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidDataException>(() => GVariantReader.DecodeNormal(type, data));
        Assert.False(string.IsNullOrEmpty(name));
    }

    [Fact]
    public void DecodeNormal_OversizedOffsetWidth_IsNotNormalButDecodes()
    {
        // One 253-character string: body 254 bytes. Normal form uses a 1-byte offset (255
        // bytes in all); this copy uses a 2-byte offset, which the 256-byte size implies.
        var data = new byte[256];
        data.AsSpan(0, 253).Fill((byte)'a');
        data[254] = 254;

        Assert.Single((object[])GVariantReader.Decode(GVariantTypes.StringArray, data));
        var e = Assert.Throws<InvalidDataException>(() => GVariantReader.DecodeNormal(GVariantTypes.StringArray, data));
        Assert.Contains("offset", e.Message, StringComparison.Ordinal);
        Assert.Contains("2 bytes", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DecodeNormal_TupleOversizedOffsetWidth_NamesTheMember()
    {
        // (ss) with a 2-byte offset although body + 1 fits in 255.
        var data = new byte[256];
        data[0] = (byte)'a';
        data.AsSpan(2, 251).Fill((byte)'b');
        data[254] = 2;

        Assert.Equal(2, ((object[])GVariantReader.Decode(GVariantType.Parse("(ss)"), data)).Length);
        var e = Assert.Throws<InvalidDataException>(() => GVariantReader.DecodeNormal(GVariantType.Parse("(ss)"), data, ["first", "second"]));
        Assert.Contains("offset", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DecodeNormal_TrailingGarbageAfterTopLevelValue_IsRejected()
    {
        var e = Assert.Throws<InvalidDataException>(() => GVariantReader.DecodeNormal(GVariantTypes.String, Hex.Bytes("610000")));
        Assert.Contains("NUL", e.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidDataException>(() => GVariantReader.DecodeNormal(GVariantType.Parse("(uuu)"), new byte[13]));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Decode_HugeFramingOffsets_AreRejectedWithoutAllocating(bool array)
    {
        // A container over 65535 bytes uses 4-byte offsets; make the last one 0xFFFFFFFF.
        var type = array ? GVariantTypes.StringArray : GVariantType.Parse("(ss)");
        var bytes = GVariantWriter.Encode(type, array ? new object[] { new string('a', 70_000) } : new object[] { new string('a', 70_000), "b" });
        bytes.AsSpan(bytes.Length - 4).Fill(0xFF);

        var before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidDataException>(() => GVariantReader.Decode(type, bytes));
        Assert.Contains("4294967295", e.Message, StringComparison.Ordinal);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1_000_000, "rejecting allocated more than 1 MB");
    }

    [Theory]
    [InlineData(129)]
    [InlineData(10_000)]
    public void Decode_DeeplyNestedVariants_ThrowInvalidDataNotStackOverflow(int depth)
    {
        var data = NestedVariants(depth);

        var e = Assert.Throws<InvalidDataException>(() => GVariantReader.Decode(GVariantType.Parse("v"), data));
        Assert.Contains("nested deeper than", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_NestedVariantsWithinTheLimit_Decode()
    {
        var value = GVariantReader.DecodeNormal(GVariantType.Parse("v"), NestedVariants(100));

        var levels = 0;
        while (value is Variant v)
        {
            levels++;
            value = v.Value;
        }

        Assert.Equal(100, levels);
        Assert.Equal("x", value);
    }

    [Fact]
    public void Decode_OneByteElementsOfDeeplyNestedTuples_AreRejectedBeforeExpanding()
    {
        // Each element of a((((…(y)…)))) is one byte but decodes into one object[] per level:
        // 100 KB of it would become ~300 MB of objects. Hidden in a variant's type string
        // (up to 255 characters) this fits in any metadata dictionary.
        var type = GVariantType.Parse("a" + new string('(', 100) + "y" + new string(')', 100));
        var data = new byte[100_000];

        var before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidDataException>(() => GVariantReader.Decode(type, data));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 50_000_000, "rejecting allocated more than 50 MB");
        Assert.Contains("values", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ay")]
    [InlineData("ab")]
    [InlineData("a()")]
    [InlineData("a(y)")]
    [InlineData("a(yy)")]
    public void Decode_ArraysOfSmallElements_StillDecode(string signature)
    {
        var type = GVariantType.Parse(signature);
        var data = new byte[100_000];

        var value = GVariantReader.DecodeNormal(type, data);

        Assert.Equal(100_000 / Math.Max(1, type.Element!.FixedSize), value is byte[] bytes ? bytes.Length : ((object[])value).Length);
    }

    [Fact]
    public void Decode_VariantWithTooDeepType_IsRejected()
    {
        var data = Hex.Bytes("00").Concat(System.Text.Encoding.ASCII.GetBytes(new string('a', 200) + "y")).ToArray();

        var e = Assert.Throws<InvalidDataException>(() => GVariantReader.Decode(GVariantType.Parse("v"), data));
        Assert.Contains("variant type", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_MemberNames_PrefixTheFieldPath()
    {
        // dirtree type with an invalid UTF-8 file name in files[1].
        var type = GVariantType.Parse("(a(say)a(sayay))");
        var bytes = GVariantWriter.Encode(type, new object[]
        {
            new object[] { new object[] { "a", new byte[32] }, new object[] { "b", new byte[32] } },
            Array.Empty<object>(),
        });
        var at = Array.IndexOf(bytes, (byte)'b');
        bytes[at] = 0xFF;

        var e = Assert.Throws<InvalidDataException>(() => GVariantReader.Decode(type, bytes, ["files", "dirs"]));
        Assert.StartsWith("files[1].", e.Message, StringComparison.Ordinal);
        Assert.Contains("UTF-8", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DecodeNormal_RandomValues_RoundTrip()
    {
        var random = new Random(20240101);
        var values = new RandomValues(random);
        string[] signatures = ["(a{sv}aya(say)sstayay)", "(uuua(ayay))", "(a(say)a(sayay))", "(tuuuusa(ayay))", "(ynqiuxtdsog)", "av", "a{sv}", "(amsmu)", "(a(s(taya{sv}))a{sv})", "a(yt)", "(yv)", "aay", "a()"];
        for (var i = 0; i < 2000; i++)
        {
            var type = GVariantType.Parse(signatures[i % signatures.Length]);
            var value = values.Next(type);
            var bytes = GVariantWriter.Encode(type, value!);

            var back = GVariantReader.DecodeNormal(type, bytes);

            Assert.True(VariantComparer.Instance.Equals(value, back), $"value {i} of {type} did not round-trip: {Hex.Of(bytes)}");
        }
    }

    /// <summary><paramref name="depth"/> variants around the string "x": <c>x\0 \0s \0v \0v …</c>.</summary>
    internal static byte[] NestedVariants(int depth)
    {
        var data = new List<byte> { (byte)'x', 0, 0, (byte)'s' };
        for (var i = 1; i < depth; i++)
        {
            data.Add(0);
            data.Add((byte)'v');
        }

        return [.. data];
    }
}
