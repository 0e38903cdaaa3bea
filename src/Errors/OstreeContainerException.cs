namespace OstreeContainer.Errors;

/// <summary>
/// The base of the domain exceptions: a failure caused by input or environment (a bad
/// argument, a rejected signature, a registry that refused), never a bug. The message is one
/// line the user can act on; layers add context by wrapping ("pulling X: layer Y: …").
/// </summary>
/// <remarks>
/// Whether any exception is such a failure is decided once, by <see cref="ErrorPolicy.IsUserFacing"/>.
/// </remarks>
public class OstreeContainerException : Exception
{
    /// <summary>A failure with <paramref name="message"/>.</summary>
    public OstreeContainerException(string message)
        : base(message)
    {
    }

    /// <summary>A failure with <paramref name="message"/> caused by <paramref name="innerException"/>.</summary>
    public OstreeContainerException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>A failure without details.</summary>
    public OstreeContainerException()
    {
    }
}
