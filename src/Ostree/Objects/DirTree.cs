using OstreeContainer.Ostree.GVariant;

namespace OstreeContainer.Ostree.Objects;

/// <summary>A file entry of a dirtree: name and content-object checksum (regular file or symlink).</summary>
public readonly record struct DirTreeFile(string Name, Checksum Checksum);

/// <summary>A subdirectory entry of a dirtree: name, its dirtree and its dirmeta.</summary>
public readonly record struct DirTreeDirectory(string Name, Checksum TreeChecksum, Checksum MetaChecksum);

/// <summary>A dirtree object: one directory's entries, each list sorted byte-wise by name (§2.2).</summary>
public sealed record DirTree(IReadOnlyList<DirTreeFile> Files, IReadOnlyList<DirTreeDirectory> Directories)
{
    /// <summary>The empty directory; its checksum is the same in every repo.</summary>
    public static readonly DirTree Empty = new([], []);

    /// <summary>Parses and validates dirtree bytes: names, sort order, checksum lengths.</summary>
    /// <exception cref="InvalidDataException">Malformed; the message names the entry and field.</exception>
    public static DirTree Parse(ReadOnlySpan<byte> data)
    {
        var v = (object[])GVariantReader.DecodeNormalNamed(ObjectFormats.DirTree, data, ObjectFormats.DirTreeNames);
        var fileItems = (object[])v[0];
        var dirItems = (object[])v[1];
        var files = new DirTreeFile[fileItems.Length];
        for (var i = 0; i < files.Length; i++)
        {
            var e = (object[])fileItems[i];
            var name = ValidName((string)e[0], $"files[{i}].name");
            files[i] = new DirTreeFile(name, ChecksumField((byte[])e[1], $"files[{i}] '{name}'.checksum"));
        }

        var dirs = new DirTreeDirectory[dirItems.Length];
        for (var i = 0; i < dirs.Length; i++)
        {
            var e = (object[])dirItems[i];
            var name = ValidName((string)e[0], $"dirs[{i}].name");
            dirs[i] = new DirTreeDirectory(
                name,
                ChecksumField((byte[])e[1], $"dirs[{i}] '{name}'.tree"),
                ChecksumField((byte[])e[2], $"dirs[{i}] '{name}'.meta"));
        }

        var tree = new DirTree(files, dirs);
        tree.ValidateOrder();
        return tree;
    }

    /// <summary>Serialises in normal form. Entries must already be sorted (see <see cref="Create"/>).</summary>
    public byte[] Serialize()
    {
        using var writer = new GVariantWriter();
        WriteTo(writer);
        return writer.WrittenSpan.ToArray();
    }

    /// <summary>Serialises into a reusable writer (after <see cref="GVariantWriter.Reset"/>).</summary>
    public void WriteTo(GVariantWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var files = new object[Files.Count];
        for (var i = 0; i < files.Length; i++)
        {
            files[i] = new object[] { Files[i].Name, Files[i].Checksum.Bytes.ToArray() };
        }

        var dirs = new object[Directories.Count];
        for (var i = 0; i < dirs.Length; i++)
        {
            var d = Directories[i];
            dirs[i] = new object[] { d.Name, d.TreeChecksum.Bytes.ToArray(), d.MetaChecksum.Bytes.ToArray() };
        }

        writer.Write(ObjectFormats.DirTree, new object[] { files, dirs });
    }

    /// <summary>The object checksum.</summary>
    public Checksum ComputeChecksum() => Checksum.Compute(Serialize());

    /// <summary>Builds a dirtree from unsorted entries, sorting them as OSTree does.</summary>
    public static DirTree Create(IEnumerable<DirTreeFile> files, IEnumerable<DirTreeDirectory> directories)
    {
        var f = files.OrderBy(e => e.Name, NameOrder.Instance).ToArray();
        var d = directories.OrderBy(e => e.Name, NameOrder.Instance).ToArray();
        var tree = new DirTree(f, d);
        foreach (var e in f)
        {
            ValidName(e.Name, "name");
        }

        foreach (var e in d)
        {
            ValidName(e.Name, "name");
        }

        tree.ValidateOrder();
        return tree;
    }

    /// <summary>
    /// Rejects names that would escape or confuse a checkout: empty, <c>.</c>, <c>..</c>,
    /// containing <c>/</c> (NUL and invalid UTF-8 are already rejected by the string decoder).
    /// </summary>
    public static string ValidName(string name, string field)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.Length == 0 || name is "." or ".." || name.Contains('/', StringComparison.Ordinal) || name.Contains('\0', StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{field}: invalid file name '{name.Replace("\0", "\\0", StringComparison.Ordinal)}'");
        }

        return name;
    }

    private static Checksum ChecksumField(byte[] bytes, string field)
    {
        try
        {
            return Checksum.FromBytes(bytes);
        }
        catch (InvalidDataException e)
        {
            throw e.WithContext(field);
        }
    }

    private void ValidateOrder()
    {
        for (var i = 1; i < Files.Count; i++)
        {
            if (NameOrder.Instance.Compare(Files[i - 1].Name, Files[i].Name) >= 0)
            {
                throw new InvalidDataException($"files[{i}].name: '{Files[i].Name}' is not sorted after '{Files[i - 1].Name}' (or is a duplicate)");
            }
        }

        for (var i = 1; i < Directories.Count; i++)
        {
            if (NameOrder.Instance.Compare(Directories[i - 1].Name, Directories[i].Name) >= 0)
            {
                throw new InvalidDataException($"dirs[{i}].name: '{Directories[i].Name}' is not sorted after '{Directories[i - 1].Name}' (or is a duplicate)");
            }
        }

        // A name may appear in only one of the two lists: merge-walk both sorted lists.
        int a = 0, b = 0;
        while (a < Files.Count && b < Directories.Count)
        {
            var c = NameOrder.Instance.Compare(Files[a].Name, Directories[b].Name);
            if (c == 0)
            {
                throw new InvalidDataException($"dirs[{b}].name: '{Files[a].Name}' is also files[{a}]; a name is either a file or a directory");
            }

            if (c < 0)
            {
                a++;
            }
            else
            {
                b++;
            }
        }
    }
}
