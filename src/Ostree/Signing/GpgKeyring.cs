using System.Text;
using Org.BouncyCastle.Bcpg;
using Org.BouncyCastle.Bcpg.OpenPgp;

namespace OstreeContainer.Ostree.Signing;

/// <summary>
/// Trusted OpenPGP public keys: the certificates (primary key, user ids, subkeys and their
/// self-signatures) a <see cref="GpgVerifier"/> accepts signatures from. Loaded from what
/// <c>gpg --export</c> writes, binary or ASCII-armored, or from a directory of such files
/// like ostree's <c>trusted.gpg.d</c>. Immutable once built.
/// </summary>
public sealed class GpgKeyring
{
    /// <summary>Largest keyring file read into memory; real keyrings are kilobytes.</summary>
    public const long MaxFileSize = 16 * 1024 * 1024;

    private const string ArmorBegin = "-----BEGIN PGP ";
    private const string PublicKeyArmor = "-----BEGIN PGP PUBLIC KEY BLOCK-----";

    private readonly PgpPublicKeyRing[] _rings;

    // Every key (primary and subkeys) by its 64-bit key id, the identifier signatures carry.
    private readonly Dictionary<long, List<(PgpPublicKeyRing Ring, PgpPublicKey Key)>> _byKeyId = [];

    private GpgKeyring(IEnumerable<PgpPublicKeyRing> rings)
    {
        _rings = [.. rings];
        foreach (var ring in _rings)
        {
            foreach (var key in ring.GetPublicKeys())
            {
                if (!_byKeyId.TryGetValue(key.KeyId, out var list))
                {
                    _byKeyId[key.KeyId] = list = [];
                }

                list.Add((ring, key));
            }
        }
    }

    /// <summary>A keyring that trusts nobody: every signature verifies as "unknown key".</summary>
    public static GpgKeyring Empty { get; } = new([]);

    /// <summary>Number of certificates (primary keys).</summary>
    public int Count => _rings.Length;

    /// <summary>Primary key fingerprints, 40 (v4) or 64 (v6) uppercase hex characters, in load order.</summary>
    public IReadOnlyList<string> Fingerprints => [.. _rings.Select(r => FormatFingerprint(r.GetPublicKey()))];

    /// <summary>
    /// Parses a keyring: concatenated binary transferable public keys (<c>gpg --export</c>)
    /// or one or more ASCII-armored public key blocks (<c>gpg --export --armor</c>).
    /// Empty input yields an empty keyring.
    /// </summary>
    /// <param name="source">Names the data in error messages, e.g. the file path.</param>
    /// <exception cref="InvalidDataException">Not an OpenPGP public keyring.</exception>
    public static GpgKeyring Parse(ReadOnlySpan<byte> data, string source = "keyring")
    {
        ArgumentNullException.ThrowIfNull(source);

        // gpg ≥ 2.1 keeps its own keys in a keybox (pubring.kbx), which only gpg reads; its
        // first blob carries the magic "KBXf" at offset 8.
        if (data.Length >= 12 && data[8..12].SequenceEqual("KBXf"u8))
        {
            throw new InvalidDataException($"{source}: a GnuPG keybox (pubring.kbx) is not a keyring; export the keys with 'gpg --export'");
        }

        try
        {
            return new GpgKeyring(IsArmored(data) ? ReadArmored(data, source) : ReadBinary(data.ToArray()));
        }
        catch (Exception e) when (GpgVerifier.IsParseFailure(e))
        {
            throw new InvalidDataException($"{source}: not an OpenPGP public keyring: {e.Message}", e);
        }
    }

