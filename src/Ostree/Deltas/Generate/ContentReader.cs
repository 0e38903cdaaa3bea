using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Repository;

namespace OstreeContainer.Ostree.Deltas.Generate;

/// <summary>Reads a content object's bytes (inflated for archive repos), refusing a length that disagrees with the plan.</summary>
internal static class ContentReader
{
    /// <summary>Fills <paramref name="target"/> with the whole content of <paramref name="checksum"/>.</summary>
    /// <exception cref="InvalidDataException">The object is missing or its length changed since it was planned.</exception>
    public static void ReadInto(OstreeRepo repo, Checksum checksum, Span<byte> target)
    {
        using var content = Open(repo, checksum);
        if (content.Size != target.Length)
        {
            throw new InvalidDataException($"file {checksum}: {content.Size} bytes, expected {target.Length} (changed during generation?)");
        }

        content.Content.ReadExactly(target);
    }

    /// <summary>The whole content of <paramref name="checksum"/>, <paramref name="size"/> bytes.</summary>
    public static byte[] ReadAll(OstreeRepo repo, Checksum checksum, long size)
    {
        if (size > Array.MaxLength)
        {
            throw new InvalidDataException($"file {checksum}: {size} bytes is too large to diff in memory");
        }

        var data = GC.AllocateUninitializedArray<byte>((int)size);
        ReadInto(repo, checksum, data);
        return data;
    }

    private static ContentObject Open(OstreeRepo repo, Checksum checksum)
    {
        try
        {
            return repo.OpenContent(checksum);
        }
        catch (FileNotFoundException)
        {
            throw new InvalidDataException($"file {checksum} is missing from {repo.Root}");
        }
    }
}
