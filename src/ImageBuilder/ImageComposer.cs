using OstreeContainer.Oci;
using OstreeContainer.Oci.Images;
using OstreeContainer.Oci.Layout;

namespace OstreeContainer.ImageBuilder;

/// <summary>
/// The last step of a build: the config and the manifest over the written layers (a
/// base's layers first), each serialised once, canonically, and stored in the layout.
/// </summary>
internal static class ImageComposer
{
    // What a shell in the image finds programs with when the base says nothing.
    private const string DefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    /// <summary>Writes the config and the manifest of <paramref name="plan"/>'s image to <paramref name="layout"/> (untagged).</summary>
    /// <param name="layout">The layout the layers are in.</param>
    /// <param name="plan">The plan the layers were written from.</param>
    /// <param name="layers">The written layers, in plan order.</param>
    /// <param name="options">The build's options (platform, extra labels, base).</param>
    public static ImageBuildResult Compose(ImageLayout layout, ImagePlan plan, IReadOnlyList<BuiltLayer> layers, ImageBuildOptions options)
    {
        var source = plan.Source;
        var baseImage = options.Base;
        var baseLayers = baseImage?.Layers.Count ?? 0;
        var baseConfig = baseImage?.Config.Config;

        var labels = ImageLabels.For(source.Checksum, source.Commit, source.Ref, source.Tree, options.Labels);
        labels[ImageLabelKeys.RepoLayers] = RepoLayersLabel.Format(layers.Select((l, i) => (l, i)).Where(x => x.l.Kind != LayerKind.Tree).Select(x => baseLayers + x.i));
        // Where our layers end, for a puller of an image someone stacks layers on.
        labels[ImageLabelKeys.FinalDiffId] = layers[^1].DiffId.ToString();
        // The deltas, for a puller of a derived image whose layer annotations are gone.
        var deltas = layers.Where(l => l.Kind == LayerKind.Delta && DeltaLayerAnnotations.Read(l.Descriptor) is not null)
            .Select(l => (l.DiffId, DeltaLayerAnnotations.Read(l.Descriptor)!)).ToList();

        if (baseConfig?.Labels is { } inherited)
        {
            labels = ImageLabels.MergeUnder(inherited, labels);
        }

        // Set after the merge: a base's own delta list never describes this image.
        labels.Remove(ImageLabelKeys.DeltaLayers);
        if (deltas.Count > 0)
        {
            labels[ImageLabelKeys.DeltaLayers] = DeltaLayerAnnotations.FormatLabel(deltas);
        }

        var exposedPorts = new SortedDictionary<string, EmptyObject>(StringComparer.Ordinal) { [CommitImageBuilder.ExposedPort] = new EmptyObject() };
        foreach (var port in baseConfig?.ExposedPorts?.Keys ?? Enumerable.Empty<string>())
        {
            exposedPorts.TryAdd(port, new EmptyObject());
        }

        IReadOnlyList<string> env = [DefaultPath];
        if (baseConfig?.Env is { Count: > 0 } baseEnv)
        {
            env = baseEnv.Any(e => e.StartsWith("PATH=", StringComparison.Ordinal)) ? baseEnv : [.. env, .. baseEnv];
        }

        var config = new ImageConfig
        {
            Created = ImageLabels.FormatTime(source.Commit.Time),
            Architecture = options.Platform.Architecture,
            Os = options.Platform.Os,
            Variant = options.Platform.Variant,
            Config = new ContainerConfig
            {
                // The base's runtime defaults carry over; Cmd does not (it would become
                // arguments of our entrypoint).
                User = baseConfig?.User,
                Entrypoint = ["/" + ImagePaths.Webserver],
                ExposedPorts = exposedPorts,
                Env = env,
                Volumes = baseConfig?.Volumes,
                WorkingDir = baseConfig?.WorkingDir,
                Labels = labels,
                StopSignal = baseConfig?.StopSignal,
            },
            RootFs = new RootFs { DiffIds = [.. baseImage?.Config.RootFs.DiffIds ?? [], .. layers.Select(l => l.DiffId)] },
            History =
            [
                .. baseImage?.Config.History ?? [],
                .. plan.Layers.Select(layer => new HistoryEntry
                {
                    Created = ImageLabels.FormatTime(source.Commit.Time),
                    CreatedBy = $"ostree-container build: {layer.Description}",
                    Comment = $"ostree commit {source.Checksum}",
                }),
            ],
        };
        var configDescriptor = layout.WriteBlob(OciJson.Serialize(config), MediaTypes.OciConfig);
        var manifest = new ImageManifest
        {
            MediaType = MediaTypes.OciManifest,
            Config = configDescriptor,
            Layers = [.. baseImage?.Layers.Select(BaseLayerDescriptor) ?? [], .. layers.Select(l => l.Descriptor)],
            Annotations = new SortedDictionary<string, string>(labels.Where(l => l.Key is not (ImageLabelKeys.RepoLayers or ImageLabelKeys.FinalDiffId or ImageLabelKeys.DeltaLayers)).ToDictionary(), StringComparer.Ordinal),
        };
        var manifestBytes = OciJson.Serialize(manifest);
        var manifestDescriptor = layout.WriteBlob(manifestBytes, MediaTypes.OciManifest);
        var derivation = plan.Derivation;
        return new ImageBuildResult(
            manifestDescriptor,
            manifestBytes,
            configDescriptor,
            layers,
            source.Checksum,
            source.Ref,
            labels,
            baseImage,
            derivation?.DeduplicatedFiles ?? 0,
            derivation?.DeduplicatedBytes ?? 0,
            plan.Whiteouts.Count);
    }

    // A base layer keeps its bytes and digest; a Docker media type becomes its OCI twin
    // (same gzip tar), as skopeo does when it copies a Docker image to OCI.
    private static Descriptor BaseLayerDescriptor(Descriptor layer) =>
        layer.MediaType == MediaTypes.DockerLayerGzip ? layer with { MediaType = MediaTypes.OciLayerGzip } : layer;
}
