using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using OstreeContainer.ImageFormat;
using OstreeContainer.Oci.Images;
using OstreeContainer.Oci.Layout;

namespace OstreeContainer.ImageBuilder.Tests;

/// <summary>
/// Static deltas served by an image's own webserver: the image runs under the real podman
/// (<c>podman run -p PORT:8080</c>) and the real <c>ostree pull --require-static-deltas</c>
/// fetches from it, so a pull that succeeds used a delta (ostree fails rather than fall
/// back to objects).
/// </summary>
public class ServedDeltaPodmanTests
{
    // Built once for the class, so no test's cancellation token (it would cancel the others' images too).
    private static readonly Lazy<Task<string>> OsC2 = new(async () =>
    {
        // The OS fixture has ostree's own C1 -> C2 delta; the builder carries it into the image.
        var os = Fixtures.OsRepo;
        var layout = Path.Combine(Fixtures.TempDirectory("served-os"), "layout");
        await CommitImageBuilder.BuildToLayoutAsync(layout, "c2", CommitImageBuilderTests.Options(os.Repo, os.Branch), CancellationToken.None);
        return layout;
    });

    private static readonly Dictionary<string, string> PodmanEnvironment = new(StringComparer.Ordinal)
    {
        ["CONTAINERS_CONF"] = Path.Combine(Fixtures.ScriptsDirectory, "containers.conf"),
    };

    [Fact]
    public async Task OstreePull_FromTheOsC2ImageIntoARepoHoldingC1_UsesTheC1ToC2Delta()
    {
        var os = Fixtures.OsRepo;
        var layout = await OsC2.Value;
        AssertDeltaLayer(layout, "c2", os.Commit1, os.Commit2);

        using var served = ServedImage.Run(layout, "c2");
        var client = Path.Combine(Fixtures.TempDirectory("served-update"), "repo");
        Peer.Check("ostree", "init", $"--repo={client}", "--mode=bare-user");
        Peer.Ostree(client, "remote", "add", "--no-gpg-verify", "image", served.RepoUrl);
        Peer.Ostree(client, "pull-local", os.Repo, os.Commit1);
        Peer.Ostree(client, "refs", $"--create=image:{os.Branch}", os.Commit1);

        var pull = Peer.Ostree(client, "pull", "--require-static-deltas", "image", os.Branch);

        Assert.Contains("delta parts", pull, StringComparison.Ordinal);
        Peer.Ostree(client, "fsck");
        Assert.Equal(os.Commit2, Peer.Ostree(client, "rev-parse", $"image:{os.Branch}").Trim());
    }

    [Fact]
    public async Task OstreePull_FromAnImageWithAFromScratchDelta_FirstPullUsesIt()
    {
        // A small commit the image's webserver can start in: the small fixture's tree plus
        // the loader and the libraries the NativeAOT webserver links (an ostree commit is
        // the whole image filesystem, so a base image cannot lend them). Its only delta is
        // a from-scratch one, made by the real ostree on a copy of the fixture repo.
        var small = Fixtures.SmallRepo;
        var work = Fixtures.TempDirectory("served-scratch");
        var repo = Path.Combine(work, "repo");
        Peer.Check("cp", "-a", small.ArchiveRepo, repo);
        var tree = Path.Combine(work, "tree");
        Peer.Ostree(repo, "checkout", "fixture/main", tree);
        AddWebserverLibraries(tree);
        var commit = Peer.Ostree(repo, "commit", "--branch=served/scratch", "--subject=served", $"--tree=dir={tree}").Trim();
        Peer.Ostree(repo, "static-delta", "generate", "--empty", $"--to={commit}");
        Peer.Ostree(repo, "summary", "-u");
        var layout = Path.Combine(work, "layout");
        await CommitImageBuilder.BuildToLayoutAsync(layout, "scratch", CommitImageBuilderTests.Options(repo, "served/scratch"), TestContext.Current.CancellationToken);
        AssertDeltaLayer(layout, "scratch", from: null, commit);

        using var served = ServedImage.Run(layout, "scratch");
        // ostree applies static deltas only into non-archive repos.
        var client = Path.Combine(Fixtures.TempDirectory("served-first"), "repo");
        Peer.Check("ostree", "init", $"--repo={client}", "--mode=bare-user");
        Peer.Ostree(client, "remote", "add", "--no-gpg-verify", "image", served.RepoUrl);

        var pull = Peer.Ostree(client, "pull", "--require-static-deltas", "image", "served/scratch");

        Assert.Contains("delta parts", pull, StringComparison.Ordinal);
        Peer.Ostree(client, "fsck");
        Assert.Equal(commit, Peer.Ostree(client, "rev-parse", "image:served/scratch").Trim());
    }

