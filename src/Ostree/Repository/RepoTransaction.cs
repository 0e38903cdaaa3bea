using System.Collections.Concurrent;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using OstreeContainer.Ostree.GVariant;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Posix;

namespace OstreeContainer.Ostree.Repository;

/// <summary>
/// A set of writes that becomes visible all at once. Objects are staged side by side in
/// <c>tmp/staging-*</c>, named like their final files; <see cref="Commit"/>
/// flushes the filesystem (<c>syncfs</c>, when <c>core.fsync</c> is on), renames each
/// staged object into place, then moves refs. A crash or <see cref="Dispose"/> without
/// commit leaves <c>objects/</c> and <c>refs/</c> untouched (only a stale staging
/// directory, removed by the next abort or by hand). Writes may come from several
/// threads at once.
/// </summary>
public sealed class RepoTransaction : IDisposable
{
    /// <summary>Content up to this size is hashed and compressed in memory; larger files stream through a temp file.</summary>
    private const int InMemoryLimit = 8 << 20;

    private readonly OstreeRepo _repo;
    private readonly string _staging;
    private readonly ConcurrentDictionary<(Checksum, ObjectType), string> _staged = new();
    private readonly List<(RefName Name, Checksum? Target)> _refs = [];
    private readonly ZLibCompressionOptions _compression;
    private int _tempCounter;
    private bool _finished;

