using OstreeContainer.Ostree.Repository;
using OstreeContainer.Ostree.Signing;

namespace OstreeContainer.ImagePuller;

/// <summary>
/// Where the keys a pulled commit must be signed with come from: a keyring file, ed25519
/// keys, the settings of an ostree remote in the target repo, or nothing at all — which
/// is allowed only when <see cref="InsecureNoSignature"/> says so explicitly.
/// </summary>
public sealed record PullTrust
{
    /// <summary>Where ostree keeps remote definitions besides the repo config.</summary>
    public const string DefaultRemotesDirectory = "/etc/ostree/remotes.d";

    /// <summary>Keyring directories every ostree remote trusts, as in libostree.</summary>
    public static readonly IReadOnlyList<string> DefaultGlobalKeyringDirectories = ["/usr/share/ostree/trusted.gpg.d", "/etc/ostree/trusted.gpg.d"];

    /// <summary>A GPG keyring file or directory (<c>--keyring</c>).</summary>
    public string? KeyringPath { get; init; }

    /// <summary><c>--sign-verify</c> values: <c>ed25519=BASE64KEY</c> or <c>ed25519=file:PATH</c>.</summary>
    public IReadOnlyList<string> SignVerify { get; init; } = [];

    /// <summary>An ostree remote whose <c>gpg-verify</c>/<c>sign-verify</c> settings and keys apply (<c>--remote</c>).</summary>
    public string? Remote { get; init; }

    /// <summary>Import without checking any signature (<c>--insecure-no-signature</c>).</summary>
    public bool InsecureNoSignature { get; init; }

    /// <summary>Where remote definitions are looked up when the repo config has none.</summary>
    public string RemotesDirectory { get; init; } = DefaultRemotesDirectory;

    /// <summary>Keyring directories trusted for every remote.</summary>
    public IReadOnlyList<string> GlobalKeyringDirectories { get; init; } = DefaultGlobalKeyringDirectories;

    /// <summary>
    /// True when anything decides how a commit is trusted (keys, a remote, or
    /// <see cref="InsecureNoSignature"/>); false leaves <see cref="Resolve"/> nothing but to refuse.
    /// </summary>
    public bool GivesKeys => KeyringPath is not null || SignVerify.Count > 0 || Remote is not null || InsecureNoSignature;

