using System.Text.Json;
using OstreeContainer.Ostree.Objects;

namespace OstreeContainer.ObjectMap.Tests;

public class ObjectMapJsonContextTests
{
    private static readonly Checksum A = Checksum.Compute("a"u8);
    private static readonly Checksum B = Checksum.Compute("b"u8);

    [Fact]
    public void Serialize_DirectoryEntry_UsesCamelCaseHexChecksumsAndTypeNames()
    {
        var entry = new ObjectMapEntry(A, "/usr", EntryType.Directory, B, A, StatMode.Directory | 0x1ED, 0, 0, 0, null, [new Xattr("user.x", [1, 2])]);

        var json = JsonSerializer.Serialize(entry, ObjectMapJsonContext.Default.ObjectMapEntry);

        Assert.Equal(
            $$"""{"commit":"{{A}}","path":"/usr","type":"dir","checksum":"{{B}}","dirMeta":"{{A}}","mode":16877,"uid":0,"gid":0,"size":0,"symlinkTarget":null,"xattrs":[{"name":"user.x","value":"AQI="}]}""",
            json);
    }

    [Fact]
    public void Deserialize_SerializedEntry_RoundTrips()
    {
        var entry = new ObjectMapEntry(A, "/bin", EntryType.Symlink, B, null, StatMode.Symlink | 0x1FF, 1, 2, 0, "usr/bin", []);

        var back = JsonSerializer.Deserialize(JsonSerializer.Serialize(entry, ObjectMapJsonContext.Default.ObjectMapEntry), ObjectMapJsonContext.Default.ObjectMapEntry)!;

        Assert.Equal(entry, back with { Xattrs = entry.Xattrs });
        Assert.Empty(back.Xattrs);
    }

    [Fact]
    public void Deserialize_BadChecksum_ThrowsJsonException()
    {
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize("""{"commit":"xyz","path":"/"}""", ObjectMapJsonContext.Default.CommitPath));
    }

    [Fact]
    public void Serialize_MapCommitAndDiff_EmbedMetadataAsJson()
    {
        using var map = ObjectMapReader.Open(TestMaps.SmallMap);
        var commit = map.ResolveCommit("fixture/main");

        var json = JsonSerializer.Serialize(commit, ObjectMapJsonContext.Default.ObjectMapCommit);
        var diff = JsonSerializer.Serialize(map.Diff("fixture/v1", "fixture/main"), ObjectMapJsonContext.Default.ObjectMapDiff);

        Assert.Contains("\"metadata\":{\"version\":\"2.0\",\"ostree.ref-binding\":[\"fixture/main\"]}", json);
        Assert.Contains("\"timestamp\":\"2024-01-02T00:00:00+00:00\"", json);
        Assert.Contains("\"changed\":[\"/etc/hello.txt\"]", diff);
    }
}
