using Microsoft.Extensions.Logging;
using OstreeContainer.Oci;
using OstreeContainer.Ostree.Objects;

namespace OstreeContainer.ImageBuilder;

/// <summary>
/// What building and pushing an image logs: <see cref="CommitImageBuilder"/>,
/// <see cref="LayoutPush"/> and <see cref="Derivation.BaseImage"/>. Event ids are stable
/// (200-299 for this component); the messages are the lines <c>ostree-container build</c>
/// and <c>push</c> print, one per step. Sizes are megabytes (10^6 bytes), as printed.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(200, LogLevel.Information, "commit {Commit}: {Paths} paths, {ContentMegabytes:F1} MB in {Chunks} chunks, {StaticDeltas} static deltas", EventName = "CommitPlanned")]
    public static partial void CommitPlanned(ILogger logger, Checksum commit, int paths, double contentMegabytes, int chunks, int staticDeltas);

    [LoggerMessage(
        201,
        LogLevel.Information,
        "de-duplicated against base {Base}: {Files} files ({Megabytes:F1} MB, {Bytes} bytes) and {Directories} directories not stored again; {Stored} paths stored, {Whiteouts} whiteouts",
        EventName = "Deduplicated")]
    public static partial void Deduplicated(ILogger logger, ImageReference @base, int files, double megabytes, long bytes, int directories, int stored, int whiteouts);

    [LoggerMessage(202, LogLevel.Information, "{Layer}: {Megabytes:F1} MB ({Entries} entries) {Digest}", EventName = "LayerWritten")]
    public static partial void LayerWritten(ILogger logger, string layer, double megabytes, int entries, Digest digest);

    [LoggerMessage(203, LogLevel.Information, "manifest {Digest}: {Layers} layers, {Megabytes:F1} MB", EventName = "ManifestWritten")]
    public static partial void ManifestWritten(ILogger logger, Digest digest, int layers, double megabytes);

    [LoggerMessage(204, LogLevel.Information, "manifest {Digest}: {Layers} layers, {Megabytes:F1} MB on {BaseLayers} base layers", EventName = "DerivedManifestWritten")]
    public static partial void DerivedManifestWritten(ILogger logger, Digest digest, int layers, double megabytes, int baseLayers);

    // A warning, not an error: the image is still useful (a shell, pulls from it), only its
    // entrypoint will not start. The CLI shows warnings even with --quiet.
    [LoggerMessage(
        205,
        LogLevel.Warning,
        "commit {Commit} has no {Loader}, the loader the image's webserver needs: its ENTRYPOINT /" + ImagePaths.Webserver + " will not start "
        + "(a shell and pulls from the image still work; serve the repo with 'ostree-container serve', or commit an OS with glibc)",
        EventName = "LoaderMissing")]
    public static partial void LoaderMissing(ILogger logger, Checksum commit, string loader);

    [LoggerMessage(206, LogLevel.Information, "static delta {From} -> {To}: carried from the repo, {Megabytes:F2} MB", EventName = "DeltaCarried")]
    public static partial void DeltaCarried(ILogger logger, string from, Checksum to, double megabytes);

    [LoggerMessage(207, LogLevel.Information, "static delta {From} -> {To}: generated, {Parts} parts, {Megabytes:F2} MB in {Seconds:F2} s", EventName = "DeltaGenerated")]
    public static partial void DeltaGenerated(ILogger logger, string from, Checksum to, int parts, double megabytes, double seconds);

    [LoggerMessage(208, LogLevel.Information, "no static delta from the parent: {Reason}", EventName = "NoParentDelta")]
    public static partial void NoParentDelta(ILogger logger, string reason);

    [LoggerMessage(210, LogLevel.Information, "pushed {Digest} ({Megabytes:F1} MB)", EventName = "BlobPushed")]
    public static partial void BlobPushed(ILogger logger, Digest digest, double megabytes);

    [LoggerMessage(220, LogLevel.Information, "base {Base} ({Manifest}): {Layers} layers, {Paths} paths", EventName = "BaseFilesystemRead")]
    public static partial void BaseFilesystemRead(ILogger logger, ImageReference @base, Digest manifest, int layers, int paths);

    [LoggerMessage(221, LogLevel.Information, "base {Base} ({Manifest}): {Layers} layers, {Paths} paths from the object map of ostree commit {Commit}", EventName = "BaseObjectMapRead")]
    public static partial void BaseObjectMapRead(ILogger logger, ImageReference @base, Digest manifest, int layers, int paths, string commit);
}
