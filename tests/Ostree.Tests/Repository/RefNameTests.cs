using OstreeContainer.Errors;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Repository;

namespace OstreeContainer.Ostree.Tests.Repository;

/// <summary>
/// <see cref="RefName"/>'s grammar asked the same questions as the real <c>ostree</c>: every
/// row states the answer, and both ostree and <see cref="RefName"/> must give it.
/// </summary>
public class RefNameTests
{
    /// <summary>An archive repo holding one (empty) commit and no refs.</summary>
    private static readonly Lazy<(string Repo, string Commit)> Template = new(CreateTemplate);

    /// <summary>Held while the name table writes into <see cref="Template"/> or a copy is made of it.</summary>
    private static readonly Lock TemplateLock = new();

    [Theory]
    // ASCII letters, digits, '_', and '-' or '.' after the first character of a segment.
    [InlineData("a", true)]
    [InlineData("A9", true)]
    [InlineData("0", true)]
    [InlineData("_", true)]
    [InlineData("_a", true)]
    [InlineData("a_b-c.d", true)]
    [InlineData("a.", true)]
    [InlineData("a-", true)]
    [InlineData("a..b", true)]
    [InlineData("exampleos/x86_64/stable", true)]
    [InlineData("a/_b/0", true)]
    [InlineData("-a", false)]
    [InlineData(".a", false)]
    [InlineData("-", false)]
    [InlineData(".", false)]
    [InlineData("..", false)]
    [InlineData("a/.b", false)]
    [InlineData("a/-b", false)]
    [InlineData("a/../b", false)]
    // Slashes separate non-empty segments.
    [InlineData("/a", false)]
    [InlineData("a/", false)]
    [InlineData("a//b", false)]
    [InlineData("/", false)]
    // Unicode letters and numbers are word characters (GRegex turns on PCRE2's Unicode properties).
    [InlineData("\u00E9", true)] // é, precomposed (Ll)
    [InlineData("\u00FCber/\u00FC", true)] // über/ü
    [InlineData("\u4E2D\u6587/\u5206\u652F", true)] // 中文/分支 (Lo)
    [InlineData("\u01C5", true)] // ǅ (Lt)
    [InlineData("a\u02C6", true)] // aˆ (Lm)
    [InlineData("\u0663", true)] // ٣ Arabic-Indic three (Nd)
    [InlineData("\u216B", true)] // Ⅻ (Nl)
    [InlineData("\u2460", true)] // ① (No)
    [InlineData("\U0001D49C", true)] // 𝒜, outside the BMP (a surrogate pair in .NET)
    [InlineData("e\u0301", false)] // é decomposed: the combining acute is a mark (Mn), not a letter
    [InlineData("a\u203Fb", false)] // ‿ connector punctuation (Pc), unlike '_'
    [InlineData("a\u00B7b", false)] // · middle dot (Po)
    // Anything else is refused.
    [InlineData("a b", false)]
    [InlineData(" a", false)]
    [InlineData("a\tb", false)]
    [InlineData("a+b", false)]
    [InlineData("a@b", false)]
    [InlineData("a~b", false)]
    [InlineData("a*", false)]
    // REMOTE:NAME: a remote name is one segment, the ref after the first colon.
    [InlineData("r:a", true)]
    [InlineData("r.-_:a/b", true)]
    [InlineData("\u00E9:\u00FC", true)]
    [InlineData(":a", false)]
    [InlineData("a:", false)]
    [InlineData("-r:a", false)]
    [InlineData(".r:a", false)]
    [InlineData("r/x:a", false)]
    [InlineData("r:a:b", false)]
    [InlineData("r:/a", false)]
    [InlineData("r:a/", false)]
    [InlineData("r:.a", false)]
    public void Parse_NameTable_AgreesWithOstreeRefsCreate(string refspec, bool valid)
    {
        var (repo, commit) = Template.Value;
        lock (TemplateLock)
        {
            // One repository for the whole table, emptied of refs after each row: "a" would
            // otherwise stand in the way of "a/b".
            var run = Peer.Run("ostree", [$"--repo={repo}", "refs", $"--create={refspec}", commit]);
            try
            {
                if (valid)
                {
                    Assert.True(run.ExitCode == 0, $"ostree refs --create refused '{refspec}': {run.Stderr.Trim()}");
                    var name = RefName.Parse(refspec);
                    Assert.Equal(commit, File.ReadAllText(Path.Combine(repo, name.RelativePath)).Trim());
                }
                else
                {
                    // Refused for its spelling, not for anything else about the repository.
                    Assert.NotEqual(0, run.ExitCode);
                    Assert.Contains($"Invalid refspec {refspec}", run.Stderr, StringComparison.Ordinal);
                    Assert.Throws<UserInputException>(() => RefName.Parse(refspec));
                }
            }
            finally
            {
                foreach (var kind in Enum.GetValues<RefKind>())
                {
                    var directory = Path.Combine(repo, kind.RelativeDirectory());
                    Directory.Delete(directory, recursive: true);
                    Directory.CreateDirectory(directory);
                }
            }
        }

        if (!refspec.Contains(':', StringComparison.Ordinal))
        {
            Assert.Equal(valid, RefName.IsValid(refspec));
        }
    }

