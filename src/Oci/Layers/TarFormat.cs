namespace OstreeContainer.Oci.Layers;

/// <summary>
/// The tar format as layers use it: POSIX.1-2001 ustar headers, with PAX extended
/// headers (typeflag <c>x</c>) for anything a ustar field cannot hold. Offsets and widths
/// are from POSIX <c>pax</c>, "ustar Interchange Format"; each field is declared once here.
/// </summary>
internal static class TarFormat
{
    /// <summary>Every header and every file's data is padded to whole blocks.</summary>
    public const int BlockSize = 512;

    /// <summary>An archive ends with two zero blocks.</summary>
    public const int EndOfArchiveBlocks = 2;

    // Field offsets and widths of the ustar header block.
    public const int NameOffset = 0, NameLength = 100;
    public const int ModeOffset = 100, ModeLength = 8;
    public const int UidOffset = 108, UidLength = 8;
    public const int GidOffset = 116, GidLength = 8;
    public const int SizeOffset = 124, SizeLength = 12;
    public const int MtimeOffset = 136, MtimeLength = 12;
    public const int ChecksumOffset = 148, ChecksumLength = 8;
    public const int TypeFlagOffset = 156;
    public const int LinkNameOffset = 157, LinkNameLength = 100;
    public const int MagicOffset = 257, MagicLength = 6;
    public const int VersionOffset = 263, VersionLength = 2;
    public const int UserNameOffset = 265, UserNameLength = 32;
    public const int GroupNameOffset = 297, GroupNameLength = 32;
    public const int DevMajorOffset = 329, DevMajorLength = 8;
    public const int DevMinorOffset = 337, DevMinorLength = 8;
    public const int PrefixOffset = 345, PrefixLength = 155;

    /// <summary>"ustar\0" then version "00": POSIX ustar (GNU's old format writes "ustar  \0").</summary>
    public static ReadOnlySpan<byte> UstarMagic => "ustar\0"u8;

    /// <summary>The POSIX version field that goes with <see cref="UstarMagic"/>.</summary>
    public static ReadOnlySpan<byte> UstarVersion => "00"u8;

    /// <summary>The GNU magic and version ("ustar  \0"), accepted when reading.</summary>
    public static ReadOnlySpan<byte> GnuMagic => "ustar  \0"u8;

    // Largest values the octal fields hold: 7 digits for ids and mode, 11 for size and mtime
    // (each field keeps one byte for its NUL terminator). Larger values go to PAX records.
    public const long MaxOctal7 = 0x1F_FFFF;         // 07777777
    public const long MaxOctal11 = 0x1_FFFF_FFFF;     // 077777777777

    // Type flags (POSIX; 'L'/'K' are GNU long name/link, read but never written).
    public const byte TypeRegular = (byte)'0';
    public const byte TypeRegularOld = 0;
    public const byte TypeHardLink = (byte)'1';
    public const byte TypeSymLink = (byte)'2';
    public const byte TypeCharDevice = (byte)'3';
    public const byte TypeBlockDevice = (byte)'4';
    public const byte TypeDirectory = (byte)'5';
    public const byte TypeFifo = (byte)'6';
    public const byte TypeContiguous = (byte)'7';
    public const byte TypePaxExtended = (byte)'x';
    public const byte TypePaxGlobal = (byte)'g';
    public const byte TypeGnuLongName = (byte)'L';
    public const byte TypeGnuLongLink = (byte)'K';

    // PAX record keywords (POSIX pax "pax Extended Header"); xattrs use the SCHILY
    // convention that GNU tar, bsdtar, Go's archive/tar and containers/storage read.
    public const string PaxPath = "path";
    public const string PaxLinkPath = "linkpath";
    public const string PaxSize = "size";
    public const string PaxUid = "uid";
    public const string PaxGid = "gid";
    public const string PaxMtime = "mtime";
    public const string PaxXattrPrefix = "SCHILY.xattr.";

    /// <summary>The mode bits a layer entry may carry: permissions plus setuid, setgid and sticky.</summary>
    public const int PermissionMask = 0xFFF; // 07777

    /// <summary>OCI image-spec layer.md: a whiteout file's name prefix.</summary>
    public const string WhiteoutPrefix = ".wh.";

    /// <summary>OCI image-spec layer.md: the opaque-directory whiteout name.</summary>
    public const string OpaqueWhiteout = ".wh..wh..opq";

    /// <summary>Bytes of padding after <paramref name="size"/> bytes of data.</summary>
    public static int Padding(long size) => (int)((BlockSize - (size % BlockSize)) % BlockSize);
}
