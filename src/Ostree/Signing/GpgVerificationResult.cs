namespace OstreeContainer.Ostree.Signing;

/// <summary>
/// The outcome of checking every OpenPGP signature of one commit or summary. The data is
/// accepted when at least one signature is <see cref="GpgSignatureStatus.Valid"/>, as
/// ostree accepts it (<c>ostree_gpg_verify_result_count_valid</c> &gt; 0).
/// </summary>
public sealed class GpgVerificationResult
{
    internal GpgVerificationResult(IReadOnlyList<GpgSignature> signatures)
    {
        Signatures = signatures;
    }

    /// <summary>Every signature found, in the order they are stored.</summary>
    public IReadOnlyList<GpgSignature> Signatures { get; }

    /// <summary>How many signatures are valid.</summary>
    public int ValidCount => Signatures.Count(s => s.IsValid);

    /// <summary>Whether at least one signature is valid.</summary>
    public bool IsValid => ValidCount > 0;

    /// <summary>
    /// Returns the first valid signature, or throws explaining why none is valid.
    /// </summary>
    /// <param name="subject">Names the signed object at the start of the message, e.g. <c>commit a8cbbee65f7b…</c>.</param>
    /// <exception cref="SignatureVerificationException">No signature is valid.</exception>
    public GpgSignature RequireValidSignature(string subject)
    {
        ArgumentNullException.ThrowIfNull(subject);
        foreach (var signature in Signatures)
        {
            if (signature.IsValid)
            {
                return signature;
            }
        }

        throw new SignatureVerificationException($"{subject}: {DescribeFailure()}", FailureReason());
    }

    private string DescribeFailure()
    {
        if (Signatures.Count == 0)
        {
            // ostree's wording, so users searching for the message find the same advice.
            return "GPG verification enabled, but no signatures found";
        }

        if (Signatures is [{ Status: GpgSignatureStatus.BadSignature } bad])
        {
            return $"GPG signature by key {bad.KeyLabel} is BAD ({bad.Detail})";
        }

        return Signatures.Count == 1
            ? $"no valid GPG signature (1 signature {Signatures[0].Describe()})"
            : $"no valid GPG signature ({Signatures.Count} signatures: {string.Join("; ", Signatures.Select(s => s.Describe()))})";
    }

    // Like ostree, one code for the whole result: the last signature's, assuming the most
    // recently added signature is the one most likely meant to verify.
    private SignatureFailure FailureReason() => Signatures.Count == 0
        ? SignatureFailure.NoSignature
        : Signatures[^1].Status switch
        {
            GpgSignatureStatus.UnknownKey => SignatureFailure.UnknownKey,
            GpgSignatureStatus.ExpiredKey => SignatureFailure.ExpiredKey,
            GpgSignatureStatus.RevokedKey => SignatureFailure.RevokedKey,
            GpgSignatureStatus.ExpiredSignature => SignatureFailure.ExpiredSignature,
            GpgSignatureStatus.Malformed => SignatureFailure.Malformed,
            _ => SignatureFailure.BadSignature,
        };
}
