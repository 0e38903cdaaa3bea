using System.Buffers.Binary;
using System.Security.Cryptography;
using OstreeContainer.Ostree.GVariant;

namespace OstreeContainer.Ostree.Tests.GVariant;

/// <summary>
/// The writer produces normal form byte for byte: the worked examples of ostree-format.md
/// §1.6 and §2.4 (bytes ostree wrote), offset widths at the size boundaries, padding.
/// </summary>
public class GVariantWriterTests
{
    internal const string Readme = "7875c3606cb9c5160c9de8c656bd65295495f3bc1efe4bee9d2789cd183c2ffb";
    internal const string RootTree1 = "5624614deb7446f7892a846d5d980a21728850397d7509bf2235aba026a604c4";
    internal const string DirMeta755 = "446a0ef11b7cc167f3b603e585c7eeeeb675faa412d5ec73f62988eb0b6c5488";

    /// <summary>Commit 1 of the fixture as ostree wrote it (§2.4, 150 bytes).</summary>
    internal const string Commit1Hex =
        "6f73747265652e7265662d62696e64696e67000000000000666978747572652f7631000b00617313286669787475726520636f6d6d6974203100"
        + "666972737420626f64790000000000000000659200805624614deb7446f7892a846d5d980a21728850397d7509bf2235aba026a604c4"
        + "446a0ef11b7cc167f3b603e585c7eeeeb675faa412d5ec73f62988eb0b6c548870453a292929";

    /// <summary>§1.6 examples: type, value, expected bytes.</summary>
    public static TheoryData<string, string> WorkedExamples => new()
    {
        { "dirmeta 0/0/040755", "00000000 00000000 000041ed" },
        { "empty dirtree", "00" },
        { "dirtree with README", "524541444d4500" + Readme + "07 28 29" },
        { "commitmeta of commit 1", "666978747572652e6e6f746500 000000 64657461636865642d68656c6c6f00 00 73 0d 22" },
        { "commit 1", Commit1Hex },
        { "regular file header", "00000000 00000000 000081a4 00000000 00 11" },
        { "symlink file header", "00000000 00000000 0000a1ff 00000000 2e2e2f2e2e2f6574632f68656c6c6f2e74787400 24" },
        { "file header with xattr", "00000000 00000000 000081a4 00000000 00 757365722e66697874757265 00 76616c756531 0d 14 11" },
        { "archive header of hello.txt", "000000000000000c 00000000 00000000 000081a4 00000000 00 19" },
    };

    [Theory]
    [MemberData(nameof(WorkedExamples))]
    public void Encode_WorkedExample_ProducesTheBytesOstreeWrote(string example, string expectedHex)
    {
        var (type, value) = Example(example);

        Assert.Equal(Hex.Of(Hex.Bytes(expectedHex)), Hex.Of(GVariantWriter.Encode(type, value)));
    }

    [Fact]
    public void Encode_Commit1_IsTheFixtureObject()
    {
        var (type, value) = Example("commit 1");
        var bytes = GVariantWriter.Encode(type, value);

        Assert.Equal(150, bytes.Length);
        Assert.Equal("a8cbbee65f7b6ce40a7f8499330c46437bbdeadd6784c1eec1268befd912109a", Convert.ToHexStringLower(SHA256.HashData(bytes)));
        // Offsets in reverse member order: tree ends 0x70, body 0x45, subject 0x3a, related, parent, metadata 0x29.
        Assert.Equal("70453a292929", Hex.Of(bytes.AsSpan(0x90)));
        Assert.Equal(1704067200UL, BinaryPrimitives.ReadUInt64BigEndian(bytes.AsSpan(0x48)));
    }

    [Theory]
    [InlineData("as")]
    [InlineData("ay")]
    [InlineData("au")]
    [InlineData("a(say)")]
    [InlineData("a{sv}")]
    [InlineData("aas")]
    [InlineData("a()")]
    public void Encode_EmptyArray_IsZeroBytes(string signature)
    {
        object value = signature == "ay" ? Array.Empty<byte>() : Array.Empty<object>();

        Assert.Empty(GVariantWriter.Encode(GVariantType.Parse(signature), value));
    }

    [Theory]
    [InlineData("()", "00")]
    [InlineData("(())", "00")]
    [InlineData("(()())", "0000")]
    public void Encode_UnitTuple_IsOneZeroBytePerUnit(string signature, string expectedHex)
    {
        var type = GVariantType.Parse(signature);

        Assert.Equal(expectedHex, Hex.Of(GVariantWriter.Encode(type, UnitValue(type))));
    }

