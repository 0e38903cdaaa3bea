using System.Text.Json;
using OstreeContainer.Oci.Images;
using OstreeContainer.Oci.Sources;

namespace OstreeContainer.Oci.Layout;

/// <summary>A manifest found in a layout: its descriptor and the exact bytes its digest covers.</summary>
/// <param name="Descriptor">The manifest's descriptor (from index.json or a nested index).</param>
/// <param name="Bytes">The manifest's raw, verified bytes.</param>
public sealed record ResolvedManifest(Descriptor Descriptor, byte[] Bytes);

/// <summary>
/// An OCI image layout directory (image-spec image-layout.md): <c>oci-layout</c>,
/// <c>index.json</c> and content-addressed <c>blobs/sha256/&lt;hex&gt;</c>. Blobs are
/// staged under <c>blobs/.tmp-*</c>, hashed while written, fsynced and renamed into
/// place, so a content address only ever holds its content; <c>index.json</c> is
/// replaced atomically and last, so a reader never sees a manifest whose blobs are missing.
/// </summary>
public sealed class ImageLayout
{
    /// <summary>The annotation naming a manifest in index.json (image-spec annotations.md).</summary>
    public const string RefNameAnnotation = "org.opencontainers.image.ref.name";

    /// <summary>The layout version this library writes and reads.</summary>
    public const string LayoutVersion = "1.0.0";

    private const string LayoutFileName = "oci-layout";
    private const string IndexFileName = "index.json";
    private const string BlobsDirectoryName = "blobs";
    internal const string TempPrefix = ".tmp-";

    // The oci-layout file, byte for byte what other tools write.
    private static ReadOnlySpan<byte> LayoutFileContent => "{\"imageLayoutVersion\":\"1.0.0\"}"u8;

    private ImageLayout(string directory)
    {
        Directory = Path.GetFullPath(directory);
    }

    /// <summary>The layout's root directory.</summary>
    public string Directory { get; }

    internal string BlobsDirectory => Path.Combine(Directory, BlobsDirectoryName);

    private string IndexPath => Path.Combine(Directory, IndexFileName);

    /// <summary>Creates a layout in <paramref name="directory"/> (created if missing; must not already be a layout).</summary>
    /// <exception cref="IOException">The directory already holds an image layout.</exception>
    public static ImageLayout Create(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var layout = new ImageLayout(directory);
        if (File.Exists(Path.Combine(layout.Directory, LayoutFileName)))
        {
            throw new IOException($"'{layout.Directory}' already holds an OCI image layout");
        }

        System.IO.Directory.CreateDirectory(Path.Combine(layout.BlobsDirectory, "sha256"));
        layout.WriteIndex(new ImageIndex { MediaType = MediaTypes.OciIndex, Manifests = [] });
        // oci-layout last: a directory with it is a complete layout.
        layout.WriteAtomically(Path.Combine(layout.Directory, LayoutFileName), LayoutFileContent);
        return layout;
    }

    /// <summary>Opens an existing layout.</summary>
    /// <exception cref="InvalidDataException">It is not a layout, or a version this library does not read, or its index.json is missing or invalid.</exception>
    public static ImageLayout Open(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var layout = new ImageLayout(directory);
        var marker = Path.Combine(layout.Directory, LayoutFileName);
        if (!File.Exists(marker))
        {
            throw new InvalidDataException($"'{layout.Directory}' is not an OCI image layout: no {LayoutFileName} file");
        }

        var version = ReadLayoutVersion(marker);
        if (version != LayoutVersion)
        {
            throw new InvalidDataException($"'{marker}': imageLayoutVersion is '{version}', this library reads {LayoutVersion}");
        }

        // Fails now rather than at the first lookup.
        _ = layout.ReadIndex();
        return layout;
    }

    /// <summary>Opens the layout in <paramref name="directory"/>, creating it when no <c>oci-layout</c> file is there.</summary>
    public static ImageLayout OpenOrCreate(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        return File.Exists(Path.Combine(directory, LayoutFileName)) ? Open(directory) : Create(directory);
    }