    /// <summary>
    /// Copies the ELF loader and the shared libraries <c>ldd</c> lists for the native
    /// webserver into <paramref name="tree"/> under usr/, with lib and lib64 symlinks to
    /// usr/lib and usr/lib64 as a merged-/usr OS has them.
    /// </summary>
    private static void AddWebserverLibraries(string tree)
    {
        var ldd = Peer.Check("ldd", NativeWebserver.Executable);
        var paths = ldd.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .SelectMany(line => line.Split(' ').Where(word => word.StartsWith('/')))
            .Distinct(StringComparer.Ordinal)
            .ToList();
        Assert.Contains(paths, p => p.Contains("ld-linux", StringComparison.Ordinal));
        foreach (var path in paths)
        {
            var inUsr = path.StartsWith("/usr/", StringComparison.Ordinal) ? path : "/usr" + path;
            var target = Path.Combine(tree, inUsr.TrimStart('/'));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(new FileInfo(path).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? path, target, overwrite: true);
        }

        foreach (var top in paths.Where(p => !p.StartsWith("/usr/", StringComparison.Ordinal)).Select(p => p.Split('/')[1]).Distinct(StringComparer.Ordinal))
        {
            if (!Path.Exists(Path.Combine(tree, top)))
            {
                File.CreateSymbolicLink(Path.Combine(tree, top), "usr/" + top);
            }
        }
    }

    /// <summary>Asserts the image has exactly one delta layer, annotated from <paramref name="from"/> (null: from scratch) to <paramref name="to"/>.</summary>
    private static void AssertDeltaLayer(string layout, string tag, string? from, string to)
    {
        var manifest = OciJson.ParseManifest(ImageLayout.Open(layout).ResolveManifest(tag).Bytes);
        var deltas = manifest.Layers
            .Where(l => l.Annotation(ImageAnnotationKeys.LayerKind) == LayerKinds.ToAnnotation(LayerKind.Delta))
            .Select(DeltaLayerAnnotations.Read)
            .ToList();
        Assert.Contains(new DeltaLayerInfo(from, to, 0), deltas.Select(d => d! with { Size = 0 }));
    }

    /// <summary>An image pulled into podman from a layout and run detached with its port 8080 published on loopback; removed on dispose.</summary>
    private sealed class ServedImage : IDisposable
    {
        private readonly string _podman;
        private readonly string _imageId;
        private readonly string _container;

        private ServedImage(string podman, string imageId, string container, int port)
        {
            _podman = podman;
            _imageId = imageId;
            _container = container;
            RepoUrl = $"http://127.0.0.1:{port}/repo";
        }

        public string RepoUrl { get; }

        public static ServedImage Run(string layout, string tag)
        {
            var podman = Peer.Require("podman");
            var image = $"localhost/ostree-container-test-served:{Guid.NewGuid():N}";
            Peer.Run(podman, ["pull", "-q", $"oci:{layout}:{tag}"], env: PodmanEnvironment, timeout: TimeSpan.FromMinutes(5)).EnsureSuccess("podman pull oci:");
            // The config digest is the image ID (podman pull -q prints nothing useful for oci: on every version).
            var id = OciJson.ParseManifest(ImageLayout.Open(layout).ResolveManifest(tag).Bytes).Config.Digest.Hex;
            Peer.Run(podman, ["tag", id, image], env: PodmanEnvironment).EnsureSuccess("podman tag");
            var container = $"ostree-container-served-{Guid.NewGuid():N}";
            var port = FreePort();
            // The shared containers.conf has no network namespace (netns none); a published
            // port needs one, and slirp4netns works where bridges do not.
            var run = Peer.Run(
                podman,
                ["run", "-d", "--name", container, "--network=slirp4netns", "-p", $"127.0.0.1:{port}:8080", image],
                env: PodmanEnvironment,
                timeout: TimeSpan.FromMinutes(2));
            var served = new ServedImage(podman, id, container, port);
            try
            {
                run.EnsureSuccess("podman run -p PORT:8080");
                WaitForHttp($"http://127.0.0.1:{port}/healthz", () => Peer.Run(podman, ["logs", container], env: PodmanEnvironment).Stdout);
                return served;
            }
            catch
            {
                served.Dispose();
                throw;
            }
        }

        public void Dispose()
        {
            Peer.Run(_podman, ["rm", "-f", _container], env: PodmanEnvironment);
            // By ID: podman pull of oci:DIR named the image after DIR too; both names go.
            Peer.Run(_podman, ["rmi", "-f", _imageId], env: PodmanEnvironment);
        }

        private static int FreePort()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        private static void WaitForHttp(string url, Func<string> logs)
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
            var watch = Stopwatch.StartNew();
            while (watch.Elapsed < TimeSpan.FromSeconds(30))
            {
                try
                {
                    if (http.GetAsync(url).GetAwaiter().GetResult().IsSuccessStatusCode)
                    {
                        return;
                    }
                }
                catch (HttpRequestException)
                {
                }
                catch (TaskCanceledException)
                {
                }

                Thread.Sleep(200);
            }

            throw new TimeoutException($"{url} did not answer within 30 s; container log: {logs()}");
        }
    }
}
