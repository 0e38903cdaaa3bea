using System.Text;
using OstreeContainer.Ostree.Deltas;
using OstreeContainer.Ostree.GVariant;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Repository;
using OstreeContainer.Ostree.Signing;
using OstreeContainer.Ostree.Summaries;

namespace OstreeContainer.Ostree.Tests.Deltas.Generate;

/// <summary>
/// Deltas between two commits of an odd tree made by the real <c>ostree commit</c>: hard
/// links, user xattrs, symlinks (new, changed), empty files, a file over a small fallback
/// size, one that shrinks, one that moves, a renamed file rollsum matches, one bsdiff patches.
/// </summary>
public sealed class GenerateOddTreeTests
{
    private const string Branch = "odd";

    private static readonly Lazy<OddRepo> Odd = new(MakeOdd);

    private sealed record OddRepo(string Repo, Checksum C1, Checksum C2);

    [Fact]
    public async Task FromC1_SmallChunksAndFallbacks_PulledByOstreeFromNginx()
    {
        var odd = Odd.Value;
        var repo = GenerateOracle.LinkCopy(odd.Repo, "gen-odd-pull");
        // ostree 2022.7 pulls deltas only through a summary (without one it fails with "no
        // summary deltas or delta index found"): the summary exists first, listing no deltas,
        // and generation must refresh its delta list.
        Peer.Ostree(repo, "summary", "-u");
        Assert.Empty(Summary.Parse(File.ReadAllBytes(Path.Combine(repo, "summary"))).StaticDeltas);
        var options = new DeltaGenerateOptions { MaxChunkSize = 10_000, MinFallbackSize = 150_000 };
        var result = await DeltaGenerator.GenerateAsync(OstreeRepo.Open(repo), odd.C1, odd.C2, options);

        Assert.True(result.Parts >= 3, $"{result.Parts} parts");
        Assert.Equal(1, result.Fallbacks);
        var show = GenerateOracle.Show(repo, result.Name);
        Assert.Contains("Number of fallback entries: 1", show, StringComparison.Ordinal);
        Assert.Contains("open=", show, StringComparison.Ordinal);

        var superblock = DeltaSuperblock.Parse(File.ReadAllBytes(Path.Combine(repo, result.Name.SuperblockPath)));
        var objects = superblock.Parts.SelectMany(p => p.Objects).ToList();
        Assert.DoesNotContain(objects, o => o.Type == ObjectType.Commit);
        Assert.Equal(objects.Count, objects.Distinct().Count());
        for (var i = 0; i < superblock.Parts.Count; i++)
        {
            // Our payload is laid out by hand (no intermediate copy): it must be the normal
            // form the GVariant writer produces, and the header must describe the file.
            var file = File.ReadAllBytes(Path.Combine(repo, result.Name.PartPath(i)));
            Assert.Equal(superblock.Parts[i].Checksum, Checksum.Compute(file));
            Assert.Equal((ulong)file.Length, superblock.Parts[i].Size);
            var raw = file[0] == (byte)DeltaPartCompression.Xz ? Xz.Decompress(file.AsSpan(1)) : file[1..];
            Assert.Equal(raw, DeltaPartFile.Decode(file).Serialize());
        }
        Assert.Equal("true", OstreeRepo.Open(repo).Config.Get("core", "indexed-deltas"));
        Assert.True(File.Exists(Path.Combine(repo, DeltaName.IndexPathFor(odd.C2))));
        Assert.Equal([result.Name], Summary.Parse(File.ReadAllBytes(Path.Combine(repo, "summary"))).StaticDeltas.Select(d => d.Name));

        var client = GenerateOracle.BareUserWith(repo, odd.C1, $"origin:{Branch}");
        await GenerateOracle.PullAndCompareAsync(repo, client, Branch, odd.C2);
    }

    [Fact]
    public async Task FromC1_InlineNoFallbacks_AppliedOfflineByOstree()
    {
        var odd = Odd.Value;
        var repo = GenerateOracle.LinkCopy(odd.Repo, "gen-odd-inline");
        var options = new DeltaGenerateOptions { Inline = true, MaxChunkSize = 60_000, MinFallbackSize = 0 };
        var result = await DeltaGenerator.GenerateAsync(OstreeRepo.Open(repo), odd.C1, odd.C2, options);

        Assert.Equal(0, result.Fallbacks);
        Assert.True(result.Parts >= 3);
        // Inline: the delta directory holds the superblock only.
        Assert.Equal([DeltaName.SuperblockFileName], Directory.GetFiles(result.Directory).Select(Path.GetFileName));
        // ostree 2022.7's 'static-delta show' opens part files even when they are inline (its
        // own --inline deltas fail the same way), so only apply-offline judges this one.
        var superblock = DeltaSuperblock.Parse(File.ReadAllBytes(Path.Combine(repo, result.Name.SuperblockPath)));
        Assert.Equal(result.Parts, superblock.Metadata.Entries.Count(e => e.Key.StartsWith(result.Name.RelativeDirectory + "/", StringComparison.Ordinal) && !e.Key.EndsWith("/commitmeta", StringComparison.Ordinal)));
        GenerateOracle.ApplyOfflineAndCompare(repo, result.Name);
    }

