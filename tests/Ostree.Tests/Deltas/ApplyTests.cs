using OstreeContainer.Ostree.Deltas;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Repository;

namespace OstreeContainer.Ostree.Tests.Deltas;

/// <summary>
/// Our apply of deltas made by the real <c>ostree</c> leaves the same objects as ostree's own
/// <c>static-delta apply-offline</c> (and, into archive, as <c>pull-local</c> of the commit),
/// and <c>ostree fsck</c> passes, in archive, bare-user and bare repos.
/// </summary>
public sealed class ApplyTests
{
    private static readonly Lazy<string> SmallScratchDelta = new(() =>
    {
        var small = Fixtures.SmallRepo;
        // --filename names the superblock file; ostree writes the parts beside it.
        var dir = Fixtures.TempDirectory("small-delta");
        Peer.Ostree(small.ArchiveRepo, "static-delta", "generate", "--empty", $"--to={small.Commit2}", $"--filename={Path.Combine(dir, "superblock")}");
        return dir;
    });

    [Theory]
    [InlineData("archive")]
    [InlineData("bare-user")]
    [InlineData("bare")]
    public async Task ApplyOffline_OsFixtureC1ToC2_GivesOstreesObjectsAndMovesTheRef(string mode)
    {
        var os = Fixtures.OsRepo;
        var repoPath = ApplyFixtures.CopyRepo(ApplyFixtures.OsBase(mode));
        var refName = RefName.Parse(os.Branch);

        var result = await DeltaApplier.ApplyOfflineAsync(OstreeRepo.Open(repoPath), ApplyFixtures.OsDeltaDirectory, new DeltaApplyOptions { Ref = refName });

        Assert.Equal(ApplyFixtures.OsDeltaName, result.Name);
        Assert.True(result.ObjectsWritten > 300, $"{result.ObjectsWritten} objects written");
        Assert.Equal(ApplyFixtures.OsExpected, ApplyFixtures.ObjectSet(repoPath));
        Assert.Equal(os.Commit2, OstreeRepo.Open(repoPath).ResolveRev(os.Branch).ToString());
        if (mode == "archive")
        {
            var pulled = ApplyFixtures.CopyRepo(ApplyFixtures.OsBase(mode));
            Peer.Ostree(pulled, "pull-local", os.Repo, os.Commit2);
            Assert.Equal(ApplyFixtures.ObjectSet(pulled), ApplyFixtures.ObjectSet(repoPath));
        }

        ApplyFixtures.AssertFsckClean(repoPath);
        ApplyFixtures.AssertNoLeftovers(repoPath);
    }

    [Theory]
    [InlineData("scratch", "archive")]
    [InlineData("scratch", "bare-user")]
    [InlineData("scratch", "bare")]
    [InlineData("scratch-inline", "archive")]
    [InlineData("scratch-inline", "bare-user")]
    [InlineData("scratch-inline", "bare")]
    [InlineData("scratch-parts", "archive")]
    [InlineData("scratch-parts", "bare-user")]
    [InlineData("delta", "archive")]
    [InlineData("delta", "bare-user")]
    [InlineData("delta", "bare")]
    public async Task ApplyOffline_OddTreeDeltas_GiveOstreesObjects(string delta, string mode)
    {
        var odd = ApplyFixtures.Odd;
        var fromScratch = delta != "delta";
        string Base(string m) => fromScratch ? ApplyFixtures.NewRepo(m) : ApplyFixtures.PullInto(m, odd.Repo, odd.Commit1);

        var theirs = Base("bare-user");
        Peer.Ostree(theirs, "static-delta", "apply-offline", odd.Delta(delta));
        if (delta == "scratch-parts")
        {
            Assert.True(Directory.GetFiles(odd.Delta(delta)).Length > 3, "ostree split the delta into several parts");
        }

        var ours = Base(mode);

        await DeltaApplier.ApplyOfflineAsync(OstreeRepo.Open(ours), odd.Delta(delta), new DeltaApplyOptions());

        var objects = ApplyFixtures.ObjectSet(ours);
        Assert.Equal(ApplyFixtures.ObjectSet(theirs), objects);
        Assert.Contains($"{odd.Commit2}.commitmeta", objects);
        if (mode == "archive")
        {
            var pulled = Base("archive");
            Peer.Ostree(pulled, "pull-local", odd.Repo, odd.Commit2);
            Assert.Equal(ApplyFixtures.ObjectSet(pulled), objects);
        }

        // The detached metadata came from the superblock, byte for byte what ostree wrote.
        var meta = OstreeRepo.Open(odd.Repo).RelativeObjectPath(Checksum.Parse(odd.Commit2), ObjectType.CommitMeta);
        Assert.Equal(File.ReadAllBytes(Path.Combine(odd.Repo, meta)), File.ReadAllBytes(Path.Combine(ours, meta)));
        ApplyFixtures.AssertFsckClean(ours);
        ApplyFixtures.AssertNoLeftovers(ours);
    }

