using System.Globalization;
using OstreeContainer.Errors;
using OstreeContainer.Ostree.Deltas;
using OstreeContainer.Ostree.GVariant;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Repository;
using OstreeContainer.Ostree.Summaries;

namespace OstreeContainer.Cli.Commands;

/// <summary>
/// What <c>ostree static-delta show</c> prints (ostree 2022.7,
/// <c>_ostree_repo_static_delta_dump</c>), line for line: the superblock's facts, each
/// part's header, payload sizes and the count of each operation, then the totals.
/// </summary>
/// <remarks>
/// Beyond ostree: inline parts are read from the superblock (ostree looks for part files
/// that do not exist), and a superblock given by path reads its parts next to it.
/// </remarks>
internal static class StaticDeltaShow
{
    /// <summary>Superblocks are small unless parts are inlined; this bounds what is read.</summary>
    private const long MaxSuperblockLength = 1L << 30;

    /// <summary>The wrapper <c>static-delta generate --sign</c> writes: magic, superblock, signatures (ostree-format.md §8.7).</summary>
    private static readonly GVariantType SignedSuperblockType = GVariantType.Parse("(taya{sv})");

    private static ReadOnlySpan<byte> SignedMagic => "OSTSGNDT"u8;

    /// <summary>Writes the description of <paramref name="delta"/> (a delta name, or a path holding '/').</summary>
    public static void Write(OstreeRepo repo, string delta, TextWriter output)
    {
        string superblockPath;
        string partsDirectory;
        if (delta.Contains('/', StringComparison.Ordinal))
        {
            superblockPath = Directory.Exists(delta) ? Path.Combine(delta, DeltaName.SuperblockFileName) : delta;
            partsDirectory = Path.GetDirectoryName(Path.GetFullPath(superblockPath))!;
        }
        else
        {
            if (!DeltaName.TryParse(delta, out var name))
            {
                throw new UserInputException($"'{ErrorPolicy.Excerpt(delta)}' is not a delta name (FROM-TO or TO, as 'static-delta list' prints them)");
            }

            partsDirectory = Path.Combine(repo.Root, name.RelativeDirectory);
            superblockPath = Path.Combine(repo.Root, name.SuperblockPath);
            if (!File.Exists(superblockPath))
            {
                throw new UserInputException($"{repo.Root} has no static delta {delta}");
            }
        }

        var bytes = ReadFile(superblockPath, MaxSuperblockLength);
        var signed = bytes.AsSpan().StartsWith(SignedMagic);
        var superblock = DeltaSuperblock.Parse(signed ? Unwrap(bytes) : bytes);

        output.WriteLine($"Delta: {delta}");
        output.WriteLine($"Signed: {(signed ? "yes" : "no")}");
        output.WriteLine(superblock.From is { } from ? $"From: {from}" : "From <scratch>");
        output.WriteLine($"To: {superblock.To}");
        var endianness = superblock.Endianness == DeltaEndianness.Big ? "big" : "little";
        output.WriteLine($"Endianness: {endianness}{(superblock.EndiannessGuessed ? " (heuristic)" : "")}");
        output.WriteLine(Invariant($"Timestamp: {superblock.Timestamp}"));
        // Each recursive delta is a from/to pair of raw checksums.
        output.WriteLine(Invariant($"Number of parents: {superblock.RecursiveDeltas.Length / (2 * Checksum.Length)}"));

        output.WriteLine(Invariant($"Number of fallback entries: {superblock.Fallbacks.Count}"));
        ulong fallbackSize = 0, fallbackUsize = 0;
        foreach (var fallback in superblock.Fallbacks)
        {
            output.WriteLine($"  {fallback.Checksum}");
            fallbackSize += fallback.CompressedSize;
            fallbackUsize += fallback.UncompressedSize;
        }

        output.WriteLine(Invariant($"Total Fallback Size: {fallbackSize} ({FormatSize(fallbackSize)})"));
        output.WriteLine(Invariant($"Total Fallback Uncompressed Size: {fallbackUsize} ({FormatSize(fallbackUsize)})"));

        output.WriteLine(Invariant($"Number of parts: {superblock.Parts.Count}"));
        ulong partSize = 0, partUsize = 0;
        for (var i = 0; i < superblock.Parts.Count; i++)
        {
            var header = superblock.Parts[i];
            partSize += header.Size;
            partUsize += header.UncompressedSize;
            output.WriteLine(Invariant($"PartMeta{i}: nobjects={header.Objects.Count} size={header.Size} usize={header.UncompressedSize}"));
            var payload = ReadPart(superblock, header, i, partsDirectory);
            output.WriteLine(Invariant($"PartPayload{i}: nmodes={payload.Modes.Count} nxattrs={payload.Xattrs.Count} blobsize={payload.Blob.Length} opsize={payload.Operations.Length}"));
            var ops = CountOperations(header, payload.Operations.Span, i);
            output.WriteLine(Invariant(
                $"PartPayloadOps{i}: openspliceclose={ops[DeltaOpcode.OpenSpliceAndClose]} open={ops[DeltaOpcode.Open]} write={ops[DeltaOpcode.Write]} setread={ops[DeltaOpcode.SetReadSource]} unsetread={ops[DeltaOpcode.UnsetReadSource]} close={ops[DeltaOpcode.Close]} bspatch={ops[DeltaOpcode.Bspatch]}"));
        }

        output.WriteLine(Invariant($"Total Part Size: {partSize} ({FormatSize(partSize)})"));
        output.WriteLine(Invariant($"Total Part Uncompressed Size: {partUsize} ({FormatSize(partUsize)})"));
        output.WriteLine(Invariant($"Total Size: {partSize + fallbackSize} ({FormatSize(partSize + fallbackSize)})"));
        output.WriteLine(Invariant($"Total Uncompressed Size: {partUsize + fallbackUsize} ({FormatSize(partUsize + fallbackUsize)})"));
    }

