using System.Text;

namespace OstreeContainer.RepoWebserver.Tests.Serving;

/// <summary>
/// What the store resolves: symlinks planted in a repo never expose anything outside it,
/// and signed repos are served verbatim so the real <c>ostree pull</c> verifies their
/// summary and commit signatures.
/// </summary>
public class RepoFileStoreTests
{
    private const string AnyObjectRest = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd";

    [Theory]
    [InlineData("/repo/refs/heads/evil", "passwd")]
    [InlineData("/repo/refs/heads/escape", "secret")]
    [InlineData("/repo/refs/mirrors/evil", "passwd")]
    [InlineData("/repo/summary.sig", "passwd")]
    [InlineData("/repo/objects/ab/" + AnyObjectRest + ".filez", "secret")]
    [InlineData("/repo/objects/ab/" + AnyObjectRest + ".commit", "secret")]
    [InlineData("/repo/objects/cd/" + AnyObjectRest + ".commitmeta", "secret")]
    [InlineData("/repo/deltas/evil/superblock", "secret")]
    [InlineData("/repo/delta-indexes/ev/il.index", "secret")]
    public async Task Get_SymlinkPlantedInRepoPointingOutside_Answers404WithoutTheTarget(string target, string leak)
    {
        using var repo = RepoCopies.Copy(Fixtures.SmallRepo.ArchiveRepo, "symlinked");
        var outside = Fixtures.TempDirectory("outside");
        var secret = $"TOP-SECRET-{Guid.NewGuid():N}";
        File.WriteAllText(Path.Combine(outside, "secret"), secret);
        File.WriteAllText(Path.Combine(outside, AnyObjectRest + ".filez"), secret);
        File.WriteAllText(Path.Combine(outside, AnyObjectRest + ".commit"), secret);
        File.WriteAllText(Path.Combine(outside, "superblock"), secret);
        File.WriteAllText(Path.Combine(outside, "il.index"), secret);
        var r = repo.Path;
        File.CreateSymbolicLink(Path.Combine(r, "refs/heads/evil"), "/etc/passwd");
        File.CreateSymbolicLink(Path.Combine(r, "refs/heads/escape"), Path.GetRelativePath(Path.Combine(r, "refs/heads"), Path.Combine(outside, "secret")));
        Directory.CreateDirectory(Path.Combine(r, "refs/mirrors"));
        File.CreateSymbolicLink(Path.Combine(r, "refs/mirrors/evil"), "/etc/passwd");
        File.CreateSymbolicLink(Path.Combine(r, "summary.sig"), "/etc/passwd");
        TempRepo.Delete(Path.Combine(r, "objects/ab"));
        Directory.CreateSymbolicLink(Path.Combine(r, "objects/ab"), outside);
        Directory.CreateDirectory(Path.Combine(r, "objects/cd"));
        File.CreateSymbolicLink(Path.Combine(r, "objects/cd", AnyObjectRest + ".commitmeta"), Path.Combine(outside, "secret"));
        Directory.CreateSymbolicLink(Path.Combine(r, "deltas/evil"), outside);
        Directory.CreateSymbolicLink(Path.Combine(r, "delta-indexes/ev"), outside);
        await using var server = await RunningServer.StartAsync(r);

        var response = await RawHttp.SendAsync(server.Port, "GET", target);

        Assert.Equal(404, response.Status);
        var body = Encoding.Latin1.GetString(response.Body);
        Assert.DoesNotContain(leak == "passwd" ? "root:" : secret, body, StringComparison.Ordinal);
        Assert.Empty(response.Body);
    }

    [Fact]
    public async Task Get_SymlinkInsideTheRepo_IsServed()
    {
        // Control for the test above: confinement is by resolved path, not "no symlinks".
        using var repo = RepoCopies.Copy(Fixtures.SmallRepo.ArchiveRepo, "symlinked-inside");
        File.CreateSymbolicLink(Path.Combine(repo.Path, "refs/heads/alias"), "fixture/main");
        await using var server = await RunningServer.StartAsync(repo.Path);
        using var http = server.CreateClient();

        var alias = await http.GetStringAsync("repo/refs/heads/alias");

        Assert.Equal(Fixtures.SmallRepo.Commit2, alias.Trim());
    }

