using System.Text;
using OstreeContainer.Oci.Registry;

namespace OstreeContainer.Oci.Tests.Registry;

public sealed class AuthFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("authfile-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Find_MostSpecificKeyWins()
    {
        var file = Write("auth.json", $$$"""
            {"auths": {
              "reg.example:5000": {"auth": "{{{B64("host:h")}}}"},
              "reg.example:5000/team": {"auth": "{{{B64("team:t")}}}"},
              "reg.example:5000/team/app": {"username": "app", "password": "a:b"}
            } }
            """);

        Assert.Equal(new RegistryCredentials("app", "a:b"), AuthFile.Find("reg.example:5000", "team/app", file));
        Assert.Equal(new RegistryCredentials("team", "t"), AuthFile.Find("reg.example:5000", "team/other", file));
        Assert.Equal(new RegistryCredentials("host", "h"), AuthFile.Find("reg.example:5000", "solo", file));
        Assert.Null(AuthFile.Find("reg.example", "team/app", file));
    }

    [Fact]
    public void Find_LegacyDockerKeys_MatchByHost()
    {
        var file = Write("config.json", $$$"""
            {"auths": {
              "https://index.docker.io/v1/": {"auth": "{{{B64("hub:pw")}}}"},
              "http://old.example:5000/v1/": {"auth": "{{{B64("old:pw")}}}"}
            } }
            """);

        Assert.Equal("hub", AuthFile.Find("docker.io", "library/debian", file)?.Username);
        Assert.Equal("old", AuthFile.Find("old.example:5000", "x", file)?.Username);
    }

    [Fact]
    public void Find_SearchOrder_RegistryAuthFileBeforeDockerConfig()
    {
        var home = Path.Combine(_dir, "home");
        Directory.CreateDirectory(Path.Combine(home, ".docker"));
        File.WriteAllText(Path.Combine(home, ".docker", "config.json"), $$$"""{"auths":{"r.example":{"auth":"{{{B64("docker:d")}}}"} ,"only-docker.example":{"auth":"{{{B64("d2:d")}}}"} } }""");
        var primary = Write("primary.json", $$$"""{"auths":{"r.example":{"auth":"{{{B64("podman:p")}}}"} } }""");
        var env = new Dictionary<string, string> { ["HOME"] = home, ["REGISTRY_AUTH_FILE"] = primary };

        Assert.Equal("podman", AuthFile.Find("r.example", "a", null, env)?.Username);
        Assert.Equal("d2", AuthFile.Find("only-docker.example", "a", null, env)?.Username);
        Assert.Equal("docker", AuthFile.Find("r.example", "a", null, new Dictionary<string, string> { ["HOME"] = home })?.Username);
        Assert.Equal(
            [primary, Path.Combine(home, ".config", "containers", "auth.json"), Path.Combine(home, ".docker", "config.json")],
            AuthFile.SearchPaths(null, env));
    }

    [Fact]
    public void Find_XdgRuntimeDir_IsThePrimaryFile()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "run", "containers"));
        File.WriteAllText(Path.Combine(_dir, "run", "containers", "auth.json"), $$$"""{"auths":{"r.example":{"auth":"{{{B64("rt:x")}}}"} } }""");

        Assert.Equal("rt", AuthFile.Find("r.example", "a", null, new Dictionary<string, string> { ["XDG_RUNTIME_DIR"] = Path.Combine(_dir, "run") })?.Username);
    }

    [Fact]
    public void Find_ExplicitFileMissing_Throws()
    {
        Assert.Throws<FileNotFoundException>(() => AuthFile.Find("r.example", "a", Path.Combine(_dir, "nope.json")));
    }

    [Theory]
    [InlineData("""{"auths": {"r.example": {"auth": "!!!"} } }""", "not base64")]
    [InlineData("""{"auths": {"r.example": {"auth": "bm9jb2xvbg=="} } }""", "base64(user:password)")]
    [InlineData("""{"auths": """, "not valid JSON")]
    public void Find_BadFile_InvalidDataNamingTheFile(string json, string expected)
    {
        var file = Write("bad.json", json);

        var error = Assert.Throws<InvalidDataException>(() => AuthFile.Find("r.example", "a", file));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.Contains(file, error.Message, StringComparison.Ordinal);
    }

    private string Write(string name, string json)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, json);
        return path;
    }

    private static string B64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));
}
