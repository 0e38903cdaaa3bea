using System.Buffers.Binary;
using System.Text;
using OstreeContainer.Ostree.GVariant;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Tests.GVariant;

namespace OstreeContainer.Ostree.Tests.Objects;

/// <summary>Which parser a bad input is fed to.</summary>
public enum ObjectKind
{
    Commit,
    DirTree,
    DirMeta,
    CommitMeta,
    ArchiveFile,
    BareUserMeta,
}

/// <summary>One bad input: the parser, a phrase naming the field its error must contain, and how to build it.</summary>
/// <param name="Target">For <see cref="ObjectKind.BareUserMeta"/>: the symlink target read from the file content.</param>
public sealed record BadInput(ObjectKind Kind, string Field, Func<byte[]> Data, string Target = "");

/// <summary>
/// The corpus of malformed objects, named like ImageSharp's <c>TestImages.*.Bad</c>. Most are
/// built with <see cref="GVariantWriter"/> directly (the object constructors validate), a few
/// patch bytes of real fixture objects. Each one breaks exactly one rule.
/// </summary>
public static class Bad
{
    private const uint RegularMode = 0x81A4;   // 0100644
    private const uint SymlinkMode = 0xA1FF;   // 0120777
    private const uint DirectoryMode = 0x41ED; // 040755

