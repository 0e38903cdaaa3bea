using OstreeContainer.Ostree.Objects;

namespace OstreeContainer.Ostree.Signing;

/// <summary>
/// Verifies a repository summary's signatures, kept beside it in <c>summary.sig</c>
/// (an <c>a{sv}</c> with the same keys as detached commit metadata, ostree-format.md §7),
/// against a <see cref="SignaturePolicy"/> (<c>gpg-verify-summary</c>, <c>sign-verify-summary</c>).
/// </summary>
public static class SummarySignatures
{
    /// <summary>Checks that <paramref name="summary"/> carries the signatures <paramref name="policy"/> requires.</summary>
    /// <param name="summary">The exact <c>summary</c> file bytes, which is what was signed.</param>
    /// <param name="summarySignatures">The parsed <c>summary.sig</c>, or null when the server has none.</param>
    /// <param name="timeProvider">The clock GPG key expiry is judged against; the system clock by default.</param>
    /// <exception cref="InvalidDataException">A signature entry has the wrong type.</exception>
    /// <exception cref="SignatureVerificationException">A required signature is missing or not valid.</exception>
    public static SignatureReport Verify(ReadOnlySpan<byte> summary, VariantDictionary? summarySignatures, SignaturePolicy policy, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return policy.Enforce("summary", summary, summarySignatures, timeProvider);
    }
}
