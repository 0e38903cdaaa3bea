using System.Text;
using OstreeContainer.Ostree.GVariant;

namespace OstreeContainer.Ostree.Tests.GVariant;

/// <summary>Seeded random values of a given type (and random types for variants), for round-trip and mutation tests.</summary>
internal sealed class RandomValues(Random random)
{
    private static readonly string[] VariantTypes = ["s", "u", "t", "b", "y", "as", "ay", "(us)", "a{sv}", "v", "mu", "ms", "(yt)", "aay", "d", "n", "o", "g", "x", "q", "i", "()"];

    private static readonly string[] Words = ["", "a", "ostree", "fixture/v1", "é", "日本", "\U0001F600", "with space", new string('x', 300)];

    /// <summary>A value of <paramref name="type"/>; <paramref name="depth"/> bounds nested variants.</summary>
    public object? Next(GVariantType type, int depth = 0)
    {
        switch (type.Kind)
        {
            case 'b':
                return random.Next(2) == 1;
            case 'y':
                return (byte)random.Next(256);
            case 'n':
                return (short)random.Next(short.MinValue, short.MaxValue + 1);
            case 'q':
                return (ushort)random.Next(ushort.MaxValue + 1);
            case 'i' or 'h':
                return random.Next(int.MinValue, int.MaxValue);
            case 'u':
                return (uint)random.NextInt64(uint.MaxValue + 1L);
            case 'x':
                return random.NextInt64(long.MinValue, long.MaxValue);
            case 't':
                return (ulong)random.NextInt64(long.MinValue, long.MaxValue);
            case 'd':
                return random.NextDouble() * random.Next(-1000, 1000);
            case 's' or 'o' or 'g':
                return NextString();
            case 'v':
                var inner = GVariantType.Parse(VariantTypes[random.Next(VariantTypes.Length)]);
                if (depth >= 3 && (inner.Kind == 'v' || inner.Signature.Contains('v', StringComparison.Ordinal)))
                {
                    inner = GVariantTypes.String;
                }

                return new Variant(inner, Next(inner, depth + 1)!);
            case 'm':
                // A nested maybe's Just(Nothing) is not representable (null means Nothing).
                return random.Next(3) == 0 || type.Element!.Kind == 'm' ? null : Next(type.Element!, depth);
            case 'a' when type.IsByteArray:
                var bytes = new byte[random.Next(4) == 0 ? random.Next(300) : random.Next(40)];
                random.NextBytes(bytes);
                return bytes;
            case 'a':
                var items = new object?[random.Next(4) == 0 ? random.Next(60) : random.Next(5)];
                for (var i = 0; i < items.Length; i++)
                {
                    items[i] = Next(type.Element!, depth);
                }

                return items;
            default:
                return type.Members.Select(m => Next(m, depth)).ToArray();
        }
    }

    private string NextString()
    {
        if (random.Next(4) > 0)
        {
            return Words[random.Next(Words.Length)];
        }

        var sb = new StringBuilder();
        var length = random.Next(20);
        for (var i = 0; i < length; i++)
        {
            sb.Append((char)random.Next(1, 0xD7FF));
        }

        return sb.ToString();
    }
}
