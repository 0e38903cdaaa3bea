using System.CommandLine;
using System.Text.Json;
using OstreeContainer.Cli.Logging;
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
        var registry = new RegistryOptions();
        var command = new Command("inspect", "Show an image's manifest digest, labels, commit, ref, version and layers") { image, json, platform };
        registry.AddTo(command);
        command.SetAction(async (parse, cancel) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            ImageInfo info;
            using var loggerFactory = CliLoggerProvider.CreateFactory(error.WriteLine, quiet: false);
            using var client = registry.CreateClient(parse, loggerFactory);
            try
            {
                info = await ImagePuller.ImagePuller.InspectAsync(
                    PullCommand.ParseImage(parse.GetRequiredValue(image)),
                    client,
                    parse.GetValue(platform) is { } p ? Platform.Parse(p) : Platform.Current,
                    cancel);
            }
            catch (ImagePullException e)
            {
                error.WriteLine($"ostree-container: error: {CliErrors.Describe(e)}");
                return 1;
            }

            if (parse.GetValue(json))
            {
                output.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object?>
                {
                    ["manifest"] = info.ManifestDigest.ToString(),
                    ["mediaType"] = info.ManifestMediaType,
                    ["commit"] = info.Commit?.ToString(),
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
                }, new JsonSerializerOptions { WriteIndented = true }));
                return 0;
            }

            output.WriteLine($"Manifest: {info.ManifestDigest}");
            output.WriteLine($"Commit:   {info.Commit?.ToString() ?? "(none: not an ostree-container image)"}");
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

            return 0;
        });
        return command;
    }
}
