using System.Text.Json.Serialization;

namespace OstreeContainer.Oci.Images;

/// <summary>An image's platform (image-spec image-index.md, "platform").</summary>
public sealed record Platform
{
    /// <summary>CPU architecture in GOARCH terms: <c>amd64</c>, <c>arm64</c>, …</summary>
    [JsonPropertyName("architecture")]
    public required string Architecture { get; init; }

    /// <summary>Operating system in GOOS terms: <c>linux</c>.</summary>
    [JsonPropertyName("os")]
    public required string Os { get; init; }

    /// <summary>OS version, rarely set for Linux.</summary>
    [JsonPropertyName("os.version")]
    public string? OsVersion { get; init; }

    /// <summary>CPU variant such as <c>v8</c> for arm64.</summary>
    [JsonPropertyName("variant")]
    public string? Variant { get; init; }

    /// <summary>The platform this process runs on, in GOOS/GOARCH terms.</summary>
    public static Platform Current => new()
    {
        Os = "linux",
        Architecture = System.Runtime.InteropServices.RuntimeInformation.OSArchitecture switch
        {
            System.Runtime.InteropServices.Architecture.X64 => "amd64",
            System.Runtime.InteropServices.Architecture.Arm64 => "arm64",
            System.Runtime.InteropServices.Architecture.Arm => "arm",
            System.Runtime.InteropServices.Architecture.X86 => "386",
            System.Runtime.InteropServices.Architecture.S390x => "s390x",
            System.Runtime.InteropServices.Architecture.Ppc64le => "ppc64le",
            System.Runtime.InteropServices.Architecture.RiscV64 => "riscv64",
            var other => other.ToString().ToLowerInvariant(),
        },
    };

    /// <summary>Parses <c>OS/ARCH[/VARIANT]</c> as podman's <c>--platform</c> does.</summary>
    /// <exception cref="FormatException">Not of that form.</exception>
    public static Platform Parse(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var parts = value.Split('/');
        if (parts.Length is < 2 or > 3 || parts.Any(string.IsNullOrEmpty))
        {
            throw new FormatException($"platform '{value}' is not OS/ARCH or OS/ARCH/VARIANT");
        }

        return new Platform { Os = parts[0], Architecture = parts[1], Variant = parts.Length == 3 ? parts[2] : null };
    }

    /// <summary>True when <paramref name="candidate"/> satisfies this wanted platform (variant only when given).</summary>
    public bool Matches(Platform? candidate) =>
        candidate is not null
        && candidate.Os == Os
        && candidate.Architecture == Architecture
        && (Variant is null || candidate.Variant == Variant);

    /// <summary><c>os/arch[/variant]</c>.</summary>
    public override string ToString() => Variant is null ? $"{Os}/{Architecture}" : $"{Os}/{Architecture}/{Variant}";
}
