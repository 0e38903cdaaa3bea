using Microsoft.Extensions.Logging;
using OstreeContainer.Errors;
using OstreeContainer.Oci.Layout;
using OstreeContainer.Ostree.Repository;

namespace OstreeContainer.ImageBuilder;

/// <summary>
/// Turns an OSTree commit into an OCI image in an image layout: tree layers (the commit
/// checked out), repo layers (its <c>.filez</c> objects, chunked like the tree), one layer
/// per static delta to the commit, and a meta layer (repo metadata, the object map and
/// the webserver). Every byte depends only on the commit, the options and this tool's
/// version, so rebuilding gives the same manifest digest.
/// </summary>
public static class CommitImageBuilder
{
    /// <summary>The port the webserver listens on.</summary>
    public const string ExposedPort = "8080/tcp";

    /// <summary>
    /// Builds the image into the OCI layout at <paramref name="directory"/> (created when
    /// missing) and tags it <paramref name="tag"/> in <c>index.json</c>, which is written
    /// last. When the build fails, a layout this call created is removed; an existing one
    /// keeps its index unchanged (new blobs may remain, unreferenced). A derived build
    /// (<see cref="ImageBuildOptions.Base"/>) is as described at <see cref="BuildAsync"/>;
    /// a tampered base fails it like a corrupt repo does.
    /// </summary>
    /// <exception cref="InvalidDataException">The repository, an object in it or the base image is corrupt.</exception>
    /// <exception cref="ArgumentException">The options are inconsistent (named in the message).</exception>
    public static async Task<ImageBuildResult> BuildToLayoutAsync(string directory, string? tag, ImageBuildOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentNullException.ThrowIfNull(options);
        var created = !Directory.Exists(directory) || !Directory.EnumerateFileSystemEntries(directory).Any();
        try
        {
            var layout = ImageLayout.OpenOrCreate(directory);
            var result = await BuildAsync(layout, options, cancellationToken).ConfigureAwait(false);
            layout.SetManifest(result.Manifest, tag);
            return result;
        }
        catch when (created)
        {
            Directory.Delete(directory, recursive: true);
            throw;
        }
    }

    /// <summary>
    /// Builds the image into <paramref name="layout"/> and returns it; the caller tags it
    /// (see <see cref="ImageLayout.SetManifest"/>) once it wants the image visible. A
    /// derived build first copies the base's blobs into the layout (unless
    /// <see cref="ImageBuildOptions.CopyBaseBlobs"/> is false) and reads its filesystem.
    /// </summary>
    /// <remarks>
    /// Three steps: the plan (<see cref="ImagePlan"/>: which layers, what goes in each), the
    /// layer jobs (<see cref="LayerJobs"/>: every layer written, several at once), and the
    /// composition (<see cref="ImageComposer"/>: config and manifest).
    /// </remarks>
    /// <exception cref="InvalidDataException">The repository, an object in it or the base image is corrupt.</exception>
    /// <exception cref="ArgumentException">The options are inconsistent (named in the message).</exception>
    /// <exception cref="UserInputException">The commit or the base needs more layers than allowed.</exception>
    public static async Task<ImageBuildResult> BuildAsync(ImageLayout layout, ImageBuildOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(layout);
        ArgumentNullException.ThrowIfNull(options);
        var logger = options.LoggerFactory.CreateLogger(typeof(CommitImageBuilder));
        if (!File.Exists(options.WebserverExecutable))
        {
            throw new FileNotFoundException($"repo-webserver executable not found at {options.WebserverExecutable}", options.WebserverExecutable);
        }

        var baseImage = options.Base;
        if (baseImage is not null)
        {
            if (options.CopyBaseBlobs)
            {
                await baseImage.CopyBlobsToAsync(layout, cancellationToken).ConfigureAwait(false);
            }

            await baseImage.ReadFilesystemAsync(options.LoggerFactory, cancellationToken).ConfigureAwait(false);
        }

        var repo = OstreeRepo.Open(options.RepoPath);
        var source = SourceCommit.Read(repo, options.Rev, cancellationToken);
        if (baseImage is null && ElfInterpreter.Read(options.WebserverExecutable) is { } loader && !source.Tree.ResolvesToFile(loader))
        {
            // The kernel starts the loader first; without it the entrypoint fails with ENOENT.
            Log.LoaderMissing(logger, source.Checksum, loader);
        }

        var plan = ImagePlan.Create(repo, source, options);
        Log.CommitPlanned(logger, source.Checksum, plan.Paths, source.Tree.ContentBytes / 1e6, plan.Chunks, plan.Deltas.Count);
        if (plan.Derivation is { } derivation)
        {
            Log.Deduplicated(logger, baseImage!.Reference, derivation.DeduplicatedFiles, derivation.DeduplicatedBytes / 1e6, derivation.DeduplicatedBytes, derivation.DeduplicatedDirectories, derivation.Changed.Count, derivation.Whiteouts.Count);
        }

        if (plan.NoParentDelta is { } reason)
        {
            Log.NoParentDelta(logger, reason);
        }

        // Deltas the repo lacks are generated beside the layer jobs, started first: together
        // they take little more than the layers alone.
        IReadOnlyList<BuiltLayer> layers;
        var deltas = DeltaOutputs.Start(repo, plan, options, logger, cancellationToken);
        await using (deltas.ConfigureAwait(false))
        {
            layers = await LayerJobs.WriteAllAsync(
                layout,
                repo,
                plan,
                deltas,
                options,
                (layer, built) => Log.LayerWritten(logger, layer.Description, built.Descriptor.Size / 1e6, built.Entries, built.Descriptor.Digest),
                cancellationToken).ConfigureAwait(false);
        }

        var result = ImageComposer.Compose(layout, plan, layers, options);
        var megabytes = layers.Sum(l => l.Descriptor.Size) / 1e6;
        if (baseImage is null)
        {
            Log.ManifestWritten(logger, result.Manifest.Digest, layers.Count, megabytes);
        }
        else
        {
            Log.DerivedManifestWritten(logger, result.Manifest.Digest, layers.Count, megabytes, baseImage.Layers.Count);
        }

        return result;
    }
}
