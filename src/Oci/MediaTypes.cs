namespace OstreeContainer.Oci;

/// <summary>
/// Media types from the OCI image spec (media-types.md) and the Docker Image Manifest V2
/// Schema 2 that readers accept and writers produce.
/// </summary>
public static class MediaTypes
{
    /// <summary>OCI image manifest.</summary>
    public const string OciManifest = "application/vnd.oci.image.manifest.v1+json";

    /// <summary>OCI image index.</summary>
    public const string OciIndex = "application/vnd.oci.image.index.v1+json";

    /// <summary>OCI image config.</summary>
    public const string OciConfig = "application/vnd.oci.image.config.v1+json";

    /// <summary>OCI layer, uncompressed tar.</summary>
    public const string OciLayerTar = "application/vnd.oci.image.layer.v1.tar";

    /// <summary>OCI layer, gzip-compressed tar.</summary>
    public const string OciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";

    /// <summary>OCI layer, zstd-compressed tar.</summary>
    public const string OciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";

    /// <summary>Docker v2 schema 2 manifest.</summary>
    public const string DockerManifest = "application/vnd.docker.distribution.manifest.v2+json";

    /// <summary>Docker manifest list (the v2s2 index).</summary>
    public const string DockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";

    /// <summary>Docker image config.</summary>
    public const string DockerConfig = "application/vnd.docker.container.image.v1+json";

    /// <summary>Docker layer, gzip-compressed tar.</summary>
    public const string DockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";

    /// <summary>Docker foreign layer: fetched from the descriptor's <c>urls</c>, never pushed.</summary>
    public const string DockerForeignLayerGzip = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";

    /// <summary>Prefix of the OCI non-distributable layer types (deprecated in image-spec 1.1, still met).</summary>
    public const string OciNonDistributableLayerPrefix = "application/vnd.oci.image.layer.nondistributable.";

    /// <summary>True for a single-image manifest type (OCI or Docker).</summary>
    public static bool IsManifest(string? mediaType) => mediaType is OciManifest or DockerManifest;

    /// <summary>True for a multi-platform index type (OCI or Docker).</summary>
    public static bool IsIndex(string? mediaType) => mediaType is OciIndex or DockerManifestList;

    /// <summary>True for a layer type whose compression this library can read.</summary>
    public static bool IsLayer(string? mediaType) =>
        mediaType is OciLayerTar or OciLayerGzip or OciLayerZstd or DockerLayerGzip;

    /// <summary>True for a layer type that may not be redistributed (OCI non-distributable, Docker foreign).</summary>
    public static bool IsNonDistributableLayer(string? mediaType) =>
        mediaType is DockerForeignLayerGzip || (mediaType?.StartsWith(OciNonDistributableLayerPrefix, StringComparison.Ordinal) ?? false);
}
