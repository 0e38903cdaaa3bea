using OstreeContainer.ImageFormat;

namespace OstreeContainer.ImagePuller;

/// <summary>The stage a pull is in, as progress reports name it.</summary>
public enum PullStage
{
    /// <summary>Reading the manifest and config.</summary>
    Manifest,

    /// <summary>The path chosen (delta or repo layers) and why, or a fall back from a delta that failed.</summary>
    Plan,

    /// <summary>Downloading a layer blob (bytes done/total of the compressed blob).</summary>
    Fetch,

    /// <summary>A layer is not downloaded: a tree or delta layer, or one imported by an earlier pull.</summary>
    Skip,

    /// <summary>Checking the commit's signature.</summary>
    Verify,

    /// <summary>Importing the objects of a layer, or applying a delta layer (bytes done of the compressed blob).</summary>
    Import,

    /// <summary>Renaming objects into place and moving the ref.</summary>
    Commit,

    /// <summary>Finished.</summary>
    Done,
}

/// <summary>
/// One progress report. <see cref="Layer"/> is the layer digest for per-layer stages;
/// <see cref="Done"/>/<see cref="Total"/> are bytes for <see cref="PullStage.Fetch"/> and
/// <see cref="PullStage.Import"/>. <see cref="Message"/> is a human line for stage changes.
/// </summary>
public sealed record PullProgress(PullStage Stage, string? Layer, LayerKind? Kind, long Done, long Total, string? Message = null);
