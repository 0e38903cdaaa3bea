using OstreeContainer.Oci.Images;

namespace OstreeContainer.Oci.Sources;

/// <summary>
/// An image manifest as read from a source: its exact bytes, the digest over those bytes
/// (never over a re-serialisation), and the parsed, checked form.
/// </summary>
/// <param name="Bytes">The manifest's raw bytes, verified against <paramref name="Digest"/>.</param>
/// <param name="Digest">The manifest's digest (of the platform manifest, not of an index above it).</param>
/// <param name="Manifest">The parsed manifest; its layers passed <see cref="ImageChecks.ParseManifest"/>.</param>
public sealed record SourceManifest(byte[] Bytes, Digest Digest, ImageManifest Manifest);
