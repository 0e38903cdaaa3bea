namespace OstreeContainer.Oci.Layers;

/// <summary>How a layer's tar is compressed; each maps to one OCI layer media type.</summary>
public enum LayerCompression
{
    /// <summary>Raw tar, <see cref="MediaTypes.OciLayerTar"/>.</summary>
    None,

    /// <summary>gzip, <see cref="MediaTypes.OciLayerGzip"/>.</summary>
    Gzip,

    /// <summary>zstd, <see cref="MediaTypes.OciLayerZstd"/>.</summary>
    Zstd,
}

/// <summary>
/// Ownership, permissions and extended attributes of one layer entry.
/// </summary>
/// <param name="Mode">Permission bits plus setuid, setgid and sticky (<c>07777</c>); the file type comes from the <c>Add*</c> method.</param>
/// <param name="Uid">Owner user id.</param>
/// <param name="Gid">Owner group id.</param>
/// <param name="Xattrs">Extended attributes (name, binary value); written sorted by name.</param>
public sealed record TarEntryMetadata(int Mode, int Uid, int Gid, IReadOnlyList<KeyValuePair<string, byte[]>>? Xattrs = null);

/// <summary>What <see cref="LayerWriter.Complete"/> produced: the layer's descriptor facts and its diff ID.</summary>
/// <param name="MediaType">The OCI layer media type for the compression used.</param>
/// <param name="Digest">sha256 of the bytes written to the destination (the blob).</param>
/// <param name="Size">Bytes written to the destination.</param>
/// <param name="DiffId">sha256 of the uncompressed tar (the config's <c>rootfs.diff_ids</c> entry).</param>
/// <param name="UncompressedSize">Length of the uncompressed tar.</param>
/// <param name="Entries">Entries the caller added (PAX extended headers not counted).</param>
public sealed record LayerResult(string MediaType, Digest Digest, long Size, Digest DiffId, long UncompressedSize, int Entries);
