using System.CommandLine;
using System.Text.Json;
using OstreeContainer.Cli.Logging;
using OstreeContainer.ImageFormat;
using OstreeContainer.ImagePuller;
using OstreeContainer.Oci.Images;

namespace OstreeContainer.Cli.Commands;

/// <summary><c>inspect IMAGE [--json]</c>: what an ostree-container image carries, without pulling it.</summary>
internal static class InspectCommand
{
    public static Command Create()
    {
        var image = new Argument<string>("IMAGE") { Description = "docker://HOST/NAME[:TAG|@sha256:…], HOST/NAME:TAG, oci:DIR[:TAG] or oci-archive:FILE" };
        var json = new Option<bool>("--json") { Description = "Print JSON" };
        var platform = new Option<string?>("--platform") { Description = "OS/ARCH[/VARIANT] to choose from an index (default: this machine's)" };
        var repo = new Option<string?>("--repo") { Description = "Also say which path a pull into this repository would take (delta or repo layers) and the bytes it would fetch" };
        var refName = new Option<string?>("--ref") { Description = "With --repo: the ref a pull would set (default: the image's ostree.ref label)" };
        var registry = new RegistryOptions();
        var command = new Command("inspect", "Show an image's manifest digest, labels, commit, ref, version, layers and deltas") { image, json, platform, repo, refName };
        registry.AddTo(command);
        command.SetAction(async (parse, cancel) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            using var loggerFactory = CliLoggerProvider.CreateFactory(error.WriteLine, quiet: false);
            using var client = registry.CreateClient(parse, loggerFactory);
            var info = await ImageImporter.InspectAsync(
                PullCommand.ParseImage(parse.GetRequiredValue(image)),
                client,
                parse.GetValue(platform) is { } p ? Platform.Parse(p) : Platform.Current,
                cancel);
            var deltas = PullPlan.DeltaLayers(info);
            var plan = parse.GetValue(repo) is { } repoPath ? ImageImporter.PlanPull(info, repoPath, parse.GetValue(refName)) : null;

            if (parse.GetValue(json))
            {
                output.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object?>
                {
                    ["manifest"] = info.ManifestDigest.ToString(),
                    ["mediaType"] = info.ManifestMediaType,
                    ["shape"] = LayerKinds.Describe(info.Shape),
                    ["commit"] = info.Commit?.ToString(),
                    ["baseCommit"] = info.BaseCommit?.ToString(),
                    ["derivedLayers"] = info.DerivedLayers.Select(l => new Dictionary<string, object>
                    {
                        ["index"] = l.Index,
                        ["digest"] = l.Descriptor.Digest.ToString(),
                        ["diffId"] = l.DiffId.ToString(),
                        ["size"] = l.Descriptor.Size,
                    }).ToList(),
                    ["ref"] = info.Ref,
                    ["version"] = info.Version,
                    ["labels"] = info.Labels,
                    ["layers"] = info.Layers.Select(l => new Dictionary<string, object>
                    {
                        ["index"] = l.Index,
                        ["kind"] = l.Kind.ToString().ToLowerInvariant(),
                        ["digest"] = l.Descriptor.Digest.ToString(),
                        ["size"] = l.Descriptor.Size,
                        ["mediaType"] = l.Descriptor.MediaType,
                    }).ToList(),
                    ["deltas"] = deltas.Select(d => new Dictionary<string, object?>
                    {
                        ["layer"] = d.Layer.Index,
                        ["from"] = d.Info.From,
                        ["to"] = d.Info.To,
                        ["size"] = d.Info.Size,
                        ["layerSize"] = d.Layer.Descriptor.Size,
                    }).ToList(),
                    ["pull"] = plan is null ? null : new Dictionary<string, object?>
                    {
                        ["repo"] = parse.GetValue(repo),
                        ["path"] = PathName(plan.Path),
                        ["delta"] = plan.Delta is { } d ? new Dictionary<string, object?> { ["from"] = d.Info.From, ["to"] = d.Info.To, ["size"] = d.Info.Size } : null,
                        ["reason"] = plan.Reason,
                        ["bytesToFetch"] = plan.BytesToFetch,
                        ["layersToFetch"] = plan.LayersToFetch.Select(l => l.Index).ToList(),
                    },
                }, CliJson.Document));
                return 0;
            }

            output.WriteLine($"Manifest: {info.ManifestDigest}");
            output.WriteLine($"Shape:    {LayerKinds.Describe(info.Shape)}" + info.Shape switch
            {
                ImageShape.Derived => $" (an ostree-container image with {info.DerivedLayers.Count} layers stacked on it)",
                ImageShape.Plain => " (not an ostree-container image: every layer is applied onto an empty tree)",
                _ => "",
            });
            output.WriteLine(info.Shape == ImageShape.Derived
                ? $"Commit:   {info.Commit} (the base commit; the image's content is the base plus the derived layers)"
                : $"Commit:   {info.Commit?.ToString() ?? "(none: not an ostree-container image)"}");
            output.WriteLine($"Ref:      {info.Ref ?? "(none)"}");
            output.WriteLine($"Version:  {info.Version ?? "(none)"}");
            output.WriteLine("Labels:");
            foreach (var (key, value) in info.Labels.OrderBy(l => l.Key, StringComparer.Ordinal))
            {
                output.WriteLine($"  {key}={value}");
            }

            output.WriteLine($"Layers ({info.Layers.Count}, {info.Layers.Sum(l => l.Descriptor.Size) / 1e6:F1} MB):");
            foreach (var layer in info.Layers)
            {
                output.WriteLine($"  {layer.Index,3}  {layer.Kind.ToString().ToLowerInvariant(),-7} {layer.Descriptor.Size,12}  {layer.Descriptor.Digest}");
            }

            if (info.Shape != ImageShape.OstreeContainer)
            {
                var derived = info.DerivedLayers;
                output.WriteLine($"Derived layers ({derived.Count}, {derived.Sum(l => l.Descriptor.Size)} bytes):");
                foreach (var layer in derived)
                {
                    output.WriteLine($"  {layer.Index,3}  {layer.Descriptor.Size,12}  {layer.Descriptor.Digest}");
                }
            }

            var unannotated = info.Layers.Count(l => l.Kind == LayerKind.Delta) - deltas.Count;
            output.WriteLine($"Deltas ({deltas.Count}{(unannotated > 0 ? $"; {unannotated} delta layers without annotations (format 1.0), never applied" : "")}):");
            foreach (var delta in deltas)
            {
                output.WriteLine($"  {delta.Layer.Index,3}  {delta.Info.From ?? DeltaLayerAnnotations.Empty} -> {delta.Info.To}  {delta.Info.Size} bytes");
            }

            if (plan is not null)
            {
                output.WriteLine($"Pull into {parse.GetValue(repo)}: {PathName(plan.Path)}" + plan.Path switch
                {
                    PullPath.Delta => $" {ImageImporter.Describe(plan.Delta!.Info)} (layer {plan.Delta.Layer.Index}), {plan.BytesToFetch} bytes to fetch" + (info.Shape == ImageShape.OstreeContainer ? "" : $": {plan.Reason}"),
                    PullPath.Layers => $" ({plan.LayersToFetch.Count} layers), {plan.BytesToFetch} bytes to fetch: {plan.Reason}",
                    _ => ": nothing to fetch",
                });
            }

            return 0;
        });
        return command;
    }

    internal static string PathName(PullPath path) => path switch
    {
        PullPath.UpToDate => "up-to-date",
        PullPath.Delta => "delta",
        _ => "layers",
    };
}
