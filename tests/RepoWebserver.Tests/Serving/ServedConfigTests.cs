using System.Text;
using OstreeContainer.RepoWebserver.Serving;

namespace OstreeContainer.RepoWebserver.Tests.Serving;

/// <summary>
/// <c>config</c> is served as the repo's own <c>[core]</c> group: byte for byte for an
/// archive repo made by ostree, only <c>mode</c> rewritten when transcoding, and the real
/// <c>ostree pull --require-static-deltas</c> finds deltas that only the delta indexes list.
/// </summary>
public class ServedConfigTests
{
    private static readonly Lazy<DeltaRepos> Repos = new(DeltaRepos.Make);

    [Fact]
    public void Build_ArchiveCoreOnly_IsTheInputVerbatim()
    {
        var disk = "[core]\nrepo_version=1\nmode=archive-z2\nindexed-deltas=true\n"u8.ToArray();

        Assert.Equal(disk, ServedConfig.Build(disk, transcoded: false));
    }

    [Fact]
    public void Build_Transcoded_RewritesOnlyTheModeLine()
    {
        var disk = "[core]\nrepo_version=1\nmode=bare-user\nindexed-deltas=true\n# kept\ncollection-id=org.example.Os\n";

        var served = Encoding.UTF8.GetString(ServedConfig.Build(Encoding.UTF8.GetBytes(disk), transcoded: true));

        Assert.Equal("[core]\nrepo_version=1\nmode=archive-z2\nindexed-deltas=true\n# kept\ncollection-id=org.example.Os\n", served);
    }

    [Theory]
    [InlineData("[core]\nrepo_version=1\n", "[core]\nrepo_version=1\nmode=archive-z2\n")]
    [InlineData("[core]\nrepo_version=1", "[core]\nrepo_version=1\nmode=archive-z2\n")]
    [InlineData("[core]\nrepo_version=1\n[remote \"a\"]\nurl=http://x\n", "[core]\nrepo_version=1\nmode=archive-z2\n")]
    [InlineData("", "[core]\nmode=archive-z2\n")]
    [InlineData("[core]\n  mode = bare\nmode=bare-user\n", "[core]\nmode=archive-z2\n")]
    public void Build_TranscodedWithoutOrWithOddMode_SaysArchiveZ2Once(string disk, string expected)
    {
        Assert.Equal(expected, Encoding.UTF8.GetString(ServedConfig.Build(Encoding.UTF8.GetBytes(disk), transcoded: true)));
    }

    [Fact]
    public void Build_OtherGroups_AreLeftOutAndCoreKeptInOrder()
    {
        var disk = "# top comment\n[remote \"origin\"]\nurl=https://user:secret@example.com\n[core]\nrepo_version=1\nmode=archive-z2\n[sysroot]\nbootloader=none\n[core]\nindexed-deltas=true\n";

        var served = Encoding.UTF8.GetString(ServedConfig.Build(Encoding.UTF8.GetBytes(disk), transcoded: false));

        Assert.Equal("[core]\nrepo_version=1\nmode=archive-z2\n[core]\nindexed-deltas=true\n", served);
    }

    [Fact]
    public void Build_ModeAsAValueOrComment_IsNotRewritten()
    {
        var disk = "[core]\n#mode=bare\nmodes=bare\nx=mode=bare\nmode=bare-user\n";

        var served = Encoding.UTF8.GetString(ServedConfig.Build(Encoding.UTF8.GetBytes(disk), transcoded: true));

        Assert.Equal("[core]\n#mode=bare\nmodes=bare\nx=mode=bare\nmode=archive-z2\n", served);
    }

    [Fact]
    public async Task Get_ConfigOfOstreeArchiveRepoWithDeltas_IsTheFileOnDisk()
    {
        var repos = Repos.Value;
        await using var server = await RunningServer.StartAsync(repos.Archive.Path);
        using var http = server.CreateClient();

        var served = await http.GetByteArrayAsync("repo/config");

        var disk = File.ReadAllBytes(Path.Combine(repos.Archive.Path, "config"));
        Assert.Contains("indexed-deltas=true", Encoding.UTF8.GetString(disk), StringComparison.Ordinal);
        Assert.Equal(disk, served);
    }

