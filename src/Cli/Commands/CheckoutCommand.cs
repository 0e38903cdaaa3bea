using System.CommandLine;
using OstreeContainer.Ostree.Repository;
using OstreeContainer.Ostree.Trees;

namespace OstreeContainer.Cli.Commands;

/// <summary><c>checkout --repo R REV DEST</c>.</summary>
internal static class CheckoutCommand
{
    public static Command Create()
    {
        var repo = CommonOptions.Repo();
        var rev = new Argument<string>("REV") { Description = "Commit checksum, ref or REMOTE:REF" };
        var dest = new Argument<string>("DESTINATION") { Description = "Directory to create (must not exist or be empty)" };
        var confine = new Option<bool>("--confine-symlinks") { Description = "Fail on symlinks pointing outside the checkout" };
        var command = new Command("checkout", "Check out a commit into a new directory") { repo, rev, dest, confine };
        command.SetAction((parse, cancel) =>
        {
            var r = OstreeRepo.Open(parse.GetRequiredValue(repo));
            var commit = r.ResolveRev(parse.GetRequiredValue(rev));
            TreeCheckout.Checkout(r, commit, parse.GetRequiredValue(dest), new CheckoutOptions { ConfineSymlinks = parse.GetValue(confine) }, cancel);
            return Task.FromResult(0);
        });
        return command;
    }
}
