using OstreeContainer.Ostree.Deltas;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Repository;
using OstreeContainer.Ostree.Summaries;

namespace OstreeContainer.Ostree.Tests.Deltas;

/// <summary>
/// What ostree 2022.7's own C1 -> C2 delta of the OS fixture did with each changed file:
/// the bsdiff patches it wrote and the rollsum matches it found, with the source and
/// target contents, read once per test process.
/// </summary>
internal static class BsdiffOstreeDelta
{
    private static readonly Lazy<(List<OstreePatch> Patches, List<OstreeRollsum> Rollsums)> Loaded = new(Load);

    public static IReadOnlyList<OstreePatch> Patches => Loaded.Value.Patches;

    public static IReadOnlyList<OstreeRollsum> Rollsums => Loaded.Value.Rollsums;

    internal sealed record OstreePatch(byte[] Old, byte[] New, byte[] Patch);

    /// <summary>A rollsum-encoded object: its source-read WRITEs, as (new offset, old offset, length).</summary>
    internal sealed record OstreeRollsum(byte[] Old, byte[] New, List<RollsumMatch> SourceWrites);

    private static (List<OstreePatch>, List<OstreeRollsum>) Load()
    {
        var os = Fixtures.OsRepo;
        var repo = OstreeRepo.Open(os.Repo);
        var name = new DeltaName(Checksum.Parse(os.Commit1), Checksum.Parse(os.Commit2));
        var superblock = DeltaSuperblock.Parse(File.ReadAllBytes(Path.Combine(os.Repo, name.SuperblockPath)));
        var patches = new List<OstreePatch>();
        var rollsums = new List<OstreeRollsum>();
        for (var part = 0; part < superblock.Parts.Count; part++)
        {
            var payload = DeltaPartFile.Decode(File.ReadAllBytes(Path.Combine(os.Repo, name.PartPath(part))));
            var objects = superblock.Parts[part].Objects;
            var ops = payload.Operations.Span;
            var blob = payload.Blob.ToArray();
            var current = 0;
            Checksum? source = null;
            Checksum? lastSource = null;
            var writes = new List<RollsumMatch>();
            long written = 0;
            var patched = false;
            var at = 0;
            while (at < ops.Length)
            {
                var op = (DeltaOpcode)ops[at++];
                var args = op switch
                {
                    DeltaOpcode.OpenSpliceAndClose => objects[current].Type == ObjectType.File ? 4 : 2,
                    DeltaOpcode.Open => 3,
                    DeltaOpcode.Write or DeltaOpcode.Bspatch => 2,
                    DeltaOpcode.SetReadSource => 1,
                    _ => 0,
                };
                var values = new ulong[args];
                for (var i = 0; i < args; i++)
                {
                    Assert.True(Varint.TryRead(ops, ref at, out values[i]));
                }

                switch (op)
                {
                    case DeltaOpcode.Open:
                        writes = [];
                        written = 0;
                        patched = false;
                        break;
                    case DeltaOpcode.SetReadSource:
                        source = Checksum.FromBytes(blob.AsSpan((int)values[0], Checksum.Length));
                        lastSource = source;
                        break;
                    case DeltaOpcode.UnsetReadSource:
                        source = null;
                        break;
                    case DeltaOpcode.Write:
                        if (source is not null)
                        {
                            writes.Add(new RollsumMatch(written, (long)values[1], (long)values[0]));
                        }

                        written += (long)values[0];
                        break;
                    case DeltaOpcode.Bspatch:
                        Assert.NotNull(source);
                        patched = true;
                        patches.Add(new OstreePatch(
                            ReadContent(repo, source.Value),
                            ReadContent(repo, objects[current].Checksum),
                            blob.AsSpan((int)values[0], (int)values[1]).ToArray()));
                        break;
                    case DeltaOpcode.Close:
                        if (!patched && writes.Count > 0 && lastSource is not null)
                        {
                            rollsums.Add(new OstreeRollsum(ReadContent(repo, lastSource.Value), ReadContent(repo, objects[current].Checksum), writes));
                        }

                        current++;
                        break;
                    case DeltaOpcode.OpenSpliceAndClose:
                        current++;
                        break;
                }
            }
        }

        return (patches, rollsums);
    }

    private static byte[] ReadContent(OstreeRepo repo, Checksum checksum)
    {
        using var content = repo.OpenContent(checksum);
        using var buffer = new MemoryStream();
        content.Content.CopyTo(buffer);
        return buffer.ToArray();
    }
}
