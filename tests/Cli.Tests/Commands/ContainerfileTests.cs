using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace OstreeContainer.Cli.Tests.Commands;

/// <summary>
/// The repository's Containerfile, built with <c>buildah bud</c> from local stand-ins for
/// the public base images, then run with podman the way docs/container.md tells a CI
/// pipeline to: non-root, read-only root, no capabilities, the OSTree repo mounted
/// read-only and only the registry auth file passed in, as a podman secret.
/// </summary>
public class ContainerfileTests
{
    // The user the Containerfile's final stage runs as.
    private const string ImageUser = "1654:1654";

    [Fact]
    public void Containerfile_BuildsAnImageWhoseCliPushesAsNonRoot()
    {
        var podman = Peer.Require("podman");
        var skopeo = Peer.Require("skopeo");
        var image = BuildImage();

        var help = Peer.Run(podman, ["run", "--rm", image, "--help"], env: ContainerBaseImages.ContainerEnvironment)
            .EnsureSuccess($"podman run {image} --help");
        Assert.Contains("build", help.Stdout, StringComparison.Ordinal);
        var user = Peer.Run(podman, ["image", "inspect", "--format", "{{.Config.User}}", image]).EnsureSuccess("podman image inspect").Stdout.Trim();
        Assert.Equal(ImageUser, user);

        using var registry = LocalRegistry.Start("ci", "ci-secret");
        var authFile = Path.Combine(Fixtures.TempDirectory("containerfile-auth"), "auth.json");
        var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes("ci:ci-secret"));
        var auths = new Dictionary<string, object> { [registry.Host] = new { auth = basic } };
        File.WriteAllText(authFile, JsonSerializer.Serialize(new { auths }));
        // The file stays private to root on the host; the secret hands the container's user a
        // copy it alone can read.
        File.SetUnixFileMode(authFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var secret = $"ostree-container-test-{Guid.NewGuid():N}"[..32];
        Peer.Run(podman, ["secret", "create", secret, authFile], env: ContainerBaseImages.ContainerEnvironment).EnsureSuccess("podman secret create");
        try
        {
            var target = $"{registry.Host}/os/fixture:v1";
            // The line docs/container.md documents, with --network=host to reach 127.0.0.1 and
            // --tls-verify=false because the test registry speaks plain HTTP. The tmpfs gives
            // the secret a mount point: podman 4.3 mounts secrets before the /run tmpfs of
            // --read-only and fails on the read-only root without it.
            var run = Peer.Run(podman, [
                "run", "--rm", "--network=host",
                "--read-only", "--cap-drop=all", "--security-opt=no-new-privileges",
                "--tmpfs", "/run/secrets", "--secret", $"{secret},uid=1654,mode=0400",
                "-v", $"{Fixtures.SmallRepo.ArchiveRepo}:/repo:ro",
                image,
                "build", "--repo", "/repo", "--ref", "fixture/main",
                "--push", target, "--authfile", $"/run/secrets/{secret}", "--tls-verify=false",
            ], env: ContainerBaseImages.ContainerEnvironment, timeout: TimeSpan.FromMinutes(5));
            Assert.True(run.ExitCode == 0, $"ostree-container build --push in the container exited {run.ExitCode}: {run.Stderr}");
            var pushed = run.Stdout.Trim();
            Assert.StartsWith("sha256:", pushed, StringComparison.Ordinal);

            var digest = Peer.Run(skopeo, ["inspect", "--tls-verify=false", "--creds", "ci:ci-secret", "--format", "{{.Digest}}", $"docker://{target}"])
                .EnsureSuccess("skopeo inspect").Stdout.Trim();
            Assert.Equal(pushed, digest);
            var config = Peer.Run(skopeo, ["inspect", "--tls-verify=false", "--creds", "ci:ci-secret", "--config", $"docker://{target}"])
                .EnsureSuccess("skopeo inspect --config").Stdout;
            using var json = JsonDocument.Parse(config);
            // The image embeds the NativeAOT webserver the Containerfile put beside the CLI.
            Assert.Equal("/ostree/repo-webserver", json.RootElement.GetProperty("config").GetProperty("Entrypoint")[0].GetString());
        }
        finally
        {
            Peer.Run(podman, ["secret", "rm", secret], env: ContainerBaseImages.ContainerEnvironment);
        }
    }

    /// <summary>
    /// <c>buildah bud</c> of the Containerfile, tagged per checkout. <c>--layers</c> reuses the
    /// restore and publish steps while their inputs are unchanged; the host's NuGet package
    /// folder is mounted so the restore downloads nothing this machine already has.
    /// </summary>
    private static string BuildImage()
    {
        var buildah = Peer.Require("buildah");
        var root = Fixtures.RepositoryRoot;
        var checkout = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(root)))[..12];
        var image = $"localhost/ostree-container-test/cli:{checkout}";
        var nuget = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        Directory.CreateDirectory(nuget);
        Peer.Run(buildah, [
            "bud", "--layers", "--network=host",
            "-v", "/etc/ssl/certs:/etc/ssl/certs:ro",
            "-v", $"{nuget}:/root/.nuget/packages",
            "--build-arg", $"SDK_IMAGE={ContainerBaseImages.SdkImage}",
            "--build-arg", $"RUNTIME_IMAGE={ContainerBaseImages.RuntimeImage}",
            "-f", Path.Combine(root, "Containerfile"), "-t", image, root,
        ], env: ContainerBaseImages.ContainerEnvironment, timeout: TimeSpan.FromMinutes(20))
            .EnsureSuccess("buildah bud Containerfile");
        return image;
    }
}
