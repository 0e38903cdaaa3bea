namespace OstreeContainer.Oci.Registry;

/// <summary>
/// A user name and password (or token) for one registry. <see cref="ToString"/> never shows
/// the password, so a record printed into a log or an exception stays safe.
/// </summary>
public sealed record RegistryCredentials(string Username, string Password)
{
    /// <summary>Parses <c>USER:PASS</c> as skopeo's <c>--creds</c> takes it; the password may hold colons.</summary>
    /// <exception cref="FormatException">No colon, or an empty user name.</exception>
    public static RegistryCredentials Parse(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var colon = value.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            // The value may be a bare secret; never echo it.
            throw new FormatException("credentials must be USER:PASSWORD with a non-empty user name");
        }

        return new RegistryCredentials(value[..colon], value[(colon + 1)..]);
    }

    /// <summary>The user name and a mask in place of the password.</summary>
    public override string ToString() => $"{Username}:***";
}
