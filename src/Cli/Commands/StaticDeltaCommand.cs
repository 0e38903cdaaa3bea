using System.CommandLine;
using System.CommandLine.Parsing;
using System.Diagnostics;
using System.Globalization;
using OstreeContainer.Errors;
using OstreeContainer.ImagePuller;
using OstreeContainer.Ostree.Deltas;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Repository;
using OstreeContainer.Ostree.Signing;
using OstreeContainer.Ostree.Summaries;

namespace OstreeContainer.Cli.Commands;

/// <summary>
/// <c>static-delta generate|list|show|apply-offline</c>, spelled as <c>ostree static-delta</c>
/// spells them; the work is <see cref="DeltaGenerator"/> and <see cref="DeltaApplier"/>.
/// </summary>
internal static class StaticDeltaCommand
{
    /// <summary>ostree's size options count megabytes of 1000 x 1000 bytes (<c>g_ascii_strtoull (…) * 1000 * 1000</c>).</summary>
    internal const long Megabyte = 1000 * 1000;

    /// <summary>The only signature type ostree's delta signing knows.</summary>
    private const string Ed25519SignType = "ed25519";

    public static Command Create() => new("static-delta", "Generate, list, show and apply OSTree static deltas")
    {
        Generate(),
        List(),
        Show(),
        ApplyOffline(),
    };

