using OstreeContainer.Ostree.Objects;

namespace OstreeContainer.Ostree.Signing;

/// <summary>
/// Which signatures a commit or summary must carry, as a remote's configuration says:
/// a non-null <see cref="GpgKeyring"/> means <c>gpg-verify=true</c> (a valid OpenPGP
/// signature by one of its keys is required); non-null <see cref="Ed25519Keys"/> means
/// <c>sign-verify=true</c> with those keys. When both are set both are required, as in
/// ostree's pull. An empty keyring or key list is allowed and rejects everything.
/// </summary>
/// <param name="GpgKeyring">Keys a GPG signature must come from, or null to not require GPG.</param>
/// <param name="Ed25519Keys">Keys an ed25519 signature must verify with, or null to not require ed25519.</param>
public sealed record SignaturePolicy(GpgKeyring? GpgKeyring = null, IReadOnlyCollection<Ed25519PublicKey>? Ed25519Keys = null)
{
    /// <summary>Requires nothing: every commit is accepted unsigned.</summary>
    public static SignaturePolicy None { get; } = new();

    /// <summary>Whether a valid GPG signature is required.</summary>
    public bool RequiresGpg => GpgKeyring is not null;

    /// <summary>Whether a valid ed25519 signature is required.</summary>
    public bool RequiresEd25519 => Ed25519Keys is not null;

    /// <summary>Checks what the policy requires and throws on the first requirement not met.</summary>
    internal SignatureReport Enforce(string subject, ReadOnlySpan<byte> signedData, VariantDictionary? signatures, TimeProvider? timeProvider)
    {
        try
        {
            GpgVerificationResult? gpg = null;
            if (GpgKeyring is not null)
            {
                gpg = new GpgVerifier(GpgKeyring, timeProvider).Verify(signedData, signatures);
                gpg.RequireValidSignature(subject);
            }

            Ed25519VerificationResult? ed25519 = null;
            if (Ed25519Keys is not null)
            {
                ed25519 = Ed25519Signatures.Verify(signedData, signatures, Ed25519Keys);
                ed25519.RequireValidSignature(subject);
            }

            return new SignatureReport(gpg, ed25519);
        }
        catch (InvalidDataException e)
        {
            throw e.WithContext(subject);
        }
    }
}