    /// <summary>
    /// A size as GLib's <c>g_format_size</c> writes it (SI units): "N bytes" below 1000,
    /// else one decimal, a no-break space (U+00A0, as GLib writes it) and kB, MB, GB, TB, PB or EB.
    /// </summary>
    internal static string FormatSize(ulong size)
    {
        if (size < 1000)
        {
            return size == 1 ? "1 byte" : Invariant($"{size} bytes");
        }

        string[] units = ["kB", "MB", "GB", "TB", "PB", "EB"];
        var unit = 0;
        var divisor = 1000.0;
        while (unit < units.Length - 1 && size >= divisor * 1000)
        {
            divisor *= 1000;
            unit++;
        }

        return Invariant($"{size / divisor:F1}\u00a0{units[unit]}");
    }

    /// <summary>
    /// How many of each operation the part's program holds, walking it as ostree's executor
    /// does in its statistics-only pass: an <c>S</c> takes two arguments for a metadata
    /// object and four for a content object, and <c>S</c> and <c>c</c> move to the next object.
    /// </summary>
    internal static Dictionary<DeltaOpcode, int> CountOperations(DeltaPartHeader header, ReadOnlySpan<byte> operations, int part)
    {
        var counts = Enum.GetValues<DeltaOpcode>().ToDictionary(o => o, _ => 0);
        var objectIndex = 0;
        var position = 0;
        while (position < operations.Length)
        {
            var opcode = (DeltaOpcode)operations[position];
            var at = position++;
            int arguments;
            switch (opcode)
            {
                case DeltaOpcode.OpenSpliceAndClose:
                    if (objectIndex >= header.Objects.Count)
                    {
                        throw new InvalidDataException($"part {part}: operation at {at} writes past the {header.Objects.Count} objects of its header");
                    }

                    arguments = header.Objects[objectIndex++].Type.IsMetadata() ? 2 : 4;
                    break;
                case DeltaOpcode.Open:
                    arguments = 3;
                    break;
                case DeltaOpcode.Write or DeltaOpcode.Bspatch:
                    arguments = 2;
                    break;
                case DeltaOpcode.SetReadSource:
                    arguments = 1;
                    break;
                case DeltaOpcode.UnsetReadSource:
                    arguments = 0;
                    break;
                case DeltaOpcode.Close:
                    arguments = 0;
                    objectIndex++;
                    break;
                default:
                    throw new InvalidDataException($"part {part}: unknown operation 0x{(byte)opcode:x2} at {at}");
            }

            for (var a = 0; a < arguments; a++)
            {
                if (!Varint.TryRead(operations, ref position, out _))
                {
                    throw new InvalidDataException($"part {part}: operation '{(char)opcode}' at {at} ends before its arguments");
                }
            }

            counts[opcode]++;
        }

        return counts;
    }

    private static DeltaPartPayload ReadPart(DeltaSuperblock superblock, DeltaPartHeader header, int index, string partsDirectory)
    {
        // usize is not the payload's length (ostree counts object bytes, not modes, xattrs
        // or operations), so it cannot bound the decompression; the array limit does.
        var limit = Array.MaxLength;
        try
        {
            if (superblock.Metadata[superblock.Name.PartPath(index)] is { } inline)
            {
                // An inline part is (yay): the compression byte, then the part body.
                var fields = (object[])inline.Value;
                byte[] body = [(byte)fields[0], .. (byte[])fields[1]];
                return DeltaPartFile.Decode(body, limit);
            }

            var path = Path.Combine(partsDirectory, index.ToString(CultureInfo.InvariantCulture));
            return DeltaPartFile.Decode(ReadFile(path, (long)Math.Min(header.Size + 1, long.MaxValue)), limit);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"part {index}: {e.Message}", e);
        }
    }

    private static byte[] Unwrap(byte[] signed)
    {
        var fields = (object[])GVariantReader.Decode(SignedSuperblockType, signed);
        return (byte[])fields[1];
    }

    private static byte[] ReadFile(string path, long maxLength)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        var length = RandomAccess.GetLength(handle);
        if (length > maxLength)
        {
            throw new InvalidDataException($"{path}: {length} bytes, more than the {maxLength} expected");
        }

        var bytes = new byte[length];
        for (var done = 0; done < bytes.Length;)
        {
            var read = RandomAccess.Read(handle, bytes.AsSpan(done), done);
            if (read == 0)
            {
                throw new InvalidDataException($"{path}: shrank while being read");
            }

            done += read;
        }

        return bytes;
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
