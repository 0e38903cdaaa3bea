using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using OstreeContainer.Oci;
using OstreeContainer.Oci.Images;
using OstreeContainer.Oci.Layout;
using OstreeContainer.Oci.Registry;

namespace OstreeContainer.ImageBuilder.Derivation;

/// <summary>
/// The image a build derives from (<c>build --from BASE</c>): its manifest and config,
/// fetched from a registry or an <c>oci:</c> layout and verified, and a way to read its
/// layers. Everything here came from outside: the manifest is checked against a pinned
/// digest (or the index entry that named it), the config against the manifest, and every
/// blob against its descriptor as it is read (<see cref="VerifyingStream"/>).
/// </summary>
public sealed class BaseImage
{
    /// <summary>Blobs copied from a registry at once.</summary>
    public const int CopyParallelism = 4;

    private readonly RegistryClient? _registry;
    private readonly ImageLayout? _source;
    private ImageLayout? _copy;

    private BaseImage(
        ImageReference reference,
        RegistryClient? registry,
        ImageLayout? source,
        Digest manifestDigest,
        ImageManifest manifest,
        ImageConfig config)
    {
        Reference = reference;
        _registry = registry;
        _source = source;
        ManifestDigest = manifestDigest;
        Manifest = manifest;
        Config = config;
    }

    /// <summary>Where the base came from.</summary>
    public ImageReference Reference { get; }

    /// <summary>Digest of the platform manifest used (not of an index above it).</summary>
    public Digest ManifestDigest { get; }

    /// <summary>The base's manifest (OCI or Docker v2s2).</summary>
    public ImageManifest Manifest { get; }

    /// <summary>The base's config.</summary>
    public ImageConfig Config { get; }

    /// <summary>The base's layers, bottom first, as its manifest describes them.</summary>
    public IReadOnlyList<Descriptor> Layers => Manifest.Layers;

    /// <summary>
    /// The commit of a base that is itself an ostree-container image (config label
    /// <see cref="ImageLabels.Commit"/> and layers annotated <see cref="ImageLabels.LayerKindAnnotation"/>), else null.
    /// </summary>
    public string? OstreeCommit =>
        Config.Config?.Labels is { } labels && labels.TryGetValue(ImageLabels.Commit, out var commit)
        && Layers.Any(l => l.Annotation(ImageLabels.LayerKindAnnotation) is not null)
            ? commit
            : null;

    /// <summary>The merged filesystem, once <see cref="ReadFilesystemAsync"/> has run.</summary>
    public BaseFilesystem? Filesystem { get; private set; }

    /// <summary>
    /// Resolves <paramref name="reference"/> (a registry image or an <c>oci:</c> layout) to
    /// one image manifest, choosing <paramref name="platform"/> from an index, and reads its
    /// config. Layers are not read yet.
    /// </summary>
    /// <exception cref="InvalidDataException">A document is malformed, oversized or does not match its digest.</exception>
    /// <exception cref="KeyNotFoundException">The tag or the platform is not there.</exception>
    /// <exception cref="RegistryException">The registry failed or refused.</exception>
    public static async Task<BaseImage> OpenAsync(ImageReference reference, RegistryClient? registry, Platform platform, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(platform);
        try
        {
            var image = reference.Transport switch
            {
                ImageTransport.OciLayout => OpenLayout(reference, platform),
                ImageTransport.Registry => await OpenRegistryAsync(reference, registry ?? throw new ArgumentException("a registry base needs a registry client", nameof(registry)), platform, cancellationToken)
                    .ConfigureAwait(false),
                _ => throw new NotSupportedException($"base image {reference}: only registry images and oci: layouts can be derived from"),
            };

            // A single-platform base says what it runs on in its config; an index entry may not.
            var actual = new Platform { Os = image.Config.Os, Architecture = image.Config.Architecture, Variant = image.Config.Variant };
            return platform.Matches(actual)
                ? image
                : throw new ArgumentException($"base image {reference} is for {actual}, not {platform} (choose with --platform)");
        }
        catch (Exception e) when (e is InvalidDataException or KeyNotFoundException)
        {
            throw Rethrow(e, $"base image {reference}: {e.Message}");
        }
    }

