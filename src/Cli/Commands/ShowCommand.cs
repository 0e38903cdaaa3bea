using System.CommandLine;
using System.Globalization;
using OstreeContainer.ImageFormat;
using OstreeContainer.Ostree.Repository;

namespace OstreeContainer.Cli.Commands;

/// <summary><c>show --repo R REV</c>: a commit and its metadata, in the layout of <c>ostree show</c>.</summary>
internal static class ShowCommand
{
    public static Command Create()
    {
        var repo = CommonOptions.Repo();
        var rev = new Argument<string>("REV") { Description = "Commit checksum, ref or REMOTE:REF" };
        var key = new Option<string?>("--print-metadata-key") { Description = "Print only this metadata value" };
        var command = new Command("show", "Show a commit, its metadata and detached metadata") { repo, rev, key };
        command.SetAction(parse =>
        {
            var r = OstreeRepo.Open(parse.GetRequiredValue(repo));
            var checksum = r.ResolveRev(parse.GetRequiredValue(rev));
            var commit = r.ReadCommit(checksum);
            var output = parse.InvocationConfiguration.Output;
            if (parse.GetValue(key) is { } wanted)
            {
                var value = commit.Metadata[wanted] ?? throw new KeyNotFoundException($"commit {checksum} has no metadata key '{wanted}'");
                output.WriteLine(Ostree.GVariant.GVariantText.Format(value.Type, value.Value));
                return 0;
            }

            output.WriteLine($"commit {checksum}");
            if (commit.Parent is { } parent)
            {
                output.WriteLine($"Parent:  {parent}");
            }

            output.WriteLine($"ContentChecksum:  {commit.ContentChecksum}");
            output.WriteLine($"Date:  {commit.Time.ToString("yyyy-MM-dd HH:mm:ss +0000", CultureInfo.InvariantCulture)}");
            if (commit.Version is { } version)
            {
                output.WriteLine($"Version: {version}");
            }

            if (commit.Metadata.GetString(CommitMetadataKeys.ManifestDigest) is { } manifest)
            {
                // A commit pull made from a derived or plain image: how each part was trusted.
                output.WriteLine($"Image:  {manifest}");
                if (commit.Metadata.GetString(CommitMetadataKeys.BaseCommit) is { } baseCommit)
                {
                    var signedBy = commit.Metadata.GetString(CommitMetadataKeys.BaseSignedBy);
                    output.WriteLine($"Base commit:  {baseCommit} ({(signedBy == CommitMetadataKeys.TrustInsecure ? "signature not checked: --insecure-no-signature" : $"signature verified: {signedBy}")})");
                }

                var layers = (commit.Metadata.GetString(CommitMetadataKeys.DerivedLayers) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries);
                var trust = commit.Metadata.GetString(CommitMetadataKeys.DerivedTrust);
                output.WriteLine($"Derived layers:  {layers.Length}, trusted as {trust} ({(trust == CommitMetadataKeys.TrustDigestPinned ? "the manifest matched the digest the reference named" : "no check: --insecure-no-signature")})");
                if (commit.Metadata.GetString(CommitMetadataKeys.Dropped) is { Length: > 0 } dropped)
                {
                    output.WriteLine($"Dropped:  {dropped.Replace(",", ", ", StringComparison.Ordinal)}");
                }
            }

            output.WriteLine();
            output.WriteLine($"    {commit.Subject}");
            if (commit.Body.Length > 0)
            {
                output.WriteLine();
                foreach (var line in commit.Body.Split('\n'))
                {
                    output.WriteLine($"    {line}");
                }
            }

            output.WriteLine();
            foreach (var (k, v) in commit.Metadata.Entries)
            {
                output.WriteLine($"metadata {k}: {v}");
            }

            foreach (var (k, v) in r.ReadCommitMeta(checksum)?.Entries ?? [])
            {
                output.WriteLine($"detached {k}: {v}");
            }

            return 0;
        });
        return command;
    }
}