    [Theory]
    [InlineData("org.example.Os", true)]
    [InlineData("a.b", true)]
    [InlineData("A.B", true)]
    [InlineData("_.__", true)]
    [InlineData("a_b._c", true)]
    [InlineData("a1.b2.c3.d4", true)]
    [InlineData("nodots", false)]
    [InlineData("", false)]
    [InlineData("a..b", false)]
    [InlineData(".a.b", false)]
    [InlineData("a.b.", false)]
    [InlineData("1a.b", false)]
    [InlineData("a.1b", false)]
    [InlineData("a-b.c", false)]
    [InlineData("\u00E9.b", false)] // unlike ref names, ASCII only
    [InlineData("a.b c", false)]
    [InlineData("a.b/c", false)]
    public void IsValidCollectionId_IdTable_AgreesWithOstreeInit(string id, bool valid)
    {
        AssertCollectionIdAgrees(id, valid);
    }

    [Fact]
    public void IsValidCollectionId_LengthLimit_AgreesWithOstreeInit()
    {
        var longest = "a." + new string('b', RefName.MaxCollectionIdLength - 2);

        AssertCollectionIdAgrees(longest, true);
        AssertCollectionIdAgrees(longest + "b", false);
    }

    [Fact]
    public void Parse_EmptyName_RefusedLikeOstree()
    {
        var (repo, commit) = FreshRepo();

        // ostree refuses the empty name before its grammar check: "" resolves as an existing
        // rev, so it reports "ref  already exists" rather than an invalid refspec.
        var run = Peer.Run("ostree", [$"--repo={repo}", "refs", "--create=", commit]);

        Assert.NotEqual(0, run.ExitCode);
        Assert.Throws<UserInputException>(() => RefName.Parse(""));
        Assert.False(RefName.IsValid(""));
        Assert.False(RefName.IsValidRemoteName(""));
    }

    [Fact]
    public void Parse_TrailingLineBreak_RefusedThoughOstreeCreatesTheNameWithoutIt()
    {
        var (repo, commit) = FreshRepo();

        // ostree's '$' also matches before a final line break, and the ref it writes is the
        // name without it; a pasted line break should not silently name another ref.
        Peer.Ostree(repo, "refs", "--create=a\n", commit);

        Assert.True(File.Exists(Path.Combine(repo, "refs/heads/a")));
        Assert.Throws<UserInputException>(() => RefName.Parse("a\n"));
        Assert.False(RefName.IsValid("a\n"));
    }

    [Fact]
    public void ListRefs_RefsOfEveryKind_FoundAtTheirRelativePaths()
    {
        var (repo, commit) = FreshRepo();
        Peer.Ostree(repo, "refs", "--create=os/stable", commit);
        Peer.Ostree(repo, "refs", "--create=origin:os/\u00FC", commit);
        var mirror = new RefName(RefKind.Mirror, "org.example.Os", "os/stable");
        var ours = OstreeRepo.Open(repo);
        ours.SetRef(mirror, Checksum.Parse(commit));
        // A file directly under refs/remotes belongs to no remote: ostree ignores it too.
        File.WriteAllText(Path.Combine(repo, RefKind.Remote.RelativeDirectory(), "stray"), commit + "\n");

        var theirs = Peer.Ostree(repo, "refs").Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal);

        Assert.Equal(theirs, ours.ListRefs(RefKind.Head, RefKind.Remote).Select(r => r.Key.ToString()));
        Assert.Equal(new[] { mirror }, ours.ListRefs(RefKind.Mirror).Select(r => r.Key));
        Assert.Equal("refs/mirrors/org.example.Os/os/stable", mirror.RelativePath);
        Assert.Equal(3, ours.ListRefs().Count);
        Assert.All(ours.ListRefs(), r => Assert.Equal(commit, r.Value.ToString()));
    }

    private static void AssertCollectionIdAgrees(string id, bool valid)
    {
        var repo = Path.Combine(Fixtures.TempDirectory("collection-id"), "repo");
        var run = Peer.Run("ostree", ["init", $"--repo={repo}", "--mode=archive", $"--collection-id={id}"]);

        if (valid)
        {
            Assert.True(run.ExitCode == 0, $"ostree init refused collection ID '{id}': {run.Stderr.Trim()}");
        }
        else
        {
            Assert.NotEqual(0, run.ExitCode);
            Assert.Contains($"Invalid collection ID {id}", run.Stderr, StringComparison.Ordinal);
        }

        Assert.Equal(valid, RefName.IsValidCollectionId(id));
    }

    /// <summary>A private copy of <see cref="Template"/>.</summary>
    private static (string Repo, string Commit) FreshRepo()
    {
        var copy = Path.Combine(Fixtures.TempDirectory("refname"), "repo");
        lock (TemplateLock)
        {
            Peer.Check("cp", "-a", Template.Value.Repo, copy);
        }

        return (copy, Template.Value.Commit);
    }

    private static (string Repo, string Commit) CreateTemplate()
    {
        var dir = Fixtures.TempDirectory("refname-template");
        var repo = Path.Combine(dir, "repo");
        var tree = Directory.CreateDirectory(Path.Combine(dir, "tree")).FullName;
        Peer.Check("ostree", "init", $"--repo={repo}", "--mode=archive");
        var commit = Peer.Ostree(repo, "commit", "--orphan", $"--tree=dir={tree}", "--no-bindings", "--timestamp=2020-01-01T00:00:00Z").Trim();
        return (repo, commit);
    }
}
