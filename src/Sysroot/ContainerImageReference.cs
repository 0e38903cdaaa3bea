using OstreeContainer.Oci;

namespace OstreeContainer.Sysroot;

/// <summary>How the commit of an image named in an origin is to be verified (ostree-rs-ext's <c>SignatureSource</c>).</summary>
public enum ImageVerification
{
    /// <summary><c>ostree-unverified-image:</c> / <c>ostree-unverified-registry:</c>: no OSTree signature is checked.</summary>
    Unverified,

    /// <summary><c>ostree-remote-image:REMOTE:</c> / <c>ostree-remote-registry:REMOTE:</c>: the keys and settings of an ostree remote.</summary>
    OstreeRemote,

    /// <summary>
    /// <c>ostree-image-signed:</c>: bootc defers to containers-policy.json; ostree-container
    /// checks the commit's OSTree signature against keys given on the command line.
    /// </summary>
    Signed,
}

/// <summary>The transports an image reference in an origin may name, as ostree-rs-ext spells them.</summary>
public enum ContainerTransport
{
    /// <summary><c>registry:NAME</c> or <c>docker://NAME</c>; written as <c>docker://</c>.</summary>
    Registry,

    /// <summary><c>oci:DIR[:TAG]</c>.</summary>
    OciDir,

    /// <summary><c>oci-archive:FILE[:TAG]</c>.</summary>
    OciArchive,

    /// <summary><c>docker-archive:</c> (parsed; ostree-container cannot pull it).</summary>
    DockerArchive,

    /// <summary><c>containers-storage:</c> (parsed; ostree-container cannot pull it).</summary>
    ContainerStorage,

    /// <summary><c>dir:</c> (parsed; ostree-container cannot pull it).</summary>
    Dir,
}

/// <summary>
/// The value of <c>container-image-reference=</c> in a deployment's origin file: a
/// verification scheme and an image, in the grammar bootc and rpm-ostree read and write
/// (ostree-rs-ext's <c>OstreeImageReference</c>; rpm-ostree's docs/container.md):
/// <list type="bullet">
/// <item><c>ostree-unverified-registry:HOST/NAME[:TAG|@DIGEST]</c> = <c>ostree-unverified-image:registry:…</c></item>
/// <item><c>ostree-unverified-image:TRANSPORT:REF</c></item>
/// <item><c>ostree-remote-registry:REMOTE:HOST/NAME…</c> = <c>ostree-remote-image:REMOTE:registry:…</c></item>
/// <item><c>ostree-remote-image:REMOTE:TRANSPORT:REF</c></item>
/// <item><c>ostree-image-signed:TRANSPORT:REF</c></item>
/// </list>
/// <c>TRANSPORT:REF</c> is <c>registry:NAME</c>, <c>docker://NAME</c>, <c>oci:DIR</c>,
/// <c>oci-archive:FILE</c>, <c>docker-archive:…</c>, <c>containers-storage:…</c> or <c>dir:…</c>.
/// Written the way ostree-rs-ext formats it: an unverified registry image in the short form,
/// everything else as <c>SCHEME:TRANSPORT:REF</c> with the registry transport as <c>docker://</c>
/// (so <c>ostree-remote-registry:</c> is read, never written).
/// </summary>
/// <param name="Verification">How the commit is verified.</param>
/// <param name="Remote">The ostree remote for <see cref="ImageVerification.OstreeRemote"/>, else null.</param>
/// <param name="Transport">Where the image lives.</param>
/// <param name="Name">The image within the transport (<c>quay.io/os/x:stable</c>, a layout directory[:tag]).</param>
public sealed record ContainerImageReference(ImageVerification Verification, string? Remote, ContainerTransport Transport, string Name)
{
    /// <summary>The origin key holding the reference (group <c>[origin]</c>).</summary>
    public const string OriginKey = "container-image-reference";

    private const string UnverifiedRegistry = "ostree-unverified-registry";
    private const string UnverifiedImage = "ostree-unverified-image";
    private const string RemoteRegistry = "ostree-remote-registry";
    private const string RemoteImage = "ostree-remote-image";
    private const string ImageSigned = "ostree-image-signed";

    // Transport names as ostree-rs-ext accepts them; "docker" must be followed by "//".
    private static readonly (string Name, ContainerTransport Transport)[] TransportNames =
    [
        ("registry", ContainerTransport.Registry),
        ("docker", ContainerTransport.Registry),
        ("oci", ContainerTransport.OciDir),
        ("oci-archive", ContainerTransport.OciArchive),
        ("docker-archive", ContainerTransport.DockerArchive),
        ("containers-storage", ContainerTransport.ContainerStorage),
        ("dir", ContainerTransport.Dir),
    ];

    /// <summary>True when <paramref name="value"/> starts with one of the five scheme names and a colon.</summary>
    public static bool HasScheme(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var colon = value.IndexOf(':', StringComparison.Ordinal);
        return colon > 0 && value[..colon] is UnverifiedRegistry or UnverifiedImage or RemoteRegistry or RemoteImage or ImageSigned;
    }

