using System.Buffers;
using System.IO.MemoryMappedFiles;
using Microsoft.Win32.SafeHandles;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Repository;

namespace OstreeContainer.Ostree.Deltas.Apply;

/// <summary>
/// The existing content object a <c>SET_READ_SOURCE</c> names, readable at any offset:
/// <c>WRITE</c> copies ranges of it, <c>BSPATCH</c> needs all of it at once. In bare modes the
/// object file is read in place (memory-mapped for bspatch, as ostree does); an archive
/// object is inflated once, into memory or, when large, into an unlinked temp file.
/// </summary>
internal sealed class ReadSource : IDisposable
{
    /// <summary>An inflated archive object larger than this goes to a temp file instead of memory.</summary>
    private const int InMemoryLimit = 16 << 20;

    private const int CopyChunk = 1 << 20;

    private readonly ContentObject? _content;
    private readonly SafeFileHandle? _handle;
    private readonly FileStream? _spill;
    private byte[]? _memory;
    private MemoryMappedFile? _map;
    private MemoryMappedViewAccessor? _view;

    private ReadSource(Checksum checksum, long length, ContentObject? content, SafeFileHandle? handle, FileStream? spill, byte[]? memory)
    {
        Checksum = checksum;
        Length = length;
        _content = content;
        _handle = handle;
        _spill = spill;
        _memory = memory;
    }

    /// <summary>The object read from.</summary>
    public Checksum Checksum { get; }

    /// <summary>Its content length (0 for a symlink: a read source is never followed).</summary>
    public long Length { get; }

    /// <summary>Opens content object <paramref name="checksum"/> of <paramref name="repo"/>.</summary>
    /// <exception cref="InvalidDataException">The repository has no such object, or it is damaged.</exception>
    public static ReadSource Open(OstreeRepo repo, Checksum checksum, string tempDirectory)
    {
        ContentObject content;
        try
        {
            content = repo.OpenContent(checksum);
        }
        catch (FileNotFoundException)
        {
            return DeltaApplyThrowHelper.Invalid<ReadSource>($"read source file {checksum} is not in the repository");
        }

        try
        {
            // Bare modes hand back the object file itself; symlinks come back empty, so a
            // bare symlink object is never followed out of the repository.
            if (content.Content is FileStream file)
            {
                return new ReadSource(checksum, content.Size, content, file.SafeFileHandle, null, null);
            }

            if (content.Size == 0)
            {
                content.Dispose();
                return new ReadSource(checksum, 0, null, null, null, []);
            }

            if (content.Size <= InMemoryLimit)
            {
                var memory = new byte[content.Size];
                content.Content.ReadExactly(memory);
                content.Dispose();
                return new ReadSource(checksum, memory.Length, null, null, null, memory);
            }

            var spill = new FileStream(
                Path.Combine(tempDirectory, $"read-source-{Guid.NewGuid():N}"),
                FileMode.CreateNew,
                FileAccess.ReadWrite,
                FileShare.None,
                1,
                FileOptions.DeleteOnClose);
            try
            {
                content.Content.CopyTo(spill, CopyChunk);
                if (spill.Length != content.Size)
                {
                    DeltaApplyThrowHelper.Invalid($"read source file {checksum}: inflates to {spill.Length} bytes, its header says {content.Size}");
                }
            }
            catch
            {
                spill.Dispose();
                throw;
            }

            content.Dispose();
            return new ReadSource(checksum, spill.Length, null, spill.SafeFileHandle, spill, null);
        }
        catch (EndOfStreamException e)
        {
            content.Dispose();
            throw new InvalidDataException($"read source file {checksum}: shorter than its header says", e);
        }
        catch
        {
            content.Dispose();
            throw;
        }
    }

    /// <summary>Copies <paramref name="destination"/>.Length bytes from <paramref name="offset"/>; the caller has checked the range.</summary>
    public void Read(long offset, Span<byte> destination)
    {
        if (_memory is not null)
        {
            _memory.AsSpan(checked((int)offset), destination.Length).CopyTo(destination);
            return;
        }

        while (!destination.IsEmpty)
        {
            var n = RandomAccess.Read(_handle!, destination, offset);
            if (n == 0)
            {
                DeltaApplyThrowHelper.Invalid($"read source file {Checksum}: shrank while being read");
            }

            destination = destination[n..];
            offset += n;
        }
    }

    /// <summary>Copies a range into <paramref name="sink"/> in bounded chunks.</summary>
    public void CopyTo(long offset, long length, ContentBuffer sink)
    {
        if (_memory is not null)
        {
            sink.Append(_memory.AsSpan(checked((int)offset), checked((int)length)));
            return;
        }

        if (sink.TryGetAppendSpan(length, out var direct))
        {
            Read(offset, direct);
            sink.Advance(direct.Length);
            return;
        }

        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(CopyChunk, length));
        try
        {
            while (length > 0)
            {
                var chunk = buffer.AsSpan(0, (int)Math.Min(buffer.Length, length));
                Read(offset, chunk);
                sink.Append(chunk);
                offset += chunk.Length;
                length -= chunk.Length;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The whole content at once (bspatch's old file).</summary>
    /// <exception cref="InvalidDataException">Over 2 GiB, more than a bspatch can address here.</exception>
    public unsafe ReadOnlySpan<byte> All()
    {
        if (_memory is not null)
        {
            return _memory;
        }

        if (Length == 0)
        {
            // An empty file cannot be mapped.
            return [];
        }

        if (Length > Array.MaxLength)
        {
            DeltaApplyThrowHelper.Invalid($"read source file {Checksum}: {Length} bytes is too large to patch");
        }

        if (_view is null)
        {
            _map = MemoryMappedFile.CreateFromFile(_handle!, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: true);
            _view = _map.CreateViewAccessor(0, Length, MemoryMappedFileAccess.Read);
        }

        byte* pointer = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        try
        {
            return new ReadOnlySpan<byte>(pointer + _view.PointerOffset, (int)Length);
        }
        finally
        {
            // The mapping stays alive (and the pointer valid) until Dispose.
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _view?.Dispose();
        _map?.Dispose();
        _spill?.Dispose();
        _content?.Dispose();
        _memory = null;
    }
}
