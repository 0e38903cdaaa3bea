using OstreeContainer.Ostree.Objects;

namespace OstreeContainer.Ostree.Tests.Objects;

/// <summary>Objects of the small fixture's archive repo, by checksum and extension.</summary>
internal static class FixtureObjects
{
    /// <summary>Root dirtree of commit 1 (214 bytes).</summary>
    public const string RootTree1 = "5624614deb7446f7892a846d5d980a21728850397d7509bf2235aba026a604c4";

    /// <summary><c>usr/bin</c>: a symlink and an executable (83 bytes).</summary>
    public const string UsrBinTree = "e6b3896eafb3f9a146399c8c74bf8a71edad6c3f73adfa218be7c03ddfed26ce";

    /// <summary><c>wide/many</c>: 2000 files, 4-byte framing offsets (86004 bytes).</summary>
    public const string WideManyTree = "f87562e993dcf3d5ecc9e892c77e8238b8aee34aa3956e5ddef56c8e8b16c1a3";

    /// <summary>The one dirmeta, 0/0/040755 (12 bytes).</summary>
    public const string DirMeta755 = "446a0ef11b7cc167f3b603e585c7eeeeb675faa412d5ec73f62988eb0b6c5488";

    /// <summary><c>etc/hello.txt</c> v1, regular 0644 (.filez 48 bytes).</summary>
    public const string HelloFile = "81381808c56d4f3d643ec12f6a18fcf2993af8daba7c2a1b2cbfc315b39424c6";

    /// <summary><c>usr/bin/hello-link</c>, symlink to ../../etc/hello.txt.</summary>
    public const string SymlinkFile = "96ce59a2f07138f557c6df238f344dcd15e1124aa055d785892d6f8591000a1a";

    /// <summary>A regular file with <c>user.fixture=value1</c>.</summary>
    public const string XattrFile = "bc5855ae4c4d4e7df33f5c8ae12b9688b0f000f1ef42e7d78956c43e453069bf";

    public static string Repo => Fixtures.SmallRepo.ArchiveRepo;

    public static string Commit1 => Fixtures.SmallRepo.Commit1;

    public static string Commit2 => Fixtures.SmallRepo.Commit2;

    /// <summary>The bytes of object <paramref name="checksum"/> with extension <paramref name="extension"/>.</summary>
    public static byte[] Read(string checksum, string extension) =>
        File.ReadAllBytes(Path.Combine(Repo, "objects", checksum[..2], $"{checksum[2..]}.{extension}"));

    /// <summary>Every object with <paramref name="extension"/>, sorted by name so runs are reproducible.</summary>
    public static IReadOnlyList<(Checksum Name, byte[] Data)> All(string extension) =>
        [.. Directory.EnumerateFiles(Path.Combine(Repo, "objects"), "*." + extension, SearchOption.AllDirectories)
            .Select(p => (Name: Checksum.Parse(Path.GetFileName(Path.GetDirectoryName(p))! + Path.GetFileNameWithoutExtension(p)), Data: File.ReadAllBytes(p)))
            .OrderBy(o => o.Name)];

    /// <summary>The <c>.filez</c> header alone: length prefix, padding and the variant.</summary>
    public static byte[] ArchiveHeader(string checksum)
    {
        var data = Read(checksum, "filez");
        FileHeader.ParseArchive(data, out _, out var payload);
        return data[..payload];
    }
}