    /// <summary>The path a blob of <paramref name="digest"/> lives at.</summary>
    public string BlobPath(Digest digest)
    {
        if (digest.IsEmpty)
        {
            throw new ArgumentException("empty digest", nameof(digest));
        }

        return Path.Combine(BlobsDirectory, digest.Algorithm, digest.Hex);
    }

    /// <summary>True when the layout holds a blob with <paramref name="digest"/> (its content is not re-hashed).</summary>
    public bool HasBlob(Digest digest) => File.Exists(BlobPath(digest));

    /// <summary>Stores <paramref name="bytes"/> as a blob (kept as is when already present) and describes it.</summary>
    public Descriptor WriteBlob(ReadOnlySpan<byte> bytes, string mediaType, SortedDictionary<string, string>? annotations = null)
    {
        using var staged = BeginBlob();
        staged.Stream.Write(bytes);
        return staged.Commit(mediaType, expected: null, annotations);
    }

    /// <summary>Starts a streamed blob: write to <see cref="StagedBlob.Stream"/>, then commit it or dispose to abandon.</summary>
    public StagedBlob BeginBlob() => new(this);

    /// <summary>
    /// Opens a blob for reading through a <see cref="VerifyingStream"/>: its last read
    /// throws <see cref="InvalidDataException"/> if size or digest differ from <paramref name="descriptor"/>.
    /// </summary>
    /// <exception cref="FileNotFoundException">The blob is not in the layout.</exception>
    public Stream OpenBlob(Descriptor descriptor)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        var file = new FileStream(BlobPath(descriptor.Digest), FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        return new VerifyingStream(file, descriptor.Digest, descriptor.Size, $"blob {descriptor.Digest} in '{Directory}'");
    }

    /// <summary>Reads and verifies a whole blob of at most <paramref name="maxBytes"/>.</summary>
    /// <exception cref="InvalidDataException">The descriptor's size is over the cap, or the content does not match.</exception>
    public byte[] ReadBlob(Descriptor descriptor, int maxBytes)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        if (descriptor.Size > maxBytes || descriptor.Size < 0)
        {
            throw new InvalidDataException($"blob {descriptor.Digest} is {descriptor.Size} bytes, over the {maxBytes}-byte limit for {descriptor.MediaType}");
        }

        var bytes = new byte[descriptor.Size];
        using var stream = OpenBlob(descriptor);
        stream.ReadExactly(bytes);

