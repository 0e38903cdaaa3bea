using System.Buffers.Binary;
using Microsoft.Extensions.Logging;
using OstreeContainer.Ostree.Repository;

namespace OstreeContainer.ImageBuilder.Tests;

/// <summary>
/// The build's check that the OS tree holds the loader the image's webserver needs: the
/// ELF interpreter as readelf reports it, and paths resolved through the tree's symlinks.
/// </summary>
public class LoaderCheckTests
{
    [Fact]
    public void ElfInterpreter_OfTheWebserver_IsWhatReadelfReports()
    {
        var readelf = Peer.Require("readelf");
        var headers = Peer.Run(readelf, ["--program-headers", "--wide", NativeWebserver.Executable]).EnsureSuccess("readelf").Stdout;
        var expected = headers.Split('\n').Select(l => l.Trim())
            .Single(l => l.StartsWith("[Requesting program interpreter: ", StringComparison.Ordinal))["[Requesting program interpreter: ".Length..].TrimEnd(']');

        Assert.Equal(expected, ElfInterpreter.Read(NativeWebserver.Executable));
    }

    [Fact]
    public void ElfInterpreter_StaticExecutableOrNotElf_IsNull()
    {
        var busybox = Peer.Require("busybox");
        var text = Path.Combine(Fixtures.TempDirectory("elf"), "script");
        File.WriteAllText(text, "#!/bin/sh\necho hi\n");

        Assert.Null(ElfInterpreter.Read(busybox));
        Assert.Null(ElfInterpreter.Read(text));
    }

    [Fact]
    public void ElfInterpreter_Elf32Executable_IsWhatReadelfReports()
    {
        var file = Path.Combine(Fixtures.TempDirectory("elf"), "elf32");
        File.WriteAllBytes(file, Elf32WithInterpreter("/lib/ld-linux.so.2"));
        var headers = Peer.Run(Peer.Require("readelf"), ["--program-headers", "--wide", file]).EnsureSuccess("readelf").Stdout;

        Assert.Contains("[Requesting program interpreter: /lib/ld-linux.so.2]", headers, StringComparison.Ordinal);
        Assert.Equal("/lib/ld-linux.so.2", ElfInterpreter.Read(file));
    }

    [Theory]
    [InlineData(0)] // ELFCLASSNONE
    [InlineData(3)] // no such class
    public void ElfInterpreter_InvalidClass_IsNull(byte elfClass)
    {
        var bytes = Elf32WithInterpreter("/lib/ld-linux.so.2");
        bytes[4] = elfClass;
        var file = Path.Combine(Fixtures.TempDirectory("elf"), "bad-class");
        File.WriteAllBytes(file, bytes);

        Assert.Null(ElfInterpreter.Read(file));
    }

    [Theory]
    [InlineData("/lib64/ld-linux-x86-64.so.2", true)] // lib64 -> usr/lib64, then an absolute link
    [InlineData("/usr/lib/../lib64/./ld-linux-x86-64.so.2", true)]
    [InlineData("/bin/bash", true)]
    [InlineData("/lib64", false)] // a directory
    [InlineData("/lib64/ld-linux-x86-64.so.2/x", false)]
    [InlineData("/lib64/no-such-loader.so.1", false)]
    public void ResolvesToFile_FollowsTheTreesSymlinks(string path, bool expected)
    {
        var os = Fixtures.OsRepo;
        var repo = OstreeRepo.Open(os.Repo);
        var tree = CommitTree.Read(repo, repo.ReadCommit(repo.ResolveRev(os.Branch)));

        Assert.Equal(expected, tree.ResolvesToFile(path));
    }

    [Fact]
    public async Task Build_TreeWithoutTheLoader_WarnsAndStillBuilds()
    {
        var logs = new TestLogs();
        var dir = Path.Combine(Fixtures.TempDirectory("no-loader"), "layout");

        var result = await CommitImageBuilder.BuildToLayoutAsync(
            dir, "main", CommitImageBuilderTests.Options(Fixtures.SmallRepo.ArchiveRepo, "fixture/main") with { LoggerFactory = logs }, TestContext.Current.CancellationToken);

        Assert.NotNull(result.Manifest);
        var warning = Assert.Single(logs.Messages(LogLevel.Warning));
        Assert.Contains(ElfInterpreter.Read(NativeWebserver.Executable)!, warning, StringComparison.Ordinal);
        Assert.Contains("ostree-container serve", warning, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Build_OsTreeWithTheLoader_DoesNotWarn()
    {
        var logs = new TestLogs();
        var os = Fixtures.OsRepo;
        var dir = Path.Combine(Fixtures.TempDirectory("loader"), "layout");

        await CommitImageBuilder.BuildToLayoutAsync(dir, "main", CommitImageBuilderTests.Options(os.Repo, os.Branch) with { LoggerFactory = logs }, TestContext.Current.CancellationToken);

        Assert.Empty(logs.Messages(LogLevel.Warning));
        // Control: the build did log, so an empty list of warnings means something.
        Assert.NotEmpty(logs.Messages(LogLevel.Information));
    }

    // A minimal little-endian ELF32 executable: the 52-byte header, one PT_INTERP program
    // header (32 bytes) and the interpreter's path after it (System V gABI, chapters 4-5).
    private static byte[] Elf32WithInterpreter(string interpreter)
    {
        var path = System.Text.Encoding.ASCII.GetBytes(interpreter + "\0");
        var bytes = new byte[52 + 32 + path.Length];
        "\u007fELF"u8.CopyTo(bytes);
        bytes[4] = 1; // ELFCLASS32
        bytes[5] = 1; // ELFDATA2LSB
        bytes[6] = 1; // EV_CURRENT
        var span = bytes.AsSpan();
        BinaryPrimitives.WriteUInt16LittleEndian(span[16..], 2); // e_type ET_EXEC
        BinaryPrimitives.WriteUInt16LittleEndian(span[18..], 3); // e_machine EM_386
        BinaryPrimitives.WriteUInt32LittleEndian(span[20..], 1); // e_version
        BinaryPrimitives.WriteUInt32LittleEndian(span[28..], 52); // e_phoff
        BinaryPrimitives.WriteUInt16LittleEndian(span[40..], 52); // e_ehsize
        BinaryPrimitives.WriteUInt16LittleEndian(span[42..], 32); // e_phentsize
        BinaryPrimitives.WriteUInt16LittleEndian(span[44..], 1); // e_phnum
        var phdr = span[52..];
        BinaryPrimitives.WriteUInt32LittleEndian(phdr, 3); // p_type PT_INTERP
        BinaryPrimitives.WriteUInt32LittleEndian(phdr[4..], 84); // p_offset
        BinaryPrimitives.WriteUInt32LittleEndian(phdr[8..], 84); // p_vaddr
        BinaryPrimitives.WriteUInt32LittleEndian(phdr[12..], 84); // p_paddr
        BinaryPrimitives.WriteUInt32LittleEndian(phdr[16..], (uint)path.Length); // p_filesz
        BinaryPrimitives.WriteUInt32LittleEndian(phdr[20..], (uint)path.Length); // p_memsz
        BinaryPrimitives.WriteUInt32LittleEndian(phdr[24..], 4); // p_flags PF_R
        BinaryPrimitives.WriteUInt32LittleEndian(phdr[28..], 1); // p_align
        path.CopyTo(span[84..]);
        return bytes;
    }
}
