using OstreeContainer.Ostree.Deltas.Generate;
using OstreeContainer.Ostree.Objects;

namespace OstreeContainer.Ostree.Tests.Deltas.Generate;

/// <summary>ostree's similar-file rules (ostree-format.md §8.8), one rule per case.</summary>
public sealed class GenerateSimilarFilesTests
{
    private static Checksum C(string s) => Checksum.Compute(System.Text.Encoding.ASCII.GetBytes(s));

    private static SimilarFiles.Candidate F(string id, long size, params string[] names) => new(C(id), size, names);

    [Fact]
    public void SameBasenameWithinThirtyPercent_IsChosen()
    {
        var result = SimilarFiles.Find([F("old", 1000, "libfoo.so.1")], [F("new", 1299, "libfoo.so.1")]);
        Assert.Equal(C("old"), result[C("new")]);
    }

    [Fact]
    public void SizeOutsideThirtyPercent_IsNotChosen()
    {
        Assert.Empty(SimilarFiles.Find([F("old", 1000, "a.txt")], [F("new", 1500, "a.txt")]));
        Assert.Empty(SimilarFiles.Find([F("old", 1000, "a.txt")], [F("new", 700, "a.txt")]));
    }

    [Fact]
    public void ExactNameWinsOverSamePrefix_EvenWhenThePrefixMatchIsCloserInSize()
    {
        var result = SimilarFiles.Find(
            [F("prefix", 1000, "libfoo.so.2"), F("exact", 1200, "libfoo.so.1")],
            [F("new", 1000, "libfoo.so.1")]);
        Assert.Equal(C("exact"), result[C("new")]);
    }

    [Fact]
    public void SamePrefixBeforeFirstDot_IsChosenWhenNoExactName()
    {
        var result = SimilarFiles.Find([F("old", 1000, "tool.bin")], [F("new", 1000, "tool.new")]);
        Assert.Equal(C("old"), result[C("new")]);
        // Dots at different positions never match fuzzily.
        Assert.Empty(SimilarFiles.Find([F("old", 1000, "tools.bin")], [F("new", 1000, "tool.new")]));
    }

    [Fact]
    public void EmptyFilesAndXzOrBz2Names_NeverTakePart()
    {
        Assert.Empty(SimilarFiles.Find([F("old", 0, "a")], [F("new", 0, "a")]));
        Assert.Empty(SimilarFiles.Find([F("old", 1000, "a.xz")], [F("new", 1000, "a.xz")]));
        Assert.Empty(SimilarFiles.Find([F("old", 1000, "b.tar.bz2")], [F("new", 1000, "b.tar.bz2")]));
        // .gz stays eligible (--rsyncable gzip diffs well).
        Assert.Single(SimilarFiles.Find([F("old", 1000, "c.gz")], [F("new", 1000, "c.gz")]));
    }

    [Fact]
    public void SmallestSimilarOldFile_IsChosen()
    {
        var result = SimilarFiles.Find(
            [F("big", 1250, "x"), F("small", 800, "x"), F("mid", 1000, "x")],
            [F("new", 1000, "x")]);
        Assert.Equal(C("small"), result[C("new")]);
    }
}
