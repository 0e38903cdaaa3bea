using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Summaries;

namespace OstreeContainer.Ostree.Tests.Summaries;

/// <summary>Summaries and delta indexes we write are read by the real <c>ostree</c> 2022.7.</summary>
public class SummaryInteropTests
{
    private static readonly DateTimeOffset When = new(2030, 1, 2, 3, 4, 5, TimeSpan.Zero);

    /// <summary>A copy of the fixture repo whose summary (and, if indexed, delta indexes) are ours.</summary>
    private static string ServeOurSummary(bool indexedDeltas, Func<SummaryBuilder, SummaryBuilder>? adjust = null)
    {
        var server = TestRepos.Copy(Fixtures.SmallRepo.ArchiveRepo, "summary-server");
        var deltas = StaticDeltas.List(server);
        var builder = TestRepos.BuilderLikeOstree(server, When);
        builder.IndexedDeltas = indexedDeltas;
        File.WriteAllBytes(Path.Combine(server, "summary"), (adjust ?? (b => b))(builder).Build().Serialize());
        Directory.Delete(Path.Combine(server, DeltaName.IndexesDirectory), recursive: true);
        if (indexedDeltas)
        {
            foreach (var (path, index) in DeltaIndex.CreateAll(deltas))
            {
                var file = Path.Combine(server, path);
                Directory.CreateDirectory(Path.GetDirectoryName(file)!);
                File.WriteAllBytes(file, index.Serialize());
            }
        }

        return server;
    }

    private static string Client(string server)
    {
        var client = Path.Combine(Fixtures.TempDirectory("summary-client"), "repo");
        // bare-user: archive clients never use deltas (ostree-format.md §8).
        Peer.Ostree(client, "init", "--mode=bare-user");
        Peer.Ostree(client, "remote", "add", "--no-gpg-verify", "origin", "file://" + server);
        return client;
    }

    [Fact]
    public void SummaryView_OurSummary_ShowsOurRefsAndTime()
    {
        var server = ServeOurSummary(indexedDeltas: true);

        var view = Peer.Ostree(server, "summary", "--view");

        Assert.Contains("Last-Modified (ostree.summary.last-modified): 2030-01-02T03:04:05+00", view, StringComparison.Ordinal);
        Assert.Contains($"Latest Commit (190 bytes):\n      {Fixtures.SmallRepo.Commit2}", view, StringComparison.Ordinal);
        Assert.Contains("Version (ostree.commit.version): 2.0", view, StringComparison.Ordinal);
        Assert.Contains("Repository Mode (ostree.summary.mode): archive-z2", view, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Pull_OurSummaryAndDeltaMetadata_RealOstreePullsThroughTheDeltaAndFscks(bool indexedDeltas)
    {
        var fx = Fixtures.SmallRepo;
        var client = Client(ServeOurSummary(indexedDeltas));

        var refs = Peer.Ostree(client, "remote", "refs", "origin").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        // --require-static-deltas bypasses the local-import shortcut for file:// remotes, so
        // the pull goes through summary → delta index or summary delta list → superblock
        // digest check → part, exactly like an HTTP pull.
        var pulled = Peer.Ostree(client, "pull", "--require-static-deltas", "origin", "fixture/main");
        Peer.Ostree(client, "pull", "origin", "fixture/v1");
        Peer.Ostree(client, "fsck");

        Assert.Equal(TestRepos.HeadRefs(fx.ArchiveRepo).Select(r => "origin:" + r.Name).Order(StringComparer.Ordinal), refs.Order(StringComparer.Ordinal));
        Assert.Contains("1 delta parts", pulled, StringComparison.Ordinal);
        Assert.Equal(fx.Commit2, Peer.Ostree(client, "rev-parse", "origin:fixture/main").Trim());
        Assert.Equal(fx.Commit1, Peer.Ostree(client, "rev-parse", "origin:fixture/v1").Trim());
    }

    [Fact]
    public void Pull_RefMissingFromOurSummary_FailsSoThePullReadsOurSummary()
    {
        // Control for the test above: the refs/heads files are all present, only our summary lacks the ref.
        var fx = Fixtures.SmallRepo;
        var server = TestRepos.Copy(fx.ArchiveRepo, "summary-server");
        var c1 = Checksum.Parse(fx.Commit1);
        var summary = new SummaryBuilder("archive-z2") { LastModified = When }.AddRef("fixture/v1", c1, TestRepos.CommitObject(server, c1)).Build();
        File.WriteAllBytes(Path.Combine(server, "summary"), summary.Serialize());

        var result = Peer.Run("ostree", [$"--repo={Client(server)}", "pull", "origin", "fixture/main"]);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("No such branch 'fixture/main' in repository summary", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Pull_DeltaIndexWithWrongDigest_FailsSoThePullReadsOurIndex()
    {
        var fx = Fixtures.SmallRepo;
        var server = ServeOurSummary(indexedDeltas: true);
        var c2 = Checksum.Parse(fx.Commit2);
        var indexPath = Path.Combine(server, DeltaName.IndexPathFor(c2));
        var good = DeltaIndex.Parse(File.ReadAllBytes(indexPath));
        var wrong = good.Deltas.Select(d => new DeltaDigest(d.Name, Checksum.Compute(d.SuperblockDigest.Bytes)));
        File.WriteAllBytes(indexPath, DeltaIndex.Create(c2, wrong).Serialize());

        var result = Peer.Run("ostree", [$"--repo={Client(server)}", "pull", "--require-static-deltas", "origin", "fixture/main"]);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("Invalid checksum for static delta", result.Stderr, StringComparison.Ordinal);
    }
}
