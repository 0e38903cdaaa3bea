using System.Diagnostics;
using System.Text;
using OstreeContainer.Ostree.GVariant;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Tests.GVariant;

namespace OstreeContainer.Ostree.Tests.Objects;

/// <summary>
/// Seeded mutation testing: real fixture objects (and random GVariant values) with bytes
/// flipped, replaced, inserted and deleted. Every mutant must either parse — and then
/// re-serialise to exactly its own bytes, since the parsers accept only normal form — or
/// throw <see cref="InvalidDataException"/>. Anything else (another exception, a slow
/// iteration, a large allocation, a hang) fails with the seed and the mutant.
/// </summary>
public class MutationTests
{
    private const int BaseSeed = 20240104;

    // Generous for a slow shared machine; a parse takes microseconds (wide/many: milliseconds).
    private static readonly TimeSpan IterationBudget = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan RunBudget = TimeSpan.FromSeconds(120);
    private const long AllocationBudget = 64L << 20;

    private static readonly byte[] Interesting = [0x00, 0x01, 0x02, 0x07, 0x08, 0x20, 0x2f, 0x2e, 0x7f, 0x80, 0xc0, 0xfe, 0xff];

    /// <summary>A mutation target: what to parse, and how to re-serialise what parsed.</summary>
    /// <param name="Reencode">Parses a mutant; returns the re-serialised bytes and the bytes they must equal.</param>
    /// <param name="Address">The object's name when it is the SHA-256 of its bytes.</param>
    private sealed record Target(string Name, byte[] Original, int Mutations, Func<byte[], (byte[] Reserialized, byte[] Expected)> Reencode, Checksum? Address);

    private sealed record Outcome(int Accepted, int Rejected, IReadOnlyList<string> Failures);

    [Fact]
    public void Parse_MutatedFixtureObjects_ParseToTheSameBytesOrThrowInvalidData()
    {
        var targets = FixtureTargets();

        var outcome = Run(targets);

        Assert.True(outcome.Failures.Count == 0, string.Join("\n\n", outcome.Failures));
        var total = outcome.Accepted + outcome.Rejected;
        Assert.True(total >= 15_000, $"only {total} mutants");
        // Both outcomes must occur, or the loop is not exercising what it claims to.
        Assert.True(outcome.Accepted > total / 100, $"only {outcome.Accepted} of {total} mutants parsed");
        Assert.True(outcome.Rejected > total / 2, $"only {outcome.Rejected} of {total} mutants were rejected");
    }

    [Fact]
    public void DecodeNormal_MutatedRandomValues_DecodeToTheSameBytesOrThrowInvalidData()
    {
        string[] signatures = ["a{sv}", "(a{sv}aya(say)sstayay)", "(uuua(ayay))", "(tuuuusa(ayay))", "(a(s(taya{sv}))a{sv})", "(ynqiuxtdsogv)", "av", "a(yt)", "(msmu)", "aay", "(yv)", "a()"];
        var targets = new List<Target>();
        for (var k = 0; k < signatures.Length; k++)
        {
            var type = GVariantType.Parse(signatures[k]);
            var values = new RandomValues(new Random(BaseSeed + 1000 + k));
            for (var v = 0; v < 8; v++)
            {
                var original = GVariantWriter.Encode(type, values.Next(type)!);
                targets.Add(new($"{type} value {v}", original, 50, m => (GVariantWriter.Encode(type, LenientThenNormal(type, m)), m), null));
            }
        }

        var summary = Path.Combine(FixtureObjects.Repo, "summary");
        if (File.Exists(summary))
        {
            targets.Add(new("summary", File.ReadAllBytes(summary), 500, m => (GVariantWriter.Encode(ObjectFormats.Summary, LenientThenNormal(ObjectFormats.Summary, m)), m), null));
        }

        var outcome = Run(targets);

        Assert.True(outcome.Failures.Count == 0, string.Join("\n\n", outcome.Failures));
        Assert.True(outcome.Accepted > 0 && outcome.Rejected > 0, $"accepted {outcome.Accepted}, rejected {outcome.Rejected}");
    }

