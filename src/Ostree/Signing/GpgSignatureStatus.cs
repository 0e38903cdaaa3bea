namespace OstreeContainer.Ostree.Signing;

/// <summary>The verdict on one OpenPGP signature.</summary>
public enum GpgSignatureStatus
{
    /// <summary>Made by a trusted key over exactly this data; the key is neither expired nor revoked.</summary>
    Valid,

    /// <summary>Made by a trusted key but does not match the data (data or signature modified).</summary>
    BadSignature,

    /// <summary>The signing key is not in the keyring, so the signature cannot be checked.</summary>
    UnknownKey,

    /// <summary>Matches the data, but the signing key (or its primary key) has expired.</summary>
    ExpiredKey,

    /// <summary>Matches the data, but the signing key (or its primary key) has been revoked.</summary>
    RevokedKey,

    /// <summary>Matches the data, but the signature's own expiration time has passed.</summary>
    ExpiredSignature,

    /// <summary>Not a readable OpenPGP document signature, or uses an algorithm that is not accepted.</summary>
    Malformed,
}
