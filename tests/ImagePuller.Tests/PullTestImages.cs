using System.Formats.Tar;
using System.IO.Compression;
using OstreeContainer.ImageBuilder;
using OstreeContainer.ImageFormat;
using OstreeContainer.Oci;
using OstreeContainer.Oci.Images;
using OstreeContainer.Oci.Layout;
using OstreeContainer.Oci.Registry;

namespace OstreeContainer.ImagePuller.Tests;

/// <summary>Images built with the real builder, pushed to a real docker-registry, and repos to pull them into.</summary>
internal static class PullTestImages
{
    /// <summary>Builds <paramref name="rev"/> of <paramref name="repo"/> into a new layout tagged <paramref name="tag"/>.</summary>
    public static (string Layout, ImageBuildResult Result) Build(string repo, string rev, string tag = "latest", string? layout = null)
    {
        layout ??= Path.Combine(Fixtures.TempDirectory("image"), "layout");
        var result = CommitImageBuilder.BuildToLayoutAsync(layout, tag, new ImageBuildOptions
        {
            RepoPath = repo,
            Rev = rev,
            WebserverExecutable = NativeWebserver.Executable,
        }).GetAwaiter().GetResult();
        return (layout, result);
    }

    /// <summary>Pushes a built image to <paramref name="registry"/> as NAME:TAG and returns the reference.</summary>
    public static ImageReference Push(LocalRegistry registry, string layout, ImageBuildResult result, string name, string tag)
    {
        var target = ImageReference.Parse($"docker://{registry.Host}/{name}:{tag}");
        using var client = Client();
        LayoutPush.PushAsync(ImageLayout.Open(layout), result.ManifestBytes, client, target).GetAwaiter().GetResult();
        return target;
    }

    public static RegistryClient Client() => new(new RegistryClientOptions { TlsVerify = false, MaxRetries = 2, InitialBackoff = TimeSpan.FromMilliseconds(50) });

    /// <summary>A fresh repo made by the real <c>ostree init</c>.</summary>
    public static string NewRepo(string mode)
    {
        var repo = Path.Combine(Fixtures.TempDirectory("target"), "repo");
        Peer.Check("ostree", "init", $"--repo={repo}", $"--mode={mode}");
        return repo;
    }

    /// <summary>
    /// Checks out <paramref name="rev"/> with the real ostree: in user mode (<c>-U</c>), or,
    /// when <paramref name="mode"/> is <c>bare</c>, as root with every file's owner kept.
    /// </summary>
    public static string Checkout(string repo, string rev, string mode = "archive")
    {
        var dir = Path.Combine(Fixtures.TempDirectory("checkout"), "tree");
        if (mode == "bare")
        {
            Assert.True(Ostree.Posix.FileSystem.IsRoot, "bare repositories keep real owners: run the tests as root");
            Peer.Ostree(repo, "checkout", rev, dir);
        }
        else
        {
            Peer.Ostree(repo, "checkout", "-U", rev, dir);
        }

        return dir;
    }

    /// <summary>
    /// Copies tag <paramref name="tag"/> of a layout to <paramref name="newTag"/> with layer
    /// <paramref name="index"/> rewritten entry by entry (digest, diff_id, config and manifest
    /// all updated, so only the content is wrong): <paramref name="rewrite"/> gets each entry and
    /// yields what to write instead; <paramref name="extra"/> entries are appended.
    /// </summary>
    public static void RewriteLayer(string layout, string tag, string newTag, int index, Func<TarEntry, byte[]?, IEnumerable<(TarEntry Entry, byte[]? Data)>> rewrite, IEnumerable<(TarEntry Entry, byte[]? Data)>? extra = null)
    {
        var image = ImageLayout.Open(layout);
        var resolved = image.ResolveManifest(tag);
        var manifest = OciJson.ParseManifest(resolved.Bytes);
        var config = OciJson.ParseConfig(image.ReadBlob(manifest.Config, OciJson.MaxDocumentBytes));
        var layer = manifest.Layers[index];

        var tar = new MemoryStream();
        // Repo layers are plain tar, the meta layer gzip: keep each layer's own compression.
        var gzipped = layer.MediaType.EndsWith("gzip", StringComparison.Ordinal);
        using (var blob = image.OpenBlob(layer))
        using (var source = gzipped ? new GZipStream(blob, CompressionMode.Decompress) : blob)
        using (var reader = new TarReader(source))
        using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            while (reader.GetNextEntry(copyData: true) is { } entry)
            {
                byte[]? data = null;
                if (entry.DataStream is { } stream)
                {
                    data = new byte[stream.Length];
                    stream.ReadExactly(data);
                }

                foreach (var (outEntry, outData) in rewrite(entry, data))
                {
                    Write(writer, outEntry, outData);
                }
            }

            foreach (var (outEntry, outData) in extra ?? [])
            {
                Write(writer, outEntry, outData);
            }
        }

