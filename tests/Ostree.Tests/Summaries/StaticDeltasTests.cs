using OstreeContainer.Ostree.Summaries;

namespace OstreeContainer.Ostree.Tests.Summaries;

/// <summary>Listing deltas agrees with <c>ostree static-delta list</c>.</summary>
public class StaticDeltasTests
{
    [Theory]
    [MemberData(nameof(TestRepos.Both), MemberType = typeof(TestRepos))]
    public void List_OstreeRepo_AgreesWithStaticDeltaList(string which)
    {
        var repo = TestRepos.Path(which);
        var expected = Peer.Ostree(repo, "static-delta", "list").Split('\n', StringSplitOptions.RemoveEmptyEntries);

        var deltas = StaticDeltas.List(repo);

        Assert.NotEmpty(deltas);
        Assert.Equal(expected.Order(StringComparer.Ordinal), deltas.Select(d => d.Name.ToString()).Order(StringComparer.Ordinal));
        foreach (var d in deltas)
        {
            Assert.Equal(Path.GetFullPath(Path.Combine(repo, d.Name.SuperblockPath)), d.SuperblockPath);
            Assert.Equal(TestRepos.Sha256File(d.SuperblockPath), d.SuperblockDigest);
        }
    }

    [Fact]
    public async Task ListAsync_FixtureRepo_SameAsList()
    {
        var repo = Fixtures.SmallRepo.ArchiveRepo;

        var deltas = await StaticDeltas.ListAsync(repo, TestContext.Current.CancellationToken);

        Assert.Equal(StaticDeltas.List(repo), deltas);
    }

    [Fact]
    public void List_FixtureRepo_HasTheScratchAndTheUpgradeDelta()
    {
        var fx = Fixtures.SmallRepo;

        var names = StaticDeltas.List(fx.ArchiveRepo).Select(d => d.Name.ToString()).Order(StringComparer.Ordinal);

        Assert.Equal(new[] { $"{fx.Commit1}-{fx.Commit2}", fx.Commit2 }.Order(StringComparer.Ordinal), names);
    }

    [Fact]
    public void List_NoDeltasDirectory_IsEmpty()
    {
        Assert.Empty(StaticDeltas.List(Fixtures.TempDirectory("summary-empty")));
    }

    [Fact]
    public void List_DirectoryWithoutSuperblock_IsSkippedLikeOstree()
    {
        var repo = Fixtures.TempDirectory("summary-partial");
        Directory.CreateDirectory(Path.Combine(repo, "deltas", "6B", "74cl9SO7tNZ_Yd15STaWxIj8_OFsrLnDI88MSq47w"));
        File.WriteAllText(Path.Combine(repo, "deltas", "6B", "74cl9SO7tNZ_Yd15STaWxIj8_OFsrLnDI88MSq47w", "0"), "part only");

        Assert.Empty(StaticDeltas.List(repo));
    }

    [Fact]
    public void List_SuperblockInAStrangelyNamedDirectory_ThrowsNamingIt()
    {
        var repo = Fixtures.TempDirectory("summary-strange");
        Directory.CreateDirectory(Path.Combine(repo, "deltas", "xx", "not-base64"));
        File.WriteAllText(Path.Combine(repo, "deltas", "xx", "not-base64", "superblock"), "");

        var e = Assert.Throws<InvalidDataException>(() => StaticDeltas.List(repo));

        Assert.StartsWith("deltas/xx/not-base64: ", e.Message, StringComparison.Ordinal);
    }
}