    /// <summary>Every bad input by name, e.g. <c>DirTree.NameDotDot</c>.</summary>
    public static readonly IReadOnlyDictionary<string, BadInput> Cases = new Dictionary<string, BadInput>(StringComparer.Ordinal)
    {
        // dirtree names (§2.2): not empty, '.', '..', no '/', no NUL, valid UTF-8.
        ["DirTree.NameWithSlash"] = new(ObjectKind.DirTree, "files[0].name", () => DirTreeBytes([File("a/b")], [])),
        ["DirTree.NameDot"] = new(ObjectKind.DirTree, "files[0].name", () => DirTreeBytes([File(".")], [])),
        ["DirTree.NameDotDot"] = new(ObjectKind.DirTree, "dirs[0].name", () => DirTreeBytes([], [Dir("..")])),
        ["DirTree.NameEmpty"] = new(ObjectKind.DirTree, "files[0].name", () => DirTreeBytes([File("")], [])),
        ["DirTree.DirNameSlashOnly"] = new(ObjectKind.DirTree, "dirs[1].name", () => DirTreeBytes([], [Dir("a"), Dir("b/")])),
        ["DirTree.NameWithNul"] = new(ObjectKind.DirTree, "files[1].name", () => Replace(DirTreeBytes([File("a"), File("b#c")], []), "b#c", "b\0c")),
        ["DirTree.NameInvalidUtf8"] = new(ObjectKind.DirTree, "files[0].name", () => Replace(DirTreeBytes([File("a#c")], []), "a#c", "a\u00ffc", latin1: true)),
        ["DirTree.DirNameInvalidUtf8"] = new(ObjectKind.DirTree, "dirs[0].name", () => Replace(DirTreeBytes([], [Dir("a#")]), "a#", "a\u00c0", latin1: true)),

        // dirtree order (§2.2): strictly increasing byte-wise, a name in one list only.
        ["DirTree.FilesUnsorted"] = new(ObjectKind.DirTree, "files[1].name", () => DirTreeBytes([File("b"), File("a")], [])),
        ["DirTree.FilesDuplicate"] = new(ObjectKind.DirTree, "files[1].name", () => DirTreeBytes([File("a"), File("a")], [])),
        ["DirTree.DirsUnsorted"] = new(ObjectKind.DirTree, "dirs[2].name", () => DirTreeBytes([], [Dir("a"), Dir("c"), Dir("b")])),
        ["DirTree.DirsDuplicate"] = new(ObjectKind.DirTree, "dirs[1].name", () => DirTreeBytes([], [Dir("x"), Dir("x")])),
        ["DirTree.SortedByUtf16NotBytes"] = new(ObjectKind.DirTree, "files[1].name", () => DirTreeBytes([File("\U0001F600"), File("\uFFFD")], [])),
        ["DirTree.UppercaseAfterLowercase"] = new(ObjectKind.DirTree, "files[1].name", () => DirTreeBytes([File("a"), File("B")], [])),
        ["DirTree.NameIsFileAndDir"] = new(ObjectKind.DirTree, "dirs[0].name", () => DirTreeBytes([File("a"), File("x")], [Dir("x")])),

        // dirtree checksums: exactly 32 bytes.
        ["DirTree.FileChecksum31"] = new(ObjectKind.DirTree, "files[0]", () => DirTreeBytes([File("a", 31)], [])),
        ["DirTree.FileChecksum33"] = new(ObjectKind.DirTree, "files[0]", () => DirTreeBytes([File("a", 33)], [])),
        ["DirTree.FileChecksum0"] = new(ObjectKind.DirTree, "files[0]", () => DirTreeBytes([File("a", 0)], [])),
        ["DirTree.TreeChecksum31"] = new(ObjectKind.DirTree, "dirs[0] 'd'.tree", () => DirTreeBytes([], [Dir("d", tree: 31)])),
        ["DirTree.MetaChecksum33"] = new(ObjectKind.DirTree, "dirs[0] 'd'.meta", () => DirTreeBytes([], [Dir("d", meta: 33)])),
        ["DirTree.MetaChecksum0"] = new(ObjectKind.DirTree, "dirs[0] 'd'.meta", () => DirTreeBytes([], [Dir("d", meta: 0)])),

        // dirtree framing, on the real usr/bin (83 bytes: files hello-link, hi) and root (dirs etc, usr, var).
        ["DirTree.TupleOffsetPastEnd"] = new(ObjectKind.DirTree, "files", () => Patch(UsrBin(), 82, 0xF0)),
        ["DirTree.ArrayTablePastEnd"] = new(ObjectKind.DirTree, "files", () => Patch(UsrBin(), 81, 0x60)),
        ["DirTree.ArrayOffsetIntoTable"] = new(ObjectKind.DirTree, "files[0]", () => Patch(UsrBin(), 80, 0x51)),
        ["DirTree.ArrayOffsetsDecreasing"] = new(ObjectKind.DirTree, "dirs[1]", () => Patch(Root1(), 211, 0x40)),
        ["DirTree.ElementOffsetPastElement"] = new(ObjectKind.DirTree, "files[0]", () => Patch(UsrBin(), 43, 0x40)),
        ["DirTree.WideTupleOffsetFFFFFFFF"] = new(ObjectKind.DirTree, "files", () => PatchUInt32(WideMany(), ^4, uint.MaxValue)),
        ["DirTree.WideArrayTableFFFFFFFF"] = new(ObjectKind.DirTree, "files", () => PatchUInt32(WideMany(), WideManyFilesEnd() - 4, uint.MaxValue)),
        ["DirTree.OversizedOffsetWidth"] = new(ObjectKind.DirTree, "files", WideOffsetDirTree),
        ["DirTree.TrailingGarbage"] = new(ObjectKind.DirTree, "dirs[0]", () => [.. UsrBin(), 0x00]),
        ["DirTree.EmptyWithTwoBytes"] = new(ObjectKind.DirTree, "dirs[0]", () => [0x00, 0x00]),
        ["DirTree.Empty"] = new(ObjectKind.DirTree, "files", () => []),
        ["DirTree.NameNotTerminated"] = new(ObjectKind.DirTree, "files[0].name", () => Replace(DirTreeBytes([File("a")], []), "a\0", "a\u0001", latin1: true)),

        // dirmeta (§2.1): a directory mode with permission bits only; canonical xattrs.
        ["DirMeta.ModeRegularFile"] = new(ObjectKind.DirMeta, "mode", () => DirMetaBytes(RegularMode)),
        ["DirMeta.ModeSymlink"] = new(ObjectKind.DirMeta, "mode", () => DirMetaBytes(SymlinkMode)),
        ["DirMeta.ModeZero"] = new(ObjectKind.DirMeta, "mode", () => DirMetaBytes(0)),
        ["DirMeta.ModeExtraBits"] = new(ObjectKind.DirMeta, "mode", () => DirMetaBytes(DirectoryMode | 0x10000)),
        ["DirMeta.ModeLittleEndian"] = new(ObjectKind.DirMeta, "mode", () => GVariantWriter.Encode(ObjectFormats.DirMeta, new object[] { 0u, 0u, DirectoryMode, Array.Empty<object>() })),
        ["DirMeta.TrailingGarbage"] = new(ObjectKind.DirMeta, "xattrs", () => [.. DirMetaBytes(DirectoryMode), 0x00]),
        ["DirMeta.Truncated"] = new(ObjectKind.DirMeta, "mode", () => DirMetaBytes(DirectoryMode)[..11]),
        ["DirMeta.XattrNameNotTerminated"] = new(ObjectKind.DirMeta, "xattrs[0].name", () => DirMetaBytes(DirectoryMode, XattrRaw("user.a"u8.ToArray(), [1]))),
        ["DirMeta.XattrNameEmpty"] = new(ObjectKind.DirMeta, "xattrs[0].name", () => DirMetaBytes(DirectoryMode, XattrRaw([0], [1]))),
        ["DirMeta.XattrNameInnerNul"] = new(ObjectKind.DirMeta, "xattrs[0].name", () => DirMetaBytes(DirectoryMode, XattrRaw("user\0a\0"u8.ToArray(), [1]))),
        ["DirMeta.XattrNameInvalidUtf8"] = new(ObjectKind.DirMeta, "xattrs[0].name", () => DirMetaBytes(DirectoryMode, XattrRaw([.. "user."u8, 0xFF, 0], [1]))),
        ["DirMeta.XattrsUnsorted"] = new(ObjectKind.DirMeta, "xattrs[1].name", () => DirMetaBytes(DirectoryMode, Xattr("user.b", "1"), Xattr("user.a", "2"))),
        ["DirMeta.XattrsDuplicate"] = new(ObjectKind.DirMeta, "xattrs[1].name", () => DirMetaBytes(DirectoryMode, Xattr("user.a", "1"), Xattr("user.a", "2"))),
        ["DirMeta.XattrEmptyValue"] = new(ObjectKind.DirMeta, "xattrs[0].value", () => DirMetaBytes(DirectoryMode, Xattr("user.a", ""))),

        // commit (§2.3): checksum lengths, strings, padding, metadata.
        ["Commit.ParentChecksum31"] = new(ObjectKind.Commit, "parent", () => CommitWith(1, Sum(31))),
        ["Commit.ParentChecksum33"] = new(ObjectKind.Commit, "parent", () => CommitWith(1, Sum(33))),
        ["Commit.RootTreeChecksum0"] = new(ObjectKind.Commit, "root-dirtree", () => CommitWith(6, Sum(0))),
        ["Commit.RootTreeChecksum33"] = new(ObjectKind.Commit, "root-dirtree", () => CommitWith(6, Sum(33))),
        ["Commit.RootMetaChecksum31"] = new(ObjectKind.Commit, "root-dirmeta", () => CommitWith(7, Sum(31))),
        ["Commit.RelatedChecksum31"] = new(ObjectKind.Commit, "related[0]", () => CommitWith(2, new object[] { new object[] { "r", Sum(31) } })),
        ["Commit.SubjectWithNul"] = new(ObjectKind.Commit, "subject", () => Replace(Commit1(), "fixture commit", "fix\0ure commit")),
        ["Commit.SubjectInvalidUtf8"] = new(ObjectKind.Commit, "subject", () => Replace(Commit1(), "fixture commit", "fixture\u00ffcommit", latin1: true)),
        ["Commit.BodyInvalidUtf8"] = new(ObjectKind.Commit, "body", () => Replace(Commit1(), "first body", "first\u00c3body", latin1: true)),
        ["Commit.TimestampPaddingNonZero"] = new(ObjectKind.Commit, "timestamp", () => Patch(Commit1(), 0x46, 0x01)),
        ["Commit.MetadataPaddingNonZero"] = new(ObjectKind.Commit, "metadata[0].value", () => Patch(Commit1(), 0x14, 0x01)),
        ["Commit.MetadataKeyInvalidUtf8"] = new(ObjectKind.Commit, "metadata[0].key", () => Replace(Commit1(), "ostree.ref", "ostree\u00ffref", latin1: true)),
        ["Commit.MetadataVariantTypeInvalid"] = new(ObjectKind.Commit, "metadata[0].value", () => Replace(Commit1(), "\0as", "\0a(", latin1: true)),
        ["Commit.MetadataBoolean2"] = new(ObjectKind.Commit, "metadata[0].value", () => Patch(CommitWithMetadata("b", Variant.FromBoolean(true)), 8, 2)),
        ["Commit.MetadataDeepVariant10000"] = new(ObjectKind.Commit, "metadata[0].value", () => CommitWithNestedVariant(10_000)),
        ["Commit.MetadataDeepVariant129"] = new(ObjectKind.Commit, "metadata[0].value", () => CommitWithNestedVariant(129)),
        ["Commit.OversizedOffsetWidth"] = new(ObjectKind.Commit, "framing offsets", WideOffsetCommit),
        ["Commit.MetadataOffsetPastEnd"] = new(ObjectKind.Commit, "metadata", () => Patch(Commit1(), 0x95, 0x97)),
        ["Commit.RelatedOffsetsDecreasing"] = new(ObjectKind.Commit, "related", () => Patch(Commit1(), 0x93, 0x28)),

        // commitmeta: an a{sv}.
        ["CommitMeta.DeepVariant10000"] = new(ObjectKind.CommitMeta, "[0].value", () => CommitMetaWithNestedVariant(10_000)),
        ["CommitMeta.KeyInvalidUtf8"] = new(ObjectKind.CommitMeta, "[0].key", () => Replace(CommitMeta1(), "fixture.note", "fixture\u00fenote", latin1: true)),
        ["CommitMeta.ValueTypeMissing"] = new(ObjectKind.CommitMeta, "[0].value", () => Replace(CommitMeta1(), "\0s\r", "\0\0\r", latin1: true)),

        // .filez header (§5): prefix, length, mode, rdev, target, size.
        ["ArchiveFile.ShorterThanPrefix"] = new(ObjectKind.ArchiveFile, "header", () => Archive()[..5]),
        ["ArchiveFile.LengthZero"] = new(ObjectKind.ArchiveFile, "header length", () => PatchUInt32BigEndian(Archive(), 0, 0)),
        ["ArchiveFile.LengthPastEnd"] = new(ObjectKind.ArchiveFile, "header length", () => PatchUInt32BigEndian(Archive(), 0, 27)),
        ["ArchiveFile.LengthFFFFFFFF"] = new(ObjectKind.ArchiveFile, "header length", () => PatchUInt32BigEndian(Archive(), 0, uint.MaxValue)),
        ["ArchiveFile.PaddingNonZero"] = new(ObjectKind.ArchiveFile, "header padding", () => Patch(Archive(), 6, 1)),
        ["ArchiveFile.ModeCharDevice"] = new(ObjectKind.ArchiveFile, "mode", () => Archive(mode: 0x21A4)),
        ["ArchiveFile.ModeBlockDevice"] = new(ObjectKind.ArchiveFile, "mode", () => Archive(mode: 0x61A4)),
        ["ArchiveFile.ModeFifo"] = new(ObjectKind.ArchiveFile, "mode", () => Archive(mode: 0x11A4)),
        ["ArchiveFile.ModeSocket"] = new(ObjectKind.ArchiveFile, "mode", () => Archive(mode: 0xC1A4)),
        ["ArchiveFile.ModeDirectory"] = new(ObjectKind.ArchiveFile, "mode", () => Archive(mode: DirectoryMode)),
        ["ArchiveFile.ModeNoType"] = new(ObjectKind.ArchiveFile, "mode", () => Archive(mode: 0x1A4)),
        ["ArchiveFile.ModeExtraBits"] = new(ObjectKind.ArchiveFile, "mode", () => Archive(mode: RegularMode | 0x10000)),
        ["ArchiveFile.RdevNonZero"] = new(ObjectKind.ArchiveFile, "rdev", () => Archive(rdev: 0x0801)),
        ["ArchiveFile.SymlinkEmptyTarget"] = new(ObjectKind.ArchiveFile, "symlink-target", () => Archive(mode: SymlinkMode, target: "")),
        ["ArchiveFile.SymlinkTargetTooLong"] = new(ObjectKind.ArchiveFile, "symlink-target", () => Archive(mode: SymlinkMode, target: new string('a', 4097))),
        ["ArchiveFile.SymlinkTargetInvalidUtf8"] = new(ObjectKind.ArchiveFile, "symlink-target", () => Replace(Archive(mode: SymlinkMode, target: "../x#y"), "x#y", "x\u00ffy", latin1: true)),
        ["ArchiveFile.SymlinkWithSize"] = new(ObjectKind.ArchiveFile, "size", () => Archive(size: 12, mode: SymlinkMode, target: "t")),
        ["ArchiveFile.RegularWithTarget"] = new(ObjectKind.ArchiveFile, "symlink-target", () => Archive(target: "../etc/passwd")),
        ["ArchiveFile.SizeTwoToThe63"] = new(ObjectKind.ArchiveFile, "size", () => Archive(size: 1UL << 63)),
        ["ArchiveFile.SizeMaxValue"] = new(ObjectKind.ArchiveFile, "size", () => Archive(size: ulong.MaxValue)),
        ["ArchiveFile.XattrNameInvalidUtf8"] = new(ObjectKind.ArchiveFile, "xattrs[0].name", () => Archive(xattrs: [XattrRaw([.. "user."u8, 0xC3, 0], [1])])),
        ["ArchiveFile.XattrsUnsorted"] = new(ObjectKind.ArchiveFile, "xattrs[1].name", () => Archive(xattrs: [Xattr("user.z", "1"), Xattr("security.a", "2")])),
        ["ArchiveFile.XattrEmptyValue"] = new(ObjectKind.ArchiveFile, "xattrs[0].value", () => Archive(xattrs: [Xattr("user.a", "")])),
        ["ArchiveFile.HeaderTrailingGarbage"] = new(ObjectKind.ArchiveFile, "symlink-target", () => PatchUInt32BigEndian([.. Archive(), 0x00], 0, 27)),

        // bare-user user.ostreemeta (§6).
        ["BareUserMeta.ModeFifo"] = new(ObjectKind.BareUserMeta, "mode", () => DirMetaBytes(0x11A4)),
        ["BareUserMeta.ModeDirectory"] = new(ObjectKind.BareUserMeta, "mode", () => DirMetaBytes(DirectoryMode)),
        ["BareUserMeta.SymlinkEmptyTarget"] = new(ObjectKind.BareUserMeta, "symlink-target", () => DirMetaBytes(SymlinkMode)),
        ["BareUserMeta.XattrsUnsorted"] = new(ObjectKind.BareUserMeta, "xattrs[1].name", () => DirMetaBytes(RegularMode, Xattr("user.b", "1"), Xattr("user.a", "2"))),
    };

