using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Posix;

namespace OstreeContainer.Ostree.Tests.Posix;

/// <summary>The libc calls the repository writes through, against the real filesystem.</summary>
public sealed class FileSystemTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("oc-posix-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void CreateNewFile_WritesTheBytes_AndRefusesAnExistingFile()
    {
        var path = Path.Combine(_dir, "object");
        var data = Enumerable.Range(0, 300_000).Select(i => (byte)i).ToArray();

        FileSystem.CreateNewFile(path, data);

        Assert.Equal(data, File.ReadAllBytes(path));
        var e = Assert.Throws<IOException>(() => FileSystem.CreateNewFile(path, [1, 2, 3]));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Equal(data, File.ReadAllBytes(path));
    }

    [Fact]
    public void CreateNewFile_EmptyData_MakesAnEmptyFile()
    {
        var path = Path.Combine(_dir, "empty");

        FileSystem.CreateNewFile(path, []);

        Assert.Equal(0, new FileInfo(path).Length);
    }

    [Fact]
    public void RenameNoReplace_MovesWhenFree_AndLeavesBothWhenTaken()
    {
        var from = Path.Combine(_dir, "staged");
        var to = Path.Combine(_dir, "final");
        File.WriteAllText(from, "new");

        Assert.True(FileSystem.RenameNoReplace(from, to));
        Assert.False(File.Exists(from));
        Assert.Equal("new", File.ReadAllText(to));

        File.WriteAllText(from, "other");
        Assert.False(FileSystem.RenameNoReplace(from, to));
        Assert.Equal("other", File.ReadAllText(from));
        Assert.Equal("new", File.ReadAllText(to));
    }

    [Fact]
    public void RenameNoReplace_MovesASymlinkToADirectoryItself()
    {
        var target = Directory.CreateDirectory(Path.Combine(_dir, "dir")).FullName;
        var from = Path.Combine(_dir, "link");
        var to = Path.Combine(_dir, "moved");
        File.CreateSymbolicLink(from, target);

        Assert.True(FileSystem.RenameNoReplace(from, to));

        Assert.Equal(target, new FileInfo(to).LinkTarget);
        Assert.False(Path.Exists(from));
    }

    [Fact]
    public void RenameNoReplace_MissingSource_ThrowsNamingIt()
    {
        var from = Path.Combine(_dir, "absent");

        var e = Assert.Throws<IOException>(() => FileSystem.RenameNoReplace(from, Path.Combine(_dir, "x")));

        Assert.Contains(from, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OpenReadNoFollow_ReadsAtOffsets_AndRefusesASymlinkOrMissingFileAsNotFound()
    {
        var path = Path.Combine(_dir, "object");
        File.WriteAllBytes(path, [1, 2, 3, 4, 5]);
        var link = Path.Combine(_dir, "link");
        File.CreateSymbolicLink(link, path);

        using (var handle = FileSystem.OpenReadNoFollow(path))
        {
            var buffer = new byte[8];
            Assert.Equal(3, FileSystem.Read(handle, buffer, 2));
            Assert.Equal(new byte[] { 3, 4, 5 }, buffer[..3]);
            Assert.Equal(0, FileSystem.Read(handle, buffer, 5));
        }

        Assert.Throws<FileNotFoundException>(() => FileSystem.OpenReadNoFollow(link));
        Assert.Throws<FileNotFoundException>(() => FileSystem.OpenReadNoFollow(Path.Combine(_dir, "absent")));
    }

    [Fact]
    public void OpenReadNoFollow_InADirectoryHandle_OpensByName_AndRefusesASymlinkOrMissingName()
    {
        var sub = Directory.CreateDirectory(Path.Combine(_dir, "objects")).FullName;
        File.WriteAllBytes(Path.Combine(sub, "object"), [7, 8, 9]);
        File.CreateSymbolicLink(Path.Combine(sub, "link"), Path.Combine(sub, "object"));
        using var directory = FileSystem.OpenDirectoryNoFollow(sub);

        using (var handle = FileSystem.OpenReadNoFollow(directory, "object"))
        {
            var buffer = new byte[8];
            Assert.Equal(3, FileSystem.Read(handle, buffer, 0));
            Assert.Equal(new byte[] { 7, 8, 9 }, buffer[..3]);
        }

        Assert.Throws<FileNotFoundException>(() => FileSystem.OpenReadNoFollow(directory, "link"));
        Assert.Throws<FileNotFoundException>(() => FileSystem.OpenReadNoFollow(directory, "absent"));
    }

    [Fact]
    public void OpenDirectoryNoFollow_RefusesASymlinkOrAFileAsNotFound()
    {
        var real = Directory.CreateDirectory(Path.Combine(_dir, "real")).FullName;
        var link = Path.Combine(_dir, "link");
        Directory.CreateSymbolicLink(link, real);
        var file = Path.Combine(_dir, "file");
        File.WriteAllBytes(file, [1]);

        Assert.Throws<FileNotFoundException>(() => FileSystem.OpenDirectoryNoFollow(link));
        Assert.Throws<FileNotFoundException>(() => FileSystem.OpenDirectoryNoFollow(file));
    }

    [Fact]
    public void FStat_OfAnOpenFile_EqualsLStatOfItsPath()
    {
        var path = Path.Combine(_dir, "object");
        File.WriteAllBytes(path, new byte[1234]);
        File.CreateSymbolicLink(Path.Combine(_dir, "second-name"), path);
        using var handle = FileSystem.OpenReadNoFollow(path);

        var opened = UnixStat.FStat(handle);

        Assert.Equal(UnixStat.LStat(path), opened);
        Assert.Equal(1234, opened.Size);
        Assert.True(StatMode.IsRegular(opened.Mode));
    }
}
