using System.Formats.Tar;
using OstreeContainer.Oci.Layout;

namespace OstreeContainer.Oci.Sources;

/// <summary>
/// An image in an <c>oci-archive:</c> file (a tar of a layout), extracted into a scratch
/// directory that is removed when the source is disposed.
/// </summary>
public sealed class ArchiveImageSource : LayoutImageSource
{
    private readonly string _directory;

    private ArchiveImageSource(ImageReference image, ImageLayout layout, string directory)
        : base(image, layout)
    {
        _directory = directory;
    }

    /// <summary>Extracts <paramref name="image"/>'s archive under <paramref name="scratch"/>.</summary>
    /// <exception cref="InvalidDataException">The archive does not hold a valid layout.</exception>
    public static ArchiveImageSource Extract(ImageReference image, string scratch)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentException.ThrowIfNullOrEmpty(scratch);
        var directory = Path.Combine(scratch, $"oci-archive-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        try
        {
            // .NET's extractor refuses entries that would land outside the destination.
            TarFile.ExtractToDirectory(image.Path!, directory, overwriteFiles: false);
            return new ArchiveImageSource(image, ImageLayout.Open(directory), directory);
        }
        catch
        {
            Directory.Delete(directory, recursive: true);
            throw;
        }
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing && Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }

        base.Dispose(disposing);
    }
}