    [Fact]
    public async Task FromScratch_AppliedOfflineByOstree()
    {
        var odd = Odd.Value;
        var repo = GenerateOracle.LinkCopy(odd.Repo, "gen-odd-scratch");
        var result = await DeltaGenerator.GenerateAsync(OstreeRepo.Open(repo), null, odd.C2, new DeltaGenerateOptions { MinFallbackSize = 0 });

        Assert.True(result.Name.IsFromScratch);
        GenerateOracle.Show(repo, result.Name);
        GenerateOracle.ApplyOfflineAndCompare(repo, result.Name);
    }

    [Fact]
    public async Task FromBareUserRepo_AppliedOfflineByOstree()
    {
        // Generation reads content from a bare-user repo too (files plus user.ostreemeta).
        var odd = Odd.Value;
        var repo = Path.Combine(Fixtures.TempDirectory("gen-odd-bareuser"), "repo");
        Peer.Ostree(repo, "init", "--mode=bare-user");
        Peer.Ostree(repo, "pull-local", odd.Repo, odd.C1.ToString(), odd.C2.ToString());
        var result = await DeltaGenerator.GenerateAsync(OstreeRepo.Open(repo), odd.C1, odd.C2, new DeltaGenerateOptions { MinFallbackSize = 0 });

        Assert.Contains("bspatch=", GenerateOracle.Show(repo, result.Name), StringComparison.Ordinal);
        GenerateOracle.ApplyOfflineAndCompare(repo, result.Name);
    }

    [Fact]
    public async Task Signed_WrapperVerifiesWithThePublicKey_AndOstreeAppliesIt()
    {
        var odd = Odd.Value;
        var repo = GenerateOracle.LinkCopy(odd.Repo, "gen-odd-signed");
        var key = Ed25519SecretKey.Generate();
        var options = new DeltaGenerateOptions { MinFallbackSize = 0, SignKeys = [key] };
        var result = await DeltaGenerator.GenerateAsync(OstreeRepo.Open(repo), odd.C1, odd.C2, options);

        var file = File.ReadAllBytes(Path.Combine(repo, result.Name.SuperblockPath));
        Assert.True(file.AsSpan().StartsWith("OSTSGNDT"u8));
        var wrapper = (object[])GVariantReader.DecodeNormal(GVariantType.Parse("(taya{sv})"), file);
        var superblock = (byte[])wrapper[1];
        var signatures = SignatureMetadata.GetSignatures(VariantDictionary.Parse(GVariantWriter.Encode(GVariantTypes.VariantDictionary, wrapper[2])), SignatureMetadata.Ed25519Key);
        Assert.NotNull(Ed25519Signatures.Verify(superblock, signatures, [key.PublicKey]).ValidKey);
        Assert.Equal(odd.C2, DeltaSuperblock.Parse(superblock).To);

        // Debian's ostree 2022.7 has no ed25519 engine; without one, apply-offline takes the
        // wrapped superblock and applies it.
        GenerateOracle.ApplyOfflineAndCompare(repo, result.Name);
    }

