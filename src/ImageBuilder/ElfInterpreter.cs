using System.Buffers.Binary;
using System.Text;

namespace OstreeContainer.ImageBuilder;

/// <summary>
/// The program interpreter an ELF executable names in its <c>PT_INTERP</c> header (the
/// dynamic loader, e.g. <c>/lib64/ld-linux-x86-64.so.2</c>): the kernel runs that file
/// first, so an image without it cannot start the executable.
/// </summary>
internal static class ElfInterpreter
{
    private const uint ProgramInterpreter = 3;

    /// <summary>The interpreter's path; null for a static executable or a file that is not little-endian ELF.</summary>
    public static string? Read(string path)
    {
        using var file = File.OpenHandle(path);
        Span<byte> header = stackalloc byte[64];
        if (RandomAccess.Read(file, header, 0) < 52 || !header[..4].SequenceEqual("\u007fELF"u8) || header[5] != 1)
        {
            return null;
        }

        var is64 = header[4] == 2;
        var tableOffset = is64 ? (long)BinaryPrimitives.ReadUInt64LittleEndian(header[32..]) : BinaryPrimitives.ReadUInt32LittleEndian(header[28..]);
        var entrySize = BinaryPrimitives.ReadUInt16LittleEndian(header[(is64 ? 54 : 42)..]);
        var count = BinaryPrimitives.ReadUInt16LittleEndian(header[(is64 ? 56 : 44)..]);
        Span<byte> entry = stackalloc byte[56];
        if (entrySize < (is64 ? 56 : 32))
        {
            return null;
        }

        for (var i = 0; i < count; i++)
        {
            var slice = entry[..(is64 ? 56 : 32)];
            if (RandomAccess.Read(file, slice, tableOffset + ((long)i * entrySize)) < slice.Length)
            {
                return null;
            }

            if (BinaryPrimitives.ReadUInt32LittleEndian(slice) != ProgramInterpreter)
            {
                continue;
            }

            var offset = is64 ? (long)BinaryPrimitives.ReadUInt64LittleEndian(slice[8..]) : BinaryPrimitives.ReadUInt32LittleEndian(slice[4..]);
            var size = is64 ? (long)BinaryPrimitives.ReadUInt64LittleEndian(slice[32..]) : BinaryPrimitives.ReadUInt32LittleEndian(slice[16..]);
            if (size is <= 0 or > 4096)
            {
                return null;
            }

            var name = new byte[size];
            var read = RandomAccess.Read(file, name, offset);
            return Encoding.UTF8.GetString(name.AsSpan(0, read)).TrimEnd('\0');
        }

        return null;
    }
}
