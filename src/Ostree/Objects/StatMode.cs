namespace OstreeContainer.Ostree.Objects;

/// <summary>POSIX <c>st_mode</c> bits as OSTree stores them (full mode, type bits included).</summary>
public static class StatMode
{
    public const uint TypeMask = 0xF000;      // S_IFMT
    public const uint Directory = 0x4000;     // S_IFDIR
    public const uint Regular = 0x8000;       // S_IFREG
    public const uint Symlink = 0xA000;       // S_IFLNK
    public const uint PermissionMask = 0xFFF; // 07777: rwx for all, setuid, setgid, sticky

    public static bool IsDirectory(uint mode) => (mode & TypeMask) == Directory;

    public static bool IsRegular(uint mode) => (mode & TypeMask) == Regular;

    public static bool IsSymlink(uint mode) => (mode & TypeMask) == Symlink;

    /// <summary>Only type bits of <paramref name="type"/> and permission bits are set.</summary>
    internal static bool HasOnly(uint mode, uint type) => (mode & TypeMask) == type && (mode & ~(TypeMask | PermissionMask)) == 0;
}
