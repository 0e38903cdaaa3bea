using System.Globalization;

namespace OstreeContainer.ImageFormat;

/// <summary>
/// The version of this image format, in config label <see cref="ImageLabelKeys.Format"/> as
/// <c>MAJOR.MINOR</c>. A reader accepts every minor version of the majors it knows and
/// refuses a newer major; an image without the label is version 1.0 (images built before
/// the label existed). See README.md for which changes bump which number.
/// </summary>
public readonly record struct FormatVersion(int Major, int Minor)
{
    /// <summary>The version this library writes.</summary>
    public static readonly FormatVersion Current = new(1, 3);

    /// <summary>The version of an image without the label.</summary>
    public static readonly FormatVersion Unlabelled = new(1, 0);

    /// <summary>The label value.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Major}.{Minor}");

    /// <summary>The version an image's config labels declare (<see cref="Unlabelled"/> without the label).</summary>
    /// <exception cref="InvalidDataException">The label is not <c>MAJOR.MINOR</c>.</exception>
    public static FormatVersion Of(IReadOnlyDictionary<string, string> labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        if (!labels.TryGetValue(ImageLabelKeys.Format, out var text))
        {
            return Unlabelled;
        }

        var dot = text.IndexOf('.', StringComparison.Ordinal);
        return dot > 0
            && int.TryParse(text.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out var major)
            && int.TryParse(text.AsSpan(dot + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var minor)
                ? new FormatVersion(major, minor)
                : throw new InvalidDataException($"label {ImageLabelKeys.Format} is '{text}', not MAJOR.MINOR");
    }

    /// <summary>
    /// The version an image declares, checked to be one this library reads: any minor
    /// version of <see cref="Current"/>'s major, or an older major.
    /// </summary>
    /// <exception cref="InvalidDataException">The image is of a newer major version, or the label is malformed.</exception>
    public static FormatVersion EnsureReadable(IReadOnlyDictionary<string, string> labels)
    {
        var version = Of(labels);
        return version.Major <= Current.Major
            ? version
            : throw new InvalidDataException(
                $"the image is in format {version} (label {ImageLabelKeys.Format}); this ostree-container reads format {Current.Major}.x: upgrade ostree-container");
    }
}
