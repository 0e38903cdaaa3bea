using System.Runtime.InteropServices;
using System.Text;

namespace OstreeContainer.Ostree.Posix;

/// <summary>POSIX file operations OSTree needs beyond System.IO: xattrs, lchown, lutimes, syncfs.</summary>
public static class FileSystem
{
    /// <summary>Whether the process runs as root (ownership can be set).</summary>
    public static bool IsRoot => Native.GetEuid() == 0;

    /// <summary>Reads one xattr of <paramref name="path"/> (not following symlinks); null when absent.</summary>
    public static byte[]? GetXattr(string path, string name)
    {
        Span<byte> small = stackalloc byte[256];
        var n = Native.LGetXattr(path, name, small, (nuint)small.Length);
        if (n >= 0)
        {
            return small[..(int)n].ToArray();
        }

        var errno = Marshal.GetLastPInvokeError();
        if (errno is Native.ENODATA or Native.ENOTSUP)
        {
            return null;
        }

        if (errno != Native.ERANGE)
        {
            throw Error(errno, $"getxattr {name}", path);
        }

        while (true)
        {
            var size = Native.LGetXattr(path, name, [], 0);
            if (size < 0)
            {
                throw Error(Marshal.GetLastPInvokeError(), $"getxattr {name}", path);
            }

            var buffer = new byte[size];
            n = Native.LGetXattr(path, name, buffer, (nuint)buffer.Length);
            if (n >= 0)
            {
                return buffer.AsSpan(0, (int)n).ToArray();
            }

            if (Marshal.GetLastPInvokeError() != Native.ERANGE)
            {
                throw Error(Marshal.GetLastPInvokeError(), $"getxattr {name}", path);
            }
        }
    }

    /// <summary>Lists xattr names of <paramref name="path"/> (not following symlinks); empty when unsupported.</summary>
    public static IReadOnlyList<string> ListXattrs(string path)
    {
        var size = Native.LListXattr(path, [], 0);
        if (size < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            return errno == Native.ENOTSUP ? [] : throw Error(errno, "listxattr", path);
        }

        if (size == 0)
        {
            return [];
        }

        var buffer = new byte[size];
        var n = Native.LListXattr(path, buffer, (nuint)buffer.Length);
        if (n < 0)
        {
            throw Error(Marshal.GetLastPInvokeError(), "listxattr", path);
        }

        var names = new List<string>();
        foreach (var part in buffer.AsSpan(0, (int)n).Split((byte)0))
        {
            var name = buffer.AsSpan(0, (int)n)[part];
            if (!name.IsEmpty)
            {
                names.Add(Encoding.UTF8.GetString(name));
            }
        }

        return names;
    }

    /// <summary>Sets an xattr on <paramref name="path"/> itself (not a symlink's target).</summary>
    public static void SetXattr(string path, string name, ReadOnlySpan<byte> value)
    {
        if (Native.LSetXattr(path, name, value, (nuint)value.Length, 0) != 0)
        {
            throw Error(Marshal.GetLastPInvokeError(), $"setxattr {name}", path);
        }
    }

    /// <summary>Changes owner and group of <paramref name="path"/> itself.</summary>
    public static void LChown(string path, uint uid, uint gid)
    {
        if (Native.LChown(path, uid, gid) != 0)
        {
            throw Error(Marshal.GetLastPInvokeError(), "lchown", path);
        }
    }

    /// <summary>
    /// Renames <paramref name="from"/> itself, whatever it is (<c>rename(2)</c>), replacing
    /// <paramref name="to"/>. Unlike <see cref="File.Move(string, string)"/> it never looks
    /// through a symlink, so a symlink to a directory moves like any other.
    /// </summary>
    public static void Rename(string from, string to)
    {
        if (Native.Rename(from, to) != 0)
        {
            throw Error(Marshal.GetLastPInvokeError(), $"rename to {to}", from);
        }
    }