        var tarBytes = tar.ToArray();
        var compressed = new MemoryStream();
        if (gzipped)
        {
            using var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true);
            gzip.Write(tarBytes);
        }
        else
        {
            compressed.Write(tarBytes);
        }

        var newLayer = image.WriteBlob(compressed.ToArray(), layer.MediaType, layer.Annotations);
        var diffIds = config.RootFs.DiffIds.ToList();
        diffIds[index] = Digest.Compute(tarBytes);
        // A rewritten last layer keeps its place as the builder's last (label ostree.final-diffid).
        var labels = config.Config?.Labels is { } l ? new SortedDictionary<string, string>(l, StringComparer.Ordinal) : null;
        if (labels is not null && labels.TryGetValue(ImageLabelKeys.FinalDiffId, out var final) && final == config.RootFs.DiffIds[index].ToString())
        {
            labels[ImageLabelKeys.FinalDiffId] = diffIds[index].ToString();
        }

        var newConfig = image.WriteBlob(
            OciJson.Serialize(config with { RootFs = config.RootFs with { DiffIds = diffIds }, Config = config.Config is null ? null : config.Config with { Labels = labels } }),
            manifest.Config.MediaType);
        var layers = manifest.Layers.ToList();
        layers[index] = newLayer;
        var newManifest = image.WriteBlob(OciJson.Serialize(manifest with { Config = newConfig, Layers = layers }), MediaTypes.OciManifest);
        image.SetManifest(newManifest, newTag);
    }

    /// <summary>A copy of the small fixture's archive repo in <paramref name="dir"/> whose commit 2 carries an ed25519 signature by <paramref name="key"/>.</summary>
    public static string SignedSmallRepo(string dir, Ostree.Signing.Ed25519SecretKey key)
    {
        var repo = Path.Combine(dir, "repo");
        Peer.Check("cp", "-a", Fixtures.SmallRepo.ArchiveRepo, repo);
        var target = Ostree.Repository.OstreeRepo.Open(repo);
        var commit = Ostree.Objects.Checksum.Parse(Fixtures.SmallRepo.Commit2);
        var metadata = target.ReadCommitMeta(commit) ?? new Ostree.Objects.VariantDictionary();
        Ostree.Signing.Ed25519Signatures.Sign(metadata, target.ReadMetadataBytes(commit, Ostree.Objects.ObjectType.Commit), key);
        using var transaction = target.BeginTransaction();
        transaction.WriteCommitMeta(commit, metadata);
        transaction.Commit();
        return repo;
    }

    /// <summary>An entry unchanged.</summary>
    public static IEnumerable<(TarEntry, byte[]?)> Keep(TarEntry entry, byte[]? data) => [(entry, data)];

    /// <summary>A regular file entry.</summary>
    public static (TarEntry, byte[]?) NewFile(string name, byte[] data) => (new PaxTarEntry(TarEntryType.RegularFile, name), data);

    private static void Write(TarWriter writer, TarEntry entry, byte[]? data)
    {
        if (data is not null)
        {
            entry.DataStream = new MemoryStream(data);
        }

        writer.WriteEntry(entry);
    }
}
