using System.Security.Cryptography;
using System.Text;

namespace OstreeContainer.TestSupport;

/// <summary>
/// The NativeAOT <c>repo-webserver</c>, published once per source state and shared by
/// every test process: the output lives under /var/tmp keyed by a hash of the sources
/// that go into it, and publishing runs under flock so two test projects never run the
/// native build of the same project at once.
/// </summary>
public static class NativeWebserver
{
    private static readonly Lazy<string> Published = new(Publish);

    /// <summary>The directory holding <c>repo-webserver</c> and <c>libe_sqlite3.so</c>.</summary>
    public static string Directory => Published.Value;

    /// <summary>The executable.</summary>
    public static string Executable => Path.Combine(Directory, "repo-webserver");

    private static string Publish()
    {
        var root = Fixtures.RepositoryRoot;
        var cache = Path.Combine("/var/tmp/ostree-container-fixtures", "webserver", SourceHash(root));
        var done = Path.Combine(cache, ".complete");
        if (File.Exists(done))
        {
            return cache;
        }

        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(cache)!);
        var project = Path.Combine(root, "src", "RepoWebserver", "OstreeContainer.RepoWebserver.csproj");

        // ILC leaves its object file behind even when a publish fails; a stale one would be
        // linked by the next publish, so the native step always starts clean.
        var script = $"[ -f '{done}' ] && exit 0; rm -rf '{cache}' '{root}'/src/RepoWebserver/obj/Release/*/*/native; "
            + $"dotnet publish '{project}' -c Release -o '{cache}' --nologo -v quiet && touch '{done}'";
        Peer.Run("flock", [Path.Combine(Path.GetDirectoryName(cache)!, ".lock"), "bash", "-c", script], timeout: TimeSpan.FromMinutes(15))
            .EnsureSuccess("dotnet publish src/RepoWebserver (NativeAOT)");
        return cache;
    }

    private static string SourceHash(string root)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var files = new[] { "src/Ostree", "src/ObjectMap", "src/RepoWebserver" }
            .SelectMany(d => System.IO.Directory.EnumerateFiles(Path.Combine(root, d), "*", SearchOption.AllDirectories))
            .Where(f => !f.Contains("/bin/", StringComparison.Ordinal) && !f.Contains("/obj/", StringComparison.Ordinal))
            .Concat(new[] { "Directory.Build.props", "Directory.Packages.props", "global.json" }.Select(f => Path.Combine(root, f)).Where(File.Exists))
            .Order(StringComparer.Ordinal);
        foreach (var file in files)
        {
            hash.AppendData(Encoding.UTF8.GetBytes(Path.GetRelativePath(root, file) + "\0"));
            hash.AppendData(File.ReadAllBytes(file));
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset())[..16];
    }
}
