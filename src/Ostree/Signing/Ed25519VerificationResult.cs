namespace OstreeContainer.Ostree.Signing;

/// <summary>
/// The outcome of checking the ed25519 signatures of one commit or summary against a set
/// of trusted keys. Unlike OpenPGP signatures, an ed25519 signature does not name its key,
/// so a signature by an untrusted key and a modified signature look the same: neither
/// verifies with any trusted key.
/// </summary>
public sealed class Ed25519VerificationResult
{
    internal Ed25519VerificationResult(int signatureCount, IReadOnlyList<string> malformed, int trustedKeyCount, Ed25519PublicKey? validKey, int validIndex)
    {
        SignatureCount = signatureCount;
        Malformed = malformed;
        TrustedKeyCount = trustedKeyCount;
        ValidKey = validKey;
        ValidIndex = validIndex;
    }

    /// <summary>How many signatures the metadata holds.</summary>
    public int SignatureCount { get; }

    /// <summary>Why each unusable signature is unusable (e.g. wrong length), with its index.</summary>
    public IReadOnlyList<string> Malformed { get; }

    /// <summary>How many trusted keys were tried.</summary>
    public int TrustedKeyCount { get; }

    /// <summary>The trusted key that verified a signature, or null.</summary>
    public Ed25519PublicKey? ValidKey { get; }

    /// <summary>Index of the verified signature in the list, or -1.</summary>
    public int ValidIndex { get; }

    /// <summary>Whether some signature verifies with some trusted key.</summary>
    public bool IsValid => ValidKey is not null;

    /// <summary>Returns the key that verified, or throws explaining why none did.</summary>
    /// <param name="subject">Names the signed object at the start of the message, e.g. <c>commit a8cbbee65f7b…</c>.</param>
    /// <exception cref="SignatureVerificationException">No signature verifies.</exception>
    public Ed25519PublicKey RequireValidSignature(string subject)
    {
        ArgumentNullException.ThrowIfNull(subject);
        if (ValidKey is not null)
        {
            return ValidKey;
        }

        if (TrustedKeyCount == 0)
        {
            throw new SignatureVerificationException($"{subject}: ed25519 verification enabled, but no trusted keys are configured", SignatureFailure.NoTrustedKeys);
        }

        if (SignatureCount == 0)
        {
            throw new SignatureVerificationException($"{subject}: ed25519 verification enabled, but no signatures found", SignatureFailure.NoSignature);
        }

        var signatures = SignatureCount == 1 ? "1 signature" : $"{SignatureCount} signatures";
        var keys = TrustedKeyCount == 1 ? "the trusted key" : $"any of {TrustedKeyCount} trusted keys";
        var malformed = Malformed.Count == 0 ? "" : $"; {string.Join("; ", Malformed)}";
        var reason = Malformed.Count == SignatureCount ? SignatureFailure.Malformed : SignatureFailure.BadSignature;
        throw new SignatureVerificationException($"{subject}: no valid ed25519 signature ({signatures}, none verifies with {keys}{malformed})", reason);
    }
}
