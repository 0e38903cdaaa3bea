using System.CommandLine;
using System.Diagnostics;
using OstreeContainer.Cli.Logging;
using OstreeContainer.Errors;
using OstreeContainer.ImageBuilder;
using OstreeContainer.ImageBuilder.Derivation;
using OstreeContainer.Oci;
using OstreeContainer.Oci.Images;
using OstreeContainer.Oci.Layers;

namespace OstreeContainer.Cli.Commands;

/// <summary>
/// <c>build --repo R --ref REF (--oci-dir DIR[:TAG] | --push IMAGE) [--from BASE]</c>: an
/// OSTree commit becomes an OCI image that runs as a container, serves its own repo and can
/// be pulled back; with <c>--from</c> it is stacked on a base image and stores only what
/// differs from it.
/// </summary>
internal static class BuildCommand
{
    /// <summary>Environment variable naming the native repo-webserver to put in images.</summary>
    public const string WebserverVariable = "OSTREE_CONTAINER_WEBSERVER";

    public static Command Create()
    {
        var repo = CommonOptions.Repo();
        var rev = new Option<string>("--ref") { Description = "Ref (or full commit checksum) to build", Required = true };
        var ociDir = new Option<string?>("--oci-dir") { Description = "Write an OCI image layout: DIR[:TAG] (TAG defaults to latest)" };
        var labels = new Option<string[]>("--label") { Description = "KEY=VALUE label, also a manifest annotation (repeatable)" };
        var compression = new ChoiceOption<LayerCompression>(
            "--compression", "Layer compression", LayerCompression.Gzip, LayerCompression.Gzip, LayerCompression.Zstd, LayerCompression.None);
        var maxLayers = new Option<int>("--max-layers")
        {
            Description = $"Most layers to produce (default {ImageBuildOptions.DefaultMaxLayers}, at most {ImageBuildOptions.MaxImageLayers})",
            DefaultValueFactory = _ => ImageBuildOptions.DefaultMaxLayers,
        };
        var platform = new Option<string?>("--platform") { Description = "OS/ARCH[/VARIANT] written into the config (default: this machine's)" };
        var webserver = new Option<string?>("--webserver")
        {
            Description = $"The native repo-webserver to embed (default: ${WebserverVariable}, else native/repo-webserver beside this program)",
        };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Print only the manifest digest" };
        var push = new Option<string?>("--push") { Description = "Push to a registry: docker://HOST/NAME:TAG or HOST/NAME:TAG" };
        var from = new Option<string?>("--from")
        {
            Description = "Derive from a base image: docker://HOST/NAME[:TAG|@DIGEST], HOST/NAME:TAG or oci:DIR[:TAG]; only what differs from it is stored",
        };
        var deltaFrom = new Option<string[]>("--delta-from")
        {
            HelpName = "REV",
            Description = "Also put a static delta from REV into the image (repeatable): a ref, a commit checksum, or 'empty' for a from-scratch delta; "
                + "generated when the repo lacks it. By default the image carries the repo's deltas to the commit and one from its parent",
        };
        var deltaFromImage = new Option<string[]>("--delta-from-image")
        {
            HelpName = "IMAGE",
            Description = "Also put a static delta from the commit of IMAGE (a previously pushed image: docker://HOST/NAME[:TAG|@DIGEST], HOST/NAME:TAG or oci:DIR[:TAG]) "
                + "into the image (repeatable); that commit is imported into the repo first when it lacks it (objects only, no ref)",
        };
        var noDeltas = new Option<bool>("--no-deltas") { Description = "Put no static delta into the image, not even the repo's own" };
        var registry = new RegistryOptions();
        var command = new Command("build", "Build an OCI image from an OSTree commit")
        {
            repo, rev, ociDir, push, from, labels, compression, maxLayers, platform, webserver, quiet, deltaFrom, deltaFromImage, noDeltas,
        };
        registry.AddTo(command);
        command.SetAction(async (parse, cancel) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            var layoutTarget = parse.GetValue(ociDir);
            var pushTarget = parse.GetValue(push) is { } image ? ParsePushTarget(image) : null;
            if ((layoutTarget is null) == (pushTarget is null))
            {
                throw new UserInputException("build: give exactly one of --oci-dir DIR[:TAG] and --push IMAGE");
            }
            var deltaRevs = parse.GetValue(deltaFrom) ?? [];
            var deltaImages = (parse.GetValue(deltaFromImage) ?? []).Select(ParseDeltaImage).ToList();
            if (parse.GetValue(noDeltas) && (deltaRevs.Length > 0 || deltaImages.Count > 0))
            {
                throw new UserInputException("build: --no-deltas cannot be combined with --delta-from or --delta-from-image");
            }

            var layers = parse.GetValue(maxLayers);
            if (layers is < 3 or > ImageBuildOptions.MaxImageLayers)
            {
                throw new UserInputException($"--max-layers: {layers} is outside 3..{ImageBuildOptions.MaxImageLayers}");
            }

            using var loggerFactory = CliLoggerProvider.CreateFactory(error.WriteLine, parse.GetValue(quiet));
            var options = new ImageBuildOptions
            {
                RepoPath = parse.GetRequiredValue(repo),
                Rev = parse.GetRequiredValue(rev),
                WebserverExecutable = FindWebserver(parse.GetValue(webserver)),
                Compression = compression.GetValue(parse),
                MaxLayers = layers,
                Labels = CommonOptions.KeyValues(parse.GetValue(labels), "--label").ToDictionary(p => p.Key, p => (string)p.Value.Value, StringComparer.Ordinal),
                Platform = parse.GetValue(platform) is { } p ? ParsePlatform(p) : Platform.Current,
                LoggerFactory = loggerFactory,
                Deltas = parse.GetValue(noDeltas) ? DeltaSelection.None : DeltaSelection.Default with { From = deltaRevs },
            };

            // A bad --delta-from fails here, before any image is read or commit imported.
            options.Deltas.ThrowIfUnresolvable(options.RepoPath, options.Rev);
            var watch = Stopwatch.StartNew();
            Action<string> log = parse.GetValue(quiet) ? _ => { } : error.WriteLine;
            var baseReference = parse.GetValue(from) is { } baseName ? ParseBase(baseName) : null;
            using var client = pushTarget is not null || baseReference?.Transport == ImageTransport.Registry || deltaImages.Exists(i => i.Transport == ImageTransport.Registry)
                ? registry.CreateClient(parse, loggerFactory)
                : null;
            if (baseReference is not null)
            {
                // Verified manifest and config before anything is built; layers are read later.
                options = options with { Base = await BaseImage.OpenAsync(baseReference, client, options.Platform, cancel) };
            }

            if (deltaImages.Count > 0)
            {
                var commits = new List<string>();
                foreach (var deltaImage in deltaImages)
                {
                    commits.Add((await ImportDeltaStartAsync(deltaImage, options, client, log, cancel)).ToString());
                }

                options = options with { Deltas = options.Deltas with { From = [.. options.Deltas.From, .. commits] } };
            }

            if (layoutTarget is not null)
            {
                var (directory, tag) = SplitLayoutTarget(layoutTarget);
                var result = await CommitImageBuilder.BuildToLayoutAsync(directory, tag, options, cancel);
                output.WriteLine(result.Manifest.Digest.ToString());
                log($"built oci:{directory}:{tag} from commit {result.Commit} in {watch.Elapsed.TotalSeconds:F2} s");
                return 0;
            }

            // A registry push builds into a private layout first (blobs are pushed from disk,
            // never held in memory), then removes it.
            // Credentials and reachability are checked before minutes of building, not after.
            await client!.PingAsync(pushTarget!, cancel);
            var scratch = Path.Combine(Path.GetTempPath(), $"ostree-container-build-{Environment.ProcessId}-{Guid.NewGuid():N}");
            try
            {
                // The base's blobs stay where they are: the push mounts them or fetches what it must.
                var result = await CommitImageBuilder.BuildToLayoutAsync(scratch, "latest", options with { CopyBaseBlobs = false }, cancel);
                log($"built from commit {result.Commit} in {watch.Elapsed.TotalSeconds:F2} s; pushing to {pushTarget}");
                var pushed = await LayoutPush.PushAsync(
                    Oci.Layout.ImageLayout.Open(scratch), result.ManifestBytes, client, pushTarget!, loggerFactory, baseImage: options.Base, cancellationToken: cancel);
                output.WriteLine(pushed.Manifest.ToString());
                log($"pushed {pushTarget}: {pushed.BlobsUploaded} blobs uploaded ({pushed.BytesUploaded / 1e6:F1} MB), {pushed.BlobsSkipped} already present, "
                    + $"{pushed.BlobsMounted} mounted from the base, in {watch.Elapsed.TotalSeconds:F2} s");
                return 0;
            }
            finally
            {
                if (Directory.Exists(scratch))
                {
                    Directory.Delete(scratch, recursive: true);
                }
            }
        });
        return command;
    }

    /// <summary>
    /// The commit of a previously pushed image (its <c>ostree.commit</c> label), imported into
    /// the source repo when the repo lacks it: objects only, no ref. The import needs no
    /// signature: its objects are still hash-checked, and a client applies a delta only onto
    /// a commit it verified itself and checks what the delta produces.
    /// </summary>
    private static async Task<Ostree.Objects.Checksum> ImportDeltaStartAsync(
        ImageReference image, ImageBuildOptions options, Oci.Registry.RegistryClient? client, Action<string> log, CancellationToken cancel)
    {
        var info = await ImagePuller.ImageImporter.InspectAsync(image, client, options.Platform, cancel);
        var commit = info.Commit ?? throw new UserInputException($"--delta-from-image {image}: the image has no {ImageFormat.ImageLabelKeys.Commit} label; it was not built by ostree-container");
        var repo = Ostree.Repository.OstreeRepo.Open(options.RepoPath);
        if (repo.TryResolveRev(options.Rev, out var built) && built == commit)
        {
            throw new UserInputException($"--delta-from-image {image}: it carries commit {commit}, the one being built");
        }

        var partial = File.Exists(Path.Combine(repo.Root, "state", $"{commit}.commitpartial"));
        if (repo.HasObject(commit, Ostree.Objects.ObjectType.Commit) && !partial)
        {
            log($"--delta-from-image {image}: commit {commit}, already in {repo.Root}");
            return commit;
        }

        var watch = Stopwatch.StartNew();
        await ImagePuller.ImageImporter.PullAsync(
            new ImagePuller.ImagePullOptions
            {
                RepoPath = options.RepoPath,
                Image = image,
                SetRef = false,
                Trust = new ImagePuller.PullTrust { InsecureNoSignature = true },
                Platform = options.Platform,
                Registry = client,
            },
            cancel);
        log($"--delta-from-image {image}: commit {commit} imported into {repo.Root} (objects only, no ref) in {watch.Elapsed.TotalSeconds:F2} s");
        return commit;
    }

    /// <summary>Splits <c>DIR[:TAG]</c> the way <c>oci:</c> names are split; the tag defaults to <c>latest</c>.</summary>
    internal static (string Directory, string Tag) SplitLayoutTarget(string value)
    {
        var reference = ImageReference.Parse("oci:" + value);
        return (reference.Path!, reference.Tag ?? "latest");
    }

    /// <summary>A registry image to push to; <c>oci:</c> names belong to --oci-dir.</summary>
    internal static ImageReference ParsePushTarget(string value)
    {
        ImageReference reference;
        try
        {
            reference = ImageReference.Parse(value);
        }
        catch (FormatException e)
        {
            throw new UserInputException($"--push: {e.Message}", e);
        }

        return reference.Transport == ImageTransport.Registry
            ? reference
            : throw new UserInputException($"--push: '{value}' is not a registry image; use --oci-dir for a layout");
    }

    /// <summary>A base image (<c>--from</c>): a registry image or an <c>oci:</c> layout.</summary>
    internal static ImageReference ParseBase(string value) => ParseSourceImage("--from", value);

    /// <summary>An image to take a delta's from-commit from (<c>--delta-from-image</c>): a registry image or an <c>oci:</c> layout.</summary>
    internal static ImageReference ParseDeltaImage(string value) => ParseSourceImage("--delta-from-image", value);

    // An image the build reads (a registry image or an oci: layout), named by its option in errors.
    private static ImageReference ParseSourceImage(string option, string value)
    {
        try
        {
            var reference = ImageReference.Parse(value);
            return reference.Transport is ImageTransport.Registry or ImageTransport.OciLayout
                ? reference
                : throw new UserInputException($"{option}: '{value}' is neither a registry image nor an oci: layout");
        }
        catch (FormatException e)
        {
            throw new UserInputException($"{option}: {e.Message}", e);
        }
    }

    private static Platform ParsePlatform(string value)
    {
        try
        {
            return Platform.Parse(value);
        }
        catch (FormatException e)
        {
            throw new UserInputException($"--platform: {e.Message}", e);
        }
    }

    private static string FindWebserver(string? explicitPath)
    {
        var path = explicitPath
            ?? Environment.GetEnvironmentVariable(WebserverVariable)
            ?? Path.Combine(AppContext.BaseDirectory, "native", "repo-webserver");
        return File.Exists(path)
            ? path
            : throw new FileNotFoundException(
                $"the native repo-webserver was not found at {path}; publish it (dotnet publish src/RepoWebserver -c Release -o DIR) and pass --webserver DIR/repo-webserver or set {WebserverVariable}");
    }
}
