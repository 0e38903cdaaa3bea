using System.Globalization;

namespace OstreeContainer.ImageFormat;

/// <summary>
/// The value of config label <see cref="ImageLabelKeys.RepoLayers"/>: the 0-based indexes
/// (into the manifest's layers and <c>rootfs.diff_ids</c>) of the layers that are not tree
/// layers, comma-separated, ascending, e.g. <c>3,4,5</c>.
/// </summary>
public static class RepoLayersLabel
{
    /// <summary>The label value for <paramref name="indexes"/>.</summary>
    public static string Format(IEnumerable<int> indexes)
    {
        ArgumentNullException.ThrowIfNull(indexes);
        return string.Join(",", indexes.Select(i => i.ToString(CultureInfo.InvariantCulture)));
    }

    /// <summary>Parses a label value naming layers of an image with <paramref name="layerCount"/> layers.</summary>
    /// <exception cref="InvalidDataException">A part is not a layer index below <paramref name="layerCount"/>.</exception>
    public static HashSet<int> Parse(string text, int layerCount)
    {
        ArgumentNullException.ThrowIfNull(text);
        var result = new HashSet<int>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var index) || index >= layerCount)
            {
                throw new InvalidDataException($"label {ImageLabelKeys.RepoLayers} is '{text}': '{part}' is not a layer index below {layerCount}");
            }

            result.Add(index);
        }

        return result;
    }
}