    /// <summary>
    /// Loads a keyring file, or every keyring in a directory. Like ostree, a directory
    /// contributes its regular files named <c>*.gpg</c> except <c>trustdb.gpg</c> and
    /// <c>secring.gpg</c>; symbolic links and other files are skipped.
    /// </summary>
    /// <exception cref="InvalidDataException">A file is not an OpenPGP public keyring or is too large.</exception>
    /// <exception cref="IOException">The path cannot be read.</exception>
    public static GpgKeyring Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!Directory.Exists(path))
        {
            return Parse(ReadFile(path), path);
        }

        var keyrings = new List<GpgKeyring>();
        foreach (var file in Directory.EnumerateFiles(path).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(file);
            if (!name.EndsWith(".gpg", StringComparison.Ordinal) || name is "trustdb.gpg" or "secring.gpg")
            {
                continue;
            }

            // ostree (_ostree_gpg_verifier_add_keyring_dir_at) takes DT_REG entries only.
            if (new FileInfo(file).LinkTarget is not null)
            {
                continue;
            }

            keyrings.Add(Parse(ReadFile(file), file));
        }

        return Combine(keyrings);
    }

    /// <summary>A keyring trusting every key of every input.</summary>
    public static GpgKeyring Combine(IEnumerable<GpgKeyring> keyrings)
    {
        ArgumentNullException.ThrowIfNull(keyrings);
        return new GpgKeyring(keyrings.SelectMany(k => k._rings));
    }

    /// <summary>Keys with this key id or, when given, exactly this fingerprint.</summary>
    internal IEnumerable<(PgpPublicKeyRing Ring, PgpPublicKey Key)> Find(long keyId, byte[]? fingerprint)
    {
        if (fingerprint is not null)
        {
            // The fingerprint is authoritative; key ids may collide.
            return _rings.SelectMany(r => r.GetPublicKeys().Where(k => k.HasFingerprint(fingerprint)).Select(k => (r, k)));
        }

        return _byKeyId.TryGetValue(keyId, out var keys) ? keys : [];
    }

    internal static string FormatFingerprint(PgpPublicKey key) => Convert.ToHexString(key.GetFingerprint());

    private static byte[] ReadFile(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        if (stream.Length > MaxFileSize)
        {
            throw new InvalidDataException($"{path}: keyring is {stream.Length} bytes, more than the {MaxFileSize} accepted");
        }

        var data = new byte[stream.Length];
        stream.ReadExactly(data);
        return data;
    }

    private static bool IsArmored(ReadOnlySpan<byte> data)
    {
        // A binary keyring starts with a packet tag, whose top bit is always set (RFC 9580 §4.2).
        var trimmed = data.TrimStart(" \t\r\n"u8);
        return !trimmed.IsEmpty && (trimmed[0] & 0x80) == 0;
    }

    private static IEnumerable<PgpPublicKeyRing> ReadBinary(byte[] data) =>
        data.Length == 0 ? [] : new PgpPublicKeyRingBundle(data).GetKeyRings().ToList();

    private static List<PgpPublicKeyRing> ReadArmored(ReadOnlySpan<byte> data, string source)
    {
        // ArmoredInputStream decodes one block; files made by concatenating several exports
        // hold several, so split on the header lines and decode each block on its own.
        var text = Encoding.ASCII.GetString(data);
        var rings = new List<PgpPublicKeyRing>();
        var start = text.IndexOf(ArmorBegin, StringComparison.Ordinal);
        if (start < 0)
        {
            throw new InvalidDataException($"{source}: neither a binary keyring nor an ASCII-armored key block");
        }

        while (start >= 0)
        {
            if (string.CompareOrdinal(text, start, PublicKeyArmor, 0, PublicKeyArmor.Length) != 0)
            {
                var line = text[start..].Split('\n', 2)[0].TrimEnd('\r');
                throw new InvalidDataException($"{source}: '{line}' is not a public key block");
            }

            var next = text.IndexOf(ArmorBegin, start + ArmorBegin.Length, StringComparison.Ordinal);
            var block = Encoding.ASCII.GetBytes(next < 0 ? text[start..] : text[start..next]);
            using var armored = new ArmoredInputStream(new MemoryStream(block));
            rings.AddRange(new PgpPublicKeyRingBundle(armored).GetKeyRings());
            start = next;
        }

        return rings;
    }
}
