using System.Buffers.Binary;
using OstreeContainer.Ostree.GVariant;
using OstreeContainer.Ostree.Objects;

namespace OstreeContainer.Ostree.Deltas;

/// <summary>One entry of a part's mode table <c>(uuu)</c>; all three are stored big-endian.</summary>
public readonly record struct DeltaPartMode(uint Uid, uint Gid, uint Mode);

/// <summary>Byte 0 of a part file (ostree-format.md §8.3).</summary>
public enum DeltaPartCompression : byte
{
    /// <summary><c>0x00</c>: the payload follows as is.</summary>
    None = 0,

    /// <summary><c>'x'</c>: an XZ stream follows; what <c>ostree static-delta generate</c> always writes.</summary>
    Xz = (byte)'x',
}

/// <summary>
/// The payload of a delta part, <c>(a(uuu)aa(ayay)ayay)</c>: the mode and xattr tables that
/// content operations index, the blob operations copy from, and the operation stream.
/// </summary>
public sealed class DeltaPartPayload
{
    /// <summary>A payload with these tables, blob and operations.</summary>
    public DeltaPartPayload(IReadOnlyList<DeltaPartMode> modes, IReadOnlyList<IReadOnlyList<Xattr>> xattrs, ReadOnlyMemory<byte> blob, ReadOnlyMemory<byte> operations)
    {
        ArgumentNullException.ThrowIfNull(modes);
        ArgumentNullException.ThrowIfNull(xattrs);
        Modes = modes;
        Xattrs = xattrs;
        Blob = blob;
        Operations = operations;
    }

    /// <summary>Mode table: (uid, gid, mode) in host order here, big-endian on disk.</summary>
    public IReadOnlyList<DeltaPartMode> Modes { get; }

    /// <summary>Xattr table: each entry a whole canonical <c>a(ayay)</c> list.</summary>
    public IReadOnlyList<IReadOnlyList<Xattr>> Xattrs { get; }

    /// <summary>The payload blob operations copy object bytes, checksums and patches from.</summary>
    public ReadOnlyMemory<byte> Blob { get; }

    /// <summary>The operation stream (<see cref="DeltaOpcode"/>).</summary>
    public ReadOnlyMemory<byte> Operations { get; }

    /// <summary>Serialises in normal form.</summary>
    public byte[] Serialize()
    {
        var modes = new object[Modes.Count];
        for (var i = 0; i < modes.Length; i++)
        {
            var m = Modes[i];
            modes[i] = new object[]
            {
                BinaryPrimitives.ReverseEndianness(m.Uid),
                BinaryPrimitives.ReverseEndianness(m.Gid),
                BinaryPrimitives.ReverseEndianness(m.Mode),
            };
        }

        var xattrs = new object[Xattrs.Count];
        for (var i = 0; i < xattrs.Length; i++)
        {
            xattrs[i] = Xattr.ToValue(Xattrs[i]);
        }

        return GVariantWriter.Encode(ObjectFormats.DeltaPart, new object[] { modes, xattrs, Blob, Operations });
    }

    /// <summary>Parses a decompressed payload; tables are validated, the blob and operations are not interpreted.</summary>
    /// <exception cref="InvalidDataException">Malformed; the message names the field, e.g. <c>xattrs[1]: [0].name: …</c>.</exception>
    public static DeltaPartPayload Parse(ReadOnlySpan<byte> data)
    {
        // Not normal form only: libostree reads parts with g_variant_new_from_bytes, which
        // tolerates non-normal framing, so deltas written by other tools stay readable.
        var fields = (object[])GVariantReader.Decode(ObjectFormats.DeltaPart, data, DeltaPartFields);
        var rawModes = (object[])fields[0];
        var modes = new DeltaPartMode[rawModes.Length];
        for (var i = 0; i < modes.Length; i++)
        {
            var m = (object[])rawModes[i];
            modes[i] = new DeltaPartMode(
                BinaryPrimitives.ReverseEndianness((uint)m[0]),
                BinaryPrimitives.ReverseEndianness((uint)m[1]),
                BinaryPrimitives.ReverseEndianness((uint)m[2]));
        }

        var rawXattrs = (object[])fields[1];
        var xattrs = new IReadOnlyList<Xattr>[rawXattrs.Length];
        for (var i = 0; i < xattrs.Length; i++)
        {
            try
            {
                xattrs[i] = Xattr.FromValue(rawXattrs[i]);
            }
            catch (InvalidDataException e)
            {
                throw e.WithContext($"xattrs[{i}]");
            }
        }

        return new DeltaPartPayload(modes, xattrs, (byte[])fields[2], (byte[])fields[3]);
    }

    private static readonly string[] DeltaPartFields = ["modes", "xattrs", "payload", "operations"];
}

/// <summary>A part file: one compression byte, then the (possibly compressed) <see cref="DeltaPartPayload"/>.</summary>
public static class DeltaPartFile
{
    /// <summary>Serialises and compresses a payload into part-file bytes.</summary>
    public static byte[] Encode(DeltaPartPayload payload, DeltaPartCompression compression)
    {
        ArgumentNullException.ThrowIfNull(payload);
        var raw = payload.Serialize();
        var body = compression switch
        {
            DeltaPartCompression.None => raw,
            DeltaPartCompression.Xz => Xz.Compress(raw),
            _ => throw new ArgumentOutOfRangeException(nameof(compression)),
        };
        var file = new byte[1 + body.Length];
        file[0] = (byte)compression;
        body.CopyTo(file, 1);
        return file;
    }

    /// <summary>
    /// Decompresses and parses part-file bytes, refusing a payload larger than
    /// <paramref name="maxPayloadLength"/> before it is decompressed in full.
    /// </summary>
    /// <exception cref="InvalidDataException">Empty, unknown compression byte, corrupt xz, or a malformed payload.</exception>
    public static DeltaPartPayload Decode(ReadOnlySpan<byte> file, int maxPayloadLength = int.MaxValue)
    {
        if (file.IsEmpty)
        {
            throw new InvalidDataException("part: empty file");
        }

        byte[] raw = (DeltaPartCompression)file[0] switch
        {
            DeltaPartCompression.None when file.Length - 1 > maxPayloadLength =>
                throw new InvalidDataException($"part: payload of {file.Length - 1} bytes is over the {maxPayloadLength}-byte limit"),
            DeltaPartCompression.None => file[1..].ToArray(),
            DeltaPartCompression.Xz => Xz.Decompress(file[1..], maxPayloadLength),
            _ => throw new InvalidDataException($"part: unknown compression byte 0x{file[0]:x2} (expected 0x00 or 'x')"),
        };
        try
        {
            return DeltaPartPayload.Parse(raw);
        }
        catch (InvalidDataException e)
        {
            throw e.WithContext("part");
        }
    }
}