    [Fact]
    public async Task UnknownTarget_ClearErrorAndNothingWritten()
    {
        var odd = Odd.Value;
        var repo = GenerateOracle.LinkCopy(odd.Repo, "gen-odd-bad");
        var missing = Checksum.Compute("not a commit"u8);
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => DeltaGenerator.GenerateAsync(OstreeRepo.Open(repo), odd.C1, missing, new DeltaGenerateOptions()));
        Assert.Contains(missing.ToString(), e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(repo, DeltaName.DeltasDirectory)));
    }

    [Fact]
    public async Task MissingObject_ClearErrorAndNothingLeftBehind()
    {
        var odd = Odd.Value;
        var repo = GenerateOracle.LinkCopy(odd.Repo, "gen-odd-missing");
        var r = OstreeRepo.Open(repo);
        // Remove one file object only C2 has: generation must fail naming it.
        var c1Files = ListFiles(r, odd.C1);
        var victim = ListFiles(r, odd.C2).First(c => !c1Files.Contains(c));
        File.Delete(r.ObjectPath(victim, ObjectType.File));

        var e = await Assert.ThrowsAsync<InvalidDataException>(() => DeltaGenerator.GenerateAsync(r, odd.C1, odd.C2, new DeltaGenerateOptions()));
        Assert.Contains(victim.ToString(), e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(repo, DeltaName.DeltasDirectory)));
        Assert.Empty(Directory.GetDirectories(Path.Combine(repo, "tmp"), "delta-*"));
    }

    private static HashSet<Checksum> ListFiles(OstreeRepo repo, Checksum commit)
    {
        var set = new HashSet<Checksum>();
        var c = repo.ReadCommit(commit);
        Walk(c.RootTree);
        return set;

        void Walk(Checksum tree)
        {
            var t = repo.ReadDirTree(tree);
            foreach (var f in t.Files)
            {
                set.Add(f.Checksum);
            }

            foreach (var d in t.Directories)
            {
                Walk(d.TreeChecksum);
            }
        }
    }

    private static OddRepo MakeOdd()
    {
        var root = Fixtures.TempDirectory("gen-odd");
        var repo = Path.Combine(root, "repo");
        Peer.Ostree(repo, "init", "--mode=archive");
        var random = new Random(14);

        var t1 = Path.Combine(root, "t1");
        var tool = Bytes(random, 200_000);
        var lib = Bytes(random, 120_000);
        Write(t1, "etc/hello.txt", "hello world\n"u8.ToArray());
        Write(t1, "bin/tool.bin", tool);
        Write(t1, "lib/libfoo.so.1", lib);
        Write(t1, "share/shrink.txt", Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("a line of text that repeats\n", 2000))));
        Write(t1, "old/place/moved.dat", Bytes(random, 5000));
        Write(t1, "share/empty", []);
        Write(t1, "share/link-a.txt", "linked content\n"u8.ToArray());
        Link(Path.Combine(t1, "share/link-a.txt"), Path.Combine(t1, "share/link-b.txt"));
        Write(t1, "share/attrs.txt", "with xattrs\n"u8.ToArray());
        SetXattr(Path.Combine(t1, "share/attrs.txt"), "user.color", "blue");
        Write(t1, "share/private.cfg", Bytes(random, 3000));
        File.SetUnixFileMode(Path.Combine(t1, "share/private.cfg"), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.CreateSymbolicLink(Path.Combine(t1, "etc/link"), "hello.txt");
        var c1 = Commit(repo, t1);

        var t2 = Path.Combine(root, "t2");
        Write(t2, "etc/hello.txt", "hello world\n"u8.ToArray());
        // Renamed (same name up to the first dot) with a few inserts: rollsum matches most chunks.
        Write(t2, "bin/tool.new", [.. tool.AsSpan(0, 90_000), .. "INSERTED"u8, .. tool.AsSpan(90_000)]);
        // Every 4 KiB touched: no chunk survives, so bsdiff.
        var lib2 = (byte[])lib.Clone();
        for (var i = 0; i < lib2.Length; i += 4096)
        {
            lib2[i] ^= 0x5A;
        }

        Write(t2, "lib/libfoo.so.2", lib2);
        Write(t2, "share/shrink.txt", Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("a line of text that repeats\n", 100))));
        Write(t2, "new/place/moved.dat", File.ReadAllBytes(Path.Combine(t1, "old/place/moved.dat")));
        Write(t2, "share/empty", []);
        Write(t2, "share/empty2", []);
        Write(t2, "share/link-a.txt", "linked content, changed\n"u8.ToArray());
        Link(Path.Combine(t2, "share/link-a.txt"), Path.Combine(t2, "share/link-b.txt"));
        Write(t2, "share/attrs.txt", "with xattrs, changed\n"u8.ToArray());
        SetXattr(Path.Combine(t2, "share/attrs.txt"), "user.color", "green");
        SetXattr(Path.Combine(t2, "share/attrs.txt"), "user.shape", "round");
        Write(t2, "share/private.cfg", Bytes(random, 3000));
        File.SetUnixFileMode(Path.Combine(t2, "share/private.cfg"), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Write(t2, "big/blob.bin", Bytes(random, 400_000));
        Write(t2, "bin/script.sh", "#!/bin/sh\necho hi\n"u8.ToArray());
        File.SetUnixFileMode(Path.Combine(t2, "bin/script.sh"), (UnixFileMode)0x1ED);
        File.CreateSymbolicLink(Path.Combine(t2, "etc/link"), "../share/empty");
        File.CreateSymbolicLink(Path.Combine(t2, "etc/new-link"), "hello.txt");
        var c2 = Commit(repo, t2);
        return new OddRepo(repo, c1, c2);
    }

    private static Checksum Commit(string repo, string tree) =>
        Checksum.Parse(Peer.Ostree(repo, "commit", $"--branch={Branch}", $"--tree=dir={tree}", "--subject=odd").Trim());

    // Random but compressible: a small alphabet, so parts are not pure noise.
    private static byte[] Bytes(Random random, int length)
    {
        var data = new byte[length];
        for (var i = 0; i < length; i++)
        {
            data[i] = (byte)('a' + random.Next(16));
        }

        return data;
    }

    private static void Write(string root, string relative, byte[] content)
    {
        var path = Path.Combine(root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, content);
    }

    private static void Link(string existing, string link) => Peer.Check("ln", existing, link);

    private static void SetXattr(string path, string name, string value) =>
        Peer.Check("python3", "-c", $"import os; os.setxattr('{path}', '{name}', b'{value}')");
}
