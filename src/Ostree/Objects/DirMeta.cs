using System.Buffers.Binary;
using OstreeContainer.Ostree.GVariant;

namespace OstreeContainer.Ostree.Objects;

/// <summary>A dirmeta object: a directory's owner, mode and xattrs (ostree-format.md §2.1).</summary>
public sealed record DirMeta(uint Uid, uint Gid, uint Mode, IReadOnlyList<Xattr> Xattrs)
{
    /// <summary>Parses and validates dirmeta bytes.</summary>
    /// <exception cref="InvalidDataException">Malformed, not normal form, or mode not a plain directory mode.</exception>
    public static DirMeta Parse(ReadOnlySpan<byte> data)
    {
        var v = (object[])GVariantReader.DecodeNormalNamed(ObjectFormats.DirMeta, data, ObjectFormats.DirMetaNames);
        var meta = new DirMeta(
            BinaryPrimitives.ReverseEndianness((uint)v[0]),
            BinaryPrimitives.ReverseEndianness((uint)v[1]),
            BinaryPrimitives.ReverseEndianness((uint)v[2]),
            WithField("xattrs", () => Xattr.FromValue(v[3])));
        if (!StatMode.HasOnly(meta.Mode, StatMode.Directory))
        {
            throw new InvalidDataException($"mode: 0{Convert.ToString(meta.Mode, 8)} is not a directory mode");
        }

        return meta;
    }

    /// <summary>Serialises in normal form; the checksum is the SHA-256 of these bytes.</summary>
    public byte[] Serialize() => GVariantWriter.Encode(ObjectFormats.DirMeta, new object[]
    {
        BinaryPrimitives.ReverseEndianness(Uid),
        BinaryPrimitives.ReverseEndianness(Gid),
        BinaryPrimitives.ReverseEndianness(Mode),
        Xattr.ToValue(Xattrs),
    });

    /// <summary>The object checksum.</summary>
    public Checksum ComputeChecksum() => Checksum.Compute(Serialize());

    internal static T WithField<T>(string field, Func<T> parse)
    {
        try
        {
            return parse();
        }
        catch (InvalidDataException e)
        {
            // A path, so "xattrs" and "[1].name" read "xattrs[1].name".
            throw FieldPath.Prefix(e, field);
        }
    }
}
