using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using OstreeContainer.Ostree.Deltas;
using OstreeContainer.Ostree.Deltas.Apply;
using OstreeContainer.Ostree.GVariant;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Repository;
using OstreeContainer.Ostree.Summaries;

namespace OstreeContainer.Ostree.Tests.Deltas;

/// <summary>
/// Deltas from an <see cref="IDeltaSource"/> that is not a directory (one sequential,
/// non-seekable stream per part, as an OCI layer would give), uncompressed and big-endian
/// parts, and objects large enough to be assembled on disk.
/// </summary>
public sealed class ApplySourceTests
{
    private const int Chunk = 1 << 20;

    // Over ContentBuffer.InMemoryLimit, so the object is assembled in a temp file.
    private const int LargeSize = 20 * Chunk;

    [Theory]
    [InlineData("bare-user")]
    [InlineData("archive")]
    public async Task ApplyAsync_LargeObjectBuiltFromWrites_StoredAndVerified(string mode)
    {
        var (source, file) = LargeObjectDelta(corrupt: false);
        var repo = ApplyFixtures.NewRepo(mode);

        var result = await DeltaApplier.ApplyAsync(OstreeRepo.Open(repo), source, new DeltaApplyOptions());

        Assert.Equal(3, result.ObjectsWritten); // the commit, the file, the dirmeta
        using var content = OstreeRepo.Open(repo).OpenContent(file);
        var bytes = new byte[content.Size];
        content.Content.ReadExactly(bytes);
        Assert.Equal(file, content.Header.ComputeChecksum(bytes));
        ApplyFixtures.AssertNoLeftovers(repo);
    }

    [Fact]
    public async Task ApplyAsync_LargeObjectNotHashingToItsName_RefusedAndNothingVisible()
    {
        var (source, _) = LargeObjectDelta(corrupt: true);
        var repo = ApplyFixtures.NewRepo("bare-user");
        var before = RepoSnapshot.Of(repo);

        var e = await Assert.ThrowsAsync<InvalidDataException>(() => DeltaApplier.ApplyAsync(OstreeRepo.Open(repo), source, new DeltaApplyOptions()));

        Assert.Contains("content hashes to", e.Message, StringComparison.Ordinal);
        Assert.Equal(before, RepoSnapshot.Of(repo));
        ApplyFixtures.AssertNoLeftovers(repo);
    }