    [Fact]
    public void Encode_ArrayOfUnits_IsOneByteEach()
    {
        Assert.Equal("000000", Hex.Of(GVariantWriter.Encode(GVariantType.Parse("a()"), new object[] { Array.Empty<object>(), Array.Empty<object>(), Array.Empty<object>() })));
    }

    [Fact]
    public void Encode_FixedTuples_ArePaddedWithoutOffsets()
    {
        Assert.Equal("010000000200000003000000", Hex.Of(GVariantWriter.Encode(GVariantType.Parse("(uuu)"), new object[] { 1u, 2u, 3u })));
        Assert.Equal("01000000000000000200000000000000", Hex.Of(GVariantWriter.Encode(GVariantType.Parse("(yt)"), new object[] { (byte)1, 2UL })));
        Assert.Equal("01000000000000000200000000000000", Hex.Of(GVariantWriter.Encode(GVariantType.Parse("(ty)"), new object[] { 1UL, (byte)2 })));
        Assert.Equal("0100000000000000020000000000000003000000000000000400000000000000",
            Hex.Of(GVariantWriter.Encode(GVariantType.Parse("a(yt)"), new object[] { new object[] { (byte)1, 2UL }, new object[] { (byte)3, 4UL } })));
    }

    [Fact]
    public void Encode_VariableTupleEndingInFixedMember_IsNotPaddedAtTheEnd()
    {
        // (sy): "a\0", then y, then the offset of s; only fixed-size tuples get end padding.
        Assert.Equal("610007" + "02", Hex.Of(GVariantWriter.Encode(GVariantType.Parse("(sy)"), new object[] { "a", (byte)7 })));
    }

    [Fact]
    public void Encode_BasicTypes_AreLittleEndian()
    {
        Assert.Equal("01", Hex.Of(GVariantWriter.Encode(GVariantTypes.Boolean, true)));
        Assert.Equal("00", Hex.Of(GVariantWriter.Encode(GVariantTypes.Boolean, false)));
        Assert.Equal("feff", Hex.Of(GVariantWriter.Encode(GVariantType.Parse("n"), (short)-2)));
        Assert.Equal("3412", Hex.Of(GVariantWriter.Encode(GVariantType.Parse("q"), (ushort)0x1234)));
        Assert.Equal("78563412", Hex.Of(GVariantWriter.Encode(GVariantType.Parse("i"), 0x12345678)));
        Assert.Equal("0807060504030201", Hex.Of(GVariantWriter.Encode(GVariantTypes.UInt64, 0x0102030405060708UL)));
        Assert.Equal("ffffffffffffffff", Hex.Of(GVariantWriter.Encode(GVariantType.Parse("x"), -1L)));
        Assert.Equal("000000000000f03f", Hex.Of(GVariantWriter.Encode(GVariantType.Parse("d"), 1.0)));
        Assert.Equal("c3a900", Hex.Of(GVariantWriter.Encode(GVariantTypes.String, "é")));
    }

    [Fact]
    public void Encode_Maybe_NothingIsEmptyJustAddsAZeroForVariableElements()
    {
        var ms = GVariantType.Parse("ms");
        var mu = GVariantType.Parse("mu");

        Assert.Empty(GVariantWriter.Encode(ms, null!));
        Assert.Equal("610000", Hex.Of(GVariantWriter.Encode(ms, "a")));
        Assert.Equal("0000", Hex.Of(GVariantWriter.Encode(ms, "")));
        Assert.Empty(GVariantWriter.Encode(mu, null!));
        Assert.Equal("05000000", Hex.Of(GVariantWriter.Encode(mu, 5u)));
    }

    [Fact]
    public void Encode_NestedVariants_PutTheTypeAfterTheLastZero()
    {
        var inner = Variant.FromString("x");
        var outer = new Variant(GVariantType.Parse("v"), inner);

        Assert.Equal("7800" + "0073", Hex.Of(GVariantWriter.Encode(GVariantType.Parse("v"), inner)));
        Assert.Equal("7800" + "0073" + "0076", Hex.Of(GVariantWriter.Encode(GVariantType.Parse("v"), outer)));
        Assert.Equal("07000000" + "0075", Hex.Of(GVariantWriter.Encode(GVariantType.Parse("v"), new Variant(GVariantTypes.UInt32, 7u))));
    }

