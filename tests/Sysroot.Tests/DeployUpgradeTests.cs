using static OstreeContainer.Sysroot.Tests.SysrootTestImages;

namespace OstreeContainer.Sysroot.Tests;

/// <summary>
/// The whole story through the CLI, the real <c>ostree admin</c> and a real docker-registry:
/// deploy C1, push C2 under the same tag, <c>upgrade --check</c>, <c>upgrade</c> by the delta
/// alone, nothing new, rollback with the real <c>ostree admin undeploy</c>.
/// </summary>
public class DeployUpgradeTests
{
    private const string Os = "exampleos";

    [Fact]
    public void DeployCheckUpgradeUndeploy_SignedImage_UpdatesByTheDeltaThroughOstreeAdmin()
    {
        var images = Value;
        using var registry = LocalRegistry.Start();
        var image = images.Push(registry.Host, "os/x:stable");
        var sysroot = NewSysroot(Os);
        var repo = Path.Combine(sysroot, "ostree", "repo");
        string[] common = ["--sysroot", sysroot, "--sign-verify", images.SignVerify, "--tls-verify=false"];

        var (deployOut, _) = RunCli(0, ["deploy", "--os", Os, image, "--karg", "console=ttyS0", .. common]);

        // The real ostree lists the deployment, with our origin, our kernel argument and the kernel in /boot.
        Assert.Equal([$"{Os} {images.C1}.0"], Status(sysroot));
        var origin = $"[origin]\ncontainer-image-reference=ostree-image-signed:docker://{registry.Host}/os/x:stable\n";
        Assert.Equal(origin, Origin(sysroot, Os, images.C1));
        var entry = File.ReadAllText(Directory.EnumerateFiles(Path.Combine(sysroot, "boot", "loader", "entries")).Single());
        Assert.Contains("console=ttyS0", entry, StringComparison.Ordinal);
        Assert.Contains("vmlinuz-6.1.0", entry, StringComparison.Ordinal);
        Assert.Equal(images.C1, RefCommit(sysroot, Os));
        Assert.Contains($"origin: container-image-reference=ostree-image-signed:docker://{registry.Host}/os/x:stable", deployOut, StringComparison.Ordinal);

        // C2 under the same tag: --check says delta, its size and the new version, and writes nothing.
        images.Push(registry.Host, "os/x:stable", c2: true);
        var (deltaDigest, deltaSize, config) = images.DeltaOfC2();
        var before = Snapshot(sysroot);
        var (checkOut, _) = RunCli(0, ["upgrade", "--check", .. common]);
        Assert.Contains($"fetch: delta {images.C1[..12]} -> {images.C2[..12]}, {deltaSize} bytes", checkOut, StringComparison.Ordinal);
        Assert.Contains("version: 1 -> 2", checkOut, StringComparison.Ordinal);
        Assert.Equal(before, Snapshot(sysroot));

        // The upgrade fetches the config and the delta layer, nothing else, and deploys C2.
        var blobsBefore = registry.Requests("GET", "/blobs/").Count;
        var (upgradeOut, _) = RunCli(0, ["upgrade", .. common]);
        var fetched = registry.Requests("GET", "/blobs/").Skip(blobsBefore).Select(r => r.Path[(r.Path.LastIndexOf('/') + 1)..]).ToHashSet();
        Assert.Equal(new HashSet<string> { deltaDigest, config }, fetched);
        Assert.Contains($"fetched: {deltaSize} bytes by delta {images.C1[..12]} -> {images.C2[..12]}", upgradeOut, StringComparison.Ordinal);
        Assert.Equal([$"{Os} {images.C2}.0", $"{Os} {images.C1}.0"], Status(sysroot));
        Assert.Equal(origin, Origin(sysroot, Os, images.C2));
        Assert.Equal(images.C2, RefCommit(sysroot, Os));
        Assert.Contains("console=ttyS0", string.Concat(Directory.EnumerateFiles(Path.Combine(sysroot, "boot", "loader", "entries")).Select(File.ReadAllText)), StringComparison.Ordinal);
        Peer.Ostree(repo, "fsck");

        // Nothing new: says so, exits 0, changes nothing.
        var after = Snapshot(sysroot);
        var (againOut, _) = RunCli(0, ["upgrade", .. common]);
        Assert.StartsWith("no update available", againOut, StringComparison.Ordinal);
        Assert.Equal(after, Snapshot(sysroot));

        // Rollback with the real tool: C1 is what is left.
        Peer.Check("ostree", "admin", "undeploy", $"--sysroot={sysroot}", "0");
        Assert.Equal([$"{Os} {images.C1}.0"], Status(sysroot));
        TestContext.Current.TestOutputHelper?.WriteLine(checkOut + upgradeOut);
    }

