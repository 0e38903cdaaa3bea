using System.CommandLine;
using System.Text.Json;
using OstreeContainer.Cli.Logging;
using OstreeContainer.Errors;
using OstreeContainer.ImagePuller;
using OstreeContainer.Oci;
using OstreeContainer.Oci.Images;

namespace OstreeContainer.Cli.Commands;

/// <summary>
/// <c>pull --repo R [--ref REF] IMAGE</c>: imports the commit an ostree-container image
/// carries, verified end to end (<see cref="ImageImporter"/> does the work).
/// </summary>
internal static class PullCommand
{
    public static Command Create()
    {
        var repo = CommonOptions.Repo();
        var image = new Argument<string>("IMAGE") { Description = "docker://HOST/NAME[:TAG|@sha256:…], HOST/NAME:TAG, oci:DIR[:TAG] or oci-archive:FILE" };
        var refName = new Option<string?>("--ref") { Description = "Ref to set (default: the image's ostree.ref label; a plain image has none)" };
        var remote = new Option<string?>("--remote") { Description = "Verify with the gpg-verify/sign-verify settings and keys of this ostree remote" };
        var keyring = new Option<string?>("--keyring") { Description = "GPG keyring file (or directory of *.gpg) the commit must be signed with" };
        var signVerify = new Option<string[]>("--sign-verify") { Description = "ed25519=BASE64KEY or ed25519=file:PATH (repeatable)" };
        var insecure = new Option<bool>("--insecure-no-signature") { Description = "Import without checking the commit's signature, and accept a derived or plain image's layers from a reference not pinned by digest" };
        var platform = new Option<string?>("--platform") { Description = "OS/ARCH[/VARIANT] to choose from an index (default: this machine's)" };
        var progress = new ChoiceOption<ProgressMode>(
            "--progress",
            "auto (a display on a terminal, lines otherwise), json (JSON lines on stdout) or none",
            ProgressMode.Auto,
            ProgressMode.Auto, ProgressMode.Json, ProgressMode.None);
        var jobs = new Option<int>("--jobs") { Description = "Layers fetched at once", DefaultValueFactory = _ => ImagePullOptions.DefaultJobs };
        var registry = new RegistryOptions();
        var command = new Command("pull", "Import an image into a repository as an OSTree commit: an ostree-container image's signed commit, or any image's layers (derived images on a verified base)")
        {
            repo, image, refName, remote, keyring, signVerify, insecure, platform, progress, jobs,
        };
        registry.AddTo(command);
        command.SetAction(async (parse, cancel) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            var mode = progress.GetValue(parse);
            if (parse.GetValue(jobs) is < 1 or > 64)
            {
                throw new UserInputException("--jobs: expected 1..64");
            }

            var display = new PullDisplay(mode, output, error);
            using var loggerFactory = CliLoggerProvider.CreateFactory(display.Log, quiet: false);
            using var client = registry.CreateClient(parse, loggerFactory);
            var options = new ImagePullOptions
            {
                RepoPath = parse.GetRequiredValue(repo),
                Image = ParseImage(parse.GetRequiredValue(image)),
                Ref = parse.GetValue(refName),
                Trust = new PullTrust
                {
                    KeyringPath = parse.GetValue(keyring),
                    SignVerify = parse.GetValue(signVerify) ?? [],
                    Remote = parse.GetValue(remote),
                    InsecureNoSignature = parse.GetValue(insecure),
                },
                Platform = parse.GetValue(platform) is { } p ? Platform.Parse(p) : Platform.Current,
                Jobs = parse.GetValue(jobs),
                Registry = client,
                Progress = display.Report,
            };
            try
            {
                var result = await ImageImporter.PullAsync(options, cancel);
                display.Finish(result);
                return 0;
            }
            catch (ImagePullException)
            {
                // The error line must not land on the progress line.
                display.Clear();
                throw;
            }
        });
        return command;
    }

    internal static ImageReference ParseImage(string value)
    {
        try
        {
            return ImageReference.Parse(value);
        }
        catch (FormatException e)
        {
            throw new UserInputException(e.Message, e);
        }
    }

    /// <summary>What <c>--progress</c> asks for.</summary>
    internal enum ProgressMode
    {
        /// <summary>A redrawn status line on a terminal, plain lines otherwise.</summary>
        Auto,

        /// <summary>JSON lines on stdout, the result last.</summary>
        Json,

        /// <summary>Nothing but errors.</summary>
        None,
    }

    /// <summary>Renders progress: a redrawn status line on a terminal, plain lines otherwise, JSON lines, or nothing.</summary>
    private sealed class PullDisplay(ProgressMode mode, TextWriter output, TextWriter error)
    {
        private readonly Lock _lock = new();
        private readonly Dictionary<string, (long Done, long Total)> _layers = new(StringComparer.Ordinal);
        private readonly bool _terminal = mode == ProgressMode.Auto && ReferenceEquals(error, Console.Error) && !Console.IsErrorRedirected;
        private bool _statusShown;

        public void Log(string line)
        {
            if (mode == ProgressMode.None)
            {
                return;
            }

            lock (_lock)
            {
                ClearStatus();
                error.WriteLine(line);
            }
        }

        public void Report(PullProgress progress)
        {
            lock (_lock)
            {
                switch (mode)
                {
                    case ProgressMode.None:
                        return;
                    case ProgressMode.Json:
                        output.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object?>
                        {
                            ["stage"] = progress.Stage.ToString().ToLowerInvariant(),
                            ["layer"] = progress.Layer,
                            ["kind"] = progress.Kind?.ToString().ToLowerInvariant(),
                            ["done"] = progress.Done,
                            ["total"] = progress.Total,
                            ["message"] = progress.Message,
                        }, CliJson.Lines));
                        return;
                }

                if (progress.Stage == PullStage.Fetch && progress.Layer is { } layer)
                {
                    _layers[layer] = (progress.Done, progress.Total);
                }

                if (progress.Message is { } message)
                {
                    ClearStatus();
                    error.WriteLine(message);
                }

                if (_terminal && progress.Stage == PullStage.Fetch)
                {
                    var done = _layers.Values.Sum(l => l.Done);
                    var total = _layers.Values.Sum(l => l.Total);
                    var complete = _layers.Values.Count(l => l.Done == l.Total);
                    error.Write($"\r\u001b[Kfetching: {complete}/{_layers.Count} layers, {done / 1e6:F1}/{total / 1e6:F1} MB");
                    _statusShown = true;
                }
            }
        }

        public void Clear()
        {
            lock (_lock)
            {
                ClearStatus();
            }
        }

        public void Finish(PullResult result)
        {
            lock (_lock)
            {
                ClearStatus();
                if (mode == ProgressMode.Json)
                {
                    output.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object?>
                    {
                        ["stage"] = "result",
                        ["ref"] = result.Ref,
                        ["commit"] = result.Commit,
                        ["manifest"] = result.Manifest.ToString(),
                        ["upToDate"] = result.UpToDate,
                        ["layersFetched"] = result.LayersFetched,
                        ["layersSkipped"] = result.LayersSkipped,
                        ["bytesTransferred"] = result.BytesTransferred,
                        ["objectsWritten"] = result.ObjectsWritten,
                        ["signatureVerified"] = result.SignatureVerified,
                        ["signedBy"] = result.SignedBy,
                        ["path"] = InspectCommand.PathName(result.Path),
                        ["delta"] = result.Delta is { } delta
                            ? new Dictionary<string, object?> { ["from"] = delta.From, ["to"] = delta.To, ["size"] = delta.Size }
                            : null,
                        ["fallbackReason"] = result.FallbackReason,
                        ["shape"] = ImageFormat.LayerKinds.Describe(result.Shape),
                        ["baseCommit"] = result.BaseCommit,
                        ["derivedLayers"] = result.DerivedLayers,
                        ["dropped"] = result.Dropped,
                    }, CliJson.Lines));
                    return;
                }

                if (mode != ProgressMode.None)
                {
                    output.WriteLine(result.Commit);
                }
            }
        }

        private void ClearStatus()
        {
            if (_statusShown)
            {
                error.Write("\r\u001b[K");
                _statusShown = false;
            }
        }
    }
}