    /// <summary>
    /// Renames <paramref name="from"/> itself to <paramref name="to"/> unless something is
    /// there already (<c>renameat2(RENAME_NOREPLACE)</c>: one atomic call instead of a
    /// stat and a rename); returns false, leaving both alone, when <paramref name="to"/> exists.
    /// On a filesystem without the flag it checks, then renames.
    /// </summary>
    public static bool RenameNoReplace(string from, string to)
    {
        if (Native.RenameAt2(Native.AT_FDCWD, from, Native.AT_FDCWD, to, Native.RENAME_NOREPLACE) == 0)
        {
            return true;
        }

        var errno = Marshal.GetLastPInvokeError();
        if (errno == Native.EEXIST)
        {
            return false;
        }

        if (errno is not (Native.EINVAL or Native.ENOSYS))
        {
            throw Error(errno, $"rename to {to}", from);
        }

        if (UnixStat.Exists(to))
        {
            return false;
        }

        Rename(from, to);
        return true;
    }

    /// <summary>
    /// Opens <paramref name="path"/> for reading with plain <c>open(O_NOFOLLOW)</c>: unlike
    /// <see cref="File.OpenHandle"/> no <c>fstat</c> and no advisory lock taken and dropped,
    /// which a server reading thousands of small objects pays on every one. A symlink in
    /// the file's place (put there after the caller checked it), like a vanished file, is
    /// <see cref="FileNotFoundException"/>. A FIFO in its place does not block the open
    /// (<c>O_NONBLOCK</c>, which changes nothing for a regular file); callers that did not
    /// check the type first do so with <see cref="UnixStat.FStat"/>.
    /// </summary>
    public static Microsoft.Win32.SafeHandles.SafeFileHandle OpenReadNoFollow(string path) =>
        Open(path, Native.O_RDONLY | Native.O_NOFOLLOW | Native.O_NONBLOCK | Native.O_CLOEXEC);

    /// <summary>
    /// Opens <paramref name="name"/> in <paramref name="directory"/> for reading, like
    /// <see cref="OpenReadNoFollow(string)"/> but resolving one name instead of a whole path.
    /// </summary>
    public static Microsoft.Win32.SafeHandles.SafeFileHandle OpenReadNoFollow(Microsoft.Win32.SafeHandles.SafeFileHandle directory, string name)
    {
        ArgumentNullException.ThrowIfNull(directory);
        int fd;
        do
        {
            fd = Native.OpenAt(directory, name, Native.O_RDONLY | Native.O_NOFOLLOW | Native.O_NONBLOCK | Native.O_CLOEXEC, 0);
        }
        while (Interrupted(fd));

        return Opened(fd, name);
    }

    /// <summary>
    /// Opens the directory <paramref name="path"/>, to open files in it by name with
    /// <see cref="OpenReadNoFollow(Microsoft.Win32.SafeHandles.SafeFileHandle, string)"/>.
    /// A final symlink is not followed (<see cref="FileNotFoundException"/>).
    /// </summary>
    public static Microsoft.Win32.SafeHandles.SafeFileHandle OpenDirectoryNoFollow(string path) =>
        Open(path, Native.O_RDONLY | Native.O_DIRECTORY | Native.O_NOFOLLOW | Native.O_CLOEXEC);

    private static Microsoft.Win32.SafeHandles.SafeFileHandle Open(string path, int flags)
    {
        int fd;
        do
        {
            fd = Native.Open(path, flags, 0);
        }
        while (Interrupted(fd));

        return Opened(fd, path);
    }

    private static bool Interrupted(int result) => result < 0 && Marshal.GetLastPInvokeError() == Native.EINTR;

