using System.Text.Json.Serialization;

namespace OstreeContainer.Oci.Images;

/// <summary>
/// A content descriptor (image-spec descriptor.md): what a blob is, its digest and size,
/// and optional annotations and platform.
/// </summary>
public sealed record Descriptor
{
    /// <summary>Media type of the referenced content.</summary>
    [JsonPropertyName("mediaType")]
    public required string MediaType { get; init; }

    /// <summary>Digest of the referenced bytes.</summary>
    [JsonPropertyName("digest")]
    public required Digest Digest { get; init; }

    /// <summary>Size of the referenced bytes.</summary>
    [JsonPropertyName("size")]
    public required long Size { get; init; }

    /// <summary>Alternate download locations (foreign layers); never written by us.</summary>
    [JsonPropertyName("urls")]
    public IReadOnlyList<string>? Urls { get; init; }

    /// <summary>Annotations, in ordinal key order.</summary>
    [JsonPropertyName("annotations")]
    public SortedDictionary<string, string>? Annotations { get; init; }

    /// <summary>The platform of a manifest listed in an index.</summary>
    [JsonPropertyName("platform")]
    public Platform? Platform { get; init; }

    /// <summary>The artifact type of a manifest listed in an index.</summary>
    [JsonPropertyName("artifactType")]
    public string? ArtifactType { get; init; }

    /// <summary>The value of annotation <paramref name="key"/>, or null.</summary>
    public string? Annotation(string key) =>
        Annotations is not null && Annotations.TryGetValue(key, out var value) ? value : null;
}
