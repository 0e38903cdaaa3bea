using System.Buffers;
using System.Security.Cryptography;
using OstreeContainer.Ostree.Deltas;
using OstreeContainer.Ostree.GVariant;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Repository;
using OstreeContainer.Ostree.Summaries;

namespace OstreeContainer.Ostree.Tests.Deltas;

/// <summary>
/// Mutations of a real part (ostree's O1 -> O2 delta of the odd tree: splices, a rollsum
/// object, a bsdiff object): each is refused with one InvalidDataException naming the
/// problem, and the repository is left exactly as it was (no object, no ref, no staging).
/// </summary>
public sealed class ApplyMutationTests
{
    private static readonly Lazy<string> Base = new(() => ApplyFixtures.PullInto("bare-user", ApplyFixtures.Odd.Repo, ApplyFixtures.Odd.Commit1));

    private sealed record Op(byte Code, ulong[] Args);

    [Fact]
    public async Task TruncatedPart_Refused()
    {
        var dir = CopyDelta();
        var part = Path.Combine(dir, "0");
        var bytes = File.ReadAllBytes(part);
        File.WriteAllBytes(part, bytes[..^100]);
        await AssertRefused(dir, $"part 0: {bytes.Length - 100} bytes, the superblock declares {bytes.Length}");
    }

    [Fact]
    public async Task FlippedByte_RefusedAsChecksumMismatch()
    {
        var dir = CopyDelta();
        var part = Path.Combine(dir, "0");
        var bytes = File.ReadAllBytes(part);
        bytes[bytes.Length / 2] ^= 0x40;
        File.WriteAllBytes(part, bytes);
        await AssertRefused(dir, "part 0: checksum mismatch");
    }

    [Fact]
    public async Task LongerPartThanDeclared_Refused()
    {
        var dir = CopyDelta();
        var part = Path.Combine(dir, "0");
        var bytes = File.ReadAllBytes(part);
        File.WriteAllBytes(part, [.. bytes, 0]);
        await AssertRefused(dir, $"part 0: {bytes.Length + 1} bytes, the superblock declares {bytes.Length}");
    }

    [Fact]
    public async Task WrongDeclaredSize_Refused()
    {
        var dir = CopyDelta();
        var bytes = File.ReadAllBytes(Path.Combine(dir, "0"));
        RewriteSuperblock(dir, bytes, size: (ulong)bytes.Length - 1);
        await AssertRefused(dir, $"part 0: {bytes.Length} bytes, the superblock declares {bytes.Length - 1}");
    }

    [Fact]
    public async Task SpliceReadingPastThePayload_Refused()
    {
        var dir = Mutate((payload, ops, objects) =>
        {
            var i = ops.FindIndex(o => o.Code == 'S');
            ops[i].Args[^1] = (ulong)payload.Blob.Length - 1;
            return payload;
        });
        await AssertRefused(dir, "runs past the");
    }

    [Fact]
    public async Task HugeSpliceLength_RefusedBeforeAllocating()
    {
        var dir = Mutate((payload, ops, objects) =>
        {
            var i = ops.FindIndex(o => o.Code == 'S');
            ops[i].Args[^2] = ulong.MaxValue - 8;
            return payload;
        });
        await AssertRefused(dir, $"range of {ulong.MaxValue - 8} bytes");
    }

    [Fact]
    public async Task HugeDeclaredSizeOfAPatchedObject_RefusedBeforeAllocating()
    {
        var dir = Mutate((payload, ops, objects) =>
        {
            var b = ops.FindIndex(o => o.Code == 'B');
            var open = ops.FindLastIndex(b, o => o.Code == 'o');
            ops[open].Args[2] = 1UL << 62;
            return payload;
        });
        await AssertRefused(dir, $"declared size {1L << 62} cannot come from a");
    }

    [Fact]
    public async Task HugeDeclaredSizeOfABuiltObject_RefusedAtClose()
    {
        var dir = Mutate((payload, ops, objects) =>
        {
            // The rollsum object: o, w…, r, w…, R, c with no bspatch.
            var open = ops.FindIndex(o => o.Code == 'o' && ops[ops.IndexOf(o) + 1].Code != 'B');
            ops[open].Args[2] = 1UL << 40;
            return payload;
        });
        await AssertRefused(dir, $"of the declared {1L << 40} bytes");
    }

    [Fact]
    public async Task WriteReadingPastTheReadSource_Refused()
    {
        var dir = Mutate((payload, ops, objects) =>
        {
            var r = ops.FindIndex(o => o.Code == 'r' && ops[ops.IndexOf(o) + 1].Code == 'w');
            ops[r + 1].Args[1] = 1UL << 30;
            return payload;
        });
        await AssertRefused(dir, "at offset 1073741824 of read source file");
    }

    [Fact]
    public async Task ReadSourceNotInTheRepository_Refused()
    {
        var dir = Mutate((payload, ops, objects) =>
        {
            var r = ops.Find(o => o.Code == 'r')!;
            var blob = payload.Blob.ToArray();
            blob[(int)r.Args[0]] ^= 0xFF;
            return new DeltaPartPayload(payload.Modes, payload.Xattrs, blob, payload.Operations);
        });
        await AssertRefused(dir, "is not in the repository");
    }

