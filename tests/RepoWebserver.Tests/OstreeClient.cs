namespace OstreeContainer.RepoWebserver.Tests;

/// <summary>
/// A fresh repo of the real <c>ostree</c> with one remote <c>origin</c>, for pulling from a
/// server over HTTP and checking the result. Dispose deletes the repo.
/// </summary>
internal sealed class OstreeClient : IDisposable
{
    private readonly TempRepo _repo;

    private OstreeClient(TempRepo repo) => _repo = repo;

    public string Repo => _repo.Path;

    /// <summary><c>ostree init --mode=MODE</c> plus <c>ostree remote add [OPTIONS] origin URL</c> (no GPG unless options say so).</summary>
    public static OstreeClient Create(string mode, string url, params string[] remoteOptions)
    {
        var repo = new TempRepo("pull-client");
        Peer.Ostree(repo.Path, "init", $"--mode={mode}");
        string[] gpg = remoteOptions.Any(o => o.StartsWith("--gpg-import", StringComparison.Ordinal) || o.StartsWith("--set=gpg-verify", StringComparison.Ordinal))
            ? []
            : ["--no-gpg-verify"];
        Peer.Ostree(repo.Path, ["remote", "add", .. gpg, .. remoteOptions, "origin", url]);
        return new OstreeClient(repo);
    }

    /// <summary><c>ostree pull ARGS</c>; returns its output (the last line tells objects, delta parts and bytes).</summary>
    public string Pull(params string[] args) => Peer.Ostree(Repo, ["pull", .. args]);

    /// <summary>Runs <c>ostree pull</c> with <paramref name="args"/> verbatim, without checking the exit code.</summary>
    public Peer.Result TryPull(params string[] args) => Peer.Run("ostree", [$"--repo={Repo}", "pull", .. args]);

    /// <summary>Throws unless <c>ostree fsck</c> finds the repo consistent.</summary>
    public void Fsck() => Peer.Ostree(Repo, "fsck");

    public string RevParse(string refspec) => Peer.Ostree(Repo, "rev-parse", refspec).Trim();

    public void Dispose() => _repo.Dispose();

    /// <summary><c>ostree refs</c> of any repo, sorted, one name per entry.</summary>
    public static IReadOnlyList<string> Refs(string repo, params string[] args) =>
        [.. Peer.Ostree(repo, ["refs", .. args]).Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal)];

    /// <summary>Each ref of <paramref name="repo"/> with its commit (<c>ostree rev-parse</c>).</summary>
    public static IReadOnlyList<(string Ref, string Commit)> RefCommits(string repo) =>
        [.. Refs(repo).Select(r => (r, Peer.Ostree(repo, "rev-parse", r).Trim()))];
}
