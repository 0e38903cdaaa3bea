namespace OstreeContainer.Ostree.Signing;

/// <summary>
/// What verification found for an accepted commit or summary. A result is null when the
/// policy did not ask for that kind of signature (signatures of that kind are then not
/// looked at, as ostree does not look at them either).
/// </summary>
/// <param name="Gpg">The OpenPGP verdicts, with at least one valid signature; null if GPG was not required.</param>
/// <param name="Ed25519">The ed25519 verdict, valid; null if ed25519 was not required.</param>
public sealed record SignatureReport(GpgVerificationResult? Gpg, Ed25519VerificationResult? Ed25519);
