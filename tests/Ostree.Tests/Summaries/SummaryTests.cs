using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Summaries;

namespace OstreeContainer.Ostree.Tests.Summaries;

/// <summary>Summaries written by the real <c>ostree summary -u</c> parse, re-serialise and are reproduced byte for byte.</summary>
public class SummaryTests
{
    [Theory]
    [MemberData(nameof(TestRepos.Both), MemberType = typeof(TestRepos))]
    public void Parse_OstreeSummary_RefsMatchOstreeRefsAndCommitFiles(string which)
    {
        var repo = TestRepos.Path(which);
        var summary = Summary.Parse(File.ReadAllBytes(Path.Combine(repo, "summary")));

        var listed = Peer.Ostree(repo, "refs").Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal);
        Assert.Equal(listed, summary.Refs.Select(r => r.Name));
        foreach (var r in summary.Refs)
        {
            Assert.Equal(Peer.Ostree(repo, "rev-parse", r.Name).Trim(), r.Checksum.ToString());
            var commitFile = TestRepos.ObjectPath(repo, r.Checksum, "commit");
            Assert.Equal((ulong)new FileInfo(commitFile).Length, r.CommitSize);
            var commit = Commit.Parse(File.ReadAllBytes(commitFile));
            Assert.Equal(commit.Timestamp, r.Timestamp);
            Assert.Equal(commit.Version, r.Version);
        }

        Assert.Equal("archive-z2", summary.Mode);
        Assert.False(summary.TombstoneCommits);
        Assert.True(summary.IndexedDeltas);
        Assert.Null(summary.Expires);
        Assert.Null(summary.CollectionId);
        Assert.Empty(summary.CollectionMap);
        Assert.InRange(summary.LastModified!.Value, new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero), DateTimeOffset.UtcNow.AddMinutes(5));
    }

    [Theory]
    [MemberData(nameof(TestRepos.Both), MemberType = typeof(TestRepos))]
    public void Parse_OstreeSummary_DeltaDigestsAreSha256OfSuperblockFiles(string which)
    {
        var repo = TestRepos.Path(which);
        var summary = Summary.Parse(File.ReadAllBytes(Path.Combine(repo, "summary")));

        var deltas = Peer.Ostree(repo, "static-delta", "list").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.NotEmpty(deltas);
        Assert.Equal(deltas.Order(StringComparer.Ordinal), summary.StaticDeltas.Select(d => d.Name.ToString()).Order(StringComparer.Ordinal));
        foreach (var d in summary.StaticDeltas)
        {
            Assert.Equal(TestRepos.Sha256File(Path.Combine(repo, d.Name.SuperblockPath)), d.SuperblockDigest);
        }
    }

    [Fact]
    public void Parse_FixtureSummary_MatchesTheAnnotatedBytesOfTheSpec()
    {
        var data = File.ReadAllBytes(Path.Combine(Fixtures.SmallRepo.ArchiveRepo, "summary"));
        var main = Summary.Parse(data).FindRef("fixture/main")!;

        // ostree-format.md §7: size 190 at 0x10 little-endian, timestamp 1704153600 big-endian.
        Assert.Equal([0xbe, 0, 0, 0, 0, 0, 0, 0], data[0x10..0x18]);
        Assert.Equal(190UL, main.CommitSize);
        Assert.Equal(1704153600UL, main.Timestamp);
        Assert.Equal("2.0", main.Version);
        Assert.Equal(Fixtures.SmallRepo.Commit2, main.Checksum.ToString());
    }

    [Theory]
    [MemberData(nameof(TestRepos.Both), MemberType = typeof(TestRepos))]
    public void Serialize_ParsedOstreeSummary_IsByteIdentical(string which)
    {
        var data = File.ReadAllBytes(Path.Combine(TestRepos.Path(which), "summary"));

        Assert.Equal(data, Summary.Parse(data).Serialize());
    }

    [Fact]
    public void FindRef_ByteWiseOrder_FindsEveryRefAndNothingElse()
    {
        var fx = Fixtures.SmallRepo;
        var c1 = Checksum.Parse(fx.Commit1);
        var bytes = TestRepos.CommitObject(fx.ArchiveRepo, c1);
        // Byte order puts "Z" (0x5a) and "_" (0x5f) before "a"; the é ref sorts last.
        string[] names = ["b", "a/é", "a", "Z", "_x", "a-b", "a.b", "é"];
        var builder = new SummaryBuilder("archive-z2") { LastModified = DateTimeOffset.UnixEpoch };
        foreach (var n in names)
        {
            builder.AddRef(n, c1, bytes);
        }

        var summary = Summary.Parse(builder.Build().Serialize());

        Assert.Equal(["Z", "_x", "a", "a-b", "a.b", "a/é", "b", "é"], summary.Refs.Select(r => r.Name));
        Assert.All(names, n => Assert.Equal(n, summary.FindRef(n)?.Name));
        Assert.Null(summary.FindRef("a/"));
        Assert.Null(summary.FindRef("c"));
    }
}
