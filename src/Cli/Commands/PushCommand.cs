using System.CommandLine;
using System.Diagnostics;
using OstreeContainer.Cli.Logging;
using OstreeContainer.Errors;
using OstreeContainer.ImageBuilder;
using OstreeContainer.Oci;
using OstreeContainer.Oci.Layout;

namespace OstreeContainer.Cli.Commands;

/// <summary><c>push oci:DIR[:TAG] IMAGE</c>: copy an image from a layout to a registry (what <c>build --push</c> does after building).</summary>
internal static class PushCommand
{
    public static Command Create()
    {
        var source = new Argument<string>("SOURCE") { Description = "The image layout: oci:DIR[:TAG] (TAG may be omitted when the layout holds one image)" };
        var destination = new Argument<string>("IMAGE") { Description = "Where to push: docker://HOST/NAME:TAG or HOST/NAME:TAG" };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Print only the manifest digest" };
        var registry = new RegistryOptions();
        var command = new Command("push", "Push an image from an OCI layout to a registry") { source, destination, quiet };
        registry.AddTo(command);
        command.SetAction(async (parse, cancel) =>
        {
            var from = ImageReference.Parse(parse.GetRequiredValue(source));
            if (from.Transport != ImageTransport.OciLayout)
            {
                throw new UserInputException($"push: SOURCE must be oci:DIR[:TAG], got '{parse.GetRequiredValue(source)}'");
            }

            var target = BuildCommand.ParsePushTarget(parse.GetRequiredValue(destination));
            var error = parse.InvocationConfiguration.Error;
            Action<string> log = parse.GetValue(quiet) ? _ => { } : error.WriteLine;
            using var loggerFactory = CliLoggerProvider.CreateFactory(error.WriteLine, parse.GetValue(quiet));
            var watch = Stopwatch.StartNew();
            var layout = ImageLayout.Open(from.Path!);
            var manifest = layout.ResolveManifest(from.Tag);
            using var client = registry.CreateClient(parse, loggerFactory);
            var pushed = await LayoutPush.PushAsync(layout, manifest.Bytes, client, target, loggerFactory, cancellationToken: cancel);
            parse.InvocationConfiguration.Output.WriteLine(pushed.Manifest.ToString());
            log($"pushed {target}: {pushed.BlobsUploaded} blobs uploaded ({pushed.BytesUploaded / 1e6:F1} MB), {pushed.BlobsSkipped} already present, in {watch.Elapsed.TotalSeconds:F2} s");
            return 0;
        });
        return command;
    }
}
