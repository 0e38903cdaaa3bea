using System.CommandLine;
using OstreeContainer.Ostree.Repository;

namespace OstreeContainer.Cli.Commands;

/// <summary><c>init --repo R --mode MODE</c>: creates an empty repository.</summary>
internal static class InitCommand
{
    public static Command Create()
    {
        var repo = CommonOptions.Repo();
        var mode = new Option<string>("--mode") { Description = "archive (archive-z2) or bare-user", DefaultValueFactory = _ => "archive" };
        mode.AcceptOnlyFromAmong("archive", "archive-z2", "bare-user");
        var command = new Command("init", "Create an empty OSTree repository") { repo, mode };
        command.SetAction(parse =>
        {
            RepoModeExtensions.TryParse(parse.GetValue(mode), out var m);
            var created = OstreeRepo.Create(parse.GetRequiredValue(repo), m);
            parse.InvocationConfiguration.Output.WriteLine($"created {m.ToConfigString()} repository {created.Root}");
            return 0;
        });
        return command;
    }
}