    [Fact]
    public void Encode_DictEntry_AlignsTheVariantValueTo8()
    {
        var entry = new object[] { "key", new Variant(GVariantTypes.UInt32, 7u) };

        Assert.Equal("6b657900" + "00000000" + "07000000" + "00" + "75" + "04", Hex.Of(GVariantWriter.Encode(GVariantType.Parse("{sv}"), entry)));
    }

    /// <summary>
    /// (string length, total size, offset width) for <c>as</c> with one string: the body is
    /// length + 1, plus one offset; width 1 while body + 1 ≤ 255, 2 while body + 2 ≤ 65535.
    /// </summary>
    [Theory]
    [InlineData(0, 2, 1)]
    [InlineData(253, 255, 1)]
    [InlineData(254, 257, 2)]
    [InlineData(65532, 65535, 2)]
    [InlineData(65533, 65538, 4)]
    public void Encode_ArrayCrossingOffsetWidthBoundary_SwitchesWidth(int stringLength, int totalSize, int width)
    {
        var s = new string('a', stringLength);
        var bytes = GVariantWriter.Encode(GVariantTypes.StringArray, new object[] { s });

        Assert.Equal(totalSize, bytes.Length);
        Assert.Equal(width, GVariantReader.OffsetSize(bytes.Length));
        Assert.Equal((ulong)stringLength + 1, ReadLittleEndian(bytes.AsSpan(bytes.Length - width)));
        Assert.Equal([s], ((object[])GVariantReader.DecodeNormal(GVariantTypes.StringArray, bytes)).Cast<string>());
    }

    /// <summary>With many elements the offsets themselves push the size over 255.</summary>
    [Theory]
    [InlineData(127, 1)]
    [InlineData(128, 2)]
    public void Encode_ArrayWhoseOffsetsCrossTheBoundary_SwitchesWidth(int count, int width)
    {
        // count empty strings: body = count bytes, plus count offsets.
        var items = Enumerable.Repeat<object>("", count).ToArray();
        var bytes = GVariantWriter.Encode(GVariantTypes.StringArray, items);

        Assert.Equal(count + (count * width), bytes.Length);
        Assert.Equal(count, ((object[])GVariantReader.DecodeNormal(GVariantTypes.StringArray, bytes)).Length);
    }

    [Theory]
    [InlineData(252, 255, 1)]
    [InlineData(253, 257, 2)]
    [InlineData(65531, 65535, 2)]
    [InlineData(65532, 65538, 4)]
    public void Encode_TupleCrossingOffsetWidthBoundary_SwitchesWidth(int firstLength, int totalSize, int width)
    {
        // (ss) with "" last: body = firstLength + 1 + 1, one offset for member 0.
        var type = GVariantType.Parse("(ss)");
        var first = new string('b', firstLength);
        var bytes = GVariantWriter.Encode(type, new object[] { first, "" });

        Assert.Equal(totalSize, bytes.Length);
        Assert.Equal((ulong)firstLength + 1, ReadLittleEndian(bytes.AsSpan(bytes.Length - width)));
        var back = (object[])GVariantReader.DecodeNormal(type, bytes);
        Assert.Equal(first, back[0]);
        Assert.Equal("", back[1]);
    }

    [Fact]
    public void Write_Reset_ReusesTheWriter()
    {
        using var writer = new GVariantWriter(4);
        writer.Write(GVariantTypes.StringArray, new object[] { "one", "two" });
        var first = writer.WrittenSpan.ToArray();
        writer.Reset();
        writer.Write(GVariantTypes.StringArray, new object[] { "one", "two" });

        Assert.Equal(first, writer.WrittenSpan.ToArray());
        Assert.Equal(Hex.Bytes("6f6e6500 74776f00 04 08"), first);
    }

    [Fact]
    public void Write_TopLevelValueNotAligned_IsACallerBug()
    {
        using var writer = new GVariantWriter();
        writer.WriteRaw([1, 2, 3]);

        Assert.Throws<InvalidOperationException>(() => writer.Write(GVariantTypes.String, "x"));
    }

    [Fact]
    public void Write_StringWithNul_IsACallerBug()
    {
        Assert.Throws<ArgumentException>(() => GVariantWriter.Encode(GVariantTypes.String, "a\0b"));
    }

