using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using OstreeContainer.ImageBuilder.Derivation;
using OstreeContainer.Oci.Images;
using OstreeContainer.Oci.Layers;

namespace OstreeContainer.ImageBuilder;

/// <summary>What <see cref="CommitImageBuilder"/> builds and how.</summary>
public sealed record ImageBuildOptions
{
    /// <summary>Default for <see cref="MaxLayers"/>.</summary>
    public const int DefaultMaxLayers = 32;

    /// <summary>Overlay filesystems stack at most this many layers; no image may have more.</summary>
    public const int MaxImageLayers = 127;

    /// <summary>The source repository (any mode).</summary>
    public required string RepoPath { get; init; }

    /// <summary>A ref or a full commit checksum.</summary>
    public required string Rev { get; init; }

    /// <summary>The native <c>repo-webserver</c> to place at <c>/ostree/repo-webserver</c>.</summary>
    public required string WebserverExecutable { get; init; }

    /// <summary>Layer compression.</summary>
    public LayerCompression Compression { get; init; } = LayerCompression.Gzip;

    /// <summary>Most layers this build adds (tree + repo + delta + meta).</summary>
    public int MaxLayers { get; init; } = DefaultMaxLayers;

    /// <summary>Extra labels, applied after the built-in ones.</summary>
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    /// <summary>The platform written into the config.</summary>
    public Platform Platform { get; init; } = Platform.Current;

    /// <summary>Workers building layers at once (default: one per core).</summary>
    public int Parallelism { get; init; } = Environment.ProcessorCount;

    /// <summary>
    /// Where the build logs (categories <see cref="CommitImageBuilder"/> and
    /// <see cref="BaseImage"/>): one Information line per step, and a Warning for problems
    /// with the image that do not stop the build, such as an OS tree the entrypoint cannot
    /// start in (meant to be shown even when information is not). No logging by default.
    /// </summary>
    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;

    /// <summary>
    /// The image to derive from (<c>--from</c>), opened with <see cref="BaseImage.OpenAsync"/>:
    /// the new image is its layers followed by ours, and our tree layers hold only what
    /// differs from its filesystem. Null builds a standalone image.
    /// </summary>
    public BaseImage? Base { get; init; }

    /// <summary>
    /// The static deltas to put into the image, one layer each (default: the repo's deltas
    /// to the commit, plus one from its parent, generated when the repo lacks it).
    /// </summary>
    public DeltaSelection Deltas { get; init; } = DeltaSelection.Default;

    /// <summary>
    /// Copy the base's layer blobs into the target layout (default). False when the caller
    /// pushes to a registry and mounts or uploads them itself (<see cref="LayoutPush"/>).
    /// </summary>
    public bool CopyBaseBlobs { get; init; } = true;
}

/// <summary>One layer of a built image.</summary>
/// <param name="Kind">What it holds.</param>
/// <param name="Descriptor">Its descriptor (with the kind annotation).</param>
/// <param name="DiffId">Digest of the uncompressed tar.</param>
/// <param name="Entries">Tar entries in it.</param>
/// <param name="UncompressedSize">Bytes of the uncompressed tar.</param>
public sealed record BuiltLayer(LayerKind Kind, Descriptor Descriptor, Oci.Digest DiffId, int Entries, long UncompressedSize);

/// <summary>The result of a build.</summary>
/// <param name="Manifest">Descriptor of the manifest.</param>
/// <param name="ManifestBytes">The manifest as stored.</param>
/// <param name="Config">Descriptor of the config.</param>
/// <param name="Layers">Layers this build made, bottom first (a base's layers precede them in the manifest).</param>
/// <param name="Commit">The commit built.</param>
/// <param name="Ref">The ref, when a ref was given.</param>
/// <param name="Labels">The labels written.</param>
/// <param name="Base">The image derived from, or null.</param>
/// <param name="DeduplicatedFiles">Files and symlinks identical in the base, not stored in our tree layers.</param>
/// <param name="DeduplicatedBytes">Content bytes of those files.</param>
/// <param name="Whiteouts">Whiteouts written for base paths the commit lacks.</param>
public sealed record ImageBuildResult(
    Descriptor Manifest,
    byte[] ManifestBytes,
    Descriptor Config,
    IReadOnlyList<BuiltLayer> Layers,
    Ostree.Objects.Checksum Commit,
    string? Ref,
    IReadOnlyDictionary<string, string> Labels,
    BaseImage? Base = null,
    int DeduplicatedFiles = 0,
    long DeduplicatedBytes = 0,
    int Whiteouts = 0);
