using System.Text.Json.Serialization;

namespace OstreeContainer.Oci.Images;

/// <summary>
/// An image manifest (image-spec manifest.md); also reads Docker v2s2 manifests, which
/// share this shape with Docker media types.
/// </summary>
public sealed record ImageManifest
{
    /// <summary>Always 2.</summary>
    [JsonPropertyName("schemaVersion")]
    public int SchemaVersion { get; init; } = 2;

    /// <summary><see cref="MediaTypes.OciManifest"/> or <see cref="MediaTypes.DockerManifest"/>.</summary>
    [JsonPropertyName("mediaType")]
    public string? MediaType { get; init; }

    /// <summary>Artifact type; unset for images.</summary>
    [JsonPropertyName("artifactType")]
    public string? ArtifactType { get; init; }

    /// <summary>The image config blob.</summary>
    [JsonPropertyName("config")]
    public required Descriptor Config { get; init; }

    /// <summary>Layers, base first.</summary>
    [JsonPropertyName("layers")]
    public required IReadOnlyList<Descriptor> Layers { get; init; }

    /// <summary>Manifest this one refers to (referrers API); unset for images.</summary>
    [JsonPropertyName("subject")]
    public Descriptor? Subject { get; init; }

    /// <summary>Annotations, in ordinal key order.</summary>
    [JsonPropertyName("annotations")]
    public SortedDictionary<string, string>? Annotations { get; init; }
}