    [Fact]
    public async Task Get_ConfigOfBareUserRepo_DiffersFromDiskOnlyInMode()
    {
        var repos = Repos.Value;
        await using var server = await RunningServer.StartAsync(repos.BareUser.Path);
        using var http = server.CreateClient();

        var served = (await http.GetStringAsync("repo/config")).Split('\n');

        var disk = File.ReadAllText(Path.Combine(repos.BareUser.Path, "config")).Split('\n');
        Assert.Contains("mode=bare-user", disk);
        Assert.Contains("indexed-deltas=true", disk);
        Assert.Equal(disk.Select(l => l == "mode=bare-user" ? "mode=archive-z2" : l), served);
    }

    [Fact]
    public async Task Get_ConfigEditedWhileServing_ServesTheNewFile()
    {
        using var repo = RepoCopies.Copy(Fixtures.SmallRepo.ArchiveRepo, "config-edit");
        await using var server = await RunningServer.StartAsync(repo.Path);
        using var http = server.CreateClient();
        var before = await http.GetStringAsync("repo/config");

        Peer.Ostree(repo.Path, "config", "set", "core.tombstone-commits", "true");
        // The cache is keyed on size, inode and mtime; the size changed with the edit.
        var after = await http.GetStringAsync("repo/config");

        Assert.DoesNotContain("tombstone-commits", before, StringComparison.Ordinal);
        Assert.Equal(File.ReadAllText(Path.Combine(repo.Path, "config")), after);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Pull_DeltasOnlyInIndexesRequireStaticDeltas_UsesTheDeltaAndFscks(bool bareUserSource)
    {
        // The source has no summary and no refs (so no summary can be generated either): only
        // indexed-deltas=true in its config tells a client to look in delta-indexes/.
        var repos = Repos.Value;
        await using var server = await RunningServer.StartAsync(bareUserSource ? repos.BareUser.Path : repos.Archive.Path);
        using var client = OstreeClient.Create("bare-user", server.RepoUrl);
        Peer.Ostree(client.Repo, "pull-local", repos.Archive.Path, repos.Commit1);

        var output = client.Pull("--require-static-deltas", "origin", repos.Commit2);

        client.Fsck();
        Assert.Contains("1 delta parts", output, StringComparison.Ordinal);
        Assert.Equal(repos.Commit2, Peer.Ostree(client.Repo, "rev-parse", repos.Commit2).Trim());
        Assert.Contains(server.Requests, r => r.Path.StartsWith("/repo/delta-indexes/", StringComparison.Ordinal) && r.Status == 200);
        Assert.Contains(server.Requests, r => r.Path.EndsWith("/superblock", StringComparison.Ordinal) && r.Status == 200);
        Assert.DoesNotContain(server.Requests, r => r.Status >= 500);
    }

    /// <summary>
    /// An archive repo made by the real ostree (<c>init</c>, two commits, <c>static-delta
    /// generate</c>, <c>summary -u</c> for the delta index), and a bare-user repo with the
    /// same commits and its own delta; then their summaries and refs are removed.
    /// </summary>
    private sealed class DeltaRepos
    {
        public required TempRepo Archive { get; init; }

        public required TempRepo BareUser { get; init; }

        public required string Commit1 { get; init; }

        public required string Commit2 { get; init; }

        public static DeltaRepos Make()
        {
            var tree = Fixtures.TempDirectory("config-tree");
            File.WriteAllText(Path.Combine(tree, "a"), "a\n");
            File.WriteAllText(Path.Combine(tree, "b"), string.Join('\n', Enumerable.Range(1, 20000)));
            var archive = new TempRepo("config-archive");
            Peer.Ostree(archive.Path, "init", "--mode=archive");
            var c1 = Peer.Ostree(archive.Path, "commit", "-b", "main", $"--tree=dir={tree}", "-s", "one").Trim();
            File.AppendAllText(Path.Combine(tree, "b"), "\n20001\n");
            File.WriteAllText(Path.Combine(tree, "c"), "c\n");
            var c2 = Peer.Ostree(archive.Path, "commit", "-b", "main", $"--tree=dir={tree}", "-s", "two").Trim();

            var bareUser = new TempRepo("config-bareuser");
            Peer.Ostree(bareUser.Path, "init", "--mode=bare-user");
            Peer.Ostree(bareUser.Path, "pull-local", "--depth=1", archive.Path, "main");
            foreach (var repo in new[] { archive.Path, bareUser.Path })
            {
                Peer.Ostree(repo, "static-delta", "generate", "--from", c1, "--to", c2);
                Peer.Ostree(repo, "summary", "-u");
                File.Delete(Path.Combine(repo, "summary"));
                Peer.Ostree(repo, "refs", "--delete", "main");
            }

            return new DeltaRepos { Archive = archive, BareUser = bareUser, Commit1 = c1, Commit2 = c2 };
        }
    }
}
