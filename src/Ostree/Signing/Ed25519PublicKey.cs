using Org.BouncyCastle.Crypto.Parameters;

namespace OstreeContainer.Ostree.Signing;

/// <summary>
/// A trusted ed25519 public key in ostree's format: 32 bytes, written as standard base64
/// (<c>verification-ed25519-key=</c>, or one per line in <c>verification-ed25519-file=</c>
/// and <c>/etc/ostree/trusted.ed25519</c>).
/// </summary>
public sealed class Ed25519PublicKey : IEquatable<Ed25519PublicKey>
{
    /// <summary>Bytes in a public key (libsodium <c>crypto_sign_PUBLICKEYBYTES</c>).</summary>
    public const int Length = 32;

    /// <summary>Largest key file read into memory.</summary>
    public const long MaxFileSize = 1024 * 1024;

    private readonly byte[] _bytes;

    private Ed25519PublicKey(byte[] bytes, Ed25519PublicKeyParameters parameters)
    {
        _bytes = bytes;
        Parameters = parameters;
    }

    /// <summary>The raw 32 bytes.</summary>
    public ReadOnlySpan<byte> Bytes => _bytes;

    internal Ed25519PublicKeyParameters Parameters { get; }

    /// <summary>Creates a key from its 32 raw bytes.</summary>
    /// <exception cref="InvalidDataException">Not 32 bytes, or not a point on the curve.</exception>
    public static Ed25519PublicKey FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Length)
        {
            SigningThrowHelper.ThrowInvalidKey("ed25519 public key", $"{bytes.Length} bytes, expected {Length}");
        }

        Ed25519PublicKeyParameters parameters;
        try
        {
            parameters = new Ed25519PublicKeyParameters(bytes);
        }
        catch (ArgumentException e)
        {
            // libsodium would fail every verification with such a key; say so up front.
            throw new InvalidDataException("ed25519 public key: not a valid curve point", e);
        }

        return new Ed25519PublicKey(bytes.ToArray(), parameters);
    }

    /// <summary>Parses the base64 form (surrounding whitespace ignored).</summary>
    /// <exception cref="InvalidDataException">Not base64, or not a valid 32-byte key.</exception>
    public static Ed25519PublicKey Parse(string base64)
    {
        ArgumentNullException.ThrowIfNull(base64);
        return FromBytes(SigningThrowHelper.DecodeBase64(base64, "ed25519 public key"));
    }

    /// <summary>
    /// Parses a key list: one base64 key per line, blank lines ignored, as in a
    /// <c>verification-ed25519-file</c>.
    /// </summary>
    /// <remarks>
    /// ostree 2022.7 skips lines it cannot decode and fails only when no key loads; a typo
    /// would then silently drop a trusted key, so every line must be a valid key here.
    /// </remarks>
    /// <param name="source">Names the text in error messages, e.g. the file path.</param>
    /// <exception cref="InvalidDataException">A line is not a valid key, or there is no key at all.</exception>
    public static IReadOnlyList<Ed25519PublicKey> ParseList(string text, string source = "ed25519 key list")
    {
        ArgumentNullException.ThrowIfNull(text);
        var keys = new List<Ed25519PublicKey>();
        var lineNumber = 0;
        foreach (var line in text.Split('\n'))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            try
            {
                var key = Parse(line);
                if (!keys.Contains(key))
                {
                    keys.Add(key);
                }
            }
            catch (InvalidDataException e)
            {
                throw e.WithContext($"{source}:{lineNumber}");
            }
        }

        if (keys.Count == 0)
        {
            throw new InvalidDataException($"{source}: no ed25519 public keys");
        }

        return keys;
    }

    /// <summary>Loads a key file (<c>verification-ed25519-file</c>): see <see cref="ParseList"/>.</summary>
    /// <exception cref="InvalidDataException">A line is not a valid key, there is no key, or the file is too large.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static IReadOnlyList<Ed25519PublicKey> LoadFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var size = new FileInfo(path).Length;
        if (size > MaxFileSize)
        {
            throw new InvalidDataException($"{path}: {size} bytes, more than the {MaxFileSize} accepted for a key file");
        }

        return ParseList(File.ReadAllText(path), path);
    }

    /// <summary>The base64 form ostree reads.</summary>
    public string ToBase64() => Convert.ToBase64String(_bytes);

    /// <inheritdoc/>
    public override string ToString() => ToBase64();

    /// <inheritdoc/>
    public bool Equals(Ed25519PublicKey? other) => other is not null && _bytes.AsSpan().SequenceEqual(other._bytes);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as Ed25519PublicKey);

    /// <inheritdoc/>
    public override int GetHashCode() => BitConverter.ToInt32(_bytes);
}
