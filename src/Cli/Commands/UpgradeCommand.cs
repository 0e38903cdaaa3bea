using System.CommandLine;
using OstreeContainer.ImagePuller;
using OstreeContainer.Sysroot;

namespace OstreeContainer.Cli.Commands;

/// <summary>
/// <c>upgrade --sysroot S [--os NAME] [--check] [--download-only]</c>: follows the origin of the
/// booted (else first listed) deployment to the image's current manifest.
/// </summary>
internal static class UpgradeCommand
{
    public static Command Create()
    {
        var options = new SysrootVerbOptions(osRequired: false);
        var check = new Option<bool>("--check") { Description = "Say what an upgrade would fetch (delta or layers, bytes, version); write nothing" };
        var downloadOnly = new Option<bool>("--download-only") { Description = "Pull the update into the sysroot's repository; do not deploy it" };
        var command = new Command("upgrade", "Pull and deploy the current image of the deployment's origin, when it changed")
        {
            check, downloadOnly,
        };
        options.AddTo(command, withTrust: false);
        command.SetAction(async (parse, cancel) =>
        {
            var output = parse.InvocationConfiguration.Output;
            if (parse.GetValue(check) && parse.GetValue(downloadOnly))
            {
                throw new Errors.UserInputException("--check and --download-only exclude each other");
            }

            var mode = parse.GetValue(check) ? UpgradeMode.Check : parse.GetValue(downloadOnly) ? UpgradeMode.DownloadOnly : UpgradeMode.Deploy;
            using var run = options.Open(parse);
            var result = await run.Updater.UpgradeAsync(mode, cancel);
            Write(output, result, run.Options);
            return 0;
        });
        return command;
    }

    private static void Write(TextWriter output, UpgradeResult result, SysrootOptions options)
    {
        var versions = $"{result.DeployedVersion ?? "(none)"} -> {result.Version ?? "(none)"}";
        switch (result.Outcome)
        {
            case UpgradeOutcome.NoUpdate:
                output.WriteLine($"no update available: {result.Origin.Image} is still {result.Manifest} (deployment {result.From})");
                return;
            case UpgradeOutcome.Available:
                output.WriteLine($"update available for {result.From}: {result.Origin.Image}");
                output.WriteLine($"  manifest: {result.DeployedManifest ?? "(unknown)"} -> {result.Manifest}");
                output.WriteLine($"  version: {versions}");
                var plan = result.Plan!;
                output.WriteLine(plan.Path switch
                {
                    PullPath.Delta when plan.Delta is { } delta => $"  fetch: delta {ImageImporter.Describe(delta.Info)}, {plan.BytesToFetch} bytes",
                    PullPath.UpToDate => "  fetch: nothing (already downloaded)",
                    _ => $"  fetch: {plan.LayersToFetch.Count} layers, {plan.BytesToFetch} bytes ({plan.Reason})",
                });
                output.WriteLine($"  free space needed: about {result.BytesNeeded} bytes in {options.RepoPath}");
                output.WriteLine("  nothing was written (--check)");
                return;
            case UpgradeOutcome.Downloaded:
                output.WriteLine($"downloaded {result.Pull!.Commit} ({result.Manifest}, version {versions}) to ref {result.Pull.Ref}; not deployed (--download-only)");
                output.WriteLine($"  fetched: {SysrootVerbOptions.Fetched(result.Pull)}");
                return;
            default:
                output.WriteLine($"upgraded {result.From} -> {result.Deployed} (deployment {result.Deployed!.Index}), version {versions}");
                output.WriteLine($"  manifest: {result.Manifest}");
                output.WriteLine($"  fetched: {SysrootVerbOptions.Fetched(result.Pull!)}");
                return;
        }
    }
}
