using System.Globalization;
using OstreeContainer.ImageFormat;
using OstreeContainer.Oci.Layers;
using OstreeContainer.Ostree.Deltas.Apply;
using OstreeContainer.Ostree.Summaries;

namespace OstreeContainer.ImagePuller;

/// <summary>
/// A static delta read out of a delta layer (format 1.1) in one sequential pass: the layer
/// holds <c>ostree/repo/deltas/XX/REST/superblock</c> first, then the parts <c>0</c>,
/// <c>1</c>… in index order, exactly the order the applier asks for them, so nothing is
/// buffered beyond the part being read. Entries outside that one delta directory, a
/// superblock that is not the first file, or parts out of order are
/// <see cref="InvalidDataException"/>s (the pull then falls back to the repo layers).
/// <see cref="CompleteAsync"/> reads the rest of the layer and checks its diff_id, and the
/// caller's <see cref="Oci.VerifyingStream"/> its digest, before the applier makes anything visible.
/// </summary>
internal sealed class LayerDeltaSource : IDeltaSource, IDisposable
{
    private readonly Stream _blob;
    private readonly ImageLayer _layer;
    private readonly LayerReader _reader;
    private readonly string _directory;
    private int _lastPart = -1;
    private bool _superblockRead;

    /// <summary>A source over <paramref name="blob"/>, the compressed blob of <paramref name="layer"/>, which must hold delta <paramref name="name"/>.</summary>
    public LayerDeltaSource(Stream blob, ImageLayer layer, DeltaName name)
    {
        ArgumentNullException.ThrowIfNull(blob);
        ArgumentNullException.ThrowIfNull(layer);
        _blob = blob;
        _layer = layer;
        _directory = $"{ImagePaths.RepoDirectory}/{name.RelativeDirectory}";
        _reader = LayerArchive.Open(blob, layer.Descriptor.MediaType, leaveOpen: true);
    }

    /// <inheritdoc/>
    public string Description => $"delta layer {_layer.Index} ({_layer.Descriptor.Digest})";

    /// <inheritdoc/>
    public ValueTask<byte[]> ReadSuperblockAsync(int maxLength, CancellationToken cancellationToken)
    {
        if (_superblockRead)
        {
            throw new InvalidOperationException("the superblock of a layer is read once");
        }

        _superblockRead = true;
        var (entry, file) = NextFile() ?? Fail<(LayerEntry, string)>($"no file in {_directory}");
        if (file != DeltaName.SuperblockFileName)
        {
            Fail($"the first file is {entry.Path}, not the superblock (a delta layer of format 1.1 holds the superblock first)");
        }

        if (entry.Size > maxLength)
        {
            Fail($"{entry.Path}: {entry.Size} bytes is over the {maxLength}-byte limit for a superblock");
        }

        var data = new byte[entry.Size];
        _reader.Content.ReadExactly(data);
        return ValueTask.FromResult(data);
    }

    /// <inheritdoc/>
    public ValueTask<Stream> OpenPartAsync(int index, CancellationToken cancellationToken)
    {
        if (!_superblockRead || index <= _lastPart)
        {
            throw new InvalidOperationException($"part {index} asked for out of order (last was {_lastPart})");
        }

        while (NextPart() is { } part)
        {
            if (part.Index == index)
            {
                return ValueTask.FromResult<Stream>(new PartStream(_reader.Content));
            }

            if (part.Index > index)
            {
                Fail($"part {index} is not in the layer (part {part.Index} follows part {_lastPart})");
            }
        }

        return Fail<ValueTask<Stream>>($"part {index} is not in the layer");
    }

    /// <summary>Reads the rest of the layer (parts not needed, the tar's end) and checks its diff_id; the blob's digest is checked as it ends.</summary>
    public ValueTask CompleteAsync(CancellationToken cancellationToken)
    {
        while (NextPart() is not null)
        {
            cancellationToken.ThrowIfCancellationRequested();
        }

        ImageImporter.WithLayerContext(_layer, () =>
        {
            _reader.ReadToEndAndCheckDiffId(_layer.DiffId);
            ImageImporter.Drain(_blob);
            return 0;
        });
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc/>
    public void Dispose() => _reader.Dispose();

    // The next part file, its index increasing strictly.
    private (LayerEntry Entry, int Index)? NextPart()
    {
        if (NextFile() is not var (entry, file))
        {
            return null;
        }

        if (!int.TryParse(file, NumberStyles.None, CultureInfo.InvariantCulture, out var index) || index.ToString(CultureInfo.InvariantCulture) != file)
        {
            return Fail<(LayerEntry, int)>($"{entry.Path} is neither the superblock nor a part");
        }

        if (index <= _lastPart)
        {
            Fail($"{entry.Path}: part {index} after part {_lastPart} (parts must be in index order)");
        }

        _lastPart = index;
        return (entry, index);
    }

    // The next regular file, which must be directly in the delta directory; its parent
    // directories are the only other entries allowed.
    private (LayerEntry Entry, string FileName)? NextFile()
    {
        while (true)
        {
            LayerEntry? entry;
            try
            {
                entry = _reader.Next();
            }
            catch (InvalidDataException e)
            {
                throw Context(e.Message, e);
            }

            if (entry is null)
            {
                return null;
            }

            if (entry.Type == LayerEntryType.Directory
                && (entry.Path == _directory || _directory.StartsWith(entry.Path + "/", StringComparison.Ordinal)))
            {
                continue;
            }

            var prefix = _directory + "/";
            if (entry.Type != LayerEntryType.File || !entry.Path.StartsWith(prefix, StringComparison.Ordinal) || entry.Path.AsSpan(prefix.Length).Contains('/'))
            {
                Fail($"entry {entry.Path} is outside the delta directory {_directory} its annotations name");
            }

            return (entry, entry.Path[prefix.Length..]);
        }
    }

    private InvalidDataException Context(string message, Exception? inner = null) =>
        new($"{_layer.Kind.ToString().ToLowerInvariant()} layer {_layer.Index} ({_layer.Descriptor.Digest}): {message}", inner);

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private void Fail(string message) => throw Context(message);

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private T Fail<T>(string message) => throw Context(message);

    // The current entry's content; disposing it leaves the layer reader open.
    private sealed class PartStream(Stream content) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => content.Read(buffer, offset, count);

        public override int Read(Span<byte> buffer) => content.Read(buffer);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(content.Read(buffer.Span));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            Task.FromResult(content.Read(buffer, offset, count));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