    /// <summary>Parses a <c>container-image-reference</c> value.</summary>
    /// <exception cref="FormatException">The value does not follow the grammar; the message names what is wrong.</exception>
    public static ContainerImageReference Parse(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var colon = value.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            throw new FormatException($"image reference '{value}': missing ':' (expected e.g. ostree-unverified-registry:HOST/NAME:TAG)");
        }

        var scheme = value[..colon];
        var rest = value[(colon + 1)..];
        switch (scheme)
        {
            case UnverifiedRegistry:
                return FromImage(ImageVerification.Unverified, null, "registry:" + rest, value);
            case UnverifiedImage:
                return FromImage(ImageVerification.Unverified, null, rest, value);
            case ImageSigned:
                return FromImage(ImageVerification.Signed, null, rest, value);
            case RemoteRegistry or RemoteImage:
                var second = rest.IndexOf(':', StringComparison.Ordinal);
                if (second < 0)
                {
                    throw new FormatException($"image reference '{value}': missing ':' after the remote name ({scheme}:REMOTE:IMAGE)");
                }

                var remote = rest[..second];
                var image = rest[(second + 1)..];
                return FromImage(ImageVerification.OstreeRemote, remote, scheme == RemoteRegistry ? "registry:" + image : image, value);
            default:
                throw new FormatException(
                    $"image reference '{value}': unknown scheme '{scheme}' (expected {UnverifiedRegistry}, {UnverifiedImage}, {RemoteRegistry}, {RemoteImage} or {ImageSigned})");
        }
    }

    /// <summary>
    /// The reference for an image ostree-container pulls, verified as <paramref name="verification"/>
    /// (with <paramref name="remote"/> for <see cref="ImageVerification.OstreeRemote"/>).
    /// </summary>
    public static ContainerImageReference For(ImageReference image, ImageVerification verification, string? remote = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        if ((verification == ImageVerification.OstreeRemote) != (remote is not null))
        {
            throw new ArgumentException("a remote is given exactly for ImageVerification.OstreeRemote", nameof(remote));
        }

        return image.Transport switch
        {
            ImageTransport.Registry => new(verification, remote, ContainerTransport.Registry, image.ToString()["docker://".Length..]),
            ImageTransport.OciLayout => new(verification, remote, ContainerTransport.OciDir, image.ToString()["oci:".Length..]),
            _ => new(verification, remote, ContainerTransport.OciArchive, image.ToString()["oci-archive:".Length..]),
        };
    }

    /// <summary>The image as <c>TRANSPORT:REF</c> (registry images as <c>docker://NAME</c>).</summary>
    public string Image => TransportPrefix(Transport) + Name;

    /// <summary>The image as ostree-container names it, for pulling.</summary>
    /// <exception cref="NotSupportedException">The transport is one ostree-container cannot pull from.</exception>
    public ImageReference ToImageReference()
    {
        var text = Transport switch
        {
            ContainerTransport.Registry or ContainerTransport.OciDir or ContainerTransport.OciArchive => Image,
            _ => throw new NotSupportedException(
                $"image '{Image}': the {TransportPrefix(Transport).TrimEnd(':')} transport is not supported (use a registry, oci: or oci-archive:)"),
        };
        return ImageReference.Parse(text);
    }

    /// <summary>The same verification for another image.</summary>
    public ContainerImageReference WithImage(ImageReference image) => For(image, Verification, Remote);

    /// <summary>The value as bootc and rpm-ostree write it.</summary>
    public override string ToString() => (Verification, Transport) switch
    {
        (ImageVerification.Unverified, ContainerTransport.Registry) => $"{UnverifiedRegistry}:{Name}",
        (ImageVerification.Unverified, _) => $"{UnverifiedImage}:{Image}",
        (ImageVerification.OstreeRemote, _) => $"{RemoteImage}:{Remote}:{Image}",
        _ => $"{ImageSigned}:{Image}",
    };

    private static ContainerImageReference FromImage(ImageVerification verification, string? remote, string image, string original)
    {
        var colon = image.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            throw new FormatException($"image reference '{original}': missing ':' after the transport (e.g. docker://HOST/NAME)");
        }

        var transportName = image[..colon];
        var name = image[(colon + 1)..];
        var transport = Array.FindIndex(TransportNames, t => t.Name == transportName) is var i and >= 0
            ? TransportNames[i].Transport
            : throw new FormatException($"image reference '{original}': unknown transport '{transportName}'");
        if (transportName == "docker")
        {
            if (!name.StartsWith("//", StringComparison.Ordinal))
            {
                throw new FormatException($"image reference '{original}': missing // in docker://");
            }

            name = name[2..];
        }

        if (name.Length == 0)
        {
            throw new FormatException($"image reference '{original}': empty image name");
        }

        if (remote is { Length: 0 })
        {
            throw new FormatException($"image reference '{original}': empty remote name");
        }

        return new ContainerImageReference(verification, remote, transport, name);
    }

    private static string TransportPrefix(ContainerTransport transport) => transport switch
    {
        ContainerTransport.Registry => "docker://",
        ContainerTransport.OciDir => "oci:",
        ContainerTransport.OciArchive => "oci-archive:",
        ContainerTransport.DockerArchive => "docker-archive:",
        ContainerTransport.ContainerStorage => "containers-storage:",
        _ => "dir:",
    };
}