    /// <summary>Parses <paramref name="data"/> with the parser for <paramref name="kind"/>.</summary>
    public static object Parse(ObjectKind kind, byte[] data, string target = "") => kind switch
    {
        ObjectKind.Commit => Commit.Parse(data),
        ObjectKind.DirTree => DirTree.Parse(data),
        ObjectKind.DirMeta => DirMeta.Parse(data),
        ObjectKind.CommitMeta => VariantDictionary.Parse(data),
        ObjectKind.ArchiveFile => FileHeader.ParseArchive(data, out _, out _),
        ObjectKind.BareUserMeta => FileHeader.FromBareUserMeta(data, () => target),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    internal static byte[] DirTreeBytes(object[][] files, object[][] dirs) =>
        GVariantWriter.Encode(ObjectFormats.DirTree, new object[] { files, dirs });

    internal static object[] File(string name, int checksumLength = 32) => [name, Sum(checksumLength)];

    internal static object[] Dir(string name, int tree = 32, int meta = 32) => [name, Sum(tree), Sum(meta)];

    internal static byte[] Sum(int length) => Enumerable.Repeat((byte)0xAB, length).ToArray();

    internal static byte[] DirMetaBytes(uint mode, params object[][] xattrs) =>
        GVariantWriter.Encode(ObjectFormats.DirMeta, new object[] { 0u, 0u, BinaryPrimitives.ReverseEndianness(mode), xattrs });

