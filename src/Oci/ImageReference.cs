namespace OstreeContainer.Oci;

/// <summary>Where an image lives, as skopeo and podman name it.</summary>
public enum ImageTransport
{
    /// <summary>A registry: <c>docker://HOST/NAME[:TAG|@DIGEST]</c> or the bare form.</summary>
    Registry,

    /// <summary>An OCI image layout directory: <c>oci:DIR[:TAG]</c>.</summary>
    OciLayout,

    /// <summary>A tar of an OCI image layout: <c>oci-archive:FILE[:TAG]</c>.</summary>
    OciArchive,
}

/// <summary>
/// A parsed image name. Registry names follow the distribution reference grammar:
/// the first component is a host when it holds a dot or a colon or is <c>localhost</c>;
/// otherwise the host is <c>docker.io</c> and one-component names get <c>library/</c>.
/// </summary>
public sealed record ImageReference
{
    /// <summary>Docker Hub's canonical name and the host its API answers on.</summary>
    public const string DockerHub = "docker.io";

    private const string DockerHubApiHost = "registry-1.docker.io";

    /// <summary>The transport.</summary>
    public required ImageTransport Transport { get; init; }

    /// <summary>Registry host[:port]; null for layouts.</summary>
    public string? Registry { get; init; }

    /// <summary>Repository name within the registry (<c>library/debian</c>); null for layouts.</summary>
    public string? Repository { get; init; }

    /// <summary>The layout directory or archive file; null for registries.</summary>
    public string? Path { get; init; }

    /// <summary>The tag, or null. For layouts, the <c>org.opencontainers.image.ref.name</c>.</summary>
    public string? Tag { get; init; }

    /// <summary>The manifest digest when the name pins one.</summary>
    public Digest? Digest { get; init; }

    /// <summary>The host to send API requests to (Docker Hub's API lives elsewhere).</summary>
    public string? ApiHost => Registry == DockerHub ? DockerHubApiHost : Registry;

    /// <summary>What to ask the registry for: the digest when pinned, else the tag (default <c>latest</c>).</summary>
    public string ManifestReference => Digest?.ToString() ?? Tag ?? "latest";

    /// <summary>
    /// Parses <c>docker://…</c>, <c>oci:DIR[:TAG]</c>, <c>oci-archive:FILE[:TAG]</c> or a
    /// bare registry name.
    /// </summary>
    /// <exception cref="FormatException">The name is malformed; the message says how.</exception>
    public static ImageReference Parse(string value)
    {
        ArgumentException.ThrowIfNullOrEmpty(value);
        if (value.StartsWith("docker://", StringComparison.Ordinal))
        {
            return ParseRegistry(value["docker://".Length..], value);
        }

        if (value.StartsWith("oci:", StringComparison.Ordinal))
        {
            return ParseLocal(ImageTransport.OciLayout, value["oci:".Length..], value);
        }

        if (value.StartsWith("oci-archive:", StringComparison.Ordinal))
        {
            return ParseLocal(ImageTransport.OciArchive, value["oci-archive:".Length..], value);
        }

        if (value.Contains("://", StringComparison.Ordinal))
        {
            throw new FormatException($"image '{value}': unknown transport (use docker://, oci: or oci-archive:)");
        }

        return ParseRegistry(value, value);
    }

    /// <summary>The name in the form <see cref="Parse"/> reads back.</summary>
    public override string ToString() => Transport switch
    {
        ImageTransport.OciLayout => Tag is null ? $"oci:{Path}" : $"oci:{Path}:{Tag}",
        ImageTransport.OciArchive => Tag is null ? $"oci-archive:{Path}" : $"oci-archive:{Path}:{Tag}",
        _ => $"docker://{Registry}/{Repository}"
            + (Tag is null ? string.Empty : ":" + Tag)
            + (Digest is null ? string.Empty : "@" + Digest),
    };

    private static ImageReference ParseLocal(ImageTransport transport, string rest, string original)
    {
        // DIR[:TAG]: the last colon separates a tag only when what follows is a valid tag
        // and not part of a path (skopeo's rule).
        string path = rest;
        string? tag = null;
        var colon = rest.LastIndexOf(':');
        if (colon >= 0 && IsTag(rest[(colon + 1)..]) && !rest[(colon + 1)..].Contains('/', StringComparison.Ordinal))
        {
            path = rest[..colon];
            tag = rest[(colon + 1)..];
        }

        if (path.Length == 0)
        {
            throw new FormatException($"image '{original}': no path given");
        }

        return new ImageReference { Transport = transport, Path = path, Tag = tag };
    }

    private static ImageReference ParseRegistry(string rest, string original)
    {
        Digest? digest = null;
        var at = rest.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
        {
            if (!Oci.Digest.TryParse(rest[(at + 1)..], out var pinned))
            {
                throw new FormatException($"image '{original}': '{rest[(at + 1)..]}' is not a digest");
            }

            digest = pinned;
            rest = rest[..at];
        }

        string? tag = null;
        var lastSlash = rest.LastIndexOf('/');
        var tagColon = rest.IndexOf(':', lastSlash + 1);
        if (tagColon >= 0)
        {
            tag = rest[(tagColon + 1)..];
            rest = rest[..tagColon];
            if (!IsTag(tag))
            {
                throw new FormatException($"image '{original}': '{tag}' is not a valid tag");
            }
        }

        var firstSlash = rest.IndexOf('/', StringComparison.Ordinal);
        string registry;
        string repository;
        if (firstSlash > 0 && IsHost(rest[..firstSlash]))
        {
            registry = rest[..firstSlash];
            repository = rest[(firstSlash + 1)..];
        }
        else
        {
            registry = DockerHub;
            repository = rest.Contains('/', StringComparison.Ordinal) ? rest : "library/" + rest;
        }

        if (registry == "index.docker.io")
        {
            registry = DockerHub;
        }

        if (!IsRepository(repository))
        {
            throw new FormatException(
                $"image '{original}': '{repository}' is not a valid repository name (lowercase letters, digits, '.', '_', '-', '/')");
        }

        return new ImageReference
        {
            Transport = ImageTransport.Registry,
            Registry = registry,
            Repository = repository,
            Tag = tag ?? (digest is null ? "latest" : null),
            Digest = digest,
        };
    }

    private static bool IsHost(string component) =>
        component == "localhost" || component.Contains('.', StringComparison.Ordinal) || component.Contains(':', StringComparison.Ordinal);

    // distribution reference: tag = [\w][\w.-]{0,127}
    private static bool IsTag(string tag) =>
        tag.Length is > 0 and <= 128
        && (char.IsAsciiLetterOrDigit(tag[0]) || tag[0] == '_')
        && tag.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-');

    // path components: [a-z0-9]+ joined by separators '.', '_', '__', '-'+; components joined by '/'
    private static bool IsRepository(string repository) =>
        repository.Length is > 0 and <= 255
        && repository.Split('/').All(component =>
            component.Length > 0
            && char.IsAsciiLetterOrDigit(component[0]) && !char.IsAsciiLetterUpper(component[0])
            && char.IsAsciiLetterOrDigit(component[^1]) && !char.IsAsciiLetterUpper(component[^1])
            && component.All(c => char.IsAsciiDigit(c) || char.IsAsciiLetterLower(c) || c is '.' or '_' or '-'));
}
