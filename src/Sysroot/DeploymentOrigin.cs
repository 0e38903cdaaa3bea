using OstreeContainer.Ostree.Repository;

namespace OstreeContainer.Sysroot;

/// <summary>
/// A deployment's origin file (<c>ostree/deploy/OS/deploy/CHECKSUM.SERIAL.origin</c>, a GLib
/// key file) as bootc and rpm-ostree write it for an image:
/// <code>
/// [origin]
/// container-image-reference=ostree-unverified-registry:quay.io/example/os:stable
/// </code>
/// Nothing else is written: no <c>refspec</c> (rpm-ostree refuses an origin holding both).
/// </summary>
public static class DeploymentOrigin
{
    /// <summary>The group holding the reference.</summary>
    public const string Group = "origin";

    /// <summary>The origin of a deployment of <paramref name="image"/>.</summary>
    public static string Format(ContainerImageReference image)
    {
        ArgumentNullException.ThrowIfNull(image);
        var config = new RepoConfig();
        config.Set(Group, ContainerImageReference.OriginKey, image.ToString());
        return config.ToString();
    }

    /// <summary>
    /// The image an origin names, or null when it names none (a deployment of a plain ostree
    /// ref: <c>refspec=</c>).
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not a key file.</exception>
    /// <exception cref="FormatException">The reference does not follow the grammar.</exception>
    public static ContainerImageReference? TryParseImage(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return RepoConfig.Parse(text).Get(Group, ContainerImageReference.OriginKey) is { } value
            ? ContainerImageReference.Parse(value)
            : null;
    }
}