    internal static object[] Xattr(string name, string value) => XattrRaw([.. Encoding.UTF8.GetBytes(name), 0], Encoding.UTF8.GetBytes(value));

    internal static object[] XattrRaw(byte[] name, byte[] value) => [name, value];

    /// <summary>A <c>.filez</c> header (BE32 length, 4 zero bytes, <c>(tuuuusa(ayay))</c>), regular 0644 by default.</summary>
    internal static byte[] Archive(ulong size = 0, uint mode = RegularMode, uint rdev = 0, string target = "", object[][]? xattrs = null)
    {
        var header = GVariantWriter.Encode(ObjectFormats.ArchiveFileHeader, new object[]
        {
            BinaryPrimitives.ReverseEndianness(size), 0u, 0u, BinaryPrimitives.ReverseEndianness(mode), rdev, target, xattrs ?? [],
        });
        var data = new byte[8 + header.Length];
        BinaryPrimitives.WriteUInt32BigEndian(data, (uint)header.Length);
        header.CopyTo(data, 8);
        return data;
    }

    internal static byte[] Commit1() => FixtureObjects.Read(FixtureObjects.Commit1, "commit");

    internal static byte[] CommitMeta1() => FixtureObjects.Read(FixtureObjects.Commit1, "commitmeta");

    internal static byte[] UsrBin() => FixtureObjects.Read(FixtureObjects.UsrBinTree, "dirtree");

