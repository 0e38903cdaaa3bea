using System.CommandLine;
using OstreeContainer.Ostree.Repository;

namespace OstreeContainer.Cli.Commands;

/// <summary><c>refs --repo R</c>: every ref and the commit it points at.</summary>
internal static class RefsCommand
{
    public static Command Create()
    {
        var repo = CommonOptions.Repo();
        var command = new Command("refs", "List refs and their commits") { repo };
        command.SetAction(parse =>
        {
            foreach (var (name, commit) in OstreeRepo.Open(parse.GetRequiredValue(repo)).ListRefs())
            {
                parse.InvocationConfiguration.Output.WriteLine($"{name} {commit}");
            }

            return 0;
        });
        return command;
    }
}
