using System.Buffers.Binary;

namespace OstreeContainer.Ostree.Deltas;

/// <summary>
/// zlib's CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), the checksum ostree keys
/// rollsum chunks by. System.IO.Hashing is not a BCL assembly and not referenced here;
/// slicing-by-8 is fast enough for chunk keys (about a byte per cycle).
/// </summary>
internal static class RollsumCrc32
{
    private const uint Polynomial = 0xEDB88320u;
    private const int Slices = 8;

    private static readonly uint[] Table = BuildTable();

    /// <summary>CRC-32 of <paramref name="data"/> continuing from <paramref name="crc"/> (0 to start), as zlib's crc32().</summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        var table = Table;
        var c = ~crc;
        var i = 0;
        for (; i + Slices <= data.Length; i += Slices)
        {
            var lo = c ^ BinaryPrimitives.ReadUInt32LittleEndian(data[i..]);
            var hi = BinaryPrimitives.ReadUInt32LittleEndian(data[(i + 4)..]);
            c = table[(7 * 256) + (lo & 0xFF)] ^ table[(6 * 256) + ((lo >> 8) & 0xFF)]
                ^ table[(5 * 256) + ((lo >> 16) & 0xFF)] ^ table[(4 * 256) + (lo >> 24)]
                ^ table[(3 * 256) + (hi & 0xFF)] ^ table[(2 * 256) + ((hi >> 8) & 0xFF)]
                ^ table[256 + ((hi >> 16) & 0xFF)] ^ table[hi >> 24];
        }

        for (; i < data.Length; i++)
        {
            c = table[(c ^ data[i]) & 0xFF] ^ (c >> 8);
        }

        return ~c;
    }

    private static uint[] BuildTable()
    {
        var table = new uint[Slices * 256];
        for (uint n = 0; n < 256; n++)
        {
            var c = n;
            for (var k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? Polynomial ^ (c >> 1) : c >> 1;
            }

            table[n] = c;
        }

        for (var n = 0; n < 256; n++)
        {
            for (var s = 1; s < Slices; s++)
            {
                var prev = table[((s - 1) * 256) + n];
                table[(s * 256) + n] = (prev >> 8) ^ table[prev & 0xFF];
            }
        }

        return table;
    }
}
