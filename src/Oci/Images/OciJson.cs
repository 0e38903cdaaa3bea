using System.Text.Json;
using System.Text.Json.Serialization;

namespace OstreeContainer.Oci.Images;

/// <summary>
/// Canonical JSON for the image documents. Our own documents are serialised once, with
/// properties in declaration order, sorted maps, no indentation and nulls left out, so
/// the same input always gives the same bytes and digest. Received documents keep their
/// raw bytes (their digest is over those bytes); these models are only a parsed view.
/// </summary>
public static class OciJson
{
    /// <summary>Largest manifest, index or config accepted into memory (distribution-spec suggests 4 MiB).</summary>
    public const int MaxDocumentBytes = 4 * 1024 * 1024;

    // Media types hold '+'; the default encoder would write it as \u002B, which is valid
    // JSON but not what any other tool writes. Nothing here is embedded in HTML.
    private static readonly OciJsonContext Context = new(new JsonSerializerOptions
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        RespectRequiredConstructorParameters = true,
    });

    /// <summary>Serialises a manifest canonically.</summary>
    public static byte[] Serialize(ImageManifest manifest) =>
        JsonSerializer.SerializeToUtf8Bytes(manifest, Context.ImageManifest);

    /// <summary>Serialises an index canonically.</summary>
    public static byte[] Serialize(ImageIndex index) =>
        JsonSerializer.SerializeToUtf8Bytes(index, Context.ImageIndex);

    /// <summary>Serialises a config canonically.</summary>
    public static byte[] Serialize(ImageConfig config) =>
        JsonSerializer.SerializeToUtf8Bytes(config, Context.ImageConfig);

    /// <summary>Parses a manifest.</summary>
    /// <exception cref="InvalidDataException">Not a valid manifest.</exception>
    public static ImageManifest ParseManifest(ReadOnlySpan<byte> json) =>
        Parse(json, Context.ImageManifest, "image manifest");

    /// <summary>Parses an index or manifest list.</summary>
    /// <exception cref="InvalidDataException">Not a valid index.</exception>
    public static ImageIndex ParseIndex(ReadOnlySpan<byte> json) =>
        Parse(json, Context.ImageIndex, "image index");

    /// <summary>Parses an image config.</summary>
    /// <exception cref="InvalidDataException">Not a valid config.</exception>
    public static ImageConfig ParseConfig(ReadOnlySpan<byte> json) =>
        Parse(json, Context.ImageConfig, "image config");

    /// <summary>
    /// The <c>mediaType</c> field of a manifest or index, or null when absent (old OCI
    /// documents may omit it; callers then tell them apart by <c>manifests</c>/<c>layers</c>).
    /// </summary>
    public static string? PeekMediaType(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            if (root.TryGetProperty("mediaType", out var mediaType) && mediaType.ValueKind == JsonValueKind.String)
            {
                return mediaType.GetString();
            }

            return root.TryGetProperty("manifests", out _) ? MediaTypes.OciIndex
                : root.TryGetProperty("layers", out _) ? MediaTypes.OciManifest
                : null;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"not JSON: {e.Message}", e);
        }
    }

    private static T Parse<T>(ReadOnlySpan<byte> json, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, string what)
    {
        if (json.Length > MaxDocumentBytes)
        {
            throw new InvalidDataException($"{what} is {json.Length} bytes, more than the {MaxDocumentBytes}-byte limit");
        }

        try
        {
            return JsonSerializer.Deserialize(json, type)
                ?? throw new InvalidDataException($"{what} is JSON null");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"invalid {what}: {e.Message}", e);
        }
    }
}

/// <summary>Source-generated serialisers for the image documents (NativeAOT-safe).</summary>
[JsonSourceGenerationOptions(
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    RespectRequiredConstructorParameters = true,
    AllowTrailingCommas = false,
    ReadCommentHandling = JsonCommentHandling.Disallow)]
[JsonSerializable(typeof(ImageManifest))]
[JsonSerializable(typeof(ImageIndex))]
[JsonSerializable(typeof(ImageConfig))]
internal sealed partial class OciJsonContext : JsonSerializerContext;
