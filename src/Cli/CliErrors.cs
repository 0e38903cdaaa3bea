namespace OstreeContainer.Cli;

/// <summary>Turns expected failures (bad data, missing files, bad arguments) into one line for the user.</summary>
internal static class CliErrors
{
    /// <summary>Failures caused by input or environment, reported without a stack trace.</summary>
    public static bool IsUserFacing(Exception e) =>
        e is InvalidDataException or IOException or UnauthorizedAccessException or KeyNotFoundException or ArgumentException or NotSupportedException
            or Oci.Registry.RegistryException or FormatException;

    /// <summary>The message, on one line.</summary>
    public static string Describe(Exception e) => e.Message.ReplaceLineEndings(" ");
}
