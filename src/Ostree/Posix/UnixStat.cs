using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace OstreeContainer.Ostree.Posix;

/// <summary>
/// The parts of <c>lstat</c> OSTree needs. Uses <c>statx(2)</c>, whose struct layout is
/// the same on every Linux architecture (unlike <c>struct stat</c>).
/// </summary>
public readonly record struct UnixStat(uint Mode, uint Uid, uint Gid, long Size, long ModifiedSeconds, uint ModifiedNanoseconds, ulong Inode)
{
    // struct statx offsets (linux/stat.h): stx_uid 20, stx_gid 24, stx_mode 28 (u16),
    // stx_ino 32, stx_size 40, stx_mtime.tv_sec 112, .tv_nsec 120; the struct is 256 bytes.
    private const int StatxSize = 256;
    private const uint StatxBasicStats = 0x7ff;

    /// <summary>Modification time in milliseconds since the epoch.</summary>
    public long ModifiedMilliseconds => (ModifiedSeconds * 1000) + (ModifiedNanoseconds / 1_000_000);

    /// <summary>
    /// Whether anything (a dangling symlink included) is at <paramref name="path"/>: one
    /// <c>statx</c> that asks for no fields, where <c>File.Exists</c> plus a link check take
    /// up to four system calls for a name that is absent.
    /// </summary>
    public static bool Exists(string path)
    {
        Span<byte> buffer = stackalloc byte[StatxSize];
        return Native.Statx(Native.AT_FDCWD, path, Native.AT_SYMLINK_NOFOLLOW, 0, buffer) == 0;
    }

    /// <summary>Stats <paramref name="path"/> without following a final symlink.</summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="IOException">Any other failure.</exception>
    public static UnixStat LStat(string path)
    {
        Span<byte> buffer = stackalloc byte[StatxSize];
        if (Native.Statx(Native.AT_FDCWD, path, Native.AT_SYMLINK_NOFOLLOW, StatxBasicStats, buffer) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            var message = $"stat {path}: {Marshal.GetPInvokeErrorMessage(errno)}";
            throw errno == Native.ENOENT ? new FileNotFoundException(message, path) : new IOException(message, errno);
        }

        return Parse(buffer);
    }

    /// <summary>Stats the open file <paramref name="file"/> (<c>statx</c> with <c>AT_EMPTY_PATH</c>: no path walk).</summary>
    /// <exception cref="IOException">The call failed.</exception>
    public static UnixStat FStat(Microsoft.Win32.SafeHandles.SafeFileHandle file)
    {
        ArgumentNullException.ThrowIfNull(file);
        Span<byte> buffer = stackalloc byte[StatxSize];
        if (Native.Statx(file, string.Empty, Native.AT_EMPTY_PATH, StatxBasicStats, buffer) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"fstat: {Marshal.GetPInvokeErrorMessage(errno)}", errno);
        }

        return Parse(buffer);
    }

    private static UnixStat Parse(ReadOnlySpan<byte> buffer) =>
        new(
            BinaryPrimitives.ReadUInt16LittleEndian(buffer[28..]),
            BinaryPrimitives.ReadUInt32LittleEndian(buffer[20..]),
            BinaryPrimitives.ReadUInt32LittleEndian(buffer[24..]),
            BinaryPrimitives.ReadInt64LittleEndian(buffer[40..]),
            BinaryPrimitives.ReadInt64LittleEndian(buffer[112..]),
            BinaryPrimitives.ReadUInt32LittleEndian(buffer[120..]),
            BinaryPrimitives.ReadUInt64LittleEndian(buffer[32..]));
}
