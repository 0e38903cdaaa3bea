using System.Buffers.Binary;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Summaries;

namespace OstreeContainer.Ostree.Tests.Summaries;

/// <summary><see cref="SummaryBuilder"/> reproduces <c>ostree summary -u</c> byte for byte and validates its inputs.</summary>
public class SummaryBuilderTests
{
    [Theory]
    [MemberData(nameof(TestRepos.Both), MemberType = typeof(TestRepos))]
    public void Build_SameInputsAndTimeAsOstree_IsByteIdentical(string which)
    {
        var repo = TestRepos.Path(which);
        var data = File.ReadAllBytes(Path.Combine(repo, "summary"));
        var lastModified = Summary.Parse(data).LastModified!.Value;

        var built = TestRepos.BuilderLikeOstree(repo, lastModified).Build().Serialize();

        Assert.Equal(data, built);
    }

    [Fact]
    public void Build_SixteenDeltasLikeOstreeSummaryU_SummaryIsByteIdenticalAndIndexesEqual()
    {
        // 16 delta names force the GLib hash table through several resizes, so this checks
        // the ported bucket order, not just the 5-key metadata dictionary.
        var fx = Fixtures.SmallRepo;
        var repo = TestRepos.Copy(fx.ArchiveRepo, "summary-many");
        string[] commits = [fx.Commit1, fx.Commit2, fx.CommitWide, .. fx.CommitXattr is { } x ? new[] { x } : []];
        foreach (var to in commits.Where(c => c != fx.Commit2))
        {
            Peer.Ostree(repo, "static-delta", "generate", "--empty", $"--to={to}");
        }

        foreach (var from in commits)
        {
            foreach (var to in commits.Where(to => to != from && !(from == fx.Commit1 && to == fx.Commit2)))
            {
                Peer.Ostree(repo, "static-delta", "generate", $"--from={from}", $"--to={to}");
            }
        }

        Peer.Ostree(repo, "summary", "-u");
        var expected = File.ReadAllBytes(Path.Combine(repo, "summary"));
        var deltas = StaticDeltas.List(repo);

        var built = TestRepos.BuilderLikeOstree(repo, Summary.Parse(expected).LastModified!.Value).Build().Serialize();

        Assert.Equal(commits.Length * commits.Length, deltas.Count);
        Assert.Equal(expected, built);
        var indexes = DeltaIndex.CreateAll(deltas);
        Assert.Equal(commits.Length, indexes.Count);
        foreach (var (path, index) in indexes)
        {
            // Same entries; not compared byte for byte because ostree's own insertion order
            // for indexes depends on heap addresses (see DeltaIndex.Create).
            var written = DeltaIndex.Parse(File.ReadAllBytes(Path.Combine(repo, path)));
            Assert.Equal(Sorted(written.Deltas), Sorted(index.Deltas));
        }
    }

    [Fact]
    public void Build_NoDeltasAndTombstonesEnabled_IsByteIdenticalToOstree()
    {
        var repo = TestRepos.Copy(Fixtures.SmallRepo.ArchiveRepo, "summary-nodeltas");
        Directory.Delete(Path.Combine(repo, "deltas"), recursive: true);
        Peer.Ostree(repo, "config", "set", "core.tombstone-commits", "true");
        Peer.Ostree(repo, "summary", "-u");
        var expected = File.ReadAllBytes(Path.Combine(repo, "summary"));
        var parsed = Summary.Parse(expected);

        var builder = TestRepos.BuilderLikeOstree(repo, parsed.LastModified!.Value);
        builder.TombstoneCommits = true;

        Assert.Empty(parsed.StaticDeltas);
        Assert.True(parsed.TombstoneCommits);
        Assert.Equal(expected, builder.Build().Serialize());
    }

