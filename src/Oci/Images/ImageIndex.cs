using System.Text.Json.Serialization;

namespace OstreeContainer.Oci.Images;

/// <summary>
/// An image index (image-spec image-index.md), also the <c>index.json</c> of an image
/// layout; reads Docker manifest lists too.
/// </summary>
public sealed record ImageIndex
{
    /// <summary>Always 2.</summary>
    [JsonPropertyName("schemaVersion")]
    public int SchemaVersion { get; init; } = 2;

    /// <summary><see cref="MediaTypes.OciIndex"/> or <see cref="MediaTypes.DockerManifestList"/>.</summary>
    [JsonPropertyName("mediaType")]
    public string? MediaType { get; init; }

    /// <summary>The manifests listed.</summary>
    [JsonPropertyName("manifests")]
    public required IReadOnlyList<Descriptor> Manifests { get; init; }

    /// <summary>Annotations, in ordinal key order.</summary>
    [JsonPropertyName("annotations")]
    public SortedDictionary<string, string>? Annotations { get; init; }
}
