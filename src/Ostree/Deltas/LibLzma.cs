using System.Runtime.InteropServices;

namespace OstreeContainer.Ostree.Deltas;

/// <summary>
/// The handful of liblzma (XZ Utils) entry points ostree itself uses for delta parts,
/// bound by source-generated imports so they also work under NativeAOT. The library is
/// loaded on first use only, so code that never touches a part never needs it.
/// </summary>
internal static partial class LibLzma
{
    internal const string Library = "liblzma.so.5";

    // lzma_ret
    internal const int LZMA_OK = 0;
    internal const int LZMA_STREAM_END = 1;
    internal const int LZMA_MEMLIMIT_ERROR = 6;
    internal const int LZMA_FORMAT_ERROR = 7;
    internal const int LZMA_DATA_ERROR = 9;
    internal const int LZMA_BUF_ERROR = 10;

    // lzma_action
    internal const int LZMA_RUN = 0;
    internal const int LZMA_FINISH = 3;

    // lzma_check: ostree writes CRC64.
    internal const int LZMA_CHECK_CRC64 = 4;

    // lzma_stream_decoder flags: report unsupported checks rather than skipping them silently.
    internal const uint LZMA_TELL_UNSUPPORTED_CHECK = 0x02;

    /// <summary>
    /// <c>lzma_stream</c> as laid out by liblzma 5.x on LP64: the public in/out cursors,
    /// then the allocator and internal pointers and the reserved fields. A zeroed struct is
    /// <c>LZMA_STREAM_INIT</c>.
    /// </summary>
    [StructLayout(LayoutKind.Sequential)]
    internal unsafe struct LzmaStream
    {
        public byte* NextIn;
        public nuint AvailIn;
        public ulong TotalIn;
        public byte* NextOut;
        public nuint AvailOut;
        public ulong TotalOut;
        public nint Allocator;
        public nint Internal;
        public nint ReservedPtr1;
        public nint ReservedPtr2;
        public nint ReservedPtr3;
        public nint ReservedPtr4;
        public ulong ReservedInt1;
        public ulong ReservedInt2;
        public nuint ReservedInt3;
        public nuint ReservedInt4;
        public int ReservedEnum1;
        public int ReservedEnum2;
    }

    [LibraryImport(Library, EntryPoint = "lzma_easy_encoder")]
    internal static unsafe partial int EasyEncoder(LzmaStream* stream, uint preset, int check);

    [LibraryImport(Library, EntryPoint = "lzma_stream_decoder")]
    internal static unsafe partial int StreamDecoder(LzmaStream* stream, ulong memlimit, uint flags);

    [LibraryImport(Library, EntryPoint = "lzma_code")]
    internal static unsafe partial int Code(LzmaStream* stream, int action);

    [LibraryImport(Library, EntryPoint = "lzma_end")]
    internal static unsafe partial void End(LzmaStream* stream);

    [LibraryImport(Library, EntryPoint = "lzma_stream_buffer_bound")]
    internal static partial nuint StreamBufferBound(nuint uncompressedSize);
}
