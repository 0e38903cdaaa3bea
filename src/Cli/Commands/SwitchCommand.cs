using System.CommandLine;

namespace OstreeContainer.Cli.Commands;

/// <summary>
/// <c>switch --sysroot S [--os NAME] IMAGE</c>: the deployment's origin names another image;
/// it is pulled and deployed (verified as the old origin was, unless trust options say otherwise).
/// </summary>
internal static class SwitchCommand
{
    public static Command Create()
    {
        var options = new SysrootVerbOptions(osRequired: false);
        var image = new Argument<string>("IMAGE")
        {
            Description = "docker://HOST/NAME[:TAG|@sha256:…], HOST/NAME:TAG, oci:DIR[:TAG], oci-archive:FILE, or an origin reference (ostree-unverified-registry:…, …)",
        };
        var command = new Command("switch", "Change the image a deployment follows: pull it and deploy it with a new origin")
        {
            image,
        };
        options.AddTo(command, withTrust: true);
        command.SetAction(async (parse, cancel) =>
        {
            using var run = options.Open(parse);
            var (target, origin) = SysrootVerbOptions.ParseTarget(parse.GetRequiredValue(image), run.Options.Trust);
            var result = await run.Updater.SwitchAsync(target, origin, cancel);
            SysrootVerbOptions.WriteDeployed(parse.InvocationConfiguration.Output, "switched to", result);
            return 0;
        });
        return command;
    }
}