    [Fact]
    public void DownloadOnlyThenUpgradeThenSwitch_Unverified_RefMovesFirstThenDeploysWithoutFetching()
    {
        var images = Value;
        using var registry = LocalRegistry.Start();
        var image = images.Push(registry.Host, "os/x:stable");
        var sysroot = NewSysroot(Os);
        string[] common = ["--sysroot", sysroot, "--tls-verify=false"];

        var (deployOut, deployErr) = RunCli(0, ["deploy", "--os", Os, image, "--insecure-no-signature", .. common]);
        Assert.Equal($"[origin]\ncontainer-image-reference=ostree-unverified-registry:{registry.Host}/os/x:stable\n", Origin(sysroot, Os, images.C1));
        Assert.Contains("WARNING", deployOut, StringComparison.Ordinal);
        Assert.Contains("NOT be checked", deployErr, StringComparison.Ordinal);

        images.Push(registry.Host, "os/x:stable", c2: true);
        var statusBefore = Status(sysroot);
        var (downloadOut, _) = RunCli(0, ["upgrade", "--download-only", .. common]);
        Assert.Contains("not deployed", downloadOut, StringComparison.Ordinal);
        Assert.Equal(images.C2, RefCommit(sysroot, Os));
        Assert.Equal(statusBefore, Status(sysroot));

        // The deploy after a download fetches no layer again.
        var (deltaDigest, _, _) = images.DeltaOfC2();
        var blobsBefore = registry.Requests("GET", "/blobs/").Count;
        var (upgradeOut, _) = RunCli(0, ["upgrade", .. common]);
        Assert.DoesNotContain(registry.Requests("GET", "/blobs/").Skip(blobsBefore), r => r.Path.EndsWith(deltaDigest, StringComparison.Ordinal));
        Assert.Contains("fetched: nothing", upgradeOut, StringComparison.Ordinal);
        Assert.Equal([$"{Os} {images.C2}.0", $"{Os} {images.C1}.0"], Status(sysroot));

        // Switch to another image (C1 under another name): a new default whose origin names it, still unverified.
        var other = images.Push(registry.Host, "os/other:lts");
        var (switchOut, _) = RunCli(0, ["switch", other, .. common]);
        Assert.Contains("switched to", switchOut, StringComparison.Ordinal);
        var status = Status(sysroot);
        Assert.StartsWith($"{Os} {images.C1}.", status[0], StringComparison.Ordinal);
        Assert.Equal($"{Os} {images.C2}.0", status[1]);
        Assert.Equal($"[origin]\ncontainer-image-reference=ostree-unverified-registry:{registry.Host}/os/other:lts\n", File.ReadAllText(Path.Combine(sysroot, "ostree", "deploy", Os, "deploy", status[0][(Os.Length + 1)..] + ".origin")));
        Assert.Equal(images.C1, RefCommit(sysroot, Os));

        // Upgrading now follows the new origin: nothing new there.
        var (againOut, _) = RunCli(0, ["upgrade", .. common]);
        Assert.Contains($"no update available: docker://{registry.Host}/os/other:lts", againOut, StringComparison.Ordinal);
    }

    [Fact]
    public void OstreeContainerDeploy_ThroughTheRealOstreeCli_DeploysIntoANewStateroot()
    {
        var images = Value;
        using var registry = LocalRegistry.Start();
        var image = images.Push(registry.Host, "os/x:stable");
        var sysroot = NewSysroot(null);
        // ostree runs ostree-container from PATH for 'ostree container …': the CLI built beside the tests.
        Assert.True(File.Exists(Path.Combine(AppContext.BaseDirectory, "ostree-container")), "the CLI apphost is not beside the tests");
        var env = new Dictionary<string, string> { ["PATH"] = $"{AppContext.BaseDirectory}:{Environment.GetEnvironmentVariable("PATH")}" };

        var deploy = Peer.Run("ostree", ["container", "deploy", "--sysroot", sysroot, "--os", "viaostree", image, "--insecure-no-signature", "--tls-verify=false"], env: env);
        Assert.True(deploy.ExitCode == 0, deploy.Stderr);
        Assert.Equal([$"viaostree {images.C1}.0"], Status(sysroot));
        Assert.Equal($"[origin]\ncontainer-image-reference=ostree-unverified-registry:{registry.Host}/os/x:stable\n", Origin(sysroot, "viaostree", images.C1));

        var upgrade = Peer.Run("ostree", ["container", "upgrade", "--sysroot", sysroot, "--tls-verify=false"], env: env);
        Assert.True(upgrade.ExitCode == 0, upgrade.Stderr);
        Assert.StartsWith("no update available", upgrade.Stdout, StringComparison.Ordinal);

        // An error is still one line with exit 1 through ostree.
        var bad = Peer.Run("ostree", ["container", "upgrade", "--sysroot", Path.Combine(sysroot, "missing")], env: env);
        Assert.Equal(1, bad.ExitCode);
        Assert.Equal($"ostree-container: error: {Path.Combine(sysroot, "missing")} is not an OSTree sysroot (no ostree/repo): create one with 'ostree admin init-fs {Path.Combine(sysroot, "missing")}'", bad.Stderr.Trim());
    }