    [Fact]
    public async Task ApplyAsync_StreamLongerThanDeclared_Refused()
    {
        var (source, _) = LargeObjectDelta(corrupt: false);
        var longer = new MemorySource(source.Superblock, [[.. source.Parts[0], 0]]);
        var repo = ApplyFixtures.NewRepo("bare-user");

        var e = await Assert.ThrowsAsync<InvalidDataException>(() => DeltaApplier.ApplyAsync(OstreeRepo.Open(repo), longer, new DeltaApplyOptions()));

        Assert.Contains("part 0: longer than the", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ApplyAsync_OstreeDeltaReencoded_UncompressedOrBigEndian_GivesTheSameObjects(bool bigEndian)
    {
        var odd = ApplyFixtures.Odd;
        var superblock = DeltaSuperblock.Parse(File.ReadAllBytes(Path.Combine(odd.Delta("scratch"), "superblock")));
        var parts = new List<byte[]>();
        for (var i = 0; i < superblock.Parts.Count; i++)
        {
            var payload = DeltaPartFile.Decode(File.ReadAllBytes(Path.Combine(odd.Delta("scratch"), i.ToString(System.Globalization.CultureInfo.InvariantCulture))));
            parts.Add(DeltaPartFile.Encode(payload, DeltaPartCompression.None));
        }

        var fields = (object[])GVariantReader.Decode(ObjectFormats.DeltaSuperblock, superblock.WithEndianness(bigEndian ? DeltaEndianness.Big : DeltaEndianness.Little).Serialize());
        for (var i = 0; i < parts.Count; i++)
        {
            var header = (object[])((object[])fields[6])[i];
            header[1] = SHA256.HashData(parts[i]);
            header[2] = bigEndian ? BinaryPrimitives.ReverseEndianness((ulong)parts[i].Length) : (ulong)parts[i].Length;
        }

        var source = new MemorySource(GVariantWriter.Encode(ObjectFormats.DeltaSuperblock, fields), [.. parts]);
        var theirs = ApplyFixtures.NewRepo("bare-user");
        Peer.Ostree(theirs, "static-delta", "apply-offline", odd.Delta("scratch"));
        var ours = ApplyFixtures.NewRepo("bare-user");

        await DeltaApplier.ApplyAsync(OstreeRepo.Open(ours), source, new DeltaApplyOptions());

        Assert.Equal(ApplyFixtures.ObjectSet(theirs), ApplyFixtures.ObjectSet(ours));
        ApplyFixtures.AssertFsckClean(ours);
    }

    /// <summary>
    /// A delta to the odd tree's O2 whose one part builds a 20 MiB file with OPEN, twenty
    /// WRITEs of the same payload MiB, CLOSE, then splices a dirmeta.
    /// </summary>
    private static (MemorySource Source, Checksum File) LargeObjectDelta(bool corrupt)
    {
        var odd = ApplyFixtures.Odd;
        var o2 = Checksum.Parse(odd.Commit2);
        var commit = OstreeRepo.Open(odd.Repo).ReadMetadataBytes(o2, ObjectType.Commit);
        var chunk = new byte[Chunk];
        new Random(14).NextBytes(chunk);
        var header = FileHeader.Regular(0, 0, 0x81A4);
        var content = new byte[LargeSize];
        for (var i = 0; i < LargeSize / Chunk; i++)
        {
            chunk.CopyTo(content, i * Chunk);
        }

        if (corrupt)
        {
            // The header then names other bytes than the operations produce.
            content[LargeSize - 1] ^= 1;
        }

        var file = header.ComputeChecksum(content);
        var dirmeta = GVariantWriter.Encode(ObjectFormats.DirMeta, new object[] { 0u, 0u, BinaryPrimitives.ReverseEndianness(0x41EDu), Array.Empty<object>() });
        var blob = new byte[Chunk + dirmeta.Length];
        chunk.CopyTo(blob, 0);
        dirmeta.CopyTo(blob, Chunk);

        var ops = new ArrayBufferWriter<byte>();
        ops.Write([(byte)'o']);
        Varint.Write(ops, 0);
        Varint.Write(ops, 0);
        Varint.Write(ops, LargeSize);
        for (var i = 0; i < LargeSize / Chunk; i++)
        {
            ops.Write([(byte)'w']);
            Varint.Write(ops, Chunk);
            Varint.Write(ops, 0);
        }

        ops.Write([(byte)'c', (byte)'S']);
        Varint.Write(ops, (ulong)dirmeta.Length);
        Varint.Write(ops, Chunk);
        var payload = new DeltaPartPayload([new DeltaPartMode(0, 0, 0x81A4)], [[]], blob, ops.WrittenSpan.ToArray());
        var part = DeltaPartFile.Encode(payload, DeltaPartCompression.Xz);

        var objects = new byte[2 * DeltaObject.RecordLength];
        objects[0] = (byte)ObjectType.File;
        file.Bytes.CopyTo(objects.AsSpan(1));
        objects[DeltaObject.RecordLength] = (byte)ObjectType.DirMeta;
        Checksum.Compute(dirmeta).Bytes.CopyTo(objects.AsSpan(DeltaObject.RecordLength + 1));
        var metadata = new VariantDictionary();
        metadata.Set(SummaryFormats.EndiannessKey, new Variant(GVariantTypes.Byte, (byte)'l'));
        var superblock = GVariantWriter.Encode(ObjectFormats.DeltaSuperblock, new object[]
        {
            metadata.ToValue(),
            0UL,
            Array.Empty<byte>(),
            o2.Bytes.ToArray(),
            GVariantReader.Decode(ObjectFormats.Commit, commit),
            Array.Empty<byte>(),
            new object[] { new object[] { 0u, SHA256.HashData(part), (ulong)part.Length, (ulong)LargeSize, objects } },
            Array.Empty<object>(),
        });
        return (new MemorySource(superblock, [part]), file);
    }

    /// <summary>Parts as one-way streams that cannot seek or tell their length, opened in order.</summary>
    private sealed class MemorySource(byte[] superblock, byte[][] parts) : IDeltaSource
    {
        private int _nextPart;

        public byte[] Superblock => superblock;

        public byte[][] Parts => parts;

        public string Description => "memory";

        public ValueTask<byte[]> ReadSuperblockAsync(int maxLength, CancellationToken cancellationToken) => ValueTask.FromResult(superblock);

        public ValueTask<Stream> OpenPartAsync(int index, CancellationToken cancellationToken)
        {
            Assert.True(index >= _nextPart, "parts are opened in increasing order");
            _nextPart = index + 1;
            return ValueTask.FromResult<Stream>(new ForwardOnlyStream(parts[index]));
        }
    }

    private sealed class ForwardOnlyStream(byte[] data) : Stream
    {
        private int _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            // Short reads, as a network or tar stream gives them.
            var n = Math.Min(Math.Min(count, data.Length - _position), 100_000);
            data.AsSpan(_position, n).CopyTo(buffer.AsSpan(offset));
            _position += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