    [Fact]
    public void Run_ParserThrowingAnotherException_IsReportedWithSeedAndMutant()
    {
        // The harness itself must be able to fail: a parser that throws IndexOutOfRange.
        var target = new Target("broken", [1, 2, 3], 5, m => throw new IndexOutOfRangeException("boom"), null);

        var outcome = Run([target]);

        Assert.Equal(5, outcome.Failures.Count);
        Assert.Contains("IndexOutOfRangeException", outcome.Failures[0], StringComparison.Ordinal);
        Assert.Contains($"seed {BaseSeed}", outcome.Failures[0], StringComparison.Ordinal);
        Assert.Contains("mutant ", outcome.Failures[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Run_ParserAcceptingButReencodingDifferently_IsReported()
    {
        var target = new Target("lossy", [1, 2, 3], 3, m => ([9], m), null);

        var outcome = Run([target]);

        Assert.Equal(3, outcome.Failures.Count);
        Assert.Contains("re-serialised", outcome.Failures[0], StringComparison.Ordinal);
    }

    private static object LenientThenNormal(GVariantType type, byte[] data)
    {
        // The lenient decoder must be as robust as the strict one; only its result differs.
        try
        {
            GVariantReader.Decode(type, data);
        }
        catch (InvalidDataException)
        {
        }

        return GVariantReader.DecodeNormal(type, data);
    }

    private static List<Target> FixtureTargets()
    {
        var targets = new List<Target>();
        foreach (var (name, data) in FixtureObjects.All("commit"))
        {
            targets.Add(new($"commit {name.ToShortString()}", data, 1500, m => (Commit.Parse(m).Serialize(), m), name));
        }

        foreach (var (name, data) in FixtureObjects.All("dirtree"))
        {
            // wide/many is 86 KB: a few mutants, most of them near its framing offsets.
            var count = data.Length > 10_000 ? 40 : 450;
            targets.Add(new($"dirtree {name.ToShortString()}", data, count, m => (DirTree.Parse(m).Serialize(), m), name));
        }

        foreach (var (name, data) in FixtureObjects.All("dirmeta"))
        {
            targets.Add(new($"dirmeta {name.ToShortString()}", data, 1500, m => (DirMeta.Parse(m).Serialize(), m), name));
        }

        foreach (var (name, data) in FixtureObjects.All("commitmeta"))
        {
            targets.Add(new($"commitmeta {name.ToShortString()}", data, 1500, m => (VariantDictionary.Parse(m).Serialize(), m), null));
        }

        foreach (var (name, data) in FixtureObjects.All("filez"))
        {
            // The header and the start of the deflate stream: the header parser reads no further.
            var header = FileHeader.ParseArchive(data, out _, out var payload);
            var prefix = data[..Math.Min(data.Length, payload + 16)];
            targets.Add(new($"filez {name.ToShortString()}", prefix, 400, ReencodeArchive, null));

            // The same header in bare-user form (user.ostreemeta; the target comes from the content).
            var meta = header.ToBareUserMeta();
            var target = header.SymlinkTarget;
            targets.Add(new($"bare-user meta {name.ToShortString()}", meta, 250, m => (FileHeader.FromBareUserMeta(m, () => target).ToBareUserMeta(), m), null));
        }

        return targets;
    }

    private static (byte[], byte[]) ReencodeArchive(byte[] mutant)
    {
        var header = FileHeader.ParseArchive(mutant, out var size, out var payload);
        using var writer = new GVariantWriter();
        header.WriteArchiveHeader(writer, size);
        return (writer.WrittenSpan.ToArray(), mutant[..payload]);
    }

    /// <summary>Runs every target's mutants on a separate thread so a hang fails the test instead of stalling it.</summary>
    private static Outcome Run(IReadOnlyList<Target> targets)
    {
        var failures = new List<string>();
        var accepted = 0;
        var rejected = 0;
        string current = "(not started)";

        var worker = new Thread(() =>
        {
            for (var t = 0; t < targets.Count && failures.Count < 10; t++)
            {
                var target = targets[t];
                var seed = BaseSeed + t;
                var random = new Random(seed);
                for (var i = 0; i < target.Mutations && failures.Count < 10; i++)
                {
                    var mutant = new List<byte>(target.Original);
                    var ops = Mutate(random, mutant);
                    var bytes = mutant.ToArray();
                    var context = $"{target.Name}, seed {seed}, iteration {i}, ops [{ops}], mutant {Printable(bytes)}";
                    Volatile.Write(ref current, context);

                    var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
                    var clock = Stopwatch.StartNew();
                    var problem = Check(target, bytes, ref accepted, ref rejected);
                    clock.Stop();
                    var allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;

                    if (problem is null && clock.Elapsed > IterationBudget)
                    {
                        problem = $"took {clock.Elapsed.TotalMilliseconds:F0} ms";
                    }

                    if (problem is null && allocated > AllocationBudget + (64L * bytes.Length))
                    {
                        problem = $"allocated {allocated / 1024} KiB for a {bytes.Length}-byte input";
                    }

                    if (problem is not null)
                    {
                        failures.Add($"{problem}\n  at {context}");
                    }
                }
            }
        }, maxStackSize: 1 << 20)
        {
            IsBackground = true,
            Name = "mutation run",
        };
        worker.Start();

        if (!worker.Join(RunBudget))
        {
            Assert.Fail($"mutation run did not finish in {RunBudget.TotalSeconds} s; stuck at {Volatile.Read(ref current)}");
        }

        return new Outcome(accepted, rejected, failures);
    }

    private static string? Check(Target target, byte[] mutant, ref int accepted, ref int rejected)
    {
        (byte[] Reserialized, byte[] Expected) result;
        try
        {
            result = target.Reencode(mutant);
        }
        catch (InvalidDataException e)
        {
            rejected++;
            return string.IsNullOrWhiteSpace(e.Message) ? "InvalidDataException without a message" : null;
        }
        catch (Exception e)
        {
            return $"{e.GetType().Name}: {e.Message}\n{e.StackTrace}";
        }

        accepted++;
        if (!result.Reserialized.AsSpan().SequenceEqual(result.Expected))
        {
            return $"parsed, but re-serialised to different bytes {Printable(result.Reserialized)}";
        }

        if (target.Address is { } address && !mutant.AsSpan().SequenceEqual(target.Original) && Checksum.Compute(mutant) == address)
        {
            return "a changed object still hashes to the original name";
        }

        return null;
    }

    /// <summary>Applies 1–3 random edits, half of them in the last 8 bytes where the framing offsets are.</summary>
    private static string Mutate(Random random, List<byte> bytes)
    {
        var ops = new StringBuilder();
        var count = random.Next(4) == 0 ? 1 + random.Next(3) : 1;
        for (var k = 0; k < count; k++)
        {
            var n = bytes.Count;
            var at = n == 0 ? 0 : random.Next(2) == 0 ? Math.Max(0, n - 1 - random.Next(Math.Min(8, n))) : random.Next(n);
            var value = random.Next(2) == 0 ? Interesting[random.Next(Interesting.Length)] : (byte)random.Next(256);
            switch (n == 0 ? 3 : random.Next(6))
            {
                case 0:
                    var bit = random.Next(8);
                    bytes[at] ^= (byte)(1 << bit);
                    ops.Append($"flip {at}.{bit} ");
                    break;
                case 1:
                case 2:
                    bytes[at] = value;
                    ops.Append($"set {at}={value:x2} ");
                    break;
                case 3:
                    var insertAt = n == 0 ? 0 : at + random.Next(2);
                    bytes.Insert(insertAt, value);
                    ops.Append($"insert {insertAt}={value:x2} ");
                    break;
                case 4:
                    bytes.RemoveAt(at);
                    ops.Append($"delete {at} ");
                    break;
                default:
                    // A whole framing offset at once: 0 or all ones.
                    var fill = random.Next(2) == 0 ? (byte)0 : (byte)0xFF;
                    var width = Math.Min(n - at, 1 << random.Next(3));
                    for (var j = 0; j < width; j++)
                    {
                        bytes[at + j] = fill;
                    }

                    ops.Append($"fill {at}+{width}={fill:x2} ");
                    break;
            }
        }

        return ops.ToString().TrimEnd();
    }

    private static string Printable(byte[] bytes) =>
        bytes.Length <= 4096 ? Hex.Of(bytes) : $"{bytes.Length} bytes, sha256 {Checksum.Compute(bytes)}";
}
