namespace OstreeContainer.Ostree.Signing;

/// <summary>
/// Why a signature check failed, for callers that react differently (a CLI exit code, a
/// hint to import a key). Mirrors the codes of ostree's <c>OstreeGpgError</c>.
/// </summary>
public enum SignatureFailure
{
    /// <summary>The object carries no signature of the required kind.</summary>
    NoSignature,

    /// <summary>Every signature was made by a key that is not trusted (not in the keyring).</summary>
    UnknownKey,

    /// <summary>A signature does not match the data: the data or the signature was modified.</summary>
    BadSignature,

    /// <summary>The signing key has expired.</summary>
    ExpiredKey,

    /// <summary>The signing key has been revoked.</summary>
    RevokedKey,

    /// <summary>The signature itself has expired.</summary>
    ExpiredSignature,

    /// <summary>A signature cannot be read, or uses an algorithm that is not accepted.</summary>
    Malformed,

    /// <summary>Verification is required but no trusted key is configured.</summary>
    NoTrustedKeys,
}