    internal static byte[] Root1() => FixtureObjects.Read(FixtureObjects.RootTree1, "dirtree");

    internal static byte[] WideMany() => FixtureObjects.Read(FixtureObjects.WideManyTree, "dirtree");

    /// <summary>End of the files array in wide/many: the tuple's one 4-byte framing offset.</summary>
    internal static int WideManyFilesEnd() => (int)BinaryPrimitives.ReadUInt32LittleEndian(WideMany().AsSpan(^4));

    /// <summary>Commit 1 with member <paramref name="member"/> replaced.</summary>
    internal static byte[] CommitWith(int member, object value)
    {
        var (type, v) = GVariantWriterTests.Example("commit 1");
        var members = (object[])v;
        members[member] = value;
        return GVariantWriter.Encode(type, members);
    }

    internal static byte[] CommitWithMetadata(string key, Variant value) =>
        CommitWith(0, new object[] { new object[] { key, value } });

    /// <summary>
    /// Commit 1 whose metadata is <c>{"deep": v}</c> with <paramref name="depth"/> nested
    /// variants. The writer refuses such a value, so it writes a same-sized <c>ay</c>
    /// variant (same offsets) and overwrites its bytes.
    /// </summary>
    internal static byte[] CommitWithNestedVariant(int depth)
    {
        var nested = GVariantReaderTests.NestedVariants(depth);
        var data = CommitWithMetadata("deep", Variant.FromBytes(new byte[nested.Length - 3]));
        nested.CopyTo(data, 8); // "deep\0" padded to 8
        return data;
    }

