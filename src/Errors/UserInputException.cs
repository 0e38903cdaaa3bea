namespace OstreeContainer.Errors;

/// <summary>
/// The user asked for something that cannot be done as asked: an option out of range, a
/// malformed name, a path with <c>..</c>, a missing choice ("the image has no ostree.ref
/// label; name the ref with --ref"). The message says what to change.
/// </summary>
/// <remarks>
/// A caller's bug (a null, a value the API documents as invalid) is still an
/// <see cref="ArgumentException"/>: it is reported as an internal error with its stack trace.
/// </remarks>
public sealed class UserInputException : OstreeContainerException
{
    /// <summary>A rejected input, described by <paramref name="message"/>.</summary>
    public UserInputException(string message)
        : base(message)
    {
    }

    /// <summary>A rejected input, described by <paramref name="message"/>, found by <paramref name="innerException"/>.</summary>
    public UserInputException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>A rejected input without details.</summary>
    public UserInputException()
    {
    }
}
