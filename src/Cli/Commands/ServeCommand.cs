using System.CommandLine;
using OstreeContainer.RepoWebserver.Hosting;

namespace OstreeContainer.Cli.Commands;

/// <summary>
/// <c>serve --repo R [--port N]</c>: runs the repo webserver (the same server as the
/// image's <c>/ostree/repo-webserver</c>) on any host, against any repo. Further server
/// options (<c>--urls</c>, <c>--upstream</c>, <c>--object-map</c>, <c>--cache-dir</c>…)
/// are passed through.
/// </summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var repo = CommonOptions.Repo();
        var port = new Option<int?>("--port", "-p") { Description = "Port to listen on, all interfaces (default 8080)" };
        // Named, so help reads "[<SERVER-OPTION>...]" rather than System.CommandLine's
        // "[[--] <additional arguments>...]]"; any token that is not --repo or --port lands here.
        var server = new Argument<string[]>("SERVER-OPTION")
        {
            Description = "Passed to the repo webserver: --urls, --object-map, --upstream, --cache-dir, --cache-budget, --request-logging, --inline-io (README, \"The repo webserver\")",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var command = new Command("serve", "Serve an OSTree repo over HTTP so 'ostree pull' works against http://HOST:PORT/repo")
        {
            repo, port, server,
        };
        command.SetAction(async (parse, cancel) =>
        {
            var args = new List<string> { "--repo", parse.GetRequiredValue(repo) };
            if (parse.GetValue(port) is { } p)
            {
                args.AddRange(["--port", p.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            }

            args.AddRange(parse.GetValue(server) ?? []);
            return await RepoWebserverHost.RunAsync([.. args], parse.InvocationConfiguration.Error, cancel);
        });
        return command;
    }
}
