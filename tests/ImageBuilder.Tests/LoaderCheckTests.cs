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
    public void Build_TreeWithoutTheLoader_WarnsAndStillBuilds()
    {
        var logs = new TestLogs();
        var dir = Path.Combine(Fixtures.TempDirectory("no-loader"), "layout");

        var result = CommitImageBuilder.BuildToLayout(dir, "main", CommitImageBuilderTests.Options(Fixtures.SmallRepo.ArchiveRepo, "fixture/main") with { LoggerFactory = logs });

        Assert.NotNull(result.Manifest);
        var warning = Assert.Single(logs.Messages(LogLevel.Warning));
        Assert.Contains(ElfInterpreter.Read(NativeWebserver.Executable)!, warning, StringComparison.Ordinal);
        Assert.Contains("ostree-container serve", warning, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_OsTreeWithTheLoader_DoesNotWarn()
    {
        var logs = new TestLogs();
        var os = Fixtures.OsRepo;
        var dir = Path.Combine(Fixtures.TempDirectory("loader"), "layout");

        CommitImageBuilder.BuildToLayout(dir, "main", CommitImageBuilderTests.Options(os.Repo, os.Branch) with { LoggerFactory = logs });

        Assert.Empty(logs.Messages(LogLevel.Warning));
        // Control: the build did log, so an empty list of warnings means something.
        Assert.NotEmpty(logs.Messages(LogLevel.Information));
    }
}
