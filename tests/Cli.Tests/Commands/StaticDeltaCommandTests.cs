namespace OstreeContainer.Cli.Tests.Commands;

/// <summary>
/// <c>static-delta generate|list|show|apply-offline</c>: argument errors are one line and
/// exit 1 with nothing written; <c>list</c> and <c>show</c> print what the real ostree
/// prints for the OS fixture's ostree-made delta; a delta we generate is read by the real
/// <c>ostree static-delta show</c>, and one we apply passes the real <c>ostree fsck</c>.
/// </summary>
public class StaticDeltaCommandTests
{
    private const string ErrorPrefix = "ostree-container: error: ";

    [Fact]
    public void Generate_FromAndEmpty_OneLineErrorAndNothingWritten()
    {
        var repo = SmallRepoCopy("sd-both");
        var before = RepoFiles(repo);

        var result = CliRunner.Run("static-delta", "generate", "--repo", repo, "--from", "fixture/main", "--empty", "--to", "fixture/main");

        AssertOneLineError(result, "--empty and --from");
        Assert.Equal(before, RepoFiles(repo));
    }

    [Theory]
    [InlineData("--to", "no/such/ref")]
    [InlineData("--to", "0000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("--from", "no-such-ref")]
    public void Generate_UnknownRev_OneLineErrorNamingTheOption(string option, string rev)
    {
        var repo = SmallRepoCopy("sd-rev");
        var before = RepoFiles(repo);
        string[] args = option == "--to"
            ? ["static-delta", "generate", "--repo", repo, "--to", rev]
            : ["static-delta", "generate", "--repo", repo, "--from", rev, "--to", "fixture/main"];

        var result = CliRunner.Run(args);

        AssertOneLineError(result, option);
        Assert.Contains(rev, result.Stderr, StringComparison.Ordinal);
        Assert.Equal(before, RepoFiles(repo));
    }

    [Fact]
    public void Generate_ToWithoutParentAndNoFrom_SaysToPassFromOrEmpty()
    {
        var repo = SmallRepoCopy("sd-noparent");
        var root = RootCommit(repo);

        var result = CliRunner.Run("static-delta", "generate", "--repo", repo, "--to", root);

        AssertOneLineError(result, "has no parent");
        Assert.Contains("--empty", result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--max-chunk-size", "abc")]
    [InlineData("--max-chunk-size", "0")]
    [InlineData("--max-chunk-size", "-1")]
    [InlineData("--min-fallback-size", "1.5")]
    [InlineData("--max-bsdiff-size", "4294967296")]
    [InlineData("--max-bsdiff-size", "12MB")]
    public void Generate_BadMegabytes_OneLineErrorNamingTheOption(string option, string value)
    {
        var repo = SmallRepoCopy("sd-mb");
        var before = RepoFiles(repo);

        var result = CliRunner.Run("static-delta", "generate", "--repo", repo, "--to", "fixture/main", option, value);

        AssertOneLineError(result, option);
        Assert.Contains("megabytes", result.Stderr, StringComparison.Ordinal);
        Assert.Equal(before, RepoFiles(repo));
    }

    [Fact]
    public void Generate_UnsupportedSignType_OneLineError()
    {
        var repo = SmallRepoCopy("sd-signtype");

        var result = CliRunner.Run("static-delta", "generate", "--repo", repo, "--to", "fixture/main", "--sign-type", "gpg", "--sign", "x");

        AssertOneLineError(result, "--sign-type");
    }

    [Fact]
    public void Generate_BadSecretKey_OneLineErrorThatDoesNotEchoTheKey()
    {
        var repo = SmallRepoCopy("sd-badkey");
        const string Key = "c2VjcmV0LWJ1dC1ub3QtNjQtYnl0ZXM=";

        var result = CliRunner.Run("static-delta", "generate", "--repo", repo, "--to", "fixture/main", "--sign", Key);

        AssertOneLineError(result, "--sign");
        Assert.DoesNotContain(Key, result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void List_OsFixture_SameDeltasAsOstree()
    {
        var os = Fixtures.OsRepo;

        var result = CliRunner.Run("static-delta", "list", "--repo", os.Repo);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(Lines(Peer.Ostree(os.Repo, "static-delta", "list")).Order(), Lines(result.Stdout).Order());
        Assert.Contains($"{os.Commit1}-{os.Commit2}", Lines(result.Stdout));
    }

    [Fact]
    public void List_RepoWithoutDeltas_PrintsWhatOstreePrints()
    {
        var repo = SmallRepoCopy("sd-list-empty");
        Peer.Check("rm", "-rf", Path.Combine(repo, "deltas"));

        var result = CliRunner.Run("static-delta", "list", "--repo", repo);

        Assert.Equal((0, Peer.Ostree(repo, "static-delta", "list")), (result.ExitCode, result.Stdout));
    }

    [Fact]
    public void Show_OsFixtureOstreeDelta_PrintsWhatOstreePrints()
    {
        var os = Fixtures.OsRepo;
        var name = $"{os.Commit1}-{os.Commit2}";

        var result = CliRunner.Run("static-delta", "show", "--repo", os.Repo, name);

        Assert.Equal((0, ""), (result.ExitCode, result.Stderr));
        Assert.Equal(Peer.Ostree(os.Repo, "static-delta", "show", name), result.Stdout);
        // The facts that matter, in case both printed nothing useful.
        Assert.Contains("PartPayloadOps0: openspliceclose=", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("bspatch=", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Show_EverySmallFixtureDelta_PrintsWhatOstreePrints()
    {
        var repo = Fixtures.SmallRepo.ArchiveRepo;
        var names = Lines(Peer.Ostree(repo, "static-delta", "list"));
        Assert.Contains(names, n => !n.Contains('-', StringComparison.Ordinal));

        foreach (var name in names)
        {
            var result = CliRunner.Run("static-delta", "show", "--repo", repo, name);

            Assert.Equal((0, ""), (result.ExitCode, result.Stderr));
            Assert.Equal(Peer.Ostree(repo, "static-delta", "show", name), result.Stdout);
        }
    }

    [Theory]
    [InlineData("not-a-delta")]
    [InlineData("0000000000000000000000000000000000000000000000000000000000000000")]
    public void Show_UnknownDelta_OneLineError(string delta)
    {
        var result = CliRunner.Run("static-delta", "show", "--repo", Fixtures.OsRepo.Repo, delta);

        AssertOneLineError(result, delta);
    }

    [Fact]
    public void ApplyOffline_NoKeysAndNoWaiver_RefusesBeforeWriting()
    {
        var os = Fixtures.OsRepo;
        var repo = Path.Combine(Fixtures.TempDirectory("sd-apply-trust"), "repo");
        Peer.Check("ostree", "init", $"--repo={repo}", "--mode=bare-user");
        var before = RepoFiles(repo);

        var result = CliRunner.Run("static-delta", "apply-offline", "--repo", repo, OstreeDeltaDirectory(os));

        AssertOneLineError(result, "--insecure-no-signature");
        Assert.Equal(before, RepoFiles(repo));
    }

    [Fact]
    public void ApplyOffline_MissingPath_OneLineError()
    {
        var repo = Path.Combine(Fixtures.TempDirectory("sd-apply-missing"), "repo");
        Peer.Check("ostree", "init", $"--repo={repo}", "--mode=bare-user");

        var result = CliRunner.Run("static-delta", "apply-offline", "--repo", repo, "--insecure-no-signature", "/nonexistent/delta");

        AssertOneLineError(result, "/nonexistent/delta");
    }

    [Fact]
    public void ApplyOffline_OstreeDeltaIntoBareUserWithC1_OstreeFsckCleanAndRefMoved()
    {
        var os = Fixtures.OsRepo;
        var repo = Path.Combine(Fixtures.TempDirectory("sd-apply"), "repo");
        Peer.Check("ostree", "init", $"--repo={repo}", "--mode=bare-user");
        Peer.Ostree(repo, "pull-local", os.Repo, os.Commit1);

        var result = CliRunner.Run("static-delta", "apply-offline", "--repo", repo, "--insecure-no-signature", "--ref", "os/stable", OstreeDeltaDirectory(os));

        Assert.Equal((0, ""), (result.ExitCode, result.Stderr));
        Assert.Contains("Applied", result.Stdout, StringComparison.Ordinal);
        Peer.Ostree(repo, "fsck");
        Assert.Equal(os.Commit2, Peer.Ostree(repo, "rev-parse", "os/stable").Trim());
    }

    [Fact]
    public void Generate_OsC1ToC2_OstreeShowParsesItAndOurShowAgrees()
    {
        var os = Fixtures.OsRepo;
        var repo = OsRepoCopy("sd-generate");

        var result = CliRunner.Run("static-delta", "generate", "--repo", repo, "--from", os.Commit1, "--to", os.Commit2);

        Assert.Equal((0, ""), (result.ExitCode, result.Stderr));
        Assert.StartsWith($"Generating static delta:\n  From: {os.Commit1}\n  To:   {os.Commit2}\n", result.Stdout, StringComparison.Ordinal);
        var name = $"{os.Commit1}-{os.Commit2}";
        var theirs = Peer.Ostree(repo, "static-delta", "show", name);
        Assert.Contains($"To: {os.Commit2}", theirs, StringComparison.Ordinal);
        Assert.Equal(theirs, CliRunner.Run("static-delta", "show", "--repo", repo, name).Stdout);
        Assert.Contains(name, Lines(Peer.Ostree(repo, "static-delta", "list")));
    }

    [Fact]
    public void GenerateThenApplyOffline_DefaultFromIsTheParent_OstreeFsckClean()
    {
        var os = Fixtures.OsRepo;
        var repo = OsRepoCopy("sd-roundtrip");
        var generate = CliRunner.Run("static-delta", "generate", "--repo", repo, "--to", os.Commit2, "--max-chunk-size", "1", "--inline");
        Assert.Equal((0, ""), (generate.ExitCode, generate.Stderr));
        Assert.Contains($"From: {os.Commit1}", generate.Stdout, StringComparison.Ordinal);
        var target = Path.Combine(Fixtures.TempDirectory("sd-roundtrip-target"), "repo");
        Peer.Check("ostree", "init", $"--repo={target}", "--mode=bare-user");
        Peer.Ostree(target, "pull-local", os.Repo, os.Commit1);
        var delta = Path.Combine(repo, "deltas", DeltaDirectoryOf(repo, os.Commit1, os.Commit2));

        var apply = CliRunner.Run("static-delta", "apply-offline", "--repo", target, "--insecure-no-signature", delta);

        Assert.Equal((0, ""), (apply.ExitCode, apply.Stderr));
        Peer.Ostree(target, "fsck");
        Assert.Equal(os.Commit2, Peer.Ostree(target, "rev-parse", os.Commit2).Trim());
    }

    [Fact]
    public void GenerateSigned_OstreeShowsItAndApplyChecksTheKeys()
    {
        var repo = SmallRepoCopy("sd-signed");
        var key = Ostree.Signing.Ed25519SecretKey.Generate();
        var other = Ostree.Signing.Ed25519SecretKey.Generate();
        var commit = Peer.Ostree(repo, "rev-parse", "fixture/main").Trim();
        // The commit itself is signed too (apply checks the commit as pull does); by our
        // library, as this machine's ostree is built without libsodium (no ed25519).
        SignCommit(repo, commit, key);
        var keysFile = Path.Combine(Fixtures.TempDirectory("sd-keys"), "secret.keys");
        File.WriteAllText(keysFile, key.ToBase64() + "\n");

        var generate = CliRunner.Run("static-delta", "generate", "--repo", repo, "--to", "fixture/main", "--sign-type", "ed25519", "--keys-file", keysFile);

        Assert.Equal((0, ""), (generate.ExitCode, generate.Stderr));
        var parent = Peer.Ostree(repo, "rev-parse", "fixture/main^").Trim();
        var name = $"{parent}-{commit}";
        var show = CliRunner.Run("static-delta", "show", "--repo", repo, name);
        Assert.Contains("Signed: yes", show.Stdout, StringComparison.Ordinal);
        Assert.Equal(Peer.Ostree(repo, "static-delta", "show", name), show.Stdout);

        var target = Path.Combine(Fixtures.TempDirectory("sd-signed-target"), "repo");
        Peer.Check("ostree", "init", $"--repo={target}", "--mode=bare-user");
        Peer.Ostree(target, "pull-local", repo, parent);
        var before = RepoFiles(target);
        var delta = Path.Combine(repo, "deltas", DeltaDirectoryOf(repo, parent, commit));
        var refused = CliRunner.Run("static-delta", "apply-offline", "--repo", target, "--sign-verify", "ed25519=" + other.PublicKey.ToBase64(), delta);
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("signature", Assert.Single(Lines(refused.Stderr)), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(before, RepoFiles(target));

        var applied = CliRunner.Run("static-delta", "apply-offline", "--repo", target, "--sign-verify", "ed25519=" + key.PublicKey.ToBase64(), delta);

        Assert.Equal((0, ""), (applied.ExitCode, applied.Stderr));
        Peer.Ostree(target, "fsck");
    }

    private static void SignCommit(string repo, string commit, Ostree.Signing.Ed25519SecretKey key)
    {
        var r = Ostree.Repository.OstreeRepo.Open(repo);
        var checksum = Ostree.Objects.Checksum.Parse(commit);
        var metadata = r.ReadCommitMeta(checksum) ?? new Ostree.Objects.VariantDictionary();
        Ostree.Signing.Ed25519Signatures.Sign(metadata, r.ReadMetadataBytes(checksum, Ostree.Objects.ObjectType.Commit), key);
        File.WriteAllBytes(r.ObjectPath(checksum, Ostree.Objects.ObjectType.CommitMeta), metadata.Serialize());
    }

    private static void AssertOneLineError(CliRunner.Output result, string mentions)
    {
        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(Lines(result.Stderr));
        Assert.StartsWith(ErrorPrefix, line, StringComparison.Ordinal);
        Assert.Contains(mentions, line, StringComparison.Ordinal);
    }

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    private static string SmallRepoCopy(string prefix)
    {
        var repo = Path.Combine(Fixtures.TempDirectory(prefix), "repo");
        Peer.Check("cp", "-a", Fixtures.SmallRepo.ArchiveRepo, repo);
        return repo;
    }

    /// <summary>
    /// The OS fixture, objects hard-linked (never written in place), everything a delta
    /// generation may rewrite (config, summary, deltas, indexes) copied for real.
    /// </summary>
    private static string OsRepoCopy(string prefix)
    {
        var repo = Path.Combine(Fixtures.TempDirectory(prefix), "repo");
        Peer.Check("cp", "-al", Fixtures.OsRepo.Repo, repo);
        foreach (var mutable in new[] { "config", "summary", "summary.sig", "deltas", "delta-indexes" })
        {
            var path = Path.Combine(repo, mutable);
            if (File.Exists(path) || Directory.Exists(path))
            {
                Peer.Check("rm", "-rf", path);
                var source = Path.Combine(Fixtures.OsRepo.Repo, mutable);
                Peer.Check("cp", "-a", source, path);
            }
        }

        return repo;
    }

    private static string RootCommit(string repo)
    {
        var commit = Peer.Ostree(repo, "rev-parse", "fixture/main").Trim();
        while (Peer.Run("ostree", [$"--repo={repo}", "rev-parse", commit + "^"]) is { ExitCode: 0 } parent)
        {
            commit = parent.Stdout.Trim();
        }

        return commit;
    }

    private static string OstreeDeltaDirectory(OsFixture os) => Path.Combine(os.Repo, "deltas", DeltaDirectoryOf(os.Repo, os.Commit1, os.Commit2));

    /// <summary><c>XX/REST</c> of the delta from/to under <c>deltas/</c>, found on disk.</summary>
    private static string DeltaDirectoryOf(string repo, string from, string to)
    {
        var name = Ostree.Summaries.DeltaName.Parse($"{from}-{to}");
        return Path.GetRelativePath(Path.Combine(repo, "deltas"), Path.Combine(repo, name.RelativeDirectory));
    }

    private static string[] RepoFiles(string repo) =>
        [.. Directory.EnumerateFileSystemEntries(repo, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)];
}