    /// <summary>
    /// The policy a commit must satisfy, or null when signatures are explicitly not checked.
    /// </summary>
    /// <exception cref="ImagePullException">No keys were given and no check was waived, or a remote is missing or unusable.</exception>
    public SignaturePolicy? Resolve(OstreeRepo repo)
    {
        ArgumentNullException.ThrowIfNull(repo);
        var keyrings = new List<GpgKeyring>();
        List<Ed25519PublicKey>? ed25519 = null;
        var gpgRequired = false;

        if (KeyringPath is not null)
        {
            keyrings.Add(LoadKeyring(KeyringPath, "--keyring"));
            gpgRequired = true;
        }

        foreach (var value in SignVerify)
        {
            ed25519 ??= [];
            ed25519.AddRange(ParseSignVerify(value));
        }

        if (Remote is not null)
        {
            var (config, group) = FindRemote(repo);
            if (config.GetBoolean(group, "gpg-verify", true))
            {
                gpgRequired = true;
                var before = keyrings.Count;
                var own = Path.Combine(repo.Root, $"{Remote}.trustedkeys.gpg");
                if (File.Exists(own))
                {
                    keyrings.Add(LoadKeyring(own, $"remote '{Remote}'"));
                }

                foreach (var path in (config.Get(group, "gpgkeypath") ?? "").Split([';', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    keyrings.Add(LoadKeyring(path, $"remote '{Remote}' gpgkeypath"));
                }

                foreach (var directory in GlobalKeyringDirectories.Where(Directory.Exists))
                {
                    keyrings.Add(LoadKeyring(directory, "global keyrings"));
                }

                if (keyrings.Skip(before).All(k => k.Count == 0))
                {
                    throw new ImagePullException(
                        $"remote '{Remote}' has gpg-verify=true but no GPG keys; import them with 'ostree --repo={repo.Root} remote gpg-import {Remote} -k KEYFILE' or pass --keyring FILE");
                }
            }

            if (config.GetBoolean(group, "sign-verify", false))
            {
                ed25519 ??= [];
                var before = ed25519.Count;
                foreach (var key in new[] { "verification-ed25519-key", "verification-key" })
                {
                    if (config.Get(group, key) is { } inline)
                    {
                        ed25519.AddRange(Wrap(() => Ed25519PublicKey.ParseList(inline, $"remote '{Remote}' {key}")));
                    }
                }

                foreach (var key in new[] { "verification-ed25519-file", "verification-file" })
                {
                    if (config.Get(group, key) is { } file)
                    {
                        ed25519.AddRange(Wrap(() => Ed25519PublicKey.LoadFile(file)));
                    }
                }

                if (ed25519.Count == before)
                {
                    throw new ImagePullException(
                        $"remote '{Remote}' has sign-verify=true but no verification-ed25519-key or verification-ed25519-file; set one or pass --sign-verify ed25519=KEY");
                }
            }
        }

        if (!gpgRequired && ed25519 is null)
        {
            if (InsecureNoSignature)
            {
                return null;
            }

            throw new ImagePullException(
                Remote is null
                    ? "no keys to verify the commit's signature: pass --keyring FILE (GPG), --sign-verify ed25519=KEY|file:PATH, or --remote NAME (an ostree remote with keys); --insecure-no-signature imports without any check"
                    : $"remote '{Remote}' verifies no signatures (gpg-verify=false, sign-verify=false): pass --keyring FILE or --sign-verify ed25519=KEY, or --insecure-no-signature to import without any check");
        }

        if (InsecureNoSignature)
        {
            throw new ImagePullException("--insecure-no-signature contradicts the keys given (--keyring, --sign-verify or --remote); choose one");
        }

        return new SignaturePolicy(gpgRequired ? GpgKeyring.Combine(keyrings) : null, ed25519);
    }

    private (RepoConfig Config, string Group) FindRemote(OstreeRepo repo)
    {
        var group = RepoConfig.RemoteGroup(Remote!);
        if (repo.Config.Remotes.Contains(Remote, StringComparer.Ordinal))
        {
            return (repo.Config, group);
        }

        if (Directory.Exists(RemotesDirectory))
        {
            foreach (var file in Directory.EnumerateFiles(RemotesDirectory, "*.conf").Order(StringComparer.Ordinal))
            {
                var config = RepoConfig.Load(file);
                if (config.Remotes.Contains(Remote, StringComparer.Ordinal))
                {
                    return (config, group);
                }
            }
        }

        throw new ImagePullException($"remote '{Remote}' is not configured in {repo.Root}/config or {RemotesDirectory}; add it with 'ostree remote add --gpg-import=KEYFILE {Remote} URL'");
    }

    private static IEnumerable<Ed25519PublicKey> ParseSignVerify(string value)
    {
        const string Prefix = "ed25519=";
        if (!value.StartsWith(Prefix, StringComparison.Ordinal))
        {
            throw new ImagePullException($"--sign-verify '{value}': expected ed25519=KEY or ed25519=file:PATH");
        }

        var rest = value[Prefix.Length..];
        return rest.StartsWith("file:", StringComparison.Ordinal)
            ? Wrap(() => Ed25519PublicKey.LoadFile(rest["file:".Length..]))
            : Wrap(() => Ed25519PublicKey.ParseList(rest, "--sign-verify"));
    }

    private static GpgKeyring LoadKeyring(string path, string what)
    {
        try
        {
            return GpgKeyring.Load(path);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            throw new ImagePullException($"{what}: keyring {path}: {e.Message}", e);
        }
    }

    private static IReadOnlyList<Ed25519PublicKey> Wrap(Func<IReadOnlyList<Ed25519PublicKey>> load)
    {
        try
        {
            return load();
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            throw new ImagePullException($"ed25519 keys: {e.Message}", e);
        }
    }
}
