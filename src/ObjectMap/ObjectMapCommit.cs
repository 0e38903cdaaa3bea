using System.Text.Json;
using OstreeContainer.Ostree.Objects;

namespace OstreeContainer.ObjectMap;

/// <summary>A commit the object map covers.</summary>
/// <param name="Checksum">The commit checksum.</param>
/// <param name="Refs">The refs it was built from or that pointed at it in the repo, sorted; may be empty.</param>
/// <param name="Subject">The commit subject.</param>
/// <param name="Body">The commit body.</param>
/// <param name="Timestamp">The commit time.</param>
/// <param name="Version">The <c>version</c> metadata, if any.</param>
/// <param name="Parent">The parent commit, if any.</param>
/// <param name="RootDirTree">Checksum of the root dirtree.</param>
/// <param name="RootDirMeta">Checksum of the root dirmeta.</param>
/// <param name="Metadata">The commit metadata (<c>a{sv}</c>) as a JSON object; see the README for the mapping.</param>
public sealed record ObjectMapCommit(
    Checksum Checksum,
    IReadOnlyList<string> Refs,
    string Subject,
    string Body,
    DateTimeOffset Timestamp,
    string? Version,
    Checksum? Parent,
    Checksum RootDirTree,
    Checksum RootDirMeta,
    JsonElement Metadata);
