using System.Buffers.Binary;
using System.Text;

namespace OstreeContainer.ImageBuilder;

/// <summary>
/// The program interpreter an ELF executable names in its <c>PT_INTERP</c> header (the
/// dynamic loader, e.g. <c>/lib64/ld-linux-x86-64.so.2</c>): the kernel runs that file
/// first, so an image without it cannot start the executable.
/// </summary>
/// <remarks>
/// Field offsets and constants are those of the System V ABI, generic part (gABI),
/// chapter 4 "Object Files" (ELF header, <c>e_ident</c>) and chapter 5 "Program Loading"
/// (program header). Only little-endian files are read: every field is little-endian there.
/// </remarks>
internal static class ElfInterpreter
{
    // e_ident: the magic, then one byte each for the class and the data encoding.
    private static ReadOnlySpan<byte> Magic => "\u007fELF"u8;
    private const int EiClass = 4;
    private const int EiData = 5;
    private const byte ElfClass32 = 1;
    private const byte ElfClass64 = 2;
    private const byte ElfData2Lsb = 1;

    // p_type of the segment naming the interpreter (a NUL-terminated path).
    private const uint PtInterp = 3;

    // Longer than any path the kernel would accept (PATH_MAX is 4096 with its NUL).
    private const int MaxInterpreterLength = 4096;

    /// <summary>The interpreter's path; null for a static executable or a file that is not little-endian ELF.</summary>
    public static string? Read(string path)
    {
        using var file = File.OpenHandle(path);
        Span<byte> ident = stackalloc byte[ElfLayout.Elf64.HeaderSize];
        var headerRead = RandomAccess.Read(file, ident, 0);
        if (headerRead <= EiData || !ident[..Magic.Length].SequenceEqual(Magic) || ident[EiData] != ElfData2Lsb)
        {
            return null;
        }

        var layout = ident[EiClass] switch
        {
            ElfClass32 => ElfLayout.Elf32,
            ElfClass64 => ElfLayout.Elf64,
            _ => null,
        };
        if (layout is null || headerRead < layout.HeaderSize)
        {
            return null;
        }

        var header = ident[..layout.HeaderSize];
        var tableOffset = layout.ReadAddress(header[layout.EPhoff..]);
        var entrySize = BinaryPrimitives.ReadUInt16LittleEndian(header[layout.EPhentsize..]);
        var count = BinaryPrimitives.ReadUInt16LittleEndian(header[layout.EPhnum..]);
        if (entrySize < layout.ProgramHeaderSize)
        {
            return null;
        }

        Span<byte> entry = stackalloc byte[layout.ProgramHeaderSize];
        for (var i = 0; i < count; i++)
        {
            if (RandomAccess.Read(file, entry, tableOffset + ((long)i * entrySize)) < entry.Length)
            {
                return null;
            }

            if (BinaryPrimitives.ReadUInt32LittleEndian(entry[ElfLayout.PType..]) != PtInterp)
            {
                continue;
            }

            var offset = layout.ReadAddress(entry[layout.POffset..]);
            var size = layout.ReadAddress(entry[layout.PFilesz..]);
            if (size is <= 0 or > MaxInterpreterLength)
            {
                return null;
            }

            var name = new byte[size];
            var read = RandomAccess.Read(file, name, offset);
            return Encoding.UTF8.GetString(name.AsSpan(0, read)).TrimEnd('\0');
        }

        return null;
    }

    /// <summary>
    /// Where the fields this reader needs sit in one ELF class (byte offsets into the ELF
    /// header and into one program header). The classes size addresses and offsets as 4 or
    /// 8 bytes, and Elf64_Phdr moves <c>p_flags</c> up beside <c>p_type</c>, so every
    /// offset after <c>e_entry</c> and after <c>p_type</c> differs.
    /// </summary>
    private sealed record ElfLayout(int HeaderSize, int AddressSize, int EPhoff, int EPhentsize, int EPhnum, int ProgramHeaderSize, int POffset, int PFilesz)
    {
        /// <summary>p_type: first in both classes.</summary>
        public const int PType = 0;

        /// <summary>Elf32_Ehdr / Elf32_Phdr.</summary>
        public static readonly ElfLayout Elf32 = new(HeaderSize: 52, AddressSize: 4, EPhoff: 28, EPhentsize: 42, EPhnum: 44, ProgramHeaderSize: 32, POffset: 4, PFilesz: 16);

        /// <summary>Elf64_Ehdr / Elf64_Phdr.</summary>
        public static readonly ElfLayout Elf64 = new(HeaderSize: 64, AddressSize: 8, EPhoff: 32, EPhentsize: 54, EPhnum: 56, ProgramHeaderSize: 56, POffset: 8, PFilesz: 32);

        /// <summary>Reads an address or offset field (Elf32_Addr/Off are 4 bytes, Elf64_Addr/Off 8).</summary>
        public long ReadAddress(ReadOnlySpan<byte> field) => AddressSize == 8
            ? (long)BinaryPrimitives.ReadUInt64LittleEndian(field)
            : BinaryPrimitives.ReadUInt32LittleEndian(field);
    }
}
