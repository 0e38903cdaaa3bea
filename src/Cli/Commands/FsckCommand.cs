using System.CommandLine;
using OstreeContainer.Ostree.Repository;

namespace OstreeContainer.Cli.Commands;

/// <summary><c>fsck --repo R</c>: verifies every object reachable from the refs.</summary>
internal static class FsckCommand
{
    public static Command Create()
    {
        var repo = CommonOptions.Repo();
        var command = new Command("fsck", "Verify every object reachable from the refs") { repo };
        command.SetAction((parse, cancel) =>
        {
            var report = RepoFsck.Run(OstreeRepo.Open(parse.GetRequiredValue(repo)), cancellationToken: cancel);
            var output = parse.InvocationConfiguration.Output;
            output.WriteLine($"checked {report.Commits} commits, {report.DirTrees} dirtrees, {report.DirMetas} dirmetas, {report.Files} files");
            foreach (var problem in report.Problems)
            {
                parse.InvocationConfiguration.Error.WriteLine($"ostree-container: fsck: {problem}");
            }

            output.WriteLine(report.IsClean ? "fsck: ok" : $"fsck: {report.Problems.Count} corrupt or missing objects");
            return Task.FromResult(report.IsClean ? 0 : 1);
        });
        return command;
    }
}