    [Theory]
    [InlineData("archive")]
    [InlineData("bare-user")]
    [InlineData("bare")]
    public async Task ApplyOffline_SmallFixtureFromScratch_GivesOstreesObjects(string mode)
    {
        var theirs = ApplyFixtures.NewRepo("bare-user");
        Peer.Ostree(theirs, "static-delta", "apply-offline", SmallScratchDelta.Value);
        var ours = ApplyFixtures.NewRepo(mode);

        var result = await DeltaApplier.ApplyOfflineAsync(OstreeRepo.Open(ours), Path.Combine(SmallScratchDelta.Value, "superblock"), new DeltaApplyOptions());

        Assert.Null(result.Name.From);
        Assert.Equal(0, result.ObjectsPresent);
        Assert.Equal(ApplyFixtures.ObjectSet(theirs), ApplyFixtures.ObjectSet(ours));
        ApplyFixtures.AssertFsckClean(ours);
    }

    [Fact]
    public async Task ApplyOffline_Twice_SecondRunFindsEverythingPresent()
    {
        var odd = ApplyFixtures.Odd;
        var repo = ApplyFixtures.NewRepo("bare-user");
        var first = await DeltaApplier.ApplyOfflineAsync(OstreeRepo.Open(repo), odd.Delta("scratch"), new DeltaApplyOptions());
        var before = RepoSnapshot.Of(repo);

        var second = await DeltaApplier.ApplyOfflineAsync(OstreeRepo.Open(repo), odd.Delta("scratch"), new DeltaApplyOptions());

        Assert.Equal(0, second.ObjectsWritten);
        Assert.Equal(first.ObjectsWritten, second.ObjectsPresent);
        Assert.Equal(before, RepoSnapshot.Of(repo));
    }

    [Fact]
    public async Task ApplyOffline_FallbackMissing_RefusedNamingTheObject()
    {
        var odd = ApplyFixtures.Odd;
        var repo = ApplyFixtures.NewRepo("bare-user");
        var before = RepoSnapshot.Of(repo);
        var fallback = OstreeContainer.Ostree.Summaries.DeltaSuperblock.Parse(File.ReadAllBytes(Path.Combine(odd.Delta("scratch-fallback"), "superblock"))).Fallbacks.Single();

        var e = await Assert.ThrowsAsync<InvalidDataException>(() => DeltaApplier.ApplyOfflineAsync(OstreeRepo.Open(repo), odd.Delta("scratch-fallback"), new DeltaApplyOptions { Ref = RefName.Parse("odd") }));

        Assert.Contains($"fallback file {fallback.Checksum} is not in the repository", e.Message, StringComparison.Ordinal);
        Assert.Equal(before, RepoSnapshot.Of(repo));
        ApplyFixtures.AssertNoLeftovers(repo);
    }

    [Fact]
    public async Task ApplyOffline_FallbackAlreadyPresent_Accepted()
    {
        // ostree's apply-offline refuses any fallback entry; we need only the object itself.
        var odd = ApplyFixtures.Odd;
        var repo = ApplyFixtures.NewRepo("archive");
        var fallback = OstreeContainer.Ostree.Summaries.DeltaSuperblock.Parse(File.ReadAllBytes(Path.Combine(odd.Delta("scratch-fallback"), "superblock"))).Fallbacks.Single();
        var relative = OstreeRepo.Open(repo).RelativeObjectPath(fallback.Checksum, ObjectType.File);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(repo, relative))!);
        File.Copy(Path.Combine(odd.Repo, relative), Path.Combine(repo, relative));

        await DeltaApplier.ApplyOfflineAsync(OstreeRepo.Open(repo), odd.Delta("scratch-fallback"), new DeltaApplyOptions { Ref = RefName.Parse("odd") });

        Assert.Equal(odd.Commit2, OstreeRepo.Open(repo).ResolveRev("odd").ToString());
        ApplyFixtures.AssertFsckClean(repo);
    }

    [Fact]
    public async Task ApplyOffline_SourceCommitMissing_OneClearError()
    {
        var odd = ApplyFixtures.Odd;
        var repo = ApplyFixtures.NewRepo("bare-user");
        var before = RepoSnapshot.Of(repo);

        var e = await Assert.ThrowsAsync<InvalidDataException>(() => DeltaApplier.ApplyOfflineAsync(OstreeRepo.Open(repo), odd.Delta("delta"), new DeltaApplyOptions()));

        Assert.Contains($"its source commit {odd.Commit1} is not in the repository", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Equal(before, RepoSnapshot.Of(repo));
    }

    [Fact]
    public async Task ApplyOffline_NoSuchPath_UserInputError()
    {
        var repo = ApplyFixtures.NewRepo("bare-user");
        var missing = Path.Combine(repo, "no-such-delta");

        var e = await Assert.ThrowsAsync<Errors.UserInputException>(() => DeltaApplier.ApplyOfflineAsync(OstreeRepo.Open(repo), missing, new DeltaApplyOptions()));

        Assert.Contains(missing, e.Message, StringComparison.Ordinal);
    }
}