    [Fact]
    public void DeployThenUpgrade_RemoteTrust_RecordsTheRemoteAndVerifiesWithItsKeys()
    {
        var images = Value;
        using var registry = LocalRegistry.Start();
        var image = images.Push(registry.Host, "os/x:stable");
        var sysroot = NewSysroot(Os);
        var repo = Path.Combine(sysroot, "ostree", "repo");
        // An ostree remote in the sysroot's repo holding the ed25519 key (as /etc/ostree/remotes.d would).
        Peer.Ostree(repo, "remote", "add", "--no-gpg-verify", "--set=sign-verify=true", $"--set=verification-ed25519-key={images.Key.PublicKey.ToBase64()}", "exampleos", "https://unused.example");

        RunCli(0, ["deploy", "--sysroot", sysroot, "--os", Os, image, "--remote", "exampleos", "--tls-verify=false"]);
        Assert.Equal($"[origin]\ncontainer-image-reference=ostree-remote-image:exampleos:docker://{registry.Host}/os/x:stable\n", Origin(sysroot, Os, images.C1));

        // The upgrade takes its trust from the origin alone: no key on the command line.
        images.Push(registry.Host, "os/x:stable", c2: true);
        RunCli(0, ["upgrade", "--sysroot", sysroot, "--tls-verify=false"]);
        Assert.Equal([$"{Os} {images.C2}.0", $"{Os} {images.C1}.0"], Status(sysroot));

        // The remote's key is what is checked: another key there and the next pull is refused.
        Peer.Ostree(repo, "config", "set", "remote \"exampleos\".verification-ed25519-key", OstreeContainer.Ostree.Signing.Ed25519SecretKey.Generate().PublicKey.ToBase64());
        var sysroot2 = NewSysroot(Os);
        Peer.Check("cp", Path.Combine(repo, "config"), Path.Combine(sysroot2, "ostree", "repo", "config"));
        var (_, err) = RunCli(1, ["deploy", "--sysroot", sysroot2, "--os", Os, image, "--remote", "exampleos", "--tls-verify=false"]);
        Assert.Contains("signature", err, StringComparison.OrdinalIgnoreCase);
        Assert.Empty(Status(sysroot2));
    }

    [Fact]
    public void DefaultFreeSpace_OfTheRepoDirectory_IsWhatStatvfsSays()
    {
        var sysroot = NewSysroot(null);
        var repo = Path.Combine(sysroot, "ostree", "repo");
        var ours = new SysrootOptions { Sysroot = sysroot }.FreeSpace(repo);
        var parts = Peer.Check("stat", "-f", "-c", "%a %S", repo).Split(' ', StringSplitOptions.TrimEntries);
        var statvfs = long.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture) * long.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(ours, statvfs - (64L << 20), statvfs + (64L << 20));
    }

    [Fact]
    public void Deploy_DerivedImage_OstreeMergesItsEtcAndUpgradeKnowsItFromTheCommitMetadata()
    {
        var images = Value;
        using var registry = LocalRegistry.Start();
        var image = images.Push(registry.Host, "os/derived:stable", tag: images.DerivedTag);
        var sysroot = NewSysroot(Os);
        string[] common = ["--sysroot", sysroot, "--tls-verify=false"];

        RunCli(0, ["deploy", "--os", Os, image, "--insecure-no-signature", .. common]);

        // A new commit on C1 (its parent), deployed by ostree: the layer's /etc went to /usr/etc
        // and ostree's /etc merge put it in the deployment's /etc.
        var commit = RefCommit(sysroot, Os);
        Assert.NotEqual(images.C1, commit);
        Assert.Contains($"Parent:  {images.C1}", Peer.Ostree(Path.Combine(sysroot, "ostree", "repo"), "show", commit), StringComparison.Ordinal);
        Assert.Equal([$"{Os} {commit}.0"], Status(sysroot));
        var deployment = Path.Combine(sysroot, "ostree", "deploy", Os, "deploy", $"{commit}.0");
        Assert.Equal("key=value\n", File.ReadAllText(Path.Combine(deployment, "etc", "derived.conf")));
        Assert.Equal("added by a RUN step\n", File.ReadAllText(Path.Combine(deployment, "usr", "share", "added.txt")));
        Assert.Equal($"[origin]\ncontainer-image-reference=ostree-unverified-registry:{registry.Host}/os/derived:stable\n", Origin(sysroot, Os, commit));

        // Without the pull state, the commit's ostree.manifest-digest still says where it came from.
        Directory.Delete(Path.Combine(sysroot, "ostree", "repo", "state", "ostree-container"), recursive: true);
        var (upgradeOut, _) = RunCli(0, ["upgrade", .. common]);
        Assert.StartsWith($"no update available: docker://{registry.Host}/os/derived:stable", upgradeOut, StringComparison.Ordinal);
    }
}
