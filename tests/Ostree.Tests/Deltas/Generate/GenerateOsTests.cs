using System.Diagnostics;
using OstreeContainer.Ostree.Deltas;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Repository;
using OstreeContainer.Ostree.Summaries;

namespace OstreeContainer.Ostree.Tests.Deltas.Generate;

/// <summary>
/// Deltas of the OS fixture (a Debian tree, commits C1 and C2), each generated once per
/// test process into a hard-linked copy of the fixture repo and judged by the real ostree.
/// </summary>
public sealed class GenerateOsTests
{
    private static readonly Lazy<Generated> C1ToC2 = new(() => Make("gen-os-c1c2", from: true));
    private static readonly Lazy<Generated> FromScratch = new(() => Make("gen-os-scratch", from: false));

    private sealed record Generated(string Repo, DeltaGenerateResult Result, TimeSpan Elapsed);

    [Fact]
    public void C1ToC2_ShownAndAppliedOfflineByOstree_FsckClean()
    {
        var os = Fixtures.OsRepo;
        var g = C1ToC2.Value;
        var show = GenerateOracle.Show(g.Repo, g.Result.Name);
        Assert.Contains("Number of fallback entries: 0", show, StringComparison.Ordinal);

        // The same choices as ostree: as many files opened (rollsum + bsdiff), patched and
        // closed as in ostree's own delta of this pair, which the fixture keeps.
        var theirs = Peer.Ostree(os.Repo, "static-delta", "show", g.Result.Name.ToString());
        foreach (var op in new[] { "open", "bspatch", "close" })
        {
            Assert.Equal(OpCount(theirs, op), OpCount(show, op));
        }

        Assert.True(OpCount(show, "bspatch") > 0);

        // Size parity with ostree's own delta of the same pair (kept in the fixture).
        var ostreeSize = Directory.GetFiles(Path.Combine(os.Repo, g.Result.Name.RelativeDirectory))
            .Where(f => Path.GetFileName(f) != DeltaName.SuperblockFileName)
            .Sum(f => new FileInfo(f).Length);
        Assert.True(g.Result.PartBytes <= ostreeSize * 1.05, $"ours {g.Result.PartBytes} bytes, ostree's {ostreeSize}");

        GenerateOracle.ApplyOfflineAndCompare(g.Repo, g.Result.Name);
    }

    [Fact]
    public async Task C1ToC2_PulledByOstreeFromNginx_WithRequiredDeltas()
    {
        var os = Fixtures.OsRepo;
        var g = C1ToC2.Value;
        var client = GenerateOracle.BareUserWith(g.Repo, Checksum.Parse(os.Commit1), $"origin:{os.Branch}");
        await GenerateOracle.PullAndCompareAsync(g.Repo, client, os.Branch, Checksum.Parse(os.Commit2));
    }

    [Fact]
    public async Task FromScratchC2_PulledByOstreeFromNginx_WithFallbacks()
    {
        var os = Fixtures.OsRepo;
        var g = FromScratch.Value;
        var show = GenerateOracle.Show(g.Repo, g.Result.Name);
        Assert.Contains($"Number of parts: {g.Result.Parts}", show, StringComparison.Ordinal);
        Assert.True(g.Result.Fallbacks > 0);

        // The summary's delta list now names ours (the fixture repo has an unsigned summary).
        var summary = Summary.Parse(File.ReadAllBytes(Path.Combine(g.Repo, "summary")));
        Assert.Contains(summary.StaticDeltas, d => d.Name == g.Result.Name);

        var client = GenerateOracle.BareUserWith(g.Repo, null);
        await GenerateOracle.PullAndCompareAsync(g.Repo, client, os.Branch, Checksum.Parse(os.Commit2));
    }

    // Sums "NAME=N" over the PartPayloadOps lines of 'static-delta show'.
    private static int OpCount(string show, string name) =>
        show.Split('\n')
            .Where(l => l.StartsWith("PartPayloadOps", StringComparison.Ordinal))
            .SelectMany(l => l.Split(' '))
            .Where(w => w.StartsWith(name + "=", StringComparison.Ordinal))
            .Sum(w => int.Parse(w[(name.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture));

    private static Generated Make(string prefix, bool from)
    {
        var os = Fixtures.OsRepo;
        var repo = GenerateOracle.LinkCopy(os.Repo, prefix);
        var clock = Stopwatch.StartNew();
        var result = DeltaGenerator.GenerateAsync(OstreeRepo.Open(repo), from ? Checksum.Parse(os.Commit1) : null, Checksum.Parse(os.Commit2), new DeltaGenerateOptions())
            .GetAwaiter().GetResult();
        return new Generated(repo, result, clock.Elapsed);
    }
}
