using Microsoft.Extensions.Logging;

namespace OstreeContainer.Oci.Registry;

/// <summary>
/// What <see cref="RegistryClient"/> logs. Event ids are stable (100-199 for this
/// component). Messages never hold credentials or URL queries.
/// </summary>
internal static partial class Log
{
    // Information, not Warning: the retry usually succeeds; when it does not, the operation
    // fails with the last error, which is what the caller reports.
    [LoggerMessage(100, LogLevel.Information, "{Reason}; retry {Retry} of {MaxRetries} in {DelaySeconds:0.##} s", EventName = "Retrying")]
    public static partial void Retrying(ILogger logger, string reason, int retry, int maxRetries, double delaySeconds, Exception exception);

    [LoggerMessage(101, LogLevel.Information, "{Host}: using plain HTTP (HTTPS failed and TLS verification is off)", EventName = "PlainHttp")]
    public static partial void PlainHttp(ILogger logger, string host);
}
