namespace OstreeContainer.Oci.Registry;

/// <summary>
/// A manifest or index as the registry sent it. <see cref="Bytes"/> are the exact bytes
/// received, and <see cref="Digest"/> is computed over them, never over a re-serialisation.
/// </summary>
public sealed record ReceivedManifest(byte[] Bytes, string MediaType, Digest Digest);