    /// <summary>Wraps the result of <c>open</c>/<c>openat</c>, or throws for its errno.</summary>
    private static Microsoft.Win32.SafeHandles.SafeFileHandle Opened(int fd, string path)
    {
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw errno switch
            {
                Native.ENOENT or Native.ENOTDIR or Native.ELOOP => new FileNotFoundException($"{path}: {Marshal.GetPInvokeErrorMessage(errno)}", path),
                Native.EACCES or Native.EPERM => new UnauthorizedAccessException($"{path}: {Marshal.GetPInvokeErrorMessage(errno)}"),
                _ => Error(errno, "open", path),
            };
        }

        return new Microsoft.Win32.SafeHandles.SafeFileHandle(fd, ownsHandle: true);
    }

    /// <summary>Reads up to <c>buffer.Length</c> bytes at <paramref name="offset"/> (<c>pread</c>, no <c>lseek</c>); 0 at end of file.</summary>
    public static int Read(Microsoft.Win32.SafeHandles.SafeFileHandle file, Span<byte> buffer, long offset)
    {
        ArgumentNullException.ThrowIfNull(file);
        nint read;
        do
        {
            read = Native.PRead(file, buffer, (nuint)buffer.Length, offset);
        }
        while (read < 0 && Marshal.GetLastPInvokeError() == Native.EINTR);

        if (read < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException(Marshal.GetPInvokeErrorMessage(errno), errno);
        }

        return (int)read;
    }

    /// <summary>
    /// Creates <paramref name="path"/>, which must not exist, holding <paramref name="data"/>
    /// (mode 0666 less the umask). Three system calls: unlike a <see cref="FileStream"/> it
    /// takes no advisory lock and asks nothing about the file it just made, which counts
    /// when a pull writes ten thousand objects.
    /// </summary>
    public static void CreateNewFile(string path, ReadOnlySpan<byte> data)
    {
        var fd = Native.Open(path, Native.O_WRONLY | Native.O_CREAT | Native.O_EXCL | Native.O_CLOEXEC, 0x1b6);
        if (fd < 0)
        {
            throw Error(Marshal.GetLastPInvokeError(), "open", path);
        }

        try
        {
            while (!data.IsEmpty)
            {
                var n = Native.Write(fd, data, (nuint)data.Length);
                if (n < 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    if (errno == Native.EINTR)
                    {
                        continue;
                    }

                    throw Error(errno, "write", path);
                }

                data = data[(int)n..];
            }
        }
        finally
        {
            Native.Close(fd);
        }
    }

    /// <summary>Sets access and modification time of <paramref name="path"/> itself (symlinks too).</summary>
    public static void SetTimes(string path, long unixSeconds)
    {
        ReadOnlySpan<Native.Timespec> times = [new() { Seconds = unixSeconds }, new() { Seconds = unixSeconds }];
        if (Native.UtimensAt(Native.AT_FDCWD, path, times, Native.AT_SYMLINK_NOFOLLOW) != 0)
        {
            throw Error(Marshal.GetLastPInvokeError(), "utimensat", path);
        }
    }

    /// <summary>
    /// The canonical absolute path of <paramref name="path"/> with every symlink resolved
    /// (<c>realpath(3)</c>); null when it does not exist.
    /// </summary>
    public static string? RealPath(string path)
    {
        var resolved = Native.RealPath(path, 0);
        if (resolved == 0)
        {
            return null;
        }

        try
        {
            return Marshal.PtrToStringUTF8(resolved);
        }
        finally
        {
            Native.Free(resolved);
        }
    }

    /// <summary>Flushes every dirty page of the filesystem holding <paramref name="handle"/>.</summary>
    public static void SyncFileSystem(Microsoft.Win32.SafeHandles.SafeFileHandle handle)
    {
        ArgumentNullException.ThrowIfNull(handle);
        if (Native.SyncFs((int)handle.DangerousGetHandle()) != 0)
        {
            throw Error(Marshal.GetLastPInvokeError(), "syncfs", "");
        }
    }

    private static IOException Error(int errno, string operation, string path) =>
        new($"{operation} {path}: {Marshal.GetPInvokeErrorMessage(errno)}", errno);
}
