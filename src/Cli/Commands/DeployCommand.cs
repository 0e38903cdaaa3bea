using System.CommandLine;
using OstreeContainer.Cli.Logging;
using OstreeContainer.Errors;
using OstreeContainer.ImagePuller;
using OstreeContainer.Oci;
using OstreeContainer.Oci.Images;
using OstreeContainer.Sysroot;

namespace OstreeContainer.Cli.Commands;

/// <summary>
/// <c>deploy --sysroot S --os NAME IMAGE [--karg K=V…]</c>: pulls an image into the sysroot's
/// repo and deploys it with <c>ostree admin deploy</c> (<see cref="SysrootUpdater"/> does the work).
/// </summary>
internal static class DeployCommand
{
    public static Command Create()
    {
        var options = new SysrootVerbOptions(osRequired: true);
        var image = new Argument<string>("IMAGE")
        {
            Description = "docker://HOST/NAME[:TAG|@sha256:…], HOST/NAME:TAG, oci:DIR[:TAG], oci-archive:FILE, or an origin reference (ostree-unverified-registry:…, ostree-remote-image:REMOTE:…, ostree-image-signed:…)",
        };
        var karg = new Option<string[]>("--karg") { Description = "Kernel argument K=V for the new deployment (repeatable; default: the merge deployment's)" };
        var command = new Command("deploy", "Pull an image into a sysroot's repository and deploy it with ostree admin deploy, its origin naming the image as bootc and rpm-ostree do")
        {
            image, karg,
        };
        options.AddTo(command, withTrust: true);
        command.SetAction(async (parse, cancel) =>
        {
            var output = parse.InvocationConfiguration.Output;
            using var run = options.Open(parse);
            var (target, origin) = SysrootVerbOptions.ParseTarget(parse.GetRequiredValue(image), run.Options.Trust);
            var result = await run.Updater.DeployAsync(target, origin, parse.GetValue(karg) ?? [], cancel);
            SysrootVerbOptions.WriteDeployed(output, "deployed", result);
            return 0;
        });
        return command;
    }
}

/// <summary>The options <c>deploy</c>, <c>upgrade</c> and <c>switch</c> share, and how they report.</summary>
internal sealed class SysrootVerbOptions(bool osRequired)
{
    private readonly Option<string> _sysroot = new("--sysroot") { Description = "The sysroot (made by ostree admin init-fs)", Required = true };
    private readonly Option<string?> _os = new("--os")
    {
        Description = osRequired ? "The stateroot to deploy into (created when missing)" : "The stateroot (default: the booted deployment's, else the first listed)",
        Required = osRequired,
    };

    private readonly Option<string?> _remote = new("--remote") { Description = "Verify with the keys of this ostree remote (recorded as ostree-remote-image:REMOTE:…)" };
    private readonly Option<string?> _keyring = new("--keyring") { Description = "GPG keyring file the commit must be signed with (recorded as ostree-image-signed:…)" };
    private readonly Option<string[]> _signVerify = new("--sign-verify") { Description = "ed25519=BASE64KEY or ed25519=file:PATH (repeatable; recorded as ostree-image-signed:…)" };
    private readonly Option<bool> _insecure = new("--insecure-no-signature") { Description = "Do not check the commit's signature (recorded as ostree-unverified-…)" };
    private readonly Option<string?> _platform = new("--platform") { Description = "OS/ARCH[/VARIANT] to choose from an index (default: this machine's)" };
    private readonly RegistryOptions _registry = new();
    private bool _withTrust;

    public void AddTo(Command command, bool withTrust)
    {
        _withTrust = withTrust;
        command.Options.Add(_sysroot);
        command.Options.Add(_os);
        command.Options.Add(_keyring);
        command.Options.Add(_signVerify);
        if (withTrust)
        {
            command.Options.Add(_remote);
            command.Options.Add(_insecure);
        }
        else
        {
            // upgrade: the origin's scheme decides the trust; keys are what ostree-image-signed needs.
            _keyring.Description = "GPG keyring file the commit must be signed with (for an ostree-image-signed: origin)";
            _signVerify.Description = "ed25519=BASE64KEY or ed25519=file:PATH (repeatable; for an ostree-image-signed: origin)";
        }

        command.Options.Add(_platform);
        _registry.AddTo(command);
    }

    /// <summary>The updater for the parsed options; progress lines go to stderr.</summary>
    public Run Open(ParseResult parse)
    {
        var error = parse.InvocationConfiguration.Error;
        var loggerFactory = CliLoggerProvider.CreateFactory(error.WriteLine, quiet: false);
        var client = _registry.CreateClient(parse, loggerFactory);
        try
        {
            var options = new SysrootOptions
            {
                Sysroot = parse.GetRequiredValue(_sysroot),
                OsName = parse.GetValue(_os),
                Trust = new PullTrust
                {
                    KeyringPath = parse.GetValue(_keyring),
                    SignVerify = parse.GetValue(_signVerify) ?? [],
                    Remote = _withTrust ? parse.GetValue(_remote) : null,
                    InsecureNoSignature = _withTrust && parse.GetValue(_insecure),
                },
                Platform = parse.GetValue(_platform) is { } p ? Platform.Parse(p) : Platform.Current,
                Registry = client,
                Progress = progress =>
                {
                    if (progress.Message is { } message)
                    {
                        error.WriteLine(message);
                    }
                },
            };
            return new Run(new SysrootUpdater(options), options, client, loggerFactory);
        }
        catch
        {
            client.Dispose();
            loggerFactory.Dispose();
            throw;
        }
    }

    public static (ImageReference Image, ContainerImageReference? Origin) ParseTarget(string argument, PullTrust trust)
    {
        try
        {
            return SysrootUpdater.ParseTarget(argument, trust);
        }
        catch (FormatException e)
        {
            throw new UserInputException(e.Message, e);
        }
    }

    public static void WriteDeployed(TextWriter output, string verb, DeployResult result)
    {
        output.WriteLine($"{verb} {result.Deployment} (deployment {result.Deployment.Index})");
        output.WriteLine($"  image: {result.Origin.Image}");
        output.WriteLine($"  manifest: {result.Pull.Manifest}");
        output.WriteLine($"  commit: {result.Pull.Commit}");
        output.WriteLine($"  origin: {ContainerImageReference.OriginKey}={result.Origin}");
        output.WriteLine($"  fetched: {Fetched(result.Pull)}");
        if (result.Origin.Verification == ImageVerification.Unverified)
        {
            output.WriteLine("  WARNING: the image's commit signature was not verified, and upgrades will not verify it either");
        }
    }

    public static string Fetched(PullResult pull) => pull.Path switch
    {
        PullPath.UpToDate => "nothing (the repository already held the image)",
        PullPath.Delta when pull.Delta is { } delta => $"{pull.BytesTransferred} bytes by delta {ImageImporter.Describe(delta)}",
        _ => $"{pull.BytesTransferred} bytes in {pull.LayersFetched} layers",
    };

    /// <summary>The updater with what it holds open for one command.</summary>
    internal sealed class Run(SysrootUpdater updater, SysrootOptions options, IDisposable client, IDisposable loggerFactory) : IDisposable
    {
        public SysrootUpdater Updater { get; } = updater;

        public SysrootOptions Options { get; } = options;

        public void Dispose()
        {
            client.Dispose();
            loggerFactory.Dispose();
        }
    }
}
