namespace OstreeContainer.ImageFormat;

/// <summary>
/// Where things live inside an ostree-container image's layers (tar paths: relative, no
/// leading slash; the running container sees them under <c>/</c>).
/// </summary>
public static class ImagePaths
{
    /// <summary>The directory holding the image's own files.</summary>
    public const string OstreeDirectory = "ostree";

    /// <summary>The image's archive-mode repository.</summary>
    public const string RepoDirectory = OstreeDirectory + "/repo";

    /// <summary><see cref="RepoDirectory"/> as a path prefix.</summary>
    public const string RepoPrefix = RepoDirectory + "/";

    /// <summary>Where objects live: <c>objects/XX/REST.EXT</c>, as in any archive repo.</summary>
    public const string ObjectsPrefix = RepoPrefix + "objects/";

    /// <summary>The object map (an SQLite database, see src/ObjectMap), in the meta layer.</summary>
    public const string ObjectMap = OstreeDirectory + "/object-map";

    /// <summary>The native webserver, the image's entrypoint, in the meta layer.</summary>
    public const string Webserver = OstreeDirectory + "/repo-webserver";

    /// <summary>The directory where the shared libraries the webserver loads beside itself are written.</summary>
    public const string WebserverLibraryDirectory = OstreeDirectory;
}
