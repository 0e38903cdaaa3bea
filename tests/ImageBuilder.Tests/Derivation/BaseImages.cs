using System.Text;
using OstreeContainer.Oci;
using OstreeContainer.Oci.Images;
using OstreeContainer.Oci.Layers;
using OstreeContainer.Oci.Layout;

namespace OstreeContainer.ImageBuilder.Tests.Derivation;

/// <summary>Plain (non-ostree) base images for derivation tests: made by buildah, or written layer by layer.</summary>
internal static class BaseImages
{
    public static readonly TarEntryMetadata Directory = new(Convert.ToInt32("755", 8), 0, 0);
    public static readonly TarEntryMetadata File = new(Convert.ToInt32("644", 8), 0, 0);
    public static readonly TarEntryMetadata Executable = new(Convert.ToInt32("755", 8), 0, 0);

    /// <summary>
    /// An image of <paramref name="tree"/> made by the real buildah (<c>from scratch</c>,
    /// <c>copy</c>, <c>commit</c>), pushed to <c>oci:DIR:TAG</c> with <paramref name="format"/>
    /// (<c>oci</c> or <c>docker</c>); returns DIR.
    /// </summary>
    public static string Buildah(string tree, string tag = "latest", string format = "oci", params string[] env)
    {
        var work = Fixtures.TempDirectory("buildah");
        var layout = Path.Combine(work, "layout");
        string[] storage = ["--root", Path.Combine(work, "root"), "--runroot", Path.Combine(work, "run"), "--storage-driver", "vfs"];
        var environment = new Dictionary<string, string> { ["BUILDAH_RUNTIME"] = "runc" };
        var buildah = Peer.Require("buildah");
        string Run(params string[] args) =>
            Peer.Run(buildah, [.. storage, .. args], env: environment).EnsureSuccess($"buildah {args[0]}").Stdout.Trim();

        var container = Run("from", "scratch");
        Run("copy", container, tree + "/", "/");
        foreach (var e in env)
        {
            Run("config", "--env", e, container);
        }

        Run("config", "--label", "org.example.base=plain", "--workingdir", "/var", container);
        Run("commit", "-q", "--format", format, container, "base:1");
        Run("push", "--format", format == "docker" ? "v2s2" : "oci", "base:1", $"oci:{layout}:{tag}");
        Run("rm", container);
        return layout;
    }

    /// <summary>Writes an image whose layers are produced by <paramref name="layers"/> (bottom first) into a new layout; returns its directory.</summary>
    public static string Write(string tag, params Action<LayerWriter>[] layers)
    {
        var directory = Path.Combine(Fixtures.TempDirectory("base"), "layout");
        var layout = ImageLayout.Create(directory);
        var descriptors = new List<Descriptor>();
        var diffIds = new List<Digest>();
        foreach (var write in layers)
        {
            using var staged = layout.BeginBlob();
            LayerResult result;
            using (var writer = new LayerWriter(staged.Stream, LayerCompression.Gzip, DateTimeOffset.UnixEpoch))
            {
                write(writer);
                result = writer.Complete();
            }

            descriptors.Add(staged.Commit(result.MediaType, result.Digest));
            diffIds.Add(result.DiffId);
        }

        var config = layout.WriteBlob(
            OciJson.Serialize(new ImageConfig
            {
                Architecture = Platform.Current.Architecture,
                Os = "linux",
                Config = new ContainerConfig { Env = ["PATH=/bin", "FOO=base"], User = "1000" },
                RootFs = new RootFs { DiffIds = diffIds },
            }),
            MediaTypes.OciConfig);
        var manifest = layout.WriteBlob(
            OciJson.Serialize(new ImageManifest { MediaType = MediaTypes.OciManifest, Config = config, Layers = descriptors }),
            MediaTypes.OciManifest);
        layout.SetManifest(manifest, tag);
        return directory;
    }

    public static void AddText(this LayerWriter writer, string path, string text, TarEntryMetadata? metadata = null) =>
        writer.AddFile(path, metadata ?? File, Encoding.UTF8.GetBytes(text));
}