    internal static byte[] CommitMetaWithNestedVariant(int depth)
    {
        var nested = GVariantReaderTests.NestedVariants(depth);
        var data = new VariantDictionary([new("deep", Variant.FromBytes(new byte[nested.Length - 3]))]).Serialize();
        nested.CopyTo(data, 8);
        return data;
    }

    /// <summary>A dirtree whose files array uses 2-byte offsets where 1 byte suffices (not normal form).</summary>
    internal static byte[] WideOffsetDirTree()
    {
        // One file with a 220-byte name: element 254 bytes, array 255 bytes with a 1-byte
        // offset. Rewritten with a 2-byte offset it is 256 bytes, which implies width 2.
        var normal = GVariantWriter.Encode(ObjectFormats.DirTree.Members[0], new object[] { File(new string('n', 220)) });
        var element = normal[..^1];
        byte[] files = [.. element, (byte)element.Length, 0];
        var result = new byte[files.Length + 2];
        files.CopyTo(result, 0);
        BinaryPrimitives.WriteUInt16LittleEndian(result.AsSpan(files.Length), (ushort)files.Length);
        return result;
    }

    /// <summary>Commit 1 with a 119-character subject, its six tuple offsets widened to 2 bytes.</summary>
    internal static byte[] WideOffsetCommit()
    {
        // Body 248 bytes: 6 one-byte offsets make 254 (normal); 6 two-byte ones make 260,
        // a size that implies width 2, so the reader reads it consistently but it is not normal.
        var normal = CommitWith(3, new string('s', 119));
        var body = normal[..^6];
        var result = new byte[body.Length + 12];
        body.CopyTo(result, 0);
        for (var i = 0; i < 6; i++)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(result.AsSpan(body.Length + (2 * i)), normal[body.Length + i]);
        }

