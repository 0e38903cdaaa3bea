namespace OstreeContainer.RepoWebserver.Tests;

/// <summary>The common pull check: every ref of a source repo, served by us, pulled by the real ostree.</summary>
internal static class PullScenario
{
    /// <summary>
    /// Serves <paramref name="source"/>, pulls all its refs into a fresh <paramref name="clientMode"/>
    /// client, and asserts a clean <c>ostree fsck</c> and refs equal to the source's. Returns
    /// the requests the server answered, for scenario-specific checks.
    /// </summary>
    public static async Task<IReadOnlyList<RecordedRequest>> PullEveryRefAsync(string source, string clientMode)
    {
        var expected = OstreeClient.RefCommits(source);
        await using var server = await RunningServer.StartAsync(source);
        using var client = OstreeClient.Create(clientMode, server.RepoUrl);

        client.Pull(["origin", .. expected.Select(r => r.Ref)]);

        client.Fsck();
        Assert.Equal(expected, expected.Select(r => (r.Ref, client.RevParse("origin:" + r.Ref))));
        Assert.Equal(expected.Select(r => "origin:" + r.Ref), OstreeClient.Refs(client.Repo));
        return server.Requests;
    }
}
