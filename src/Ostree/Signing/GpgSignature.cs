using System.Globalization;

namespace OstreeContainer.Ostree.Signing;

/// <summary>
/// What was found out about one OpenPGP signature of a commit or summary.
/// </summary>
/// <param name="Index">Position of the signature's element in the <c>ostree.gpgsigs</c> list.</param>
/// <param name="Status">The verdict.</param>
/// <param name="KeyId">The signing key's 64-bit key id as 16 uppercase hex digits, or empty when the signature could not be read.</param>
/// <param name="Fingerprint">The signing key's fingerprint (uppercase hex) when the key is in the keyring or the signature names it.</param>
/// <param name="PrimaryKeyFingerprint">The fingerprint of the certificate's primary key, when the key is in the keyring.</param>
/// <param name="UserId">The certificate's first user id, when the key is in the keyring.</param>
/// <param name="Created">When the signature was made (as the signer's clock said).</param>
/// <param name="KeyExpires">When the signing key expires or expired, if it has an expiry.</param>
/// <param name="HashAlgorithm">The digest the signature uses, e.g. <c>SHA256</c>.</param>
/// <param name="Detail">Why a signature is not valid, in words; null when valid.</param>
public sealed record GpgSignature(
    int Index,
    GpgSignatureStatus Status,
    string KeyId,
    string? Fingerprint,
    string? PrimaryKeyFingerprint,
    string? UserId,
    DateTimeOffset? Created,
    DateTimeOffset? KeyExpires,
    string? HashAlgorithm,
    string? Detail)
{
    /// <summary>Whether this signature alone is enough to accept the signed data.</summary>
    public bool IsValid => Status == GpgSignatureStatus.Valid;

    /// <summary>The key as people write it: <c>0x</c> followed by the 16-digit key id.</summary>
    public string KeyLabel => KeyId.Length == 0 ? "(unreadable)" : "0x" + KeyId;

    /// <summary>
    /// A phrase for error messages that follows "signature", e.g. <c>by unknown key 0x2A36…</c>.
    /// </summary>
    public string Describe() => Status switch
    {
        GpgSignatureStatus.Valid => $"by key {KeyLabel}, good",
        GpgSignatureStatus.BadSignature => $"by key {KeyLabel}, BAD ({Detail})",
        GpgSignatureStatus.UnknownKey => Detail is null ? $"by unknown key {KeyLabel}" : $"by unknown key {KeyLabel} ({Detail})",
        GpgSignatureStatus.ExpiredKey => $"by key {KeyLabel}, which expired on {FormatTime(KeyExpires)}",
        GpgSignatureStatus.RevokedKey => $"by key {KeyLabel}, which has been revoked",
        GpgSignatureStatus.ExpiredSignature => $"by key {KeyLabel}, expired ({Detail})",
        _ => $"that cannot be used ({Detail})",
    };

    /// <inheritdoc/>
    public override string ToString() => $"signature #{Index} {Describe()}";

    internal static string FormatTime(DateTimeOffset? time) =>
        time?.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture) ?? "an unknown date";
}
