using System.Buffers;

namespace OstreeContainer.Ostree.Deltas;

/// <summary>
/// XZ container streams as ostree writes delta parts (ostree-format.md §8.3): LZMA2 only,
/// preset 8, CRC64 check, one stream. Compression and decompression run in liblzma, the
/// library libostree links; see this folder's README for why.
/// </summary>
public static class Xz
{
    /// <summary>The preset <c>ostree static-delta generate</c> uses (<c>lzma_easy_encoder(…, 8, LZMA_CHECK_CRC64)</c>).</summary>
    public const int OstreePreset = 8;

    /// <summary>The stream magic, <c>FD 37 7A 58 5A 00</c>.</summary>
    public static ReadOnlySpan<byte> Magic => [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00];

    // Decoder memory limit: preset 9 needs 65 MiB; anything asking for more is not ours or ostree's.
    private const ulong DecoderMemoryLimit = 256UL << 20;

    /// <summary>
    /// Compresses <paramref name="data"/> into one XZ stream, byte for byte what
    /// liblzma's streaming encoder gives ostree for the same input and preset.
    /// </summary>
    /// <exception cref="InvalidOperationException">liblzma reported an error (out of memory).</exception>
    /// <exception cref="DllNotFoundException">liblzma.so.5 is not installed (Debian package liblzma5).</exception>
    public static unsafe byte[] Compress(ReadOnlySpan<byte> data, int preset = OstreePreset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(preset);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(preset, 9);
        var bound = checked((int)LibLzma.StreamBufferBound((nuint)data.Length));
        var output = ArrayPool<byte>.Shared.Rent(bound);
        var stream = default(LibLzma.LzmaStream);
        try
        {
            Check(LibLzma.EasyEncoder(&stream, (uint)preset, LibLzma.LZMA_CHECK_CRC64), "lzma_easy_encoder");
            fixed (byte* input = data)
            fixed (byte* outputPointer = output)
            {
                stream.NextIn = input;
                stream.AvailIn = (nuint)data.Length;
                stream.NextOut = outputPointer;
                stream.AvailOut = (nuint)bound;
                var ret = LibLzma.Code(&stream, LibLzma.LZMA_FINISH);
                if (ret != LibLzma.LZMA_STREAM_END)
                {
                    Check(ret == LibLzma.LZMA_OK ? LibLzma.LZMA_BUF_ERROR : ret, "lzma_code");
                }
            }

            return output.AsSpan(0, checked((int)stream.TotalOut)).ToArray();
        }
        finally
        {
            LibLzma.End(&stream);
            ArrayPool<byte>.Shared.Return(output);
        }
    }

    /// <summary>
    /// Decompresses one XZ stream (trailing bytes after it are an error), refusing output
    /// longer than <paramref name="maxLength"/> before it is produced.
    /// </summary>
    /// <exception cref="InvalidDataException">Not an XZ stream, corrupt, truncated, bad check, or longer than the limit.</exception>
    /// <exception cref="DllNotFoundException">liblzma.so.5 is not installed (Debian package liblzma5).</exception>
    public static unsafe byte[] Decompress(ReadOnlySpan<byte> data, int maxLength = int.MaxValue)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxLength);
        maxLength = Math.Min(maxLength, Array.MaxLength);
        var buffer = new ArrayBufferWriter<byte>(Math.Min(Math.Max(data.Length * 4, 4096), maxLength + 1));
        var stream = default(LibLzma.LzmaStream);
        try
        {
            if (LibLzma.StreamDecoder(&stream, DecoderMemoryLimit, LibLzma.LZMA_TELL_UNSUPPORTED_CHECK) != LibLzma.LZMA_OK)
            {
                throw new InvalidOperationException("lzma_stream_decoder failed (out of memory)");
            }

            fixed (byte* input = data)
            {
                stream.NextIn = input;
                stream.AvailIn = (nuint)data.Length;
                while (true)
                {
                    // Ask for at most one byte past the limit, so an over-long stream is caught
                    // without decoding (and allocating) the rest of it.
                    var room = (int)Math.Min((long)maxLength + 1 - buffer.WrittenCount, 1 << 20);
                    if (room <= 0)
                    {
                        throw new InvalidDataException($"xz: decompresses to more than {maxLength} bytes");
                    }

                    var span = buffer.GetSpan(room)[..room];
                    int ret;
                    fixed (byte* output = span)
                    {
                        stream.NextOut = output;
                        stream.AvailOut = (nuint)span.Length;
                        ret = LibLzma.Code(&stream, LibLzma.LZMA_FINISH);
                        buffer.Advance(span.Length - (int)stream.AvailOut);
                    }

                    if (buffer.WrittenCount > maxLength)
                    {
                        throw new InvalidDataException($"xz: decompresses to more than {maxLength} bytes");
                    }

                    if (ret == LibLzma.LZMA_STREAM_END)
                    {
                        break;
                    }

                    if (ret != LibLzma.LZMA_OK)
                    {
                        throw new InvalidDataException($"xz: {Describe(ret)}");
                    }
                }

                if (stream.AvailIn != 0)
                {
                    throw new InvalidDataException($"xz: {stream.AvailIn} bytes after the end of the stream");
                }
            }

            return buffer.WrittenSpan.ToArray();
        }
        finally
        {
            LibLzma.End(&stream);
        }
    }

    private static void Check(int ret, string call)
    {
        if (ret is not (LibLzma.LZMA_OK or LibLzma.LZMA_STREAM_END))
        {
            throw new InvalidOperationException($"{call}: {Describe(ret)}");
        }
    }

    private static string Describe(int ret) => ret switch
    {
        LibLzma.LZMA_FORMAT_ERROR => "not an xz stream",
        LibLzma.LZMA_DATA_ERROR => "corrupt data (or a failed integrity check)",
        LibLzma.LZMA_BUF_ERROR => "truncated stream",
        LibLzma.LZMA_MEMLIMIT_ERROR => "stream needs more than 256 MiB of decoder memory",
        5 => "out of memory",
        3 => "unsupported integrity check",
        8 => "unsupported options",
        11 => "programming error in liblzma",
        _ => $"liblzma error {ret}",
    };
}