        return result;
    }

    internal static byte[] Patch(byte[] data, Index at, byte value)
    {
        data[at] = value;
        return data;
    }

    internal static byte[] PatchUInt32(byte[] data, Index at, uint value)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(at.GetOffset(data.Length)), value);
        return data;
    }

    internal static byte[] PatchUInt32BigEndian(byte[] data, int at, uint value)
    {
        BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(at), value);
        return data;
    }

    /// <summary>Replaces the only occurrence of <paramref name="find"/> by a same-length string (Latin-1 gives raw bytes).</summary>
    internal static byte[] Replace(byte[] data, string find, string replacement, bool latin1 = false)
    {
        var needle = Encoding.Latin1.GetBytes(find);
        var with = latin1 ? Encoding.Latin1.GetBytes(replacement) : Encoding.UTF8.GetBytes(replacement);
        var at = data.AsSpan().IndexOf(needle);
        if (at < 0 || with.Length != needle.Length || data.AsSpan(at + 1).IndexOf(needle) >= 0)
        {
            throw new InvalidOperationException($"'{find}' is not in the data exactly once, or the replacement length differs");
        }

        with.CopyTo(data, at);
        return data;
    }
}

/// <summary>Every entry of the <see cref="Bad"/> corpus fails with <see cref="InvalidDataException"/> naming its field.</summary>
public class BadInputTests
{
    public static TheoryData<string> CaseNames => [.. Bad.Cases.Keys];

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Parse_BadInput_ThrowsInvalidDataNamingTheField(string name)
    {
        var bad = Bad.Cases[name];
        var data = bad.Data();

        var e = Assert.Throws<InvalidDataException>(() => Bad.Parse(bad.Kind, data, bad.Target));
        Assert.Contains(bad.Field, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Builders_WithoutTheFault_Parse()
    {
        // The corpus builders make valid objects when nothing is broken, so each bad case
        // fails for the rule it names and not for a mistake in the builder.
        Assert.Equal(2, DirTree.Parse(Bad.DirTreeBytes([Bad.File("a"), Bad.File("b")], [Bad.Dir("c")])).Files.Count);
        Assert.Equal("\U0001F600", DirTree.Parse(Bad.DirTreeBytes([Bad.File("\uFFFD"), Bad.File("\U0001F600")], [])).Files[1].Name);
        Assert.Equal(0x41EDu, DirMeta.Parse(Bad.DirMetaBytes(0x41ED, Bad.Xattr("user.a", "1"), Bad.Xattr("user.b", "2"))).Mode);
        Assert.Equal(12UL, ParseArchiveSize(Bad.Archive(size: 12)));
        Assert.Equal(long.MaxValue, (long)ParseArchiveSize(Bad.Archive(size: long.MaxValue)));
        Assert.True(FileHeader.ParseArchive(Bad.Archive(mode: 0xA1FF, target: new string('a', 4096)), out _, out _).IsSymlink);
        Assert.Equal("deep", Commit.Parse(Bad.CommitWithNestedVariant(100)).Metadata.Entries[0].Key);
        Assert.Single(VariantDictionary.Parse(Bad.CommitMetaWithNestedVariant(100)).Entries);
        Assert.Equal("s", Commit.Parse(Bad.CommitWith(3, "s")).Subject);
        Assert.Equal(new string('s', 119), Commit.Parse(Bad.CommitWith(3, new string('s', 119))).Subject);
        Assert.Equal("fixture/v1", ((object[])Commit.Parse(Bad.Commit1()).Metadata[Commit.RefBindingKey]!.Value)[0]);
        Assert.Equal(2000, DirTree.Parse(Bad.WideMany()).Files.Count);
        Assert.Equal(new string('n', 220), DirTree.Parse(Bad.DirTreeBytes([Bad.File(new string('n', 220))], [])).Files[0].Name);
        Assert.Equal(0xA1FFu, FileHeader.FromBareUserMeta(Bad.DirMetaBytes(0xA1FF), () => "t").Mode);
    }

    [Fact]
    public void Corpus_CoversEveryParser()
    {
        Assert.Equal(Enum.GetValues<ObjectKind>().Order(), Bad.Cases.Values.Select(c => c.Kind).Distinct().Order());
    }

    /// <summary>Real objects, and how much of each a parser needs (the whole object, or the .filez header).</summary>
    public static TheoryData<string> TruncatedObjects => ["commit1", "commit2", "root-dirtree", "usr-bin-dirtree", "dirmeta", "commitmeta", "hello.filez", "symlink.filez", "xattr.filez"];

    [Theory]
    [MemberData(nameof(TruncatedObjects))]
    public void Parse_EveryPrefixOfARealObject_ThrowsInvalidDataNamingAField(string name)
    {
        var (kind, data, fields) = name switch
        {
            "commit1" => (ObjectKind.Commit, Bad.Commit1(), CommitFields),
            "commit2" => (ObjectKind.Commit, FixtureObjects.Read(FixtureObjects.Commit2, "commit"), CommitFields),
            "root-dirtree" => (ObjectKind.DirTree, Bad.Root1(), DirTreeFields),
            "usr-bin-dirtree" => (ObjectKind.DirTree, Bad.UsrBin(), DirTreeFields),
            "dirmeta" => (ObjectKind.DirMeta, FixtureObjects.Read(FixtureObjects.DirMeta755, "dirmeta"), DirMetaFields),
            "commitmeta" => (ObjectKind.CommitMeta, Bad.CommitMeta1(), CommitMetaFields),
            "hello.filez" => (ObjectKind.ArchiveFile, FixtureObjects.ArchiveHeader(FixtureObjects.HelloFile), FileFields),
            "symlink.filez" => (ObjectKind.ArchiveFile, FixtureObjects.ArchiveHeader(FixtureObjects.SymlinkFile), FileFields),
            "xattr.filez" => (ObjectKind.ArchiveFile, FixtureObjects.ArchiveHeader(FixtureObjects.XattrFile), FileFields),
            _ => throw new ArgumentOutOfRangeException(nameof(name), name, null),
        };
        Bad.Parse(kind, data);

        var unnamed = new List<string>();
        for (var length = 0; length < data.Length; length++)
        {
            var prefix = data[..length];
            if (length == 0 && kind == ObjectKind.CommitMeta)
            {
                // Zero bytes is the empty a{sv}: the one prefix that is a valid object.
                Assert.Equal(0, VariantDictionary.Parse(prefix).Count);
                continue;
            }

            var e = Assert.Throws<InvalidDataException>(() => Bad.Parse(kind, prefix));
            if (!fields.Any(f => e.Message.StartsWith(f, StringComparison.Ordinal)))
            {
                unnamed.Add($"{length}: {e.Message}");
            }
        }

        Assert.True(unnamed.Count == 0, $"errors that name no field of {name}:\n{string.Join("\n", unnamed)}");
    }

    private static readonly string[] CommitFields = ["metadata", "parent", "related", "subject", "body", "timestamp", "root-dirtree", "root-dirmeta"];
    private static readonly string[] DirTreeFields = ["files", "dirs"];
    private static readonly string[] DirMetaFields = ["uid", "gid", "mode", "xattrs"];
    // The object is the array itself: its errors name an entry, or the array's own framing.
    private static readonly string[] CommitMetaFields = ["[", "array"];
    private static readonly string[] FileFields = ["header", "size", "uid", "gid", "mode", "rdev", "symlink-target", "xattrs"];

    private static ulong ParseArchiveSize(byte[] data)
    {
        FileHeader.ParseArchive(data, out var size, out _);
        return size;
    }
}
