using System.Text;
using System.Text.Json;

namespace OstreeContainer.Oci.Registry;

/// <summary>
/// Reads registry credentials from the auth files podman, skopeo and docker write
/// (containers-auth.json(5)): <c>{"auths": {"KEY": {"auth": base64("user:pass")}}}</c> or
/// <c>{"username", "password"}</c> per key.
/// </summary>
public static class AuthFile
{
    /// <summary>Largest auth file read into memory.</summary>
    public const int MaxFileBytes = 1024 * 1024;

    /// <summary>
    /// The credentials for <paramref name="repository"/> on <paramref name="registryHost"/>, or
    /// null. With <paramref name="authFile"/> only that file is read; otherwise, in order,
    /// <c>$REGISTRY_AUTH_FILE</c> (or <c>$XDG_RUNTIME_DIR/containers/auth.json</c>),
    /// <c>$XDG_CONFIG_HOME/containers/auth.json</c> and <c>~/.docker/config.json</c>; the first
    /// file with a matching entry wins. Within a file the most specific key wins:
    /// <c>host/repo/…</c>, then its parents, then <c>host</c>, then legacy URL keys such as
    /// <c>https://host/v1/</c>.
    /// </summary>
    /// <param name="environment">Variables to use; null reads the process environment.</param>
    /// <exception cref="InvalidDataException">A file exists but is not a valid auth file.</exception>
    public static RegistryCredentials? Find(
        string registryHost, string repository, string? authFile, IReadOnlyDictionary<string, string>? environment = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(registryHost);
        ArgumentNullException.ThrowIfNull(repository);
        foreach (var path in SearchPaths(authFile, environment))
        {
            if (!File.Exists(path))
            {
                if (path == authFile)
                {
                    throw new FileNotFoundException($"auth file {path} does not exist", path);
                }

                continue;
            }

            var found = FindInFile(path, registryHost, repository);
            if (found is not null)
            {
                return found;
            }
        }

        return null;
    }

    /// <summary>The files <see cref="Find"/> reads, in order.</summary>
    public static IReadOnlyList<string> SearchPaths(string? authFile, IReadOnlyDictionary<string, string>? environment = null)
    {
        if (!string.IsNullOrEmpty(authFile))
        {
            return [authFile];
        }

        string? Env(string name) =>
            environment is null ? System.Environment.GetEnvironmentVariable(name)
            : environment.TryGetValue(name, out var value) ? value : null;

        var paths = new List<string>();
        var home = Env("HOME");
        var primary = Env("REGISTRY_AUTH_FILE");
        if (string.IsNullOrEmpty(primary) && Env("XDG_RUNTIME_DIR") is { Length: > 0 } runtime)
        {
            primary = Path.Combine(runtime, "containers", "auth.json");
        }

        if (!string.IsNullOrEmpty(primary))
        {
            paths.Add(primary);
        }

        var configHome = Env("XDG_CONFIG_HOME");
        if (string.IsNullOrEmpty(configHome) && !string.IsNullOrEmpty(home))
        {
            configHome = Path.Combine(home, ".config");
        }

        if (!string.IsNullOrEmpty(configHome))
        {
            paths.Add(Path.Combine(configHome, "containers", "auth.json"));
        }

        if (!string.IsNullOrEmpty(home))
        {
            paths.Add(Path.Combine(home, ".docker", "config.json"));
        }

        return paths;
    }

    private static RegistryCredentials? FindInFile(string path, string registryHost, string repository)
    {
        var info = new FileInfo(path);
        if (info.Length > MaxFileBytes)
        {
            throw new InvalidDataException($"auth file {path} is {info.Length} bytes, more than the {MaxFileBytes}-byte limit");
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException e)
        {
            // JsonException messages quote no values, so no secret leaks through them.
            throw new InvalidDataException($"auth file {path} is not valid JSON: {e.Message}", e);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("auths", out var auths)
                || auths.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            // Keys as the user wrote them, normalised: legacy docker keys carry a scheme and /v1/.
            var entries = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
            var legacy = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
            foreach (var property in auths.EnumerateObject())
            {
                var key = property.Name;
                if (key.Contains("://", StringComparison.Ordinal))
                {
                    legacy.TryAdd(NormaliseLegacyKey(key), property.Value);
                }
                else
                {
                    entries.TryAdd(NormaliseHost(key), property.Value);
                }
            }

            var host = NormaliseHost(registryHost);

            // containers-auth.json: "host/ns/repo" beats "host/ns" beats "host".
            var scope = string.IsNullOrEmpty(repository) ? host : host + "/" + repository;
            while (true)
            {
                if (entries.TryGetValue(scope, out var entry) && Decode(entry, path, scope) is { } credentials)
                {
                    return credentials;
                }

                var slash = scope.LastIndexOf('/');
                if (slash < 0)
                {
                    break;
                }

                scope = scope[..slash];
            }

            return legacy.TryGetValue(host, out var old) ? Decode(old, path, host) : null;
        }
    }

    private static string NormaliseHost(string key)
    {
        // docker login writes Docker Hub under its legacy index host.
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        var host = slash < 0 ? key : key[..slash];
        var rest = slash < 0 ? string.Empty : key[slash..];
        host = host is "index.docker.io" or "registry-1.docker.io" ? ImageReference.DockerHub : host;
        return host + rest;
    }

    private static string NormaliseLegacyKey(string key)
    {
        var rest = key[(key.IndexOf("://", StringComparison.Ordinal) + 3)..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        return NormaliseHost(slash < 0 ? rest : rest[..slash]);
    }

    private static RegistryCredentials? Decode(JsonElement entry, string path, string key)
    {
        if (entry.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        if (entry.TryGetProperty("auth", out var auth) && auth.ValueKind == JsonValueKind.String && auth.GetString() is { Length: > 0 } encoded)
        {
            string decoded;
            try
            {
                decoded = Encoding.UTF8.GetString(Convert.FromBase64String(encoded));
            }
            catch (FormatException e)
            {
                throw new InvalidDataException($"auth file {path}: entry '{key}' has an \"auth\" value that is not base64", e);
            }

            var colon = decoded.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                throw new InvalidDataException($"auth file {path}: entry '{key}' has an \"auth\" value that is not base64(user:password)");
            }

            return new RegistryCredentials(decoded[..colon], decoded[(colon + 1)..]);
        }

        if (entry.TryGetProperty("username", out var user) && user.ValueKind == JsonValueKind.String
            && user.GetString() is { Length: > 0 } username
            && entry.TryGetProperty("password", out var pass) && pass.ValueKind == JsonValueKind.String
            && pass.GetString() is { } password)
        {
            return new RegistryCredentials(username, password);
        }

        return null;
    }
}
