using System.Text.Json;
using System.Text.Json.Serialization;
using OstreeContainer.Ostree.Objects;

namespace OstreeContainer.ObjectMap;

/// <summary>
/// Source-generated JSON for the object map's records (NativeAOT- and trim-safe): camelCase
/// names, checksums as 64 lowercase hex characters, xattr values as base64, entry types
/// as <c>file</c>/<c>symlink</c>/<c>dir</c>. The repo webserver serialises its responses
/// through <see cref="JsonSerializerContext.Options"/> of <see cref="Default"/>.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    Converters = [typeof(ChecksumJsonConverter)])]
[JsonSerializable(typeof(ObjectMapEntry))]
[JsonSerializable(typeof(IReadOnlyList<ObjectMapEntry>))]
[JsonSerializable(typeof(ObjectMapCommit))]
[JsonSerializable(typeof(IReadOnlyList<ObjectMapCommit>))]
[JsonSerializable(typeof(ObjectMapDiff))]
[JsonSerializable(typeof(CommitPath))]
[JsonSerializable(typeof(IReadOnlyList<CommitPath>))]
[JsonSerializable(typeof(IReadOnlyList<Xattr>))]
public sealed partial class ObjectMapJsonContext : JsonSerializerContext;

/// <summary>A <see cref="Checksum"/> as its 64-character lowercase hex string.</summary>
public sealed class ChecksumJsonConverter : JsonConverter<Checksum>
{
    /// <inheritdoc/>
    public override Checksum Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.String && Checksum.TryParse(reader.GetString(), out var checksum)
            ? checksum
            : throw new JsonException("expected a checksum (64 lowercase hex characters)");

    /// <inheritdoc/>
    public override void Write(Utf8JsonWriter writer, Checksum value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        Span<char> hex = stackalloc char[Checksum.HexLength];
        Convert.TryToHexStringLower(value.Bytes, hex, out _);
        writer.WriteStringValue(hex);
    }
}
