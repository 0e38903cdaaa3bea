using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using OstreeContainer.Errors;
using OstreeContainer.Oci;
using OstreeContainer.Oci.Images;
using OstreeContainer.Oci.Layout;
using OstreeContainer.Oci.Registry;
using OstreeContainer.Oci.Sources;

namespace OstreeContainer.ImageBuilder.Derivation;

/// <summary>
/// The image a build derives from (<c>build --from BASE</c>): its manifest and config,
/// fetched from a registry or an <c>oci:</c> layout through an <see cref="ImageSource"/>
/// (which checks the manifest against a pinned digest or the index entry that named it,
/// and the config against the manifest), and a way to read its layers, every blob checked
/// against its descriptor as it is read (<see cref="VerifyingStream"/>).
/// </summary>
public sealed class BaseImage
{
    /// <summary>Blobs copied from a registry at once.</summary>
    public const int CopyParallelism = 4;

    // A registry source that does not own its client, or a layout: nothing to dispose.
    private readonly ImageSource _source;
    private ImageLayout? _copy;

    private BaseImage(ImageSource source, SourceManifest manifest, ImageConfig config)
    {
        _source = source;
        Reference = source.Reference;
        ManifestDigest = manifest.Digest;
        Manifest = manifest.Manifest;
        Config = config;
        Kinds = LayerKinds.Classify(Manifest.Layers, config.RootFs.DiffIds, config.Config?.Labels ?? new SortedDictionary<string, string>(StringComparer.Ordinal));
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

    /// <summary>What each layer holds when the base is an ostree-container image (<see cref="LayerKinds.Classify"/>).</summary>
    public IReadOnlyList<LayerKind> Kinds { get; }

    /// <summary>
    /// The commit of a base that is itself an ostree-container image (config label
    /// <see cref="ImageLabelKeys.Commit"/> and layers of this format), else null.
    /// </summary>
    public string? OstreeCommit =>
        Config.Config?.Labels is { } labels && labels.TryGetValue(ImageLabelKeys.Commit, out var commit)
        && Kinds.Any(k => k != LayerKind.Unknown)
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
        if (reference.Transport is not (ImageTransport.Registry or ImageTransport.OciLayout))
        {
            throw new NotSupportedException($"base image {reference}: only registry images and oci: layouts can be derived from");
        }

        if (reference.Transport == ImageTransport.Registry && registry is null)
        {
            throw new ArgumentException("a registry base needs a registry client", nameof(registry));
        }

        try
        {
            var source = ImageSource.Open(reference, registry, Path.GetTempPath());
            var manifest = await source.ResolveManifestAsync(platform, cancellationToken).ConfigureAwait(false);
            var image = new BaseImage(source, manifest, await source.ReadConfigAsync(manifest, cancellationToken).ConfigureAwait(false));

            // A single-platform base says what it runs on in its config; an index entry may not.
            var actual = new Platform { Os = image.Config.Os, Architecture = image.Config.Architecture, Variant = image.Config.Variant };
            return platform.Matches(actual)
                ? image
                : throw new UserInputException($"base image {reference} is for {actual}, not {platform} (choose with --platform)");
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

        return await _source.OpenBlobAsync(blob, cancellationToken).ConfigureAwait(false);
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
            new ParallelOptions { MaxDegreeOfParallelism = _source.IsLocal ? 1 : CopyParallelism, CancellationToken = cancellationToken },
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
            if (OstreeCommit is not null)
            {
                // The object map and the meta layer are read as this format defines them.
                FormatVersion.EnsureReadable(Config.Config!.Labels!);
            }

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

    private static Exception Rethrow(Exception e, string message) =>
        e is KeyNotFoundException ? new KeyNotFoundException(message, e) : new InvalidDataException(message, e);
}
