using System.Diagnostics;
using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using OstreeContainer.ImageFormat;
using OstreeContainer.Oci;
using OstreeContainer.Oci.Images;
using OstreeContainer.Oci.Layout;

namespace OstreeContainer.ImageBuilder.Tests;

/// <summary>Images of the OS-sized fixture (a Debian minbase tree with bash): update churn and podman.</summary>
public class OsImageTests
{
    // Built once for the class, so no test's cancellation token (it would cancel the others' images too).
    private static readonly Lazy<Task<(string Layout, ImageBuildResult C1, ImageBuildResult C2)>> Images = new(async () =>
    {
        var os = Fixtures.OsRepo;
        var dir = Path.Combine(Fixtures.TempDirectory("os-image"), "layout");
        var c1 = await CommitImageBuilder.BuildToLayoutAsync(dir, "c1", CommitImageBuilderTests.Options(os.Repo, os.Commit1), CancellationToken.None);
        var c2 = await CommitImageBuilder.BuildToLayoutAsync(dir, "c2", CommitImageBuilderTests.Options(os.Repo, os.Branch), CancellationToken.None);
        return (dir, c1, c2);
    });

    [Fact]
    public async Task Build_OsUpdate_ChangesFewLayers()
    {
        var (_, c1, c2) = await Images.Value;
        var before = c1.Layers.Select(l => l.Descriptor.Digest).ToHashSet();

        var report = new List<string>();
        foreach (var kind in new[] { LayerKind.Tree, LayerKind.Repo })
        {
            var layers = c2.Layers.Where(l => l.Kind == kind).ToList();
            var changed = layers.Where(l => !before.Contains(l.Descriptor.Digest)).ToList();
            report.Add($"{kind}: {changed.Count} of {layers.Count} layers changed, {changed.Sum(l => l.Descriptor.Size) / 1e6:F1} of {layers.Sum(l => l.Descriptor.Size) / 1e6:F1} MB");

            // The update touches five places in the tree (os-release, usr/lib/exampleos,
            // 60 files in usr/share/doc, a new data directory, a removed zoneinfo subtree).
            Assert.True(changed.Count <= layers.Count / 2, string.Join("; ", report));
        }

        TestContext.Current.TestOutputHelper?.WriteLine(string.Join(Environment.NewLine, report));
    }

    [Fact]
    public async Task Build_OsCommit_StoresRepoLayersInGzipAndCompressesTreeLayers()
    {
        // .filez are deflated already: repo layers are gzip (so skopeo keeps their digests)
        // with stored blocks, which a puller reads at copy speed; the tree is compressed.
        var (layout, _, c2) = await Images.Value;
        foreach (var layer in c2.Layers.Where(l => l.Kind is LayerKind.Repo or LayerKind.Tree && l.Descriptor.Size > 1 << 20))
        {
            Assert.Equal(MediaTypes.OciLayerGzip, layer.Descriptor.MediaType);
            var blob = Path.Combine(layout, "blobs", "sha256", layer.Descriptor.Digest.Hex);
            long tar = 0;
            using (var gzip = new GZipStream(File.OpenRead(blob), CompressionMode.Decompress))
            {
                var buffer = new byte[1 << 16];
                int n;
                while ((n = gzip.Read(buffer)) > 0)
                {
                    tar += n;
                }
            }

            var ratio = (double)layer.Descriptor.Size / tar;
            var what = $"{layer.Kind} layer {layer.Descriptor.Digest}: {layer.Descriptor.Size} bytes for {tar} of tar ({ratio:F3})";
            Assert.True(layer.Kind == LayerKind.Repo ? ratio is >= 1.0 and < 1.001 : ratio < 0.8, what);
        }
    }

    [Fact]
    public async Task Build_OsCommit_RunsUnderPodmanAsShellAndAsRepoServer()
    {
        var (layout, _, c2) = await Images.Value;
        var podman = Peer.Require("podman");
        var env = new Dictionary<string, string> { ["CONTAINERS_CONF"] = Path.Combine(Fixtures.ScriptsDirectory, "containers.conf") };
        var image = $"localhost/ostree-container-test:{Guid.NewGuid():N}";
        var imageId = ImageIdFor(podman, env, layout);
        Peer.Run(podman, ["pull", "-q", $"oci:{layout}:c2"], env: env, timeout: TimeSpan.FromMinutes(5)).EnsureSuccess("podman pull oci:");
        try
        {
            Peer.Run(podman, ["tag", imageId, image], env: env).EnsureSuccess("podman tag");
            var shell = Peer.Run(podman, ["run", "--rm", "--entrypoint", "bash", image, "-c", "cat /etc/os-release"], env: env, timeout: TimeSpan.FromMinutes(2))
                .EnsureSuccess("podman run --entrypoint bash");
            Assert.Contains("ExampleOS", shell.Stdout, StringComparison.Ordinal);

            var port = FreePort();
            var name = $"ostree-container-test-{Guid.NewGuid():N}";
            Peer.Run(podman, ["run", "-d", "--name", name, "--network=host", "-e", $"ASPNETCORE_URLS=http://127.0.0.1:{port}", image], env: env, timeout: TimeSpan.FromMinutes(2))
                .EnsureSuccess("podman run (webserver)");
            try
            {
                WaitForHttp($"http://127.0.0.1:{port}/healthz");
                var client = Path.Combine(Fixtures.TempDirectory("pull"), "repo");
                Peer.Check("ostree", "init", $"--repo={client}", "--mode=archive");
                Peer.Ostree(client, "remote", "add", "--no-gpg-verify", "image", $"http://127.0.0.1:{port}/repo");
                Peer.Ostree(client, "pull", "image", Fixtures.OsRepo.Branch);
                Peer.Ostree(client, "fsck");
                Assert.Equal(c2.Commit.ToString(), Peer.Ostree(client, "rev-parse", $"image:{Fixtures.OsRepo.Branch}").Trim());
            }
            finally
            {
                Peer.Run(podman, ["rm", "-f", name], env: env);
            }
        }
        finally
        {
            // By ID: `podman pull oci:DIR` also names the image after DIR, so removing our tag
            // alone would leave a 400 MB image in the store after every run.
            Peer.Run(podman, ["rmi", "-f", imageId], env: env);
        }
    }

    private static string ImageIdFor(string podman, Dictionary<string, string> env, string layout)
    {
        // podman pull prints nothing useful with -q for oci: on every version; the config
        // digest is the image ID.
        var manifest = ImageLayout.Open(layout).ResolveManifest("c2");
        var config = OciJson.ParseManifest(manifest.Bytes).Config.Digest;
        return config.Hex;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static void WaitForHttp(string url)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var watch = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                if (http.GetAsync(url).GetAwaiter().GetResult().IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException) when (watch.Elapsed < TimeSpan.FromSeconds(30))
            {
            }
            catch (TaskCanceledException) when (watch.Elapsed < TimeSpan.FromSeconds(30))
            {
            }

            if (watch.Elapsed > TimeSpan.FromSeconds(30))
            {
                throw new TimeoutException($"{url} did not answer within 30 s");
            }

            Thread.Sleep(200);
        }
    }
}
