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

    /// <summary>
    /// The value of the config label <see cref="ImageLabelKeys.DeltaLayers"/> (format 1.3):
    /// one <c>DIFFID FROM TO SIZE</c> entry per delta layer, comma-separated, <c>FROM</c> being
    /// <see cref="Empty"/> from scratch. Tools that stack layers on an image keep its labels and
    /// may drop its layer annotations; this label lets a puller still find the deltas.
    /// </summary>
    public static string FormatLabel(IEnumerable<(Oci.Digest DiffId, DeltaLayerInfo Delta)> deltas)
    {
        ArgumentNullException.ThrowIfNull(deltas);
        return string.Join(',', deltas.Select(d => $"{d.DiffId} {d.Delta.From ?? Empty} {d.Delta.To} {d.Delta.Size.ToString(CultureInfo.InvariantCulture)}"));
    }

    /// <summary>
    /// <paramref name="layers"/> with the delta annotations (and <c>ostree.container.layer=delta</c>)
    /// put back on each layer that has no annotations of ours and whose diff ID the label
    /// <see cref="ImageLabelKeys.DeltaLayers"/> lists; other layers as they are.
    /// </summary>
    /// <exception cref="InvalidDataException">The label is malformed.</exception>
    public static IReadOnlyList<Descriptor> Restore(IReadOnlyList<Descriptor> layers, IReadOnlyList<Oci.Digest> diffIds, IReadOnlyDictionary<string, string> labels)
    {
        ArgumentNullException.ThrowIfNull(layers);
        ArgumentNullException.ThrowIfNull(diffIds);
        ArgumentNullException.ThrowIfNull(labels);
        if (!labels.TryGetValue(ImageLabelKeys.DeltaLayers, out var text) || text.Length == 0)
        {
            return layers;
        }

        var byDiffId = new Dictionary<Oci.Digest, DeltaLayerInfo>();
        foreach (var entry in text.Split(','))
        {
            var fields = entry.Split(' ');
            if (fields.Length != 4 || !Oci.Digest.TryParse(fields[0], out var diffId))
            {
                throw new InvalidDataException($"label {ImageLabelKeys.DeltaLayers}: entry '{entry}' is not 'DIFFID FROM TO SIZE'");
            }

            byDiffId[diffId] = Read(new Descriptor
            {
                MediaType = "label",
                Digest = diffId,
                Size = 0,
                Annotations = new SortedDictionary<string, string>(StringComparer.Ordinal)
                {
                    [ImageAnnotationKeys.DeltaFrom] = fields[1],
                    [ImageAnnotationKeys.DeltaTo] = fields[2],
                    [ImageAnnotationKeys.DeltaSize] = fields[3],
                },
            })!;
        }

        var result = new List<Descriptor>(layers.Count);
        for (var i = 0; i < layers.Count; i++)
        {
            var layer = layers[i];
            if (i < diffIds.Count && layer.Annotation(ImageAnnotationKeys.LayerKind) is null && byDiffId.TryGetValue(diffIds[i], out var delta))
            {
                var annotations = new SortedDictionary<string, string>(layer.Annotations ?? new SortedDictionary<string, string>(StringComparer.Ordinal), StringComparer.Ordinal)
                {
                    [ImageAnnotationKeys.LayerKind] = LayerKinds.ToAnnotation(LayerKind.Delta),
                };
                foreach (var (key, value) in Create(delta))
                {
                    annotations[key] = value;
                }

                layer = layer with { Annotations = annotations };
            }

            result.Add(layer);
        }

        return result;
    }

    private static bool IsChecksum(string text) => text.Length == 64 && text.All(c => c is (>= '0' and <= '9') or (>= 'a' and <= 'f'));
}
