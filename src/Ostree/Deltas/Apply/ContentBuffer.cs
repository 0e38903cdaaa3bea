using System.Buffers;

namespace OstreeContainer.Ostree.Deltas.Apply;

/// <summary>
/// Collects the bytes of a content object built by <c>OPEN</c> … <c>CLOSE</c>. The declared
/// size is only a claim: small objects get a pooled buffer of that size, larger ones an
/// unlinked temp file that grows only as bytes really arrive (each write is bounded by the
/// payload or the read source), so a huge declared size costs nothing until it is filled.
/// </summary>
internal sealed class ContentBuffer : IDisposable
{
    /// <summary>Objects up to this size are assembled in memory.</summary>
    public const int InMemoryLimit = 16 << 20;

    private readonly string _tempDirectory;
    private byte[]? _memory;
    private FileStream? _file;

    public ContentBuffer(string tempDirectory) => _tempDirectory = tempDirectory;

    /// <summary>The size the current object declared.</summary>
    public long Declared { get; private set; }

    /// <summary>Bytes appended so far.</summary>
    public long Written { get; private set; }

    /// <summary>Bytes still expected.</summary>
    public long Remaining => Declared - Written;

    /// <summary>Whether the content is in memory (else in a temp file).</summary>
    public bool InMemory => _file is null;

    /// <summary>Starts a new object of <paramref name="declared"/> bytes, dropping the previous one.</summary>
    public void Start(long declared)
    {
        Reset();
        Declared = declared;
        Written = 0;
        if (declared <= InMemoryLimit)
        {
            if (_memory is null || _memory.Length < declared)
            {
                if (_memory is not null)
                {
                    ArrayPool<byte>.Shared.Return(_memory);
                }

                _memory = ArrayPool<byte>.Shared.Rent((int)Math.Max(declared, 4096));
            }
        }
        else
        {
            _file = new FileStream(
                Path.Combine(_tempDirectory, $"delta-object-{Guid.NewGuid():N}"),
                FileMode.CreateNew,
                FileAccess.ReadWrite,
                FileShare.None,
                256 * 1024,
                FileOptions.DeleteOnClose);
        }
    }

    /// <summary>Appends bytes; the caller has checked they fit in <see cref="Remaining"/>.</summary>
    public void Append(ReadOnlySpan<byte> data)
    {
        if (_file is null)
        {
            data.CopyTo(_memory.AsSpan((int)Written));
        }
        else
        {
            _file.Write(data);
        }

        Written += data.Length;
    }

    /// <summary>In memory, the next <paramref name="length"/> bytes to fill in place (then <see cref="Advance"/>).</summary>
    public bool TryGetAppendSpan(long length, out Span<byte> span)
    {
        if (_file is null)
        {
            span = _memory.AsSpan((int)Written, (int)length);
            return true;
        }

        span = default;
        return false;
    }

    /// <summary>Counts bytes filled through <see cref="TryGetAppendSpan"/>.</summary>
    public void Advance(int length) => Written += length;

    /// <summary>The assembled content when in memory.</summary>
    public ReadOnlySpan<byte> MemoryContent => _memory.AsSpan(0, (int)Written);

    /// <summary>
    /// Hands the in-memory content (a pooled array, valid for <see cref="Written"/> bytes) to
    /// the caller, who returns it to <see cref="ArrayPool{T}.Shared"/>; the next object gets a new one.
    /// </summary>
    public byte[] Detach()
    {
        var memory = _memory!;
        _memory = null;
        return memory;
    }

    /// <summary>The temp file, rewound, when not in memory.</summary>
    public Stream RewoundFile()
    {
        _file!.Flush();
        _file.Position = 0;
        return _file;
    }

    /// <summary>Drops the current object (its temp file is deleted).</summary>
    public void Reset()
    {
        _file?.Dispose();
        _file = null;
        Declared = 0;
        Written = 0;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Reset();
        if (_memory is not null)
        {
            ArrayPool<byte>.Shared.Return(_memory);
            _memory = null;
        }
    }
}