    /// <summary>
    /// Opens layer or config blob <paramref name="blob"/> of the base for reading through a
    /// <see cref="VerifyingStream"/>: from the copy made by <see cref="CopyBlobsToAsync"/>
    /// when there is one, else from the source.
    /// </summary>
    public async Task<Stream> OpenBlobAsync(Descriptor blob, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(blob);
        if (_copy is not null && _copy.HasBlob(blob.Digest))
        {
            return _copy.OpenBlob(blob);
        }

        if (_source is not null)
        {
            return _source.OpenBlob(blob);
        }

        var stream = await _registry!.GetBlobUnverifiedAsync(Reference, blob.Digest, 0, cancellationToken).ConfigureAwait(false);
        return new VerifyingStream(stream, blob.Digest, blob.Size, $"base image {Reference}: blob {blob.Digest}");
    }

    /// <summary>
    /// Copies the base's layer blobs into <paramref name="layout"/> (those it lacks),
    /// verified; later reads of the base use that copy.
    /// </summary>
    /// <exception cref="InvalidDataException">A blob does not match its descriptor; nothing of it is kept.</exception>
    public async Task CopyBlobsToAsync(ImageLayout layout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(layout);
        await Parallel.ForEachAsync(
            Layers.DistinctBy(l => l.Digest),
            new ParallelOptions { MaxDegreeOfParallelism = _source is null ? CopyParallelism : 1, CancellationToken = cancellationToken },
            async (blob, token) => await CopyBlobToAsync(layout, blob, token).ConfigureAwait(false)).ConfigureAwait(false);
        _copy = layout;
    }

    /// <summary>Copies one blob of the base into <paramref name="layout"/> unless it is there, verified.</summary>
    public async Task CopyBlobToAsync(ImageLayout layout, Descriptor blob, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(layout);
        ArgumentNullException.ThrowIfNull(blob);
        if (layout.HasBlob(blob.Digest))
        {
            return;
        }

        using var staged = layout.BeginBlob();
        var source = await OpenBlobAsync(blob, cancellationToken).ConfigureAwait(false);
        await using (source.ConfigureAwait(false))
        {
            // The verifying stream throws at its end when size or digest differ: the staged
            // blob is then disposed, never committed.
            await source.CopyToAsync(staged.Stream, cancellationToken).ConfigureAwait(false);
        }

        staged.Commit(blob.MediaType, blob.Digest);
    }

    /// <summary>
    /// Reads the base's merged filesystem into <see cref="Filesystem"/>: through the object
    /// map of its meta layer for an ostree-container base, else by applying every layer.
    /// What was read is logged to <paramref name="loggerFactory"/> (category <see cref="BaseImage"/>).
    /// </summary>
    /// <exception cref="InvalidDataException">A layer is corrupt, or does not match its digest or diff ID.</exception>
    public async Task<BaseFilesystem> ReadFilesystemAsync(ILoggerFactory? loggerFactory = null, CancellationToken cancellationToken = default)
    {
        if (Filesystem is not null)
        {
            return Filesystem;
        }

        try
        {
            Filesystem = OstreeCommit is { } commit
                ? await BaseFilesystem.ReadObjectMapAsync(this, commit, cancellationToken).ConfigureAwait(false)
                : await BaseFilesystem.ReadLayersAsync(this, cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"base image {Reference}: {e.Message}", e);
        }

        var logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<BaseImage>();
        if (OstreeCommit is { } c)
        {
            Log.BaseObjectMapRead(logger, Reference, ManifestDigest, Layers.Count, Filesystem.Count, c);
        }
        else
        {
            Log.BaseFilesystemRead(logger, Reference, ManifestDigest, Layers.Count, Filesystem.Count);
        }

        return Filesystem;
    }

    /// <summary>The diff ID the config gives layer <paramref name="index"/>.</summary>
    internal Digest DiffId(int index) => Config.RootFs.DiffIds[index];

