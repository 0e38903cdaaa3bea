using OstreeContainer.Errors;

namespace OstreeContainer.Sysroot;

/// <summary>A sysroot operation that cannot proceed; the message is one line naming what is wrong.</summary>
public sealed class SysrootException : OstreeContainerException
{
    /// <summary>An error with <paramref name="message"/>.</summary>
    public SysrootException(string message)
        : base(message)
    {
    }

    /// <summary>An error with <paramref name="message"/>, caused by <paramref name="innerException"/>.</summary>
    public SysrootException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>An error without a message.</summary>
    public SysrootException()
    {
    }
}