    [Fact]
    public void Write_TupleWithWrongMemberCount_IsACallerBug()
    {
        Assert.Throws<ArgumentException>(() => GVariantWriter.Encode(GVariantType.Parse("(ss)"), new object[] { "a" }));
    }

    [Fact]
    public void Write_ValueNestedDeeperThanReadersAccept_IsRejectedNotAStackOverflow()
    {
        // 10,000 nested variants: a reader refuses more than 128 levels, so the writer must
        // not produce them, and must not recurse 10,000 frames deep trying.
        object value = Variant.FromString("x");
        for (var i = 0; i < 10_000; i++)
        {
            value = new Variant(GVariantType.Parse("v"), value);
        }

        Assert.Throws<ArgumentException>(() => GVariantWriter.Encode(GVariantType.Parse("v"), value));
    }

    [Fact]
    public void Write_ValueNestedAtTheLimit_RoundTrips()
    {
        object value = Variant.FromString("x");
        for (var i = 0; i < GVariantType.MaxDepth - 1; i++)
        {
            value = new Variant(GVariantType.Parse("v"), value);
        }

        var bytes = GVariantWriter.Encode(GVariantType.Parse("v"), value);

        Assert.Equal(value, GVariantReader.DecodeNormal(GVariantType.Parse("v"), bytes), VariantComparer.Instance);
    }

    internal static (GVariantType Type, object Value) Example(string name)
    {
        var noXattrs = Array.Empty<object>();
        return name switch
        {
            "dirmeta 0/0/040755" => (GVariantType.Parse("(uuua(ayay))"), new object[] { 0u, 0u, BinaryPrimitives.ReverseEndianness(0x41EDu), noXattrs }),
            "empty dirtree" => (GVariantType.Parse("(a(say)a(sayay))"), new object[] { noXattrs, noXattrs }),
            "dirtree with README" => (GVariantType.Parse("(a(say)a(sayay))"), new object[]
            {
                new object[] { new object[] { "README", Convert.FromHexString(Readme) } },
                noXattrs,
            }),
            "commitmeta of commit 1" => (GVariantTypes.VariantDictionary, new object[]
            {
                new object[] { "fixture.note", Variant.FromString("detached-hello") },
            }),
            "commit 1" => (GVariantType.Parse("(a{sv}aya(say)sstayay)"), new object[]
            {
                new object[] { new object[] { "ostree.ref-binding", Variant.FromStrings(["fixture/v1"]) } },
                Array.Empty<byte>(),
                noXattrs,
                "fixture commit 1",
                "first body",
                BinaryPrimitives.ReverseEndianness(1704067200UL),
                Convert.FromHexString(RootTree1),
                Convert.FromHexString(DirMeta755),
            }),
            "regular file header" => (GVariantType.Parse("(uuuusa(ayay))"), new object[] { 0u, 0u, BinaryPrimitives.ReverseEndianness(0x81A4u), 0u, "", noXattrs }),
            "symlink file header" => (GVariantType.Parse("(uuuusa(ayay))"), new object[] { 0u, 0u, BinaryPrimitives.ReverseEndianness(0xA1FFu), 0u, "../../etc/hello.txt", noXattrs }),
            "file header with xattr" => (GVariantType.Parse("(uuuusa(ayay))"), new object[]
            {
                0u, 0u, BinaryPrimitives.ReverseEndianness(0x81A4u), 0u, "",
                new object[] { new object[] { "user.fixture\0"u8.ToArray(), "value1"u8.ToArray() } },
            }),
            "archive header of hello.txt" => (GVariantType.Parse("(tuuuusa(ayay))"), new object[]
            {
                BinaryPrimitives.ReverseEndianness(12UL), 0u, 0u, BinaryPrimitives.ReverseEndianness(0x81A4u), 0u, "", noXattrs,
            }),
            _ => throw new ArgumentOutOfRangeException(nameof(name), name, "no such example"),
        };
    }

    private static object UnitValue(GVariantType type) => type.Members.Select(UnitValue).ToArray();

    private static ulong ReadLittleEndian(ReadOnlySpan<byte> bytes) => bytes.Length switch
    {
        1 => bytes[0],
        2 => BinaryPrimitives.ReadUInt16LittleEndian(bytes),
        _ => BinaryPrimitives.ReadUInt32LittleEndian(bytes),
    };
}
