using OstreeContainer.Ostree.Objects;

namespace OstreeContainer.Ostree.Signing;

/// <summary>
/// Verifies a commit's signatures (kept in its detached metadata, <c>.commitmeta</c>)
/// against a <see cref="SignaturePolicy"/>: the single call a puller or CLI makes before
/// trusting a commit.
/// </summary>
public static class CommitSignatures
{
    /// <summary>
    /// Checks that <paramref name="commitBytes"/> are the commit named
    /// <paramref name="commit"/> and carry the signatures <paramref name="policy"/> requires.
    /// </summary>
    /// <param name="commit">The commit checksum, named in messages.</param>
    /// <param name="commitBytes">The exact <c>.commit</c> file bytes, which is what was signed.</param>
    /// <param name="detachedMetadata">The parsed <c>.commitmeta</c>, or null when the commit has none.</param>
    /// <param name="timeProvider">The clock GPG key expiry is judged against; the system clock by default.</param>
    /// <returns>What was verified; empty results for kinds the policy does not require.</returns>
    /// <exception cref="InvalidDataException">The bytes do not hash to <paramref name="commit"/>, or a signature entry has the wrong type.</exception>
    /// <exception cref="SignatureVerificationException">A required signature is missing or not valid.</exception>
    public static SignatureReport Verify(Checksum commit, ReadOnlySpan<byte> commitBytes, VariantDictionary? detachedMetadata, SignaturePolicy policy, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(policy);

        // Messages name the commit, so make sure the bytes are that commit; otherwise a good
        // signature over other bytes would be reported as a good signature of this commit.
        var actual = Checksum.Compute(commitBytes);
        if (actual != commit)
        {
            throw new InvalidDataException($"commit {commit.ToShortString()}: the bytes given hash to {actual}, not to the commit's checksum");
        }

        return policy.Enforce($"commit {commit.ToShortString()}", commitBytes, detachedMetadata, timeProvider);
    }
}
