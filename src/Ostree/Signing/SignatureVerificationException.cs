using OstreeContainer.Errors;

namespace OstreeContainer.Ostree.Signing;

/// <summary>
/// A commit or summary failed signature verification. The message is one line naming the
/// object and the reason, e.g. <c>commit a8cbbee65f7b…: no valid GPG signature (1 signature
/// by unknown key 0x2A3623ABF766F96E)</c>. Malformed key material is reported as
/// <see cref="InvalidDataException"/> instead, because it is a configuration error, not a
/// verdict on the signed object.
/// </summary>
public sealed class SignatureVerificationException : OstreeContainerException
{
    /// <summary>Creates the exception with a one-line message and a machine-readable reason.</summary>
    public SignatureVerificationException(string message, SignatureFailure reason)
        : base(message)
    {
        Reason = reason;
    }

    /// <summary>Creates the exception with a one-line message (reason <see cref="SignatureFailure.BadSignature"/>).</summary>
    public SignatureVerificationException(string message)
        : this(message, SignatureFailure.BadSignature)
    {
    }

    /// <summary>Creates the exception wrapping another, e.g. to add the object's name as context.</summary>
    public SignatureVerificationException(string message, Exception innerException)
        : base(message, innerException)
    {
        Reason = innerException is SignatureVerificationException inner ? inner.Reason : SignatureFailure.BadSignature;
    }

    /// <summary>Creates the exception with no message (for serialisers and tests).</summary>
    public SignatureVerificationException()
        : this("signature verification failed")
    {
    }

    /// <summary>Why verification failed.</summary>
    public SignatureFailure Reason { get; }
}