    [Fact]
    public void Build_WithoutExplicitTime_UsesTheTimeProvider()
    {
        var now = new DateTimeOffset(2031, 5, 6, 7, 8, 9, TimeSpan.Zero);
        var summary = new SummaryBuilder("archive-z2", new FixedTimeProvider(now)).Build();

        Assert.Equal(now, summary.LastModified);
        Assert.Empty(summary.Refs);
        var raw = (ulong)summary.Metadata[SummaryFormats.LastModifiedKey]!.Value;
        Assert.Equal((ulong)now.ToUnixTimeSeconds(), BinaryPrimitives.ReverseEndianness(raw));
    }

    [Fact]
    public void Build_ExpiresAndCollections_RoundTripThroughParse()
    {
        var fx = Fixtures.SmallRepo;
        var c1 = Checksum.Parse(fx.Commit1);
        var c2 = Checksum.Parse(fx.Commit2);
        var c1Bytes = TestRepos.CommitObject(fx.ArchiveRepo, c1);
        var c2Bytes = TestRepos.CommitObject(fx.ArchiveRepo, c2);
        var expires = new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var builder = new SummaryBuilder("archive-z2") { LastModified = expires.AddDays(-1), CollectionId = "org.example.Main" }
            .SetExpires(expires)
            .AddRef("main/b", c2, c2Bytes)
            .AddCollectionRef("org.example.Main", "main/a", c1, c1Bytes)
            .AddCollectionRef("org.example.Zed", "z", c1, c1Bytes)
            .AddCollectionRef("org.example.Other", "y", c2, c2Bytes)
            .AddCollectionRef("org.example.Other", "x", c1, c1Bytes);

        var parsed = Summary.Parse(builder.Build().Serialize());

        Assert.Equal(expires, parsed.Expires);
        Assert.Equal("org.example.Main", parsed.CollectionId);
        Assert.Equal(["main/a", "main/b"], parsed.Refs.Select(r => r.Name));
        Assert.Equal(["org.example.Other", "org.example.Zed"], parsed.CollectionMap.Select(c => c.CollectionId));
        Assert.Equal(["x", "y"], parsed.CollectionMap[0].Refs.Select(r => r.Name));
        Assert.Equal(c2, parsed.CollectionMap[0].Refs[1].Checksum);
    }

    [Fact]
    public void AddRef_BytesOfAnotherCommit_ThrowsNamingTheRef()
    {
        var fx = Fixtures.SmallRepo;
        var builder = new SummaryBuilder("archive-z2");

        var e = Assert.Throws<InvalidDataException>(() => builder.AddRef("fixture/main", Checksum.Parse(fx.Commit2), TestRepos.CommitObject(fx.ArchiveRepo, Checksum.Parse(fx.Commit1))));

        Assert.StartsWith("ref 'fixture/main': commit object hashes to a8cbbee6", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("/leading")]
    [InlineData("trailing/")]
    [InlineData("a//b")]
    [InlineData("-dash-first")]
    [InlineData("has space")]
    [InlineData("remote:ref")]
    public void AddRef_InvalidName_ThrowsArgumentException(string name)
    {
        var fx = Fixtures.SmallRepo;
        var c1 = Checksum.Parse(fx.Commit1);

        Assert.Throws<ArgumentException>(() => new SummaryBuilder("archive-z2").AddRef(name, c1, TestRepos.CommitObject(fx.ArchiveRepo, c1)));
    }

    [Fact]
    public void AddRef_SameNameTwice_ThrowsArgumentException()
    {
        var fx = Fixtures.SmallRepo;
        var c1 = Checksum.Parse(fx.Commit1);
        var bytes = TestRepos.CommitObject(fx.ArchiveRepo, c1);
        var builder = new SummaryBuilder("archive-z2").AddRef("a", c1, bytes);

        Assert.Throws<ArgumentException>(() => builder.AddRef("a", c1, bytes));
    }

    private static List<string> Sorted(IEnumerable<DeltaDigest> deltas) =>
        deltas.Select(d => $"{d.Name} {d.SuperblockDigest}").Order(StringComparer.Ordinal).ToList();

    private sealed class FixedTimeProvider(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
