namespace OstreeContainer.TestSupport;

/// <summary>
/// A throwaway GNUPGHOME in which the real gpg makes keys, exports them and signs. Keys
/// have no passphrase. Disposing stops the home's gpg-agent and deletes the directory.
/// </summary>
public sealed class GpgTestHome : IDisposable
{
    public GpgTestHome()
    {
        Peer.Require("gpg");
        Directory = Fixtures.TempDirectory("gnupg");
        if (!OperatingSystem.IsWindows())
        {
            // gpg warns about (and agents refuse) group- or world-readable homes.
            File.SetUnixFileMode(Directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    public string Directory { get; }

    /// <summary>Runs gpg in this home and returns stdout; throws with gpg's stderr on failure.</summary>
    public string Gpg(params string[] args) => Run(args).EnsureSuccess("gpg " + string.Join(' ', args)).Stdout;

    /// <summary>Runs gpg in this home without checking the exit code.</summary>
    public Peer.Result Run(params string[] args) =>
        Peer.Run("gpg", ["--homedir", Directory, "--batch", "--no-tty", "--pinentry-mode", "loopback", "--passphrase", "", .. args]);

    /// <summary>Generates a key with <c>--quick-gen-key</c> and returns its primary fingerprint.</summary>
    public string GenerateKey(string userId, string algorithm = "default", string usage = "default", string expire = "never")
    {
        Gpg("--quick-gen-key", userId, algorithm, usage, expire);
        return Fingerprints(userId)[0];
    }

    /// <summary>Primary and subkey fingerprints of the key matching <paramref name="userId"/>, primary first.</summary>
    public IReadOnlyList<string> Fingerprints(string userId) =>
        [.. Gpg("--with-colons", "--list-keys", userId)
            .Split('\n')
            .Where(l => l.StartsWith("fpr:", StringComparison.Ordinal))
            .Select(l => l.Split(':')[9])];

    /// <summary>The public key as <c>gpg --export</c> writes it (binary, or armored).</summary>
    public byte[] Export(string keyId, bool armor = false)
    {
        var file = Path.Combine(Directory, $"export-{Guid.NewGuid():N}");
        Gpg([.. armor ? new[] { "--armor" } : [], "--output", file, "--export", keyId]);
        var bytes = File.ReadAllBytes(file);
        File.Delete(file);
        return bytes;
    }

    /// <summary>A binary detached signature of <paramref name="data"/> made by gpg itself.</summary>
    public byte[] DetachSign(string keyId, byte[] data, string? digest = null)
    {
        var input = Path.Combine(Directory, $"data-{Guid.NewGuid():N}");
        File.WriteAllBytes(input, data);
        string[] digestArgs = digest is null ? [] : ["--digest-algo", digest];
        Gpg([.. digestArgs, "--local-user", keyId + "!", "--output", input + ".sig", "--detach-sign", input]);
        var signature = File.ReadAllBytes(input + ".sig");
        File.Delete(input);
        File.Delete(input + ".sig");
        return signature;
    }

    /// <summary>What the real gpg says: true when <c>gpg --verify</c> reports a good signature.</summary>
    public bool GpgVerifies(byte[] signature, byte[] data)
    {
        var input = Path.Combine(Directory, $"verify-{Guid.NewGuid():N}");
        File.WriteAllBytes(input, data);
        File.WriteAllBytes(input + ".sig", signature);
        var result = Run("--verify", input + ".sig", input);
        File.Delete(input);
        File.Delete(input + ".sig");
        return result.ExitCode == 0;
    }

    public void Dispose()
    {
        // The agent was started by gpg for this home only; stop it before deleting its sockets.
        Peer.Run("gpgconf", ["--homedir", Directory, "--kill", "gpg-agent"]);
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
