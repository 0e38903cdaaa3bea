using OstreeContainer.Errors;

namespace OstreeContainer.ImagePuller;

/// <summary>
/// A pull or inspection failed: bad image data, a rejected signature, an unreachable
/// registry or an unusable target repository. The message is one line that names the
/// image and stacks the intentions that failed ("pulling X: layer Y: file Z: ...").
/// </summary>
public sealed class ImagePullException : OstreeContainerException
{
    /// <summary>A failure with <paramref name="message"/>.</summary>
    public ImagePullException(string message)
        : base(message)
    {
    }

    /// <summary>A failure with <paramref name="message"/> caused by <paramref name="innerException"/>.</summary>
    public ImagePullException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>A failure without details.</summary>
    public ImagePullException()
    {
    }
}