    internal RepoTransaction(OstreeRepo repo)
    {
        _repo = repo;
        _staging = Path.Combine(repo.Root, "tmp", $"staging-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_staging);
        _compression = new ZLibCompressionOptions { CompressionLevel = repo.CompressionLevel };
    }

    /// <summary>The repository written to.</summary>
    public OstreeRepo Repo => _repo;

    /// <summary>Objects staged so far (not counting ones the repo already had).</summary>
    public int StagedCount => _staged.Count;

    /// <summary>Writes a metadata object and returns its checksum (SHA-256 of <paramref name="data"/>).</summary>
    public Checksum WriteMetadata(ObjectType type, ReadOnlySpan<byte> data)
    {
        var checksum = Checksum.Compute(data);
        StageMetadata(type, checksum, data);
        return checksum;
    }

    /// <summary>Writes a metadata object after checking that it hashes to <paramref name="expected"/>.</summary>
    /// <exception cref="InvalidDataException">The bytes do not match the name.</exception>
    public void WriteMetadata(ObjectType type, Checksum expected, ReadOnlySpan<byte> data)
    {
        var actual = Checksum.Compute(data);
        if (actual != expected)
        {
            throw new InvalidDataException($"{type.Name()} {expected}: content hashes to {actual}");
        }

        StageMetadata(type, expected, data);
    }

    /// <summary>Writes (replacing on commit) the detached metadata of <paramref name="commit"/>.</summary>
    public void WriteCommitMeta(Checksum commit, VariantDictionary metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        ThrowIfFinished();
        var staged = StagedPath(commit, ObjectType.CommitMeta);
        FileSystem.CreateNewFile(staged, metadata.Serialize());
        _staged[(commit, ObjectType.CommitMeta)] = staged;
    }

    /// <summary>Writes a content object from bytes in memory (symlinks: empty content).</summary>
    public Checksum WriteContent(FileHeader header, ReadOnlySpan<byte> content)
    {
        ArgumentNullException.ThrowIfNull(header);
        ThrowIfFinished();
        header.Validate();
        if (header.IsSymlink && !content.IsEmpty)
        {
            throw new ArgumentException("symlinks have no content; the target is in the header", nameof(content));
        }

        using var writer = new GVariantWriter(512);
        header.WriteContentHeader(writer);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(writer.WrittenSpan);
        hash.AppendData(content);
        var checksum = Checksum.From(hash);
        if (!Claim(checksum, out var staged))
        {
            return checksum;
        }

        try
        {
            StageContent(header, content, staged, writer);
        }
        catch
        {
            _staged.TryRemove((checksum, ObjectType.File), out _);
            throw;
        }

        return checksum;
    }

    /// <summary>
    /// Writes a content object whose bytes come from <paramref name="content"/> (exactly
    /// <paramref name="length"/> bytes). With <paramref name="expected"/> set, the object is
    /// only kept if it hashes to that checksum.
    /// </summary>
    /// <exception cref="InvalidDataException">Checksum mismatch, or the stream is shorter than <paramref name="length"/>.</exception>
    public Checksum WriteContent(FileHeader header, Stream content, long length, Checksum? expected = null)
    {
        ArgumentNullException.ThrowIfNull(header);
        ArgumentNullException.ThrowIfNull(content);
        ThrowIfFinished();
        if (length <= InMemoryLimit)
        {
            var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent((int)Math.Max(length, 1));
            try
            {
                content.ReadExactly(buffer, 0, (int)length);
                var span = buffer.AsSpan(0, (int)length);
                if (expected is { } want)
                {
                    var actual = header.ComputeChecksum(span);
                    if (actual != want)
                    {
                        throw new InvalidDataException($"file {want}: content hashes to {actual}");
                    }
                }

                return WriteContent(header, span);
            }
            catch (EndOfStreamException e)
            {
                throw new InvalidDataException($"file content: stream ended before the declared {length} bytes", e);
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        return WriteLargeContent(header, content, length, expected);
    }

    /// <summary>
    /// Writes a content object given in its archive form (a <c>.filez</c>: header, then raw
    /// DEFLATE) into an archive repository byte for byte, after checking that its header and
    /// inflated content hash to <paramref name="expected"/>. Saves the re-compression that
    /// <see cref="WriteContent(FileHeader, Stream, long, Checksum?)"/> would do.
    /// </summary>
    /// <exception cref="InvalidOperationException">The repository is not in archive mode.</exception>
    /// <exception cref="InvalidDataException">Malformed, or the object does not hash to <paramref name="expected"/>.</exception>
    public void WriteArchiveContent(Checksum expected, ReadOnlyMemory<byte> filez)
    {
        ThrowIfFinished();
        if (!_repo.IsArchive)
        {
            throw new InvalidOperationException($"a .filez can only be stored as is in an archive repository, not '{_repo.Mode.ToConfigString()}'");
        }

        var header = FileHeader.ParseArchive(filez.Span, out var size, out var offset);
        header.Validate();
        using var scratch = new GVariantWriter(512);
        header.WriteContentHeader(scratch);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(scratch.WrittenSpan);
        ulong inflated = 0;
        if (!header.IsSymlink)
        {
            var payload = System.Runtime.InteropServices.MemoryMarshal.TryGetArray(filez[offset..], out var segment)
                ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
                : new MemoryStream(filez[offset..].ToArray(), writable: false);
            using var inflate = new DeflateStream(payload, CompressionMode.Decompress);
            var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(64 * 1024);
            try
            {
                int n;
                while ((n = inflate.Read(buffer)) > 0)
                {
                    hash.AppendData(buffer, 0, n);
                    inflated += (ulong)n;
                    if (inflated > size)
                    {
                        break;
                    }
                }
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        if (inflated != size)
        {
            throw new InvalidDataException($"file {expected}: the .filez declares {size} bytes of content but inflates to {(inflated > size ? "more" : inflated.ToString(System.Globalization.CultureInfo.InvariantCulture))}");
        }

        var actual = Checksum.From(hash);
        if (actual != expected)
        {
            throw new InvalidDataException($"file {expected}: content hashes to {actual}");
        }

        if (Claim(expected, out var staged))
        {
            FileSystem.CreateNewFile(staged, filez.Span);
        }
    }

    /// <summary>Points <paramref name="name"/> at <paramref name="target"/> (or deletes it) when the transaction commits.</summary>
    public void SetRef(RefName name, Checksum? target)
    {
        ThrowIfFinished();
        lock (_refs)
        {
            _refs.Add((name, target));
        }
    }

    /// <summary>Whether the object is in the repository or staged in this transaction.</summary>
    public bool HasObject(Checksum checksum, ObjectType type) =>
        _staged.ContainsKey((checksum, type)) || _repo.HasObject(checksum, type);

    /// <summary>Makes every staged object and ref visible. Objects first, refs last.</summary>
    public void Commit()
    {
        ThrowIfFinished();
        _finished = true;
        try
        {
            if (_repo.Fsync && !_staged.IsEmpty)
            {
                // One syncfs instead of an fsync per object, as ostree does: the data is
                // durable before any rename makes it visible.
                using var handle = File.OpenHandle(Path.Combine(_repo.Root, "config"));
                FileSystem.SyncFileSystem(handle);
            }

            var objectDirs = new HashSet<string>(StringComparer.Ordinal);
            foreach (var ((checksum, type), staged) in _staged)
            {
                var final = _repo.ObjectPath(checksum, type);
                var dir = Path.GetDirectoryName(final)!;
                // A failing mkdir costs more than a stat, and most object directories exist.
                if (objectDirs.Add(dir) && !Directory.Exists(dir))
                {
                    Directory.CreateDirectory(dir);
                }

                if (type == ObjectType.CommitMeta)
                {
                    File.Move(staged, final, overwrite: true);
                }
                else
                {
                    // An object already there (another writer got it first) is the same
                    // content and stays. rename(2) moves a bare symlink object itself;
                    // File.Move would follow one that points at a directory.
                    FileSystem.RenameNoReplace(staged, final);
                }
            }

            foreach (var (name, target) in _refs)
            {
                _repo.SetRef(name, target);
            }
        }
        finally
        {
            DeleteStaging();
        }
    }

    /// <summary>Aborts unless committed: staged objects are deleted, nothing becomes visible.</summary>
    public void Dispose()
    {
        if (!_finished)
        {
            _finished = true;
            DeleteStaging();
        }
    }

    private void StageMetadata(ObjectType type, Checksum checksum, ReadOnlySpan<byte> data)
    {
        ThrowIfFinished();
        if (!type.IsMetadata() || type == ObjectType.CommitMeta)
        {
            throw new ArgumentException($"{type} is not a content-addressed metadata type", nameof(type));
        }

        if (!Claim(checksum, type, out var staged))
        {
            return;
        }

        FileSystem.CreateNewFile(staged, data);
    }

    private bool Claim(Checksum checksum, out string staged) => Claim(checksum, ObjectType.File, out staged);

    private bool Claim(Checksum checksum, ObjectType type, out string staged)
    {
        staged = "";
        if (_repo.HasObject(checksum, type))
        {
            return false;
        }

        var path = StagedPath(checksum, type);
        if (!_staged.TryAdd((checksum, type), path))
        {
            return false;
        }

        staged = path;
        return true;
    }

    // Staged objects sit side by side in the staging directory, named like their final
    // file (checksum and extension): one directory instead of one per checksum prefix saves
    // a mkdir and an rmdir for nearly every object of a small transaction.
    private string StagedPath(Checksum checksum, ObjectType type) =>
        Path.Combine(_staging, $"{checksum}.{type.Extension(_repo.IsArchive)}");

    private void StageContent(FileHeader header, ReadOnlySpan<byte> content, string staged, GVariantWriter scratch)
    {
        switch (_repo.Mode)
        {
            case RepoMode.Archive:
            {
                scratch.Reset();
                header.WriteArchiveHeader(scratch, (ulong)content.Length);
                using var output = new FileStream(staged, FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024);
                output.Write(scratch.WrittenSpan);
                if (content.IsEmpty && !header.IsSymlink)
                {
                    // zlib emits an empty final block for no input; .NET writes nothing at all,
                    // which ostree rejects ("Need more input"). Write the 2-byte stream ourselves.
                    output.Write([0x03, 0x00]);
                }
                else if (!header.IsSymlink)
                {
                    using var deflate = new DeflateStream(output, _compression, leaveOpen: true);
                    deflate.Write(content);
                }

                break;
            }

            case RepoMode.BareUser:
            {
                if (header.IsSymlink)
                {
                    // bare-user stores a symlink as a regular file holding the target and a NUL.
                    var target = Encoding.UTF8.GetBytes(header.SymlinkTarget + "\0");
                    FileSystem.CreateNewFile(staged, target);
                }
                else
                {
                    FileSystem.CreateNewFile(staged, content);
                }

                FinishBareUser(header, staged);
                break;
            }

            case RepoMode.Bare:
            {
                if (header.IsSymlink)
                {
                    // bare keeps a symlink as a real symlink; its target is the header's.
                    File.CreateSymbolicLink(staged, header.SymlinkTarget);
                }
                else
                {
                    FileSystem.CreateNewFile(staged, content);
                }

                FinishBare(header, staged);
                break;
            }

            default:
                throw new NotSupportedException(UnsupportedModeMessage());
        }
    }

    private Checksum WriteLargeContent(FileHeader header, Stream content, long length, Checksum? expected)
    {
        header.Validate();
        var temp = Path.Combine(_staging, $"large-{Interlocked.Increment(ref _tempCounter)}");
        using var scratch = new GVariantWriter(512);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        header.WriteContentHeader(scratch);
        hash.AppendData(scratch.WrittenSpan);
        try
        {
            using (var output = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 256 * 1024))
            {
                Stream sink = output;
                DeflateStream? deflate = null;
                if (_repo.IsArchive)
                {
                    scratch.Reset();
                    header.WriteArchiveHeader(scratch, (ulong)length);
                    output.Write(scratch.WrittenSpan);
                    deflate = new DeflateStream(output, _compression, leaveOpen: true);
                    sink = deflate;
                }
                else if (_repo.Mode is not (RepoMode.BareUser or RepoMode.Bare))
                {
                    throw new NotSupportedException(UnsupportedModeMessage());
                }

                var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 20);
                try
                {
                    var remaining = length;
                    while (remaining > 0)
                    {
                        var n = content.Read(buffer, 0, (int)Math.Min(buffer.Length, remaining));
                        if (n == 0)
                        {
                            throw new InvalidDataException($"file content: stream ended {remaining} bytes before the declared {length}");
                        }

                        hash.AppendData(buffer, 0, n);
                        sink.Write(buffer, 0, n);
                        remaining -= n;
                    }
                }
                finally
                {
                    System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
                    deflate?.Dispose();
                }
            }

            var checksum = Checksum.From(hash);
            if (expected is { } want && want != checksum)
            {
                throw new InvalidDataException($"file {want}: content hashes to {checksum}");
            }

            if (!Claim(checksum, out var staged))
            {
                return checksum;
            }

            if (_repo.Mode == RepoMode.BareUser)
            {
                FinishBareUser(header, temp);
            }
            else if (_repo.Mode == RepoMode.Bare)
            {
                FinishBare(header, temp);
            }

            File.Move(temp, staged);
            return checksum;
        }
        finally
        {
            File.Delete(temp);
        }
    }

    private static void FinishBareUser(FileHeader header, string path)
    {
        FileSystem.SetXattr(path, OstreeRepo.BareUserMetaXattr, header.ToBareUserMeta());
        // Physical mode: regular files keep their permission bits (never setuid or
        // world-writable) plus owner-read; symlink-files stay 0644. mtime is 0.
        var mode = header.IsSymlink ? 0x1A4u : (header.Mode & 0x1FDu) | 0x100u;
        File.SetUnixFileMode(path, (System.IO.UnixFileMode)mode);
        FileSystem.SetTimes(path, 0);
    }

    // bare: the object is the file as checked out, so stat and xattrs carry the header.
    // Owner first, since chown(2) clears setuid/setgid bits and security.capability; then
    // the full mode (setuid, setgid, sticky included), then the xattrs; mtime is 0 as in
    // every ostree object. The checksum is the same as in the other modes, over the header.
    private static void FinishBare(FileHeader header, string path)
    {
        FileSystem.LChown(path, header.Uid, header.Gid);
        if (!header.IsSymlink)
        {
            File.SetUnixFileMode(path, (System.IO.UnixFileMode)(header.Mode & StatMode.PermissionMask));
        }

        foreach (var xattr in header.Xattrs)
        {
            FileSystem.SetXattr(path, xattr.Name, xattr.Value);
        }

        FileSystem.SetTimes(path, 0);
    }

    private string UnsupportedModeMessage() =>
        $"writing content into a '{_repo.Mode.ToConfigString()}' repository is not supported; use archive, bare-user or bare";

    private void DeleteStaging()
    {
        try
        {
            if (Directory.Exists(_staging))
            {
                Directory.Delete(_staging, recursive: true);
            }
        }
        catch (IOException)
        {
            // A leftover staging directory is harmless; nothing under objects/ refers to it.
        }
    }

    private void ThrowIfFinished()
    {
        if (_finished)
        {
            throw new InvalidOperationException("the transaction has already been committed or aborted");
        }
    }
}
