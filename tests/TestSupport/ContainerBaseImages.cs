namespace OstreeContainer.TestSupport;

/// <summary>
/// Local stand-ins for the public base images the Containerfile names (the .NET SDK and
/// runtime-deps images cannot be pulled on test machines), made by
/// <c>make-container-bases.sh</c> beside this file: a debootstrap'd Debian minbase, and the
/// same plus gcc and this machine's .NET SDK. They are cached in container storage under a
/// tag that hashes their inputs; the script runs under flock, so parallel test processes
/// build them once.
/// </summary>
public static class ContainerBaseImages
{
    private static readonly Lazy<(string Runtime, string Sdk)> Made = new(Make);

    /// <summary>The runtime-deps stand-in, for <c>--build-arg RUNTIME_IMAGE=</c>.</summary>
    public static string RuntimeImage => Made.Value.Runtime;

    /// <summary>The SDK stand-in, for <c>--build-arg SDK_IMAGE=</c>.</summary>
    public static string SdkImage => Made.Value.Sdk;

    /// <summary>
    /// Environment for podman and buildah on machines where crun cannot run: runc, cgroupfs,
    /// low ulimits (the shared <c>containers.conf</c>).
    /// </summary>
    public static IDictionary<string, string> ContainerEnvironment => new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["CONTAINERS_CONF"] = Path.Combine(Fixtures.ScriptsDirectory, "containers.conf"),
        ["BUILDAH_RUNTIME"] = "runc",
    };

    private static (string Runtime, string Sdk) Make()
    {
        foreach (var tool in new[] { "buildah", "runc", "debootstrap" })
        {
            Peer.Require(tool);
        }

        var script = Path.Combine(Fixtures.RepositoryRoot, "tests", "TestSupport", "make-container-bases.sh");
        var result = Peer.Run("bash", [script], env: ContainerEnvironment, timeout: TimeSpan.FromMinutes(20))
            .EnsureSuccess("tests/TestSupport/make-container-bases.sh");
        var values = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(l => l.Split('=', 2))
            .Where(p => p.Length == 2)
            .ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);
        return (values["RUNTIME_IMAGE"], values["SDK_IMAGE"]);
    }
}
