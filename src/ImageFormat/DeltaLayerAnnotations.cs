using System.Globalization;
using OstreeContainer.Oci.Images;

namespace OstreeContainer.ImageFormat;

/// <summary>
/// What a delta layer's descriptor says about the static delta inside it, so a puller can
/// choose a delta from the manifest alone: the commit it starts from (null: from scratch),
/// the commit it ends at, and the delta's size (superblock plus part files, in bytes).
/// </summary>
/// <param name="From">The from-commit checksum (64 lower-case hex digits), or null for a from-scratch delta.</param>
/// <param name="To">The to-commit checksum (the image's commit).</param>
/// <param name="Size">Bytes of the delta's files (superblock and parts) as the layer holds them.</param>
public sealed record DeltaLayerInfo(string? From, string To, long Size)
{
    /// <summary>The delta's name as ostree spells it: <c>FROM-TO</c>, or <c>TO</c> from scratch.</summary>
    public override string ToString() => From is null ? To : $"{From}-{To}";
}

/// <summary>
/// The annotations of a delta layer (format 1.1): <see cref="ImageAnnotationKeys.DeltaFrom"/>,
/// <see cref="ImageAnnotationKeys.DeltaTo"/> and <see cref="ImageAnnotationKeys.DeltaSize"/>.
/// Written beside <c>ostree.container.layer=delta</c> by the builder, read by the puller.
/// Delta layers of format 1.0 images carry none of them and are never applied by a puller.
/// </summary>
public static class DeltaLayerAnnotations
{
    /// <summary>The value of <see cref="ImageAnnotationKeys.DeltaFrom"/> for a from-scratch delta.</summary>
    public const string Empty = "empty";

    /// <summary>The annotations describing <paramref name="delta"/> (to add to the layer's descriptor).</summary>
    public static IEnumerable<KeyValuePair<string, string>> Create(DeltaLayerInfo delta)
    {
        ArgumentNullException.ThrowIfNull(delta);
        yield return KeyValuePair.Create(ImageAnnotationKeys.DeltaFrom, delta.From ?? Empty);
        yield return KeyValuePair.Create(ImageAnnotationKeys.DeltaTo, delta.To);
        yield return KeyValuePair.Create(ImageAnnotationKeys.DeltaSize, delta.Size.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// The delta a layer descriptor describes, or null when it carries none of the delta
    /// annotations (a format 1.0 delta layer, or any other layer).
    /// </summary>
    /// <exception cref="InvalidDataException">Some but not all are present, or a value is malformed.</exception>
    public static DeltaLayerInfo? Read(Descriptor layer)
    {
        ArgumentNullException.ThrowIfNull(layer);
        var from = layer.Annotation(ImageAnnotationKeys.DeltaFrom);
        var to = layer.Annotation(ImageAnnotationKeys.DeltaTo);
        var size = layer.Annotation(ImageAnnotationKeys.DeltaSize);
        if (from is null && to is null && size is null)
        {
            return null;
        }

        if (from is null || to is null || size is null)
        {
            throw new InvalidDataException(
                $"layer {layer.Digest} has only some of the annotations {ImageAnnotationKeys.DeltaFrom}, {ImageAnnotationKeys.DeltaTo} and {ImageAnnotationKeys.DeltaSize}");
        }

        if (from != Empty && !IsChecksum(from))
        {
            throw new InvalidDataException($"layer {layer.Digest}: annotation {ImageAnnotationKeys.DeltaFrom} is '{from}', neither a commit checksum nor '{Empty}'");
        }

        if (!IsChecksum(to))
        {
            throw new InvalidDataException($"layer {layer.Digest}: annotation {ImageAnnotationKeys.DeltaTo} is '{to}', not a commit checksum");
        }

        if (!long.TryParse(size, NumberStyles.None, CultureInfo.InvariantCulture, out var bytes))
        {
            throw new InvalidDataException($"layer {layer.Digest}: annotation {ImageAnnotationKeys.DeltaSize} is '{size}', not a byte count");
        }

        return new DeltaLayerInfo(from == Empty ? null : from, to, bytes);
    }

    private static bool IsChecksum(string text) => text.Length == 64 && text.All(c => c is (>= '0' and <= '9') or (>= 'a' and <= 'f'));
}
