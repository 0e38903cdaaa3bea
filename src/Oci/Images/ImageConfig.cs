using System.Text.Json.Serialization;

namespace OstreeContainer.Oci.Images;

/// <summary>
/// The image configuration (image-spec config.md). Field names are the spec's, including
/// the capitalised ones inside <c>config</c> inherited from Docker.
/// </summary>
public sealed record ImageConfig
{
    /// <summary>RFC 3339 creation time; we write the commit's timestamp, never the clock.</summary>
    [JsonPropertyName("created")]
    public string? Created { get; init; }

    /// <summary>Author of the image.</summary>
    [JsonPropertyName("author")]
    public string? Author { get; init; }

    /// <summary>CPU architecture (GOARCH).</summary>
    [JsonPropertyName("architecture")]
    public required string Architecture { get; init; }

    /// <summary>Operating system (GOOS).</summary>
    [JsonPropertyName("os")]
    public required string Os { get; init; }

    /// <summary>CPU variant.</summary>
    [JsonPropertyName("variant")]
    public string? Variant { get; init; }

    /// <summary>Runtime defaults for a container.</summary>
    [JsonPropertyName("config")]
    public ContainerConfig? Config { get; init; }

    /// <summary>The layers' uncompressed digests.</summary>
    [JsonPropertyName("rootfs")]
    public required RootFs RootFs { get; init; }

    /// <summary>One entry per layer (plus empty-layer entries).</summary>
    [JsonPropertyName("history")]
    public IReadOnlyList<HistoryEntry>? History { get; init; }
}

/// <summary>The <c>config</c> object of an image configuration.</summary>
public sealed record ContainerConfig
{
    /// <summary>User (name or uid[:gid]).</summary>
    [JsonPropertyName("User")]
    public string? User { get; init; }

    /// <summary>Ports as <c>port/proto</c> keys with empty objects as values.</summary>
    [JsonPropertyName("ExposedPorts")]
    public SortedDictionary<string, EmptyObject>? ExposedPorts { get; init; }

    /// <summary><c>NAME=value</c> entries.</summary>
    [JsonPropertyName("Env")]
    public IReadOnlyList<string>? Env { get; init; }

    /// <summary>Entrypoint argv.</summary>
    [JsonPropertyName("Entrypoint")]
    public IReadOnlyList<string>? Entrypoint { get; init; }

    /// <summary>Default arguments.</summary>
    [JsonPropertyName("Cmd")]
    public IReadOnlyList<string>? Cmd { get; init; }

    /// <summary>Volumes as keys with empty objects as values.</summary>
    [JsonPropertyName("Volumes")]
    public SortedDictionary<string, EmptyObject>? Volumes { get; init; }

    /// <summary>Working directory.</summary>
    [JsonPropertyName("WorkingDir")]
    public string? WorkingDir { get; init; }

    /// <summary>Labels, in ordinal key order.</summary>
    [JsonPropertyName("Labels")]
    public SortedDictionary<string, string>? Labels { get; init; }

    /// <summary>Stop signal.</summary>
    [JsonPropertyName("StopSignal")]
    public string? StopSignal { get; init; }
}

/// <summary>The <c>rootfs</c> object: layer diff IDs, base first.</summary>
public sealed record RootFs
{
    /// <summary>Always <c>layers</c>.</summary>
    [JsonPropertyName("type")]
    public string Type { get; init; } = "layers";

    /// <summary>sha256 of each layer's uncompressed tar.</summary>
    [JsonPropertyName("diff_ids")]
    public required IReadOnlyList<Digest> DiffIds { get; init; }
}

/// <summary>One <c>history</c> entry.</summary>
public sealed record HistoryEntry
{
    /// <summary>RFC 3339 time.</summary>
    [JsonPropertyName("created")]
    public string? Created { get; init; }

    /// <summary>What made the layer.</summary>
    [JsonPropertyName("created_by")]
    public string? CreatedBy { get; init; }

    /// <summary>Author.</summary>
    [JsonPropertyName("author")]
    public string? Author { get; init; }

    /// <summary>Free-text comment.</summary>
    [JsonPropertyName("comment")]
    public string? Comment { get; init; }

    /// <summary>True when the entry made no layer.</summary>
    [JsonPropertyName("empty_layer")]
    public bool? EmptyLayer { get; init; }
}

/// <summary>The <c>{}</c> value of ExposedPorts and Volumes entries.</summary>
public sealed record EmptyObject;
