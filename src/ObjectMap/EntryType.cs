using System.Text.Json.Serialization;

namespace OstreeContainer.ObjectMap;

/// <summary>What a path in a commit is. Stored in the map as the text in <see cref="JsonStringEnumMemberNameAttribute"/>.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<EntryType>))]
public enum EntryType
{
    /// <summary>A regular file: a content object.</summary>
    [JsonStringEnumMemberName("file")]
    File,

    /// <summary>A symbolic link: a content object with a target and no data.</summary>
    [JsonStringEnumMemberName("symlink")]
    Symlink,

    /// <summary>A directory: a dirtree (its entries) and a dirmeta (its owner, mode, xattrs).</summary>
    [JsonStringEnumMemberName("dir")]
    Directory,
}