    private static Command Generate()
    {
        var repo = CommonOptions.Repo();
        var from = new Option<string?>("--from") { Description = "Create the delta from this commit (default: the parent of --to)", HelpName = "REV" };
        var empty = new Option<bool>("--empty") { Description = "Create a from-scratch delta" };
        var to = new Option<string>("--to") { Description = "Create the delta to this commit", HelpName = "REV", Required = true };
        var inline = new Option<bool>("--inline") { Description = "Put the parts inside the superblock" };
        var maxChunk = MegabyteOption("--max-chunk-size", "Start a new part past this many MB of objects", DeltaGenerateOptions.DefaultMaxChunkSize, allowZero: false);
        var minFallback = MegabyteOption("--min-fallback-size", "Fetch new files larger than this many MB loose (0: never)", DeltaGenerateOptions.DefaultMinFallbackSize, allowZero: true);
        var disableBsdiff = new Option<bool>("--disable-bsdiff") { Description = "Never encode a changed file as a bsdiff patch" };
        var maxBsdiff = MegabyteOption("--max-bsdiff-size", "Use bsdiff only for files up to this many MB", DeltaGenerateOptions.DefaultMaxBsdiffSize, allowZero: true);
        var signType = new Option<string?>("--sign-type") { Description = "Signature type (only ed25519, the default)", HelpName = "NAME" };
        var sign = new Option<string[]>("--sign") { Description = "Sign the superblock with this base64 ed25519 secret key (repeatable)", HelpName = "KEY" };
        var keysFile = new Option<string?>("--keys-file") { Description = "Sign with the base64 secret keys in this file, one a line", HelpName = "PATH" };
        var command = new Command("generate", "Generate a static delta between two commits, in ostree's format")
        {
            repo, from, empty, to, inline, maxChunk, minFallback, disableBsdiff, maxBsdiff, signType, sign, keysFile,
        };
        command.SetAction(async (parse, cancel) =>
        {
            var output = parse.InvocationConfiguration.Output;
            if (parse.GetValue(empty) && parse.GetValue(from) is not null)
            {
                throw new UserInputException("cannot specify both --empty and --from");
            }

            var keys = SignKeys(parse.GetValue(signType), parse.GetValue(sign) ?? [], parse.GetValue(keysFile));
            var r = OstreeRepo.Open(parse.GetRequiredValue(repo));
            var toText = parse.GetRequiredValue(to);
            var target = ResolveCommit(r, toText, "--to");
            Checksum? source = null;
            if (!parse.GetValue(empty))
            {
                // ostree resolves "TO^" when --from is not given.
                source = parse.GetValue(from) is { } fromText ? ResolveCommit(r, fromText, "--from") : ResolveCommit(r, toText + "^", "--from (default: the parent of --to)");
            }

            output.WriteLine("Generating static delta:");
            output.WriteLine($"  From: {source?.ToString() ?? "empty"}");
            output.WriteLine($"  To:   {target}");
            var options = new DeltaGenerateOptions
            {
                Inline = parse.GetValue(inline),
                MaxChunkSize = parse.GetValue(maxChunk) ?? DeltaGenerateOptions.DefaultMaxChunkSize,
                MinFallbackSize = parse.GetValue(minFallback) ?? DeltaGenerateOptions.DefaultMinFallbackSize,
                DisableBsdiff = parse.GetValue(disableBsdiff),
                MaxBsdiffSize = parse.GetValue(maxBsdiff) ?? DeltaGenerateOptions.DefaultMaxBsdiffSize,
                SignKeys = keys,
            };
            var clock = Stopwatch.StartNew();
            var result = await DeltaGenerator.GenerateAsync(r, source, target, options, cancel);
            output.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"Wrote {result.Name}: {result.Parts} part(s) {result.PartBytes} bytes, {result.Fallbacks} fallback object(s) {result.FallbackBytes} bytes, superblock {result.SuperblockBytes} bytes{(keys.Count > 0 ? $", signed by {keys.Count} key(s)" : "")} in {clock.Elapsed.TotalSeconds:F1} s"));
            return 0;
        });
        return command;
    }

    private static Command List()
    {
        var repo = CommonOptions.Repo();
        var command = new Command("list", "List the static deltas of a repository") { repo };
        command.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output;
            var deltas = StaticDeltas.List(OstreeRepo.Open(parse.GetRequiredValue(repo)).Root);
            if (deltas.Count == 0)
            {
                output.WriteLine("(No static deltas)");
            }

            foreach (var delta in deltas)
            {
                output.WriteLine(delta.Name.ToString());
            }

            return 0;
        });
        return command;
    }

    private static Command Show()
    {
        var repo = CommonOptions.Repo();
        var delta = new Argument<string>("DELTA") { Description = "FROM-TO, TO (a from-scratch delta), or the path of a superblock file" };
        var command = new Command("show", "Describe a static delta as 'ostree static-delta show' does") { repo, delta };
        command.SetAction(parse =>
        {
            var r = OstreeRepo.Open(parse.GetRequiredValue(repo));
            StaticDeltaShow.Write(r, parse.GetRequiredValue(delta), parse.InvocationConfiguration.Output);
            return 0;
        });
        return command;
    }

    private static Command ApplyOffline()
    {
        var repo = CommonOptions.Repo();
        var path = new Argument<string>("PATH") { Description = "The delta: its directory or its superblock file" };
        var refName = new Option<string?>("--ref") { Description = "Point this ref at the delta's target commit once it is complete" };
        var remote = new Option<string?>("--remote") { Description = "Verify the target commit with the gpg-verify/sign-verify settings and keys of this ostree remote" };
        var keyring = new Option<string?>("--keyring") { Description = "GPG keyring file (or directory of *.gpg) the target commit must be signed with" };
        var signVerify = new Option<string[]>("--sign-verify") { Description = "ed25519=BASE64KEY or ed25519=file:PATH (repeatable)" };
        var insecure = new Option<bool>("--insecure-no-signature") { Description = "Apply without checking the target commit's signature" };
        var command = new Command("apply-offline", "Apply a static delta file into a repository, verifying every object and the commit's signature")
        {
            repo, path, refName, remote, keyring, signVerify, insecure,
        };
        command.SetAction(async (parse, cancel) =>
        {
            var r = OstreeRepo.Open(parse.GetRequiredValue(repo));
            var trust = new PullTrust
            {
                KeyringPath = parse.GetValue(keyring),
                SignVerify = parse.GetValue(signVerify) ?? [],
                Remote = parse.GetValue(remote),
                InsecureNoSignature = parse.GetValue(insecure),
            };
            var deltaPath = parse.GetRequiredValue(path);
            if (!Directory.Exists(deltaPath) && !File.Exists(deltaPath))
            {
                throw new UserInputException($"{deltaPath}: no such delta directory or superblock file");
            }

            var options = new DeltaApplyOptions
            {
                SignaturePolicy = trust.Resolve(r),
                Ref = parse.GetValue(refName) is { } name ? RefName.Parse(name) : null,
            };
            var clock = Stopwatch.StartNew();
            var result = await DeltaApplier.ApplyOfflineAsync(r, deltaPath, options, cancel);
            parse.InvocationConfiguration.Output.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"Applied {result.Name}: {result.ObjectsWritten} object(s) written, {result.ObjectsPresent} already present{(options.Ref is { } set ? $", {set} -> {result.Name.To}" : "")} in {clock.Elapsed.TotalSeconds:F1} s"));
            return 0;
        });
        return command;
    }

    /// <summary>
    /// Resolves <paramref name="rev"/> (a checksum, ref or <c>REMOTE:REF</c>, each <c>^</c>
    /// after it one parent back, as <c>ostree rev-parse</c> reads it) to a commit this repo has.
    /// </summary>
    internal static Checksum ResolveCommit(OstreeRepo repo, string rev, string option)
    {
        var name = rev.TrimEnd('^');
        var parents = rev.Length - name.Length;
        if (!repo.TryResolveRev(name, out var commit))
        {
            throw new UserInputException($"{option}: '{rev}' is neither a commit checksum nor a ref of {repo.Root}");
        }

        for (var i = 0; ; i++)
        {
            if (!repo.HasObject(commit, ObjectType.Commit))
            {
                throw new UserInputException($"{option}: '{rev}' names commit {commit}, which {repo.Root} does not have");
            }

            if (i == parents)
            {
                return commit;
            }

            commit = repo.ReadCommit(commit).Parent
                ?? throw new UserInputException($"{option}: '{rev}': commit {commit} has no parent (pass --from REV, or --empty for a from-scratch delta)");
        }
    }

    /// <summary>
    /// An option of whole megabytes, as ostree counts them, read as bytes; null when absent
    /// (a default value factory would have the help print the default in bytes too).
    /// </summary>
    private static Option<long?> MegabyteOption(string name, string description, long defaultBytes, bool allowZero) => new(name)
    {
        Description = $"{description} [default: {defaultBytes / Megabyte}]",
        HelpName = "MB",
        CustomParser = result => ParseMegabytes(result, name, allowZero),
    };

    private static long? ParseMegabytes(ArgumentResult result, string name, bool allowZero)
    {
        var token = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
        // ostree stores these as uint32 megabytes.
        if (!uint.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out var megabytes) || (!allowZero && megabytes == 0))
        {
            result.AddError($"{name}: '{ErrorPolicy.Excerpt(token)}' is not a whole number of megabytes{(allowZero ? "" : " above 0")} (1 MB = 1000000 bytes)");
            return null;
        }

        return megabytes * Megabyte;
    }

    /// <summary>The secret keys of <c>--sign</c> and <c>--keys-file</c>; never echoes a key in an error.</summary>
    private static List<Ed25519SecretKey> SignKeys(string? signType, IReadOnlyList<string> sign, string? keysFile)
    {
        if (signType is not null && signType != Ed25519SignType)
        {
            throw new UserInputException($"--sign-type: '{ErrorPolicy.Excerpt(signType)}' is not supported (only {Ed25519SignType})");
        }

        var keys = new List<Ed25519SecretKey>();
        for (var i = 0; i < sign.Count; i++)
        {
            keys.Add(ParseSecretKey(sign[i], $"--sign (#{i + 1})"));
        }

        if (keysFile is not null)
        {
            string[] lines;
            try
            {
                lines = File.ReadAllLines(keysFile);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new UserInputException($"--keys-file: {e.Message}", e);
            }

            for (var i = 0; i < lines.Length; i++)
            {
                if (!string.IsNullOrWhiteSpace(lines[i]))
                {
                    keys.Add(ParseSecretKey(lines[i], $"--keys-file {keysFile} line {i + 1}"));
                }
            }

            if (keys.Count == 0)
            {
                throw new UserInputException($"--keys-file: {keysFile} holds no keys");
            }
        }

        return keys;
    }

    private static Ed25519SecretKey ParseSecretKey(string base64, string where)
    {
        try
        {
            return Ed25519SecretKey.Parse(base64);
        }
        catch (InvalidDataException e)
        {
            throw new UserInputException($"{where}: {e.Message}", e);
        }
    }
}
