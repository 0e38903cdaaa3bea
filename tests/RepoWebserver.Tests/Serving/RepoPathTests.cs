using OstreeContainer.RepoWebserver.Serving;

namespace OstreeContainer.RepoWebserver.Tests.Serving;

/// <summary>The allow-list itself, path by path (the wire-level view is in <see cref="RepoRequestHandlerTests"/>).</summary>
public class RepoPathTests
{
    private const string Hex62 = "1ef8725f523bbb4d67f61dd79493696c488fcfce16cacb9c323cf0c4aae3bc";

    [Theory]
    [InlineData("config", RepoFileKind.Config)]
    [InlineData("summary", RepoFileKind.Summary)]
    [InlineData("summary.sig", RepoFileKind.SummarySignature)]
    [InlineData("refs/heads/main", RepoFileKind.Ref)]
    [InlineData("refs/heads/exampleos/x86_64/stable", RepoFileKind.Ref)]
    [InlineData("refs/mirrors/org.example.Os/main", RepoFileKind.Ref)]
    [InlineData("objects/e8/" + Hex62 + ".commit", RepoFileKind.Object)]
    [InlineData("objects/e8/" + Hex62 + ".dirtree", RepoFileKind.Object)]
    [InlineData("objects/e8/" + Hex62 + ".dirmeta", RepoFileKind.Object)]
    [InlineData("objects/e8/" + Hex62 + ".filez", RepoFileKind.Object)]
    [InlineData("objects/e8/" + Hex62 + ".commitmeta", RepoFileKind.MutableObject)]
    [InlineData("objects/e8/" + Hex62 + ".tombstone-commit", RepoFileKind.MutableObject)]
    [InlineData("deltas/qM/u+5l97bOQKf4SZMwxGQ3u96t1nhMHuwSaL79kSEJo-6B74cl9SO7tNZ_Yd15STaWxIj8_OFsrLnDI88MSq47w/superblock", RepoFileKind.Delta)]
    [InlineData("deltas/6B/74cl9SO7tNZ_Yd15STaWxIj8_OFsrLnDI88MSq47w/0", RepoFileKind.Delta)]
    [InlineData("delta-indexes/6B/74cl9SO7tNZ_Yd15STaWxIj8_OFsrLnDI88MSq47w.index", RepoFileKind.DeltaIndex)]
    public void TryParse_ServableFile_ReturnsItsKind(string relative, RepoFileKind kind)
    {
        Assert.True(RepoPath.TryParse(relative, out var path));
        Assert.Equal(kind, path.Kind);
        Assert.Equal(relative, path.Relative);
    }

    [Theory]
    [InlineData("")]
    [InlineData("/config")]
    [InlineData("config/")]
    [InlineData("Config")]
    [InlineData(".lock")]
    [InlineData("tmp/cache/summaries/origin")]
    [InlineData("state/x.commitpartial")]
    [InlineData("extensions/x")]
    [InlineData("refs/remotes/origin/main")]
    [InlineData("refs/heads")]
    [InlineData("refs/heads/")]
    [InlineData("refs/heads//main")]
    [InlineData("refs/heads/../../config")]
    [InlineData("refs/heads/./main")]
    [InlineData("refs/heads/.hidden")]
    [InlineData("refs/heads/a\\..\\..\\config")]
    [InlineData("refs/heads/a%2f..%2fconfig")]
    [InlineData("refs/heads/a\0")]
    [InlineData("objects")]
    [InlineData("objects/")]
    [InlineData("objects/e8")]
    [InlineData("objects/e8/")]
    [InlineData("objects/E8/" + Hex62 + ".commit")]
    [InlineData("objects/e8/" + Hex62 + ".file")]
    [InlineData("objects/e8/" + Hex62 + ".commit/")]
    [InlineData("objects/e8/" + Hex62 + "0.commit")]
    [InlineData("objects/e8/" + Hex62 + ".COMMIT")]
    [InlineData("objects/e8/../../config.commit")]
    [InlineData("objects/zz/" + Hex62 + ".commit")]
    [InlineData("deltas")]
    [InlineData("deltas/")]
    [InlineData("deltas/../config")]
    [InlineData("delta-indexes/x")]
    [InlineData("delta-indexes/../summary.index")]
    [InlineData("summary.sig.bak")]
    public void TryParse_AnythingElse_IsRejected(string relative)
    {
        Assert.False(RepoPath.TryParse(relative, out _));
    }

    [Fact]
    public void TryParse_VeryLongPath_IsRejected()
    {
        Assert.False(RepoPath.TryParse("refs/heads/" + new string('a', 2000), out _));
    }
}
