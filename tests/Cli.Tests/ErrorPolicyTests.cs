using System.Net;
using OstreeContainer.Errors;
using OstreeContainer.ImagePuller;
using OstreeContainer.Oci.Registry;
using OstreeContainer.Ostree.Signing;

namespace OstreeContainer.Cli.Tests;

/// <summary>
/// The one rule for "bad input or environment" (src/Errors/ErrorPolicy.cs), which both the CLI
/// and the puller apply; tested here because the CLI is where its answer shows.
/// </summary>
public class ErrorPolicyTests
{
    private static readonly Exception[] UserFacing =
    [
        new UserInputException("--jobs: expected 1..64"),
        new RegistryException(RegistryErrorKind.NotFound, "manifest unknown"),
        new SignatureVerificationException("commit …: no valid GPG signature"),
        new ImagePullException("pulling oci:x: …"),
        new InvalidDataException("dirtree …: bad"),
        new FileNotFoundException("missing"),
        new UnauthorizedAccessException("denied"),
        new HttpRequestException("connection refused", null, HttpStatusCode.BadGateway),
        new TimeoutException("stalled"),
        new KeyNotFoundException("ref 'x' not found"),
        new FormatException("image 'x': unknown transport"),
    ];

    private static readonly Exception[] Bugs =
    [
        new ArgumentNullException("value"),
        new ArgumentOutOfRangeException("index"),
        new ArgumentException("caller passed nonsense"),
        new InvalidOperationException("Sequence contains more than one element"),
        new NullReferenceException(),
        new IndexOutOfRangeException(),
    ];

    [Fact]
    public void IsUserFacing_InputOrEnvironment_True() =>
        Assert.All(UserFacing, e => Assert.True(ErrorPolicy.IsUserFacing(e), e.GetType().Name));

    [Fact]
    public void IsUserFacing_CallerBug_False() =>
        Assert.All(Bugs, e => Assert.False(ErrorPolicy.IsUserFacing(e), e.GetType().Name));

    [Fact]
    public void Excerpt_LongMultilineText_OneLineCutAtTheLimit()
    {
        var text = "line one\n" + new string('x', 1000);

        var excerpt = ErrorPolicy.Excerpt(text);

        Assert.Equal(ErrorPolicy.MaxExcerptLength + 1, excerpt.Length);
        Assert.StartsWith("line one x", excerpt, StringComparison.Ordinal);
        Assert.EndsWith("x…", excerpt, StringComparison.Ordinal);
        Assert.Equal("short", ErrorPolicy.Excerpt(" short\n"));
    }
}
