using System.Text.Json;
using System.Text.Json.Serialization;
using OstreeContainer.Oci;

namespace OstreeContainer.ImagePuller;

/// <summary>
/// What the last successful pull into a ref imported, kept in
/// <c>state/ostree-container/REF.json</c> of the target repo (commit metadata is immutable,
/// so it cannot live there): the manifest digest, the commit, and the digests of the
/// layers whose objects were all imported. Written after the ref moves; a stale or missing
/// file only costs a refetch, never trust — every object is still checked on import and
/// the commit's tree is checked for completeness before the ref moves.
/// </summary>
public sealed record PullState
{
    /// <summary>The state directory under the repo.</summary>
    public const string DirectoryName = "state/ostree-container";

    /// <summary>Cap on a state file read into memory.</summary>
    public const int MaxFileBytes = 1024 * 1024;

    /// <summary>The image the ref was last pulled from.</summary>
    [JsonPropertyName("image")]
    public string? Image { get; init; }

    /// <summary>Digest of the manifest last imported.</summary>
    [JsonPropertyName("manifest")]
    public required string Manifest { get; init; }

    /// <summary>The commit the ref was set to.</summary>
    [JsonPropertyName("commit")]
    public required string Commit { get; init; }

    /// <summary>Layer digests whose objects are all in the repo.</summary>
    [JsonPropertyName("layers")]
    public required IReadOnlyList<string> Layers { get; init; }

    /// <summary>The layer-chain refs of a derived or plain image's layers (<see cref="ImageImporter.ChainRefPrefix"/>), bottom first.</summary>
    [JsonPropertyName("chains")]
    public IReadOnlyList<string>? Chains { get; init; }

    /// <summary>The state file of <paramref name="refName"/> in <paramref name="repoPath"/>.</summary>
    public static string FilePath(string repoPath, string refName) =>
        Path.Combine(repoPath, DirectoryName, refName.Replace('/', '%') + ".json");

    /// <summary>Reads the state of <paramref name="refName"/>, or null when there is none or it is unreadable.</summary>
    public static PullState? TryLoad(string repoPath, string refName)
    {
        var path = FilePath(repoPath, refName);
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists || info.Length > MaxFileBytes)
            {
                return null;
            }

            return JsonSerializer.Deserialize(File.ReadAllBytes(path), PullStateJsonContext.Default.PullState);
        }
        catch (JsonException)
        {
            // A damaged state file means "nothing known": the next pull fetches everything.
            return null;
        }
    }

    /// <summary>The imported layer digests as a set.</summary>
    public HashSet<Digest> LayerSet() =>
        [.. Layers.Select(l => Digest.TryParse(l, out var d) ? d : default).Where(d => !d.IsEmpty)];

    /// <summary>Writes the state of <paramref name="refName"/> atomically.</summary>
    public void Save(string repoPath, string refName)
    {
        var path = FilePath(repoPath, refName);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = path + $".tmp-{Guid.NewGuid():N}";
        try
        {
            File.WriteAllBytes(temp, JsonSerializer.SerializeToUtf8Bytes(this, PullStateJsonContext.Default.PullState));
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }
    }
}

[JsonSerializable(typeof(PullState))]
[JsonSourceGenerationOptions(WriteIndented = true)]
internal sealed partial class PullStateJsonContext : JsonSerializerContext;