    [Theory]
    [InlineData("objects/ab/" + AnyObjectRest + ".filez")]
    [InlineData("objects/cd/" + AnyObjectRest + ".commitmeta")]
    [InlineData("refs/heads/fifo")]
    [InlineData("deltas/fi/fo/superblock")]
    public async Task Get_FifoWhereAFileShouldBe_Answers404WithoutWaitingForAWriter(string relative)
    {
        // Files are opened before their type is known; opening a FIFO must not block the server.
        using var repo = RepoCopies.Copy(Fixtures.SmallRepo.ArchiveRepo, "fifo");
        var path = Path.Combine(repo.Path, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        Peer.Check("mkfifo", path);
        await using var server = await RunningServer.StartAsync(repo.Path);

        var response = await RawHttp.SendAsync(server.Port, "GET", "/repo/" + relative).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(404, response.Status);
    }

    [Fact]
    public async Task Get_RepoSwappedForAnotherUnderTheServer_ObjectsOnlyTheNewOneHasAreServed()
    {
        // The server keeps object directories open; a repo replaced by a rename (or deleted
        // and made again) must not leave it looking into the old one's directories.
        using var repo = RepoCopies.Copy(Fixtures.SmallRepo.ArchiveRepo, "swapped");
        var served = Directory.EnumerateFiles(Path.Combine(repo.Path, "objects"), "*.filez", SearchOption.AllDirectories).First();
        var objectDirectory = Path.GetDirectoryName(served)!;
        var newObject = Path.Combine(objectDirectory, AnyObjectRest + ".filez");
        var target = (string file) => "/repo/" + Path.GetRelativePath(repo.Path, file).Replace('\\', '/');
        await using var server = await RunningServer.StartAsync(repo.Path);
        Assert.Equal(200, (await RawHttp.SendAsync(server.Port, "GET", target(served))).Status);

        var next = repo.Path + ".next";
        Peer.Check("cp", "-a", repo.Path, next);
        File.Copy(served, Path.Combine(next, Path.GetRelativePath(repo.Path, newObject)));
        Directory.Move(repo.Path, repo.Path + ".old");
        Directory.Move(next, repo.Path);
        var response = await RawHttp.SendAsync(server.Port, "GET", target(newObject));

        Assert.Equal(200, response.Status);
        Assert.Equal(File.ReadAllBytes(served), response.Body);
    }

    [Fact]
    public async Task Pull_GpgSignedSummaryAndCommits_VerifyingClientPullsAndFscks()
    {
        using var home = new GpgTestHome();
        using var signed = SignedCopy(home, out var key);
        var keyFile = Path.Combine(home.Directory, "trusted.gpg");
        File.WriteAllBytes(keyFile, home.Export(key));
        await using var server = await RunningServer.StartAsync(signed.Path);
        using var client = OstreeClient.Create("bare-user", server.RepoUrl, $"--gpg-import={keyFile}", "--set=gpg-verify-summary=true", "--set=gpg-verify=true");

        var output = client.Pull("origin", "fixture/main", "fixture/v1");

        client.Fsck();
        Assert.Equal(Fixtures.SmallRepo.Commit2, client.RevParse("origin:fixture/main"));
        Assert.Equal(Fixtures.SmallRepo.Commit1, client.RevParse("origin:fixture/v1"));
        Assert.Contains(new RecordedRequest("GET", "/repo/summary.sig", 200), server.Requests);
        Assert.Contains(new RecordedRequest("GET", "/repo/summary", 200), server.Requests);
        Assert.Contains(server.Requests, r => r.Path.EndsWith(".commitmeta", StringComparison.Ordinal) && r.Status == 200);
        Assert.DoesNotContain("error", output, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Pull_GpgSignedRepoSecondTime_SummarySignatureIsNotModifiedAndSummaryNotRefetched()
    {
        // ostree-format.md §10.3 E: the client caches summary + sig with the ETag and asks conditionally.
        using var home = new GpgTestHome();
        using var signed = SignedCopy(home, out var key);
        var keyFile = Path.Combine(home.Directory, "trusted.gpg");
        File.WriteAllBytes(keyFile, home.Export(key));
        await using var server = await RunningServer.StartAsync(signed.Path);
        using var client = OstreeClient.Create("archive", server.RepoUrl, $"--gpg-import={keyFile}", "--set=gpg-verify-summary=true", "--set=gpg-verify=true");
        client.Pull("origin", "fixture/v1");
        var firstPull = server.Requests.Count;

        client.Pull("origin", "fixture/main");

        var second = server.Requests.Skip(firstPull).ToList();
        Assert.Contains(new RecordedRequest("GET", "/repo/summary.sig", 304), second);
        Assert.DoesNotContain(second, r => r.Path == "/repo/summary");
        Assert.Equal(Fixtures.SmallRepo.Commit2, client.RevParse("origin:fixture/main"));
    }

    [Fact]
    public async Task Pull_GpgSignedRepoWithAnotherTrustedKey_Fails()
    {
        // Control for the tests above: the client really verifies what the server sends.
        using var home = new GpgTestHome();
        using var signed = SignedCopy(home, out _);
        var other = home.GenerateKey("Someone Else <else@example.org>", "ed25519", "sign");
        var keyFile = Path.Combine(home.Directory, "other.gpg");
        File.WriteAllBytes(keyFile, home.Export(other));
        await using var server = await RunningServer.StartAsync(signed.Path);
        using var client = OstreeClient.Create("archive", server.RepoUrl, $"--gpg-import={keyFile}", "--set=gpg-verify-summary=true", "--set=gpg-verify=true");

        var result = client.TryPull("origin", "fixture/main");

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("public key not found", result.Stderr, StringComparison.Ordinal);
    }

    /// <summary>
    /// A copy of the fixture archive repo with every ref's commit signed by <c>ostree
    /// gpg-sign</c>, deltas regenerated after signing (they embed the detached metadata,
    /// ostree-format.md §8.2) and the summary signed by <c>ostree summary -u --gpg-sign</c>.
    /// </summary>
    private static TempRepo SignedCopy(GpgTestHome home, out string key)
    {
        var fx = Fixtures.SmallRepo;
        key = home.GenerateKey("Repo Signer <signer@example.org>", "ed25519", "sign");
        var copy = RepoCopies.Copy(fx.ArchiveRepo, "gpg-signed");
        var gpgHome = $"--gpg-homedir={home.Directory}";
        foreach (var (_, commit) in OstreeClient.RefCommits(copy.Path).DistinctBy(r => r.Commit))
        {
            Peer.Ostree(copy.Path, "gpg-sign", gpgHome, commit, key);
        }

        TempRepo.Delete(Path.Combine(copy.Path, "deltas"));
        TempRepo.Delete(Path.Combine(copy.Path, "delta-indexes"));
        Peer.Ostree(copy.Path, "static-delta", "generate", $"--from={fx.Commit1}", $"--to={fx.Commit2}");
        Peer.Ostree(copy.Path, "static-delta", "generate", "--empty", $"--to={fx.Commit2}");
        Peer.Ostree(copy.Path, "summary", "-u", $"--gpg-sign={key}", gpgHome);
        return copy;
    }
}
