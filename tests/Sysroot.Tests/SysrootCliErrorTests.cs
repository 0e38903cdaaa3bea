using static OstreeContainer.Sysroot.Tests.SysrootTestImages;

namespace OstreeContainer.Sysroot.Tests;

/// <summary>Bad input to deploy, upgrade and switch: exit 1, one line naming what is wrong, the sysroot as it was.</summary>
public class SysrootCliErrorTests
{
    [Theory]
    [InlineData("upgrade --check --download-only", "--check and --download-only exclude each other")]
    [InlineData("upgrade", "no deployment in SYSROOT: deploy an image first with 'ostree-container deploy'")]
    [InlineData("upgrade --os other", "no deployment of 'other' in SYSROOT: deploy an image first with 'ostree-container deploy'")]
    [InlineData("switch docker://127.0.0.1:1/os/x:1", "no deployment in SYSROOT: deploy an image first with 'ostree-container deploy'")]
    [InlineData("deploy --os exampleos ostree-unverified-image:containers-storage:localhost/os", "image 'containers-storage:localhost/os': the containers-storage transport is not supported (use a registry, oci: or oci-archive:)")]
    [InlineData("deploy --os exampleos ostree-remote-image:fedora", "image reference 'ostree-remote-image:fedora': missing ':' after the remote name (ostree-remote-image:REMOTE:IMAGE)")]
    [InlineData("deploy --os exampleos ostree-image-signed:docker://127.0.0.1:1/os/x:1", "ostree-image-signed:docker://127.0.0.1:1/os/x:1 asks for a signed image: pass the keys its commit is signed with (--keyring FILE or --sign-verify ed25519=KEY|file:PATH)")]
    [InlineData("deploy --os exampleos docker://127.0.0.1:1/os/x:1", "no keys to verify the commit's signature")]
    public void Verb_BadInput_OneLineExit1SysrootUnchanged(string args, string expected)
    {
        var sysroot = NewSysroot("exampleos");
        var before = Snapshot(sysroot);

        var (_, stderr) = RunCli(1, [.. args.Split(' '), "--sysroot", sysroot, "--tls-verify=false"]);

        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("ostree-container: error: ", lines[0], StringComparison.Ordinal);
        Assert.Contains(expected.Replace("SYSROOT", sysroot, StringComparison.Ordinal), lines[0], StringComparison.Ordinal);
        Assert.Equal(before, Snapshot(sysroot));
    }

    [Fact]
    public void Deploy_KernelArgumentWithWhitespace_OneLineBeforeAnyRequest()
    {
        var sysroot = NewSysroot("exampleos");
        var before = Snapshot(sysroot);

        var (_, stderr) = RunCli(1, "deploy", "--sysroot", sysroot, "--os", "exampleos", "docker://127.0.0.1:1/os/x:1", "--karg", "a b", "--insecure-no-signature", "--tls-verify=false");

        Assert.Equal("ostree-container: error: --karg: 'a b' is not one kernel argument", stderr.Trim());
        Assert.Equal(before, Snapshot(sysroot));
    }

    [Fact]
    public void LeadingContainerArgument_IsWhatOstreePasses_Dropped()
    {
        var repo = Path.Combine(Fixtures.TempDirectory("container-prefix"), "repo");

        RunCli(0, "container", "init", "--repo", repo, "--mode", "archive");

        Assert.Equal("archive-z2", Peer.Ostree(repo, "config", "get", "core.mode").Trim());
        var (_, stderr) = RunCli(1, "container", "container", "init", "--repo", repo);
        Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void Deploy_WithoutOs_OneLine()
    {
        var (_, stderr) = RunCli(1, "deploy", "--sysroot", "/nonexistent", "docker://127.0.0.1:1/os/x:1");

        Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("--os", stderr, StringComparison.Ordinal);
    }
}
