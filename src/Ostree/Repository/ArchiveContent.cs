using System.Buffers;
using System.IO.Compression;
using OstreeContainer.Ostree.GVariant;

namespace OstreeContainer.Ostree.Repository;

/// <summary>Writes content objects in the archive (<c>.filez</c>) form from any repository mode.</summary>
public static class ArchiveContent
{
    /// <summary>
    /// Writes the <c>.filez</c> of <paramref name="content"/> to <paramref name="output"/>:
    /// the archive header, then the raw-DEFLATE content. The checksum is verified while
    /// reading; on a mismatch <see cref="InvalidDataException"/> is thrown after the bytes
    /// are written, so callers write to a temporary place.
    /// </summary>
    public static void WriteVerified(ContentObject content, Stream output, CompressionLevel level)
    {
        ArgumentNullException.ThrowIfNull(content);
        ArgumentNullException.ThrowIfNull(output);
        using var verified = new VerifiedContentStream(content);
        using (var writer = new GVariantWriter(512))
        {
            content.Header.WriteArchiveHeader(writer, (ulong)content.Size);
            output.Write(writer.WrittenSpan);
        }

        if (content.Header.IsSymlink)
        {
            return;
        }

        if (content.Size == 0)
        {
            // zlib emits an empty final block for no input; .NET writes nothing, which
            // ostree rejects ("Need more input"). Write the 2-byte stream ourselves.
            output.Write([0x03, 0x00]);
            return;
        }

        using var deflate = new DeflateStream(output, level, leaveOpen: true);
        var buffer = ArrayPool<byte>.Shared.Rent(128 * 1024);
        try
        {
            int n;
            while ((n = verified.Read(buffer, 0, buffer.Length)) > 0)
            {
                deflate.Write(buffer, 0, n);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
