using System.Buffers;
using System.Runtime.InteropServices;

namespace OstreeContainer.Ostree.Deltas.Generate;

/// <summary>
/// xz streams with an explicit filter chain: LZMA2 at a preset, optionally preceded by the
/// x86 BCJ filter, which rewrites relative call/jump targets in x86 machine code to absolute
/// ones so repeated calls compress. Any liblzma decoder (ostree's included) undoes it: the
/// chain is recorded in the stream's block headers.
/// </summary>
internal static unsafe partial class XzFilterEncoder
{
    // lzma_filter ids (lzma/bcj.h, lzma/lzma12.h); LZMA_VLI_UNKNOWN ends the chain.
    private const ulong FilterX86 = 0x04;
    private const ulong FilterLzma2 = 0x21;
    private const ulong FilterEnd = ulong.MaxValue;

    // sizeof(lzma_options_lzma) is 112 bytes in liblzma 5.x (reserved fields included);
    // lzma_lzma_preset fills it, so give it generous zeroed room.
    private const int LzmaOptionsRoom = 256;

    [StructLayout(LayoutKind.Sequential)]
    private struct LzmaFilter
    {
        public ulong Id;
        public void* Options;
    }

    /// <summary>Compresses <paramref name="data"/> into one xz stream (CRC64 check).</summary>
    /// <exception cref="InvalidOperationException">liblzma reported an error.</exception>
    public static byte[] Compress(ReadOnlySpan<byte> data, int preset, bool x86)
    {
        var options = stackalloc byte[LzmaOptionsRoom];
        new Span<byte>(options, LzmaOptionsRoom).Clear();
        // lzma_lzma_preset returns true (non-zero) on an unsupported preset.
        if (LzmaPreset(options, (uint)preset) != 0)
        {
            throw new InvalidOperationException($"lzma_lzma_preset: preset {preset} is not supported");
        }

        var filters = stackalloc LzmaFilter[3];
        var n = 0;
        if (x86)
        {
            filters[n++] = new LzmaFilter { Id = FilterX86, Options = null };
        }

        filters[n++] = new LzmaFilter { Id = FilterLzma2, Options = options };
        filters[n] = new LzmaFilter { Id = FilterEnd, Options = null };

        var bound = checked((int)LibLzma.StreamBufferBound((nuint)data.Length));
        var output = ArrayPool<byte>.Shared.Rent(bound);
        var stream = default(LibLzma.LzmaStream);
        try
        {
            var ret = StreamEncoder(&stream, filters, LibLzma.LZMA_CHECK_CRC64);
            if (ret != LibLzma.LZMA_OK)
            {
                throw new InvalidOperationException($"lzma_stream_encoder: liblzma error {ret}");
            }

            fixed (byte* input = data)
            fixed (byte* outputPointer = output)
            {
                stream.NextIn = input;
                stream.AvailIn = (nuint)data.Length;
                stream.NextOut = outputPointer;
                stream.AvailOut = (nuint)bound;
                ret = LibLzma.Code(&stream, LibLzma.LZMA_FINISH);
                if (ret != LibLzma.LZMA_STREAM_END)
                {
                    throw new InvalidOperationException($"lzma_code: liblzma error {ret}");
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

    [LibraryImport(LibLzma.Library, EntryPoint = "lzma_lzma_preset")]
    private static partial byte LzmaPreset(void* options, uint preset);

    [LibraryImport(LibLzma.Library, EntryPoint = "lzma_stream_encoder")]
    private static partial int StreamEncoder(LibLzma.LzmaStream* stream, LzmaFilter* filters, int check);
}
