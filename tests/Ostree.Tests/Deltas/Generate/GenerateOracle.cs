using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Summaries;

namespace OstreeContainer.Ostree.Tests.Deltas.Generate;

/// <summary>The real ostree judging a delta we generated.</summary>
internal static class GenerateOracle
{
    /// <summary>A repo whose objects are hard links to <paramref name="source"/>'s (never written in place), so generation can add deltas without touching the source.</summary>
    public static string LinkCopy(string source, string prefix)
    {
        var target = Path.Combine(Fixtures.TempDirectory(prefix), "repo");
        Peer.Check("cp", "-al", source, target);
        return target;
    }

    /// <summary><c>ostree static-delta show</c> parses the delta; returns its output.</summary>
    public static string Show(string repo, DeltaName name) => Peer.Ostree(repo, "static-delta", "show", name.ToString());

    /// <summary>A new bare-user repo holding <paramref name="from"/> (pulled locally from <paramref name="source"/>), or empty.</summary>
    public static string BareUserWith(string source, Checksum? from, string? remoteRef = null)
    {
        var repo = Path.Combine(Fixtures.TempDirectory("gen-client"), "repo");
        Peer.Ostree(repo, "init", "--mode=bare-user");
        if (from is { } f)
        {
            Peer.Ostree(repo, "pull-local", source, f.ToString());
            if (remoteRef is not null)
            {
                Peer.Ostree(repo, "refs", $"--create={remoteRef}", f.ToString());
            }
        }

        return repo;
    }

    /// <summary>
    /// Applies the delta with <c>ostree static-delta apply-offline</c> into a bare-user repo
    /// holding its from-commit, then requires a clean fsck and the same listing as the source.
    /// </summary>
    public static void ApplyOfflineAndCompare(string source, DeltaName name)
    {
        var client = BareUserWith(source, name.From);
        Peer.Ostree(client, "static-delta", "apply-offline", Path.Combine(source, name.RelativeDirectory));
        AssertSameCommit(source, client, name.To);
    }

    /// <summary>fsck is clean and <c>ostree ls -R -C -X</c> of the commit is the same in both repos (every file object present with its mode, owner and xattrs).</summary>
    public static void AssertSameCommit(string source, string client, Checksum commit)
    {
        Peer.Ostree(client, "refs", "--create=gen-check", commit.ToString());
        Peer.Ostree(client, "fsck");
        var expected = Peer.Ostree(source, "ls", "-R", "-C", "-X", commit.ToString());
        var actual = Peer.Ostree(client, "ls", "-R", "-C", "-X", commit.ToString());
        Assert.Equal(expected, actual);
        var checkout = Path.Combine(Fixtures.TempDirectory("gen-co"), "co");
        Peer.Ostree(client, "checkout", "-U", commit.ToString(), checkout);
    }

    /// <summary>Pulls <paramref name="branch"/> over HTTP from nginx serving <paramref name="source"/>, deltas required, into <paramref name="client"/>; then compares.</summary>
    public static async Task PullAndCompareAsync(string source, string client, string branch, Checksum to)
    {
        using var nginx = await NginxServer.StartAsync(source);
        Peer.Ostree(client, "remote", "add", "--no-gpg-verify", "origin", nginx.RepoUrl);
        Peer.Ostree(client, "pull", "--require-static-deltas", "origin", branch);
        Assert.Equal(to.ToString(), Peer.Ostree(client, "rev-parse", $"origin:{branch}").Trim());
        AssertSameCommit(source, client, to);
    }
}
