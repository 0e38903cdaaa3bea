using OstreeContainer.ImagePuller.Derived;
using OstreeContainer.Oci.Layers;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Repository;
using OstreeContainer.Ostree.Trees;

namespace OstreeContainer.ImagePuller.Tests.Derived;

/// <summary>Applies test layers as the puller does, and asks the real <c>ostree</c> what it makes of a tar.</summary>
internal static class LayerApply
{
    public static readonly DirMeta Root0755 = new(0, 0, StatMode.Directory | 0x1ED, []);

    /// <summary>
    /// Applies <paramref name="layers"/> in order onto <paramref name="tree"/> (writing the
    /// tree after each, as a puller caching per-layer commits does), then commits it as
    /// <c>test/main</c>. Returns the commit, the root's checksums and the applier.
    /// </summary>
    public static (Checksum Commit, (Checksum Tree, Checksum Meta) Root, LayerApplier Applier) Commit(
        OstreeRepo repo, MutableTree tree, IEnumerable<byte[]> layers, LayerApplyLimits? limits = null, Checksum? parent = null)
    {
        using var tx = repo.BeginTransaction();
        var applier = new LayerApplier(tx, tree, limits ?? new LayerApplyLimits());
        var root = default((Checksum, Checksum));
        foreach (var tar in layers)
        {
            using var reader = new LayerReader(new MemoryStream(tar));
            applier.Apply(reader, TestContext.Current.CancellationToken);
            reader.ReadToEndAndComputeDiffId();
            root = tree.Write(tx);
        }

        var commit = new Commit(new VariantDictionary(), parent, [], "layers", "", 1704067200, root.Item1, root.Item2);
        var checksum = tx.WriteMetadata(ObjectType.Commit, commit.Serialize());
        tx.SetRef(RefName.Parse("test/main"), checksum);
        tx.Commit();
        return (checksum, root, applier);
    }

    /// <summary>Applies the layers in a transaction that is never committed; returns the error.</summary>
    public static InvalidDataException Refused(OstreeRepo repo, MutableTree tree, LayerApplyLimits? limits, params byte[][] layers)
    {
        using var tx = repo.BeginTransaction();
        var applier = new LayerApplier(tx, tree, limits ?? new LayerApplyLimits());
        return Assert.Throws<InvalidDataException>(() =>
        {
            foreach (var tar in layers)
            {
                using var reader = new LayerReader(new MemoryStream(tar));
                applier.Apply(reader, TestContext.Current.CancellationToken);
                reader.ReadToEndAndComputeDiffId();
            }

            tree.Write(tx);
        });
    }

    /// <summary>The root dirtree and dirmeta of <c>ostree commit --tree=tar=</c> (the real ostree) of <paramref name="tar"/>.</summary>
    public static (Checksum Tree, Checksum Meta) OstreeCommitOfTar(byte[] tar)
    {
        var dir = Fixtures.TempDirectory("oracle-tar");
        var file = Path.Combine(dir, "layer.tar");
        File.WriteAllBytes(file, tar);
        var repo = Path.Combine(dir, "repo");
        Peer.Ostree(repo, "init", "--mode=archive");
        var commit = Peer.Ostree(repo, "commit", "--orphan", $"--tree=tar={file}").Trim();
        var c = OstreeRepo.Open(repo).ReadCommit(Checksum.Parse(commit));
        return (c.RootTree, c.RootMeta);
    }

    /// <summary>The root dirtree and dirmeta of <c>ostree commit --tree=dir=</c> (owner 0, no xattrs) of <paramref name="dir"/>.</summary>
    public static (Checksum Tree, Checksum Meta) OstreeCommitOfDir(string dir)
    {
        var repo = Fixtures.TempDirectory("oracle-dir");
        Peer.Ostree(repo, "init", "--mode=archive");
        var commit = Peer.Ostree(repo, "commit", "--orphan", "--owner-uid=0", "--owner-gid=0", "--no-xattrs", $"--tree=dir={dir}").Trim();
        var c = OstreeRepo.Open(repo).ReadCommit(Checksum.Parse(commit));
        return (c.RootTree, c.RootMeta);
    }

    public static OstreeRepo NewRepo(RepoMode mode) => OstreeRepo.Create(Fixtures.TempDirectory("layers"), mode);

    public static void AssertOneLine(InvalidDataException e, string expected)
    {
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
        Assert.StartsWith("layer ", e.Message, StringComparison.Ordinal);
    }
}
