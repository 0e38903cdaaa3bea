using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace OstreeContainer.RepoWebserver.Serving;

/// <summary>
/// Reads a repo file with plain <c>open</c>, <c>pread</c> and <c>close</c>. A pull is
/// thousands of small files each read once, and <see cref="File.OpenHandle"/> adds three
/// system calls to every one: <c>fstat</c> (to refuse directories) and <c>flock</c> taken
/// and released (.NET's emulation of <see cref="FileShare"/>); <see cref="RandomAccess"/>
/// adds an <c>lseek</c> on a handle it did not open.
/// </summary>
internal static partial class PosixFile
{
    // Linux values (the same on x86-64 and arm64).
    private const int ORdOnly = 0;
    private const int ONoFollow = 0x20000;
    private const int OCloExec = 0x80000;
    private const int EPerm = 1;
    private const int ENoEnt = 2;
    private const int EIntr = 4;
    private const int EAcces = 13;
    private const int ENotDir = 20;
    private const int ELoop = 40;

    /// <summary>
    /// Opens <paramref name="path"/> for reading. The file was resolved as a regular file by
    /// <c>lstat</c>; <c>O_NOFOLLOW</c> refuses a symlink put in its place since, which like a
    /// vanished file is <see cref="FileNotFoundException"/> (the caller resolves again).
    /// </summary>
    public static SafeFileHandle OpenRead(string path)
    {
        int fd;
        do
        {
            fd = Open(path, ORdOnly | ONoFollow | OCloExec, 0);
        }
        while (fd < 0 && Marshal.GetLastPInvokeError() == EIntr);

        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw errno switch
            {
                ENoEnt or ENotDir or ELoop => new FileNotFoundException($"{path}: {Marshal.GetPInvokeErrorMessage(errno)}", path),
                EAcces or EPerm => new UnauthorizedAccessException($"{path}: {Marshal.GetPInvokeErrorMessage(errno)}"),
                _ => new IOException($"{path}: {Marshal.GetPInvokeErrorMessage(errno)}", errno),
            };
        }

        return new SafeFileHandle(fd, ownsHandle: true);
    }

    /// <summary>Reads up to <c>buffer.Length</c> bytes at <paramref name="offset"/>; 0 at end of file.</summary>
    public static int Read(SafeFileHandle file, Span<byte> buffer, long offset)
    {
        nint read;
        do
        {
            read = PRead(file, buffer, (nuint)buffer.Length, offset);
        }
        while (read < 0 && Marshal.GetLastPInvokeError() == EIntr);

        if (read < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException(Marshal.GetPInvokeErrorMessage(errno), errno);
        }

        return (int)read;
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "pread", SetLastError = true)]
    private static partial nint PRead(SafeFileHandle fd, Span<byte> buffer, nuint count, long offset);
}
