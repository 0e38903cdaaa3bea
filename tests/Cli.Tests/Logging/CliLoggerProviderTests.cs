using Microsoft.Extensions.Logging;
using OstreeContainer.Cli.Logging;

namespace OstreeContainer.Cli.Tests.Logging;

/// <summary>Library log entries become the CLI's stderr lines: steps as they are, warnings prefixed, -q keeps only warnings.</summary>
public class CliLoggerProviderTests
{
    [Theory]
    [InlineData(false, new[] { "step one", "ostree-container: warning: careful", "ostree-container: error: broken" })]
    [InlineData(true, new[] { "ostree-container: warning: careful", "ostree-container: error: broken" })]
    public void CreateFactory_EntriesAtEachLevel_AreTheCliLines(bool quiet, string[] expected)
    {
        var lines = new List<string>();
        using (var factory = CliLoggerProvider.CreateFactory(lines.Add, quiet))
        {
            var logger = factory.CreateLogger("OstreeContainer.Test");
            logger.LogDebug("not shown");
            logger.LogInformation("step {Number}", "one");
            logger.LogWarning(new InvalidDataException("not printed"), "careful");
            logger.LogError("broken");
        }

        Assert.Equal(expected, lines);
    }
}