        // The final read returns 0 only when size and digest match; otherwise it throws.
        Span<byte> probe = stackalloc byte[1];
        _ = stream.Read(probe);
        return bytes;
    }

    /// <summary>The parsed index.json.</summary>
    /// <exception cref="InvalidDataException">index.json is missing or invalid.</exception>
    public ImageIndex ReadIndex()
    {
        if (!File.Exists(IndexPath))
        {
            throw new InvalidDataException($"OCI layout '{Directory}' has no {IndexFileName}");
        }

        try
        {
            return OciJson.ParseIndex(ReadSmallFile(IndexPath, OciJson.MaxDocumentBytes, IndexFileName));
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"OCI layout '{Directory}': {IndexFileName} is unreadable: {e.Message}", e);
        }
    }

    /// <summary>
    /// Lists <paramref name="manifest"/> in index.json, tagged <paramref name="tag"/> through
    /// <see cref="RefNameAnnotation"/>. An entry with the same tag is replaced in place;
    /// untagged, an entry with the same digest and no tag is replaced; others are kept.
    /// The manifest blob must already be in the layout.
    /// </summary>
    public void SetManifest(Descriptor manifest, string? tag)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        if (!HasBlob(manifest.Digest))
        {
            throw new InvalidOperationException($"manifest {manifest.Digest} is not in the layout; write its blob first");
        }

        var annotations = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (manifest.Annotations is not null)
        {
            foreach (var (key, value) in manifest.Annotations)
            {
                annotations[key] = value;
            }
        }

        annotations.Remove(RefNameAnnotation);
        if (tag is not null)
        {
            annotations[RefNameAnnotation] = tag;
        }

        var entry = manifest with { Annotations = annotations.Count == 0 ? null : annotations };
        var index = ReadIndex();
        var manifests = index.Manifests.ToList();
        var existing = manifests.FindIndex(m => tag is null
            ? m.Annotation(RefNameAnnotation) is null && m.Digest == manifest.Digest
            : m.Annotation(RefNameAnnotation) == tag);
        if (existing >= 0)
        {
            manifests[existing] = entry;
        }
        else
        {
            manifests.Add(entry);
        }

        WriteIndex(index with { SchemaVersion = 2, MediaType = MediaTypes.OciIndex, Manifests = manifests });
    }

    /// <summary>
    /// The manifest tagged <paramref name="tag"/>, or the only one when <paramref name="tag"/>
    /// is null; nested indexes are descended choosing <paramref name="platform"/>
    /// (default: <see cref="Platform.Current"/>) with the checks of <see cref="ImageChecks"/>.
    /// Bytes are read verified and capped at <see cref="OciJson.MaxDocumentBytes"/>.
    /// </summary>
    /// <exception cref="KeyNotFoundException">No manifest has that tag or platform.</exception>
    /// <exception cref="InvalidDataException">The index is ambiguous, malformed, or a blob does not match.</exception>
    public ResolvedManifest ResolveManifest(string? tag, Platform? platform = null)
    {
        var index = ReadIndex();
        Descriptor descriptor;
        if (tag is null)
        {
            if (index.Manifests.Count != 1)
            {
                throw new InvalidDataException($"OCI layout '{Directory}' lists {index.Manifests.Count} manifests; name one with a tag");
            }

            descriptor = index.Manifests[0];
        }
        else
        {
            descriptor = index.Manifests.FirstOrDefault(m => m.Annotation(RefNameAnnotation) == tag)
                ?? throw new KeyNotFoundException($"OCI layout '{Directory}' has no manifest tagged '{tag}'");
        }

        var wanted = platform ?? Platform.Current;
        for (var depth = 0; ; depth++)
        {
            // ReadBlob checks the bytes against the entry that named them (size and digest).
            var bytes = ReadBlob(descriptor, OciJson.MaxDocumentBytes);
            var next = ImageChecks.NextTowardManifest(bytes, descriptor.MediaType ?? OciJson.PeekMediaType(bytes), descriptor.Digest, wanted, depth);
            if (next is null)
            {
                return new ResolvedManifest(descriptor, bytes);
            }

            descriptor = next;
        }
    }

    internal string NewTempPath() => Path.Combine(BlobsDirectory, TempPrefix + Guid.NewGuid().ToString("N"));

    private void WriteIndex(ImageIndex index) => WriteAtomically(IndexPath, OciJson.Serialize(index));

    // Temp file beside the target, fsync, rename over it: readers see the old or the new file.
    private void WriteAtomically(string path, ReadOnlySpan<byte> content)
    {
        var temp = Path.Combine(Directory, TempPrefix + Path.GetFileName(path) + "-" + Guid.NewGuid().ToString("N"));
        try
        {
            using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1))
            {
                file.Write(content);
                file.Flush(flushToDisk: true);
            }

            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    private static string? ReadLayoutVersion(string marker)
    {
        try
        {
            using var document = JsonDocument.Parse(ReadSmallFile(marker, 4096, LayoutFileName));
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("imageLayoutVersion", out var version)
                && version.ValueKind == JsonValueKind.String
                ? version.GetString()
                : null;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{marker}' is not JSON: {e.Message}", e);
        }
    }

    private static byte[] ReadSmallFile(string path, int maxBytes, string what)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
        if (file.Length > maxBytes)
        {
            throw new InvalidDataException($"{what} is {file.Length} bytes, over the {maxBytes}-byte limit");
        }

        var bytes = new byte[file.Length];
        file.ReadExactly(bytes);
        return bytes;
    }
}