    private static BaseImage OpenLayout(ImageReference reference, Platform platform)
    {
        var layout = ImageLayout.Open(reference.Path!);
        var resolved = layout.ResolveManifest(reference.Tag, platform);
        var manifest = ParseManifest(resolved.Bytes);
        var config = ParseConfig(manifest.Config, layout.ReadBlob(manifest.Config, OciJson.MaxDocumentBytes), manifest);
        return new BaseImage(reference, null, layout, resolved.Descriptor.Digest, manifest, config);
    }

    private static async Task<BaseImage> OpenRegistryAsync(ImageReference reference, RegistryClient registry, Platform platform, CancellationToken cancellationToken)
    {
        // A pinned reference is checked by the client; an index entry pins the manifest below it.
        var received = await registry.GetManifestAsync(reference, reference.ManifestReference, cancellationToken).ConfigureAwait(false);
        for (var depth = 0; MediaTypes.IsIndex(received.MediaType); depth++)
        {
            if (depth >= ImageLayout.MaxIndexDepth)
            {
                throw new InvalidDataException($"indexes nested deeper than {ImageLayout.MaxIndexDepth}");
            }

            var index = OciJson.ParseIndex(received.Bytes);
            var entry = index.Manifests.FirstOrDefault(m => platform.Matches(m.Platform))
                ?? throw new KeyNotFoundException($"index {received.Digest} has no manifest for {platform}");
            received = await registry.GetManifestAsync(reference, entry.Digest.ToString(), cancellationToken).ConfigureAwait(false);
            if (received.Bytes.Length != entry.Size)
            {
                throw new InvalidDataException($"manifest {entry.Digest} is {received.Bytes.Length} bytes, the index says {entry.Size}");
            }
        }

        if (!MediaTypes.IsManifest(received.MediaType))
        {
            throw new InvalidDataException($"media type '{received.MediaType}' is not an image manifest");
        }

        var manifest = ParseManifest(received.Bytes);
        if (manifest.Config.Size is < 0 or > OciJson.MaxDocumentBytes)
        {
            throw new InvalidDataException($"config {manifest.Config.Digest} is {manifest.Config.Size} bytes, over the {OciJson.MaxDocumentBytes}-byte limit");
        }

        var bytes = new byte[manifest.Config.Size];
        var stream = new VerifyingStream(
            await registry.GetBlobUnverifiedAsync(reference, manifest.Config.Digest, 0, cancellationToken).ConfigureAwait(false),
            manifest.Config.Digest,
            manifest.Config.Size,
            $"config {manifest.Config.Digest}");
        await using (stream.ConfigureAwait(false))
        {
            await stream.ReadExactlyAsync(bytes, cancellationToken).ConfigureAwait(false);

            // The read that returns 0 is the one that checks size and digest.
            _ = await stream.ReadAsync(new byte[1], cancellationToken).ConfigureAwait(false);
        }

        var config = ParseConfig(manifest.Config, bytes, manifest);
        return new BaseImage(reference, registry, null, received.Digest, manifest, config);
    }

    private static ImageManifest ParseManifest(byte[] bytes)
    {
        var manifest = OciJson.ParseManifest(bytes);
        foreach (var layer in manifest.Layers)
        {
            if (!MediaTypes.IsLayer(layer.MediaType))
            {
                throw new InvalidDataException($"layer {layer.Digest} has media type '{layer.MediaType}', which is not a tar, tar+gzip or tar+zstd layer");
            }

            if (layer.Urls is { Count: > 0 })
            {
                throw new InvalidDataException($"layer {layer.Digest} is a foreign layer (urls); it cannot be copied");
            }
        }

        return manifest;
    }

    private static ImageConfig ParseConfig(Descriptor descriptor, byte[] bytes, ImageManifest manifest)
    {
        var config = OciJson.ParseConfig(bytes);
        if (config.RootFs.DiffIds.Count != manifest.Layers.Count)
        {
            throw new InvalidDataException($"config {descriptor.Digest} lists {config.RootFs.DiffIds.Count} diff IDs for {manifest.Layers.Count} layers");
        }

        return config;
    }

    private static Exception Rethrow(Exception e, string message) =>
        e is KeyNotFoundException ? new KeyNotFoundException(message, e) : new InvalidDataException(message, e);
}