    [Fact]
    public async Task ObjectNotHashingToItsName_Refused()
    {
        var dir = Mutate((payload, ops, objects) =>
        {
            // The first content splice of a non-empty regular file: change one byte of it.
            var next = 0;
            foreach (var op in ops)
            {
                if (op.Code == 'S' && objects[next].Type == ObjectType.File && op.Args[2] > 0 && (payload.Modes[(int)op.Args[0]].Mode & 0xF000) == 0x8000)
                {
                    var blob = payload.Blob.ToArray();
                    blob[(int)op.Args[3]] ^= 0x01;
                    return new DeltaPartPayload(payload.Modes, payload.Xattrs, blob, payload.Operations);
                }

                next += op.Code is (byte)'S' or (byte)'c' ? 1 : 0;
            }

            throw new InvalidOperationException("no content splice in the part");
        });
        await AssertRefused(dir, "content hashes to");
    }

    [Fact]
    public async Task MissingLastOperation_RefusedAsObjectCountMismatch()
    {
        var dir = Mutate((payload, ops, objects) =>
        {
            Assert.Equal((byte)'S', ops[^1].Code);
            ops.RemoveAt(ops.Count - 1);
            return payload;
        });
        await AssertRefused(dir, "operations produce");
    }

    [Fact]
    public async Task ExtraObjectOperation_Refused()
    {
        var dir = Mutate((payload, ops, objects) =>
        {
            ops.Add(ops.First(o => o.Code == 'S'));
            return payload;
        });
        await AssertRefused(dir, "more objects than the");
    }

    [Fact]
    public async Task UnknownOpcode_Refused()
    {
        var dir = Mutate((payload, ops, objects) =>
        {
            ops.Insert(1, new Op((byte)'Z', []));
            return payload;
        });
        await AssertRefused(dir, "('Z' at byte");
    }

    [Fact]
    public async Task ModeIndexPastTheTable_Refused()
    {
        var dir = Mutate((payload, ops, objects) =>
        {
            ops.First(o => o.Code == 'o').Args[0] = (ulong)payload.Modes.Count;
            return payload;
        });
        await AssertRefused(dir, "mode index");
    }

    private static async Task AssertRefused(string delta, string expected)
    {
        var repo = ApplyFixtures.CopyRepo(Base.Value);
        var before = RepoSnapshot.Of(repo);

        var e = await Assert.ThrowsAsync<InvalidDataException>(() => DeltaApplier.ApplyOfflineAsync(OstreeRepo.Open(repo), delta, new DeltaApplyOptions { Ref = RefName.Parse("odd") }));

        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Equal(before, RepoSnapshot.Of(repo));
        ApplyFixtures.AssertNoLeftovers(repo);
    }

    private static string CopyDelta()
    {
        var dir = Fixtures.TempDirectory("mutated");
        foreach (var file in Directory.EnumerateFiles(ApplyFixtures.Odd.Delta("delta")))
        {
            File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
        }

        return dir;
    }

    /// <summary>Re-encodes part 0 after <paramref name="change"/> and writes a superblock with its real size and checksum.</summary>
    private static string Mutate(Func<DeltaPartPayload, List<Op>, IReadOnlyList<DeltaObject>, DeltaPartPayload> change)
    {
        var dir = CopyDelta();
        var superblock = DeltaSuperblock.Parse(File.ReadAllBytes(Path.Combine(dir, "superblock")));
        var header = superblock.Parts[0];
        var payload = DeltaPartFile.Decode(File.ReadAllBytes(Path.Combine(dir, "0")));
        var ops = ParseOps(payload, header.Objects);
        var changed = change(payload, ops, header.Objects);
        var file = DeltaPartFile.Encode(new DeltaPartPayload(changed.Modes, changed.Xattrs, changed.Blob, SerializeOps(ops)), DeltaPartCompression.Xz);
        File.WriteAllBytes(Path.Combine(dir, "0"), file);
        RewriteSuperblock(dir, file, (ulong)file.Length);
        return dir;
    }

    private static void RewriteSuperblock(string dir, byte[] part, ulong size)
    {
        var path = Path.Combine(dir, "superblock");
        var fields = (object[])GVariantReader.Decode(ObjectFormats.DeltaSuperblock, File.ReadAllBytes(path));
        var header = (object[])((object[])fields[6])[0];
        Assert.Equal(BitConverter.IsLittleEndian ? DeltaEndianness.Little : DeltaEndianness.Big, DeltaSuperblock.Parse(File.ReadAllBytes(path)).Endianness);
        header[1] = SHA256.HashData(part);
        header[2] = size;
        File.WriteAllBytes(path, GVariantWriter.Encode(ObjectFormats.DeltaSuperblock, fields));
    }

    private static List<Op> ParseOps(DeltaPartPayload payload, IReadOnlyList<DeltaObject> objects)
    {
        var ops = payload.Operations.Span;
        var list = new List<Op>();
        var pos = 0;
        var next = 0;
        while (pos < ops.Length)
        {
            var code = ops[pos++];
            var count = (char)code switch
            {
                'S' => objects[next].Type == ObjectType.File ? 4 : 2,
                'o' => 3,
                'w' or 'B' => 2,
                'r' => 1,
                _ => 0,
            };
            var args = new ulong[count];
            for (var i = 0; i < count; i++)
            {
                Assert.True(Varint.TryRead(ops, ref pos, out args[i]));
            }

            next += code is (byte)'S' or (byte)'c' ? 1 : 0;
            list.Add(new Op(code, args));
        }

        return list;
    }

    private static byte[] SerializeOps(List<Op> ops)
    {
        var buffer = new ArrayBufferWriter<byte>();
        foreach (var op in ops)
        {
            buffer.Write([op.Code]);
            foreach (var arg in op.Args)
            {
                Varint.Write(buffer, arg);
            }
        }

        return buffer.WrittenSpan.ToArray();
    }
}
