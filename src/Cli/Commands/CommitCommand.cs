using System.CommandLine;
using System.Diagnostics;
using OstreeContainer.Errors;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Repository;
using OstreeContainer.Ostree.Trees;

namespace OstreeContainer.Cli.Commands;

/// <summary><c>commit --repo R --branch B (--tree=dir=DIR | DIR)</c>, with <c>ostree commit</c>'s options.</summary>
internal static class CommitCommand
{
    public static Command Create()
    {
        var repo = CommonOptions.Repo();
        var branch = new Option<string>("--branch", "-b") { Description = "Branch to move to the new commit" };
        var tree = new Option<string>("--tree") { Description = "dir=PATH: the directory to commit" };
        var path = new Argument<string?>("PATH") { Description = "The directory to commit (same as --tree=dir=PATH)", Arity = ArgumentArity.ZeroOrOne };
        var subject = new Option<string>("--subject", "-s") { Description = "One-line subject", DefaultValueFactory = _ => "" };
        var body = new Option<string>("--body", "-m") { Description = "Full description", DefaultValueFactory = _ => "" };
        var timestamp = new Option<string?>("--timestamp") { Description = "Commit time: @SECONDS or a date; default SOURCE_DATE_EPOCH or now" };
        var parent = new Option<string?>("--parent") { Description = "Parent commit checksum (default: the branch's current commit)" };
        var orphan = new Option<bool>("--orphan") { Description = "Create a commit without a parent" };
        var ownerUid = new Option<uint?>("--owner-uid") { Description = "Store this uid for every file" };
        var ownerGid = new Option<uint?>("--owner-gid") { Description = "Store this gid for every file" };
        var noXattrs = new Option<bool>("--no-xattrs") { Description = "Do not record extended attributes" };
        var noBindings = new Option<bool>("--no-bindings") { Description = "Do not add ostree.ref-binding" };
        var metadata = new Option<string[]>("--add-metadata-string") { Description = "KEY=VALUE metadata (repeatable)", AllowMultipleArgumentsPerToken = false };
        var detached = new Option<string[]>("--add-detached-metadata-string") { Description = "KEY=VALUE detached metadata (repeatable)" };
        var command = new Command("commit", "Commit a directory tree, producing the checksum ostree commit would")
        {
            repo, branch, tree, path, subject, body, timestamp, parent, orphan, ownerUid, ownerGid, noXattrs, noBindings, metadata, detached,
        };
        command.SetAction((parse, cancel) =>
        {
            var dir = parse.GetValue(path);
            if (parse.GetValue(tree) is { } spec)
            {
                dir = spec.StartsWith("dir=", StringComparison.Ordinal) ? spec[4..] : throw new UserInputException($"--tree: only dir=PATH is supported, got '{spec}'");
            }

            if (string.IsNullOrEmpty(dir))
            {
                throw new UserInputException("commit: give the directory as PATH or --tree=dir=PATH");
            }

            var options = new CommitOptions
            {
                Branch = parse.GetValue(branch),
                Subject = parse.GetValue(subject) ?? "",
                Body = parse.GetValue(body) ?? "",
                Timestamp = parse.GetValue(timestamp) is { } t ? CommonOptions.ParseTimestamp(t) : null,
                Parent = parse.GetValue(parent) is { } p ? Checksum.Parse(p) : null,
                Orphan = parse.GetValue(orphan),
                OwnerUid = parse.GetValue(ownerUid),
                OwnerGid = parse.GetValue(ownerGid),
                NoXattrs = parse.GetValue(noXattrs),
                NoBindings = parse.GetValue(noBindings),
                Metadata = CommonOptions.KeyValues(parse.GetValue(metadata), "--add-metadata-string"),
                DetachedMetadata = CommonOptions.KeyValues(parse.GetValue(detached), "--add-detached-metadata-string"),
            };
            var watch = Stopwatch.StartNew();
            var result = DirectoryCommitter.Commit(OstreeRepo.Open(parse.GetRequiredValue(repo)), dir, options, cancel);
            parse.InvocationConfiguration.Output.WriteLine(result.Commit.ToString());
            parse.InvocationConfiguration.Error.WriteLine(
                $"committed {result.Files} files in {result.Directories} directories ({result.ContentBytes / 1e6:F1} MB), {result.ObjectsWritten} new objects, in {watch.Elapsed.TotalSeconds:F2} s");
            return Task.FromResult(0);
        });
        return command;
    }
}
