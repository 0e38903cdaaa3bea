using System.Diagnostics.CodeAnalysis;
using System.Text;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Repository;
using OstreeContainer.Ostree.Summaries;

namespace OstreeContainer.Ostree.Deltas.Apply;

/// <summary>
/// Runs one part's operation stream (ostree-format.md §8.4) into a transaction. The stream
/// walks the part header's object list: <c>S</c> writes a whole object, <c>o</c> … <c>c</c>
/// builds a content object from payload ranges, read-source ranges and bspatch output.
/// Every varint, offset and length is checked against the payload, the tables and the read
/// source before use; every object is hashed and compared with its name before it is staged.
/// Objects the repository already has are skipped, but their operations are still parsed
/// and checked, so the stream stays in step with the object list.
/// </summary>
internal sealed class PartExecutor : IDisposable
{
    // ostree reads a read-source checksum as 32 raw bytes from the payload.
    private const int ChecksumLength = Checksum.Length;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly RepoTransaction _tx;
    private readonly int _part;
    private readonly IReadOnlyList<DeltaObject> _objects;
    private readonly DeltaPartPayload _payload;
    private readonly string _tempDirectory;
    private readonly ContentBuffer _buffer;
    private readonly bool[] _have;

    // Where the operation being executed starts, for messages.
    private int _opIndex;
    private int _opOffset;
    private byte _opcode;

    // Objects are hashed and stored on up to this many threads while the operation stream
    // moves on: storing is mostly waiting on the filesystem (create, xattrs, chmod).
    private readonly SemaphoreSlim _slots;
    private readonly List<Task> _writes = [];
    private readonly int _writers;
    private Exception? _writeError;
    private int _written;
    private CancellationToken _cancellationToken;

    private int _next;
    private DeltaObject? _open;
    private bool _openPresent;
    private FileHeader? _openHeader;
    private Checksum? _readSourceName;
    private ReadSource? _readSource;

    /// <param name="have">Per object of the header, whether the repository had it when the part was read.</param>
    public PartExecutor(RepoTransaction tx, int part, DeltaPartHeader header, bool[] have, DeltaPartPayload payload, string tempDirectory, int writers)
    {
        _have = have;
        _writers = Math.Max(1, writers);
        _slots = new SemaphoreSlim(_writers);
        _tx = tx;
        _part = part;
        _objects = header.Objects;
        _payload = payload;
        _tempDirectory = tempDirectory;
        _buffer = new ContentBuffer(tempDirectory);
    }

    /// <summary>Objects staged by this part.</summary>
    public int Written => _written;

    /// <summary>Objects of this part the repository (or transaction) already had.</summary>
    public int Present { get; private set; }

    /// <summary>Runs every operation; throws <see cref="InvalidDataException"/> at the first bad one.</summary>
    public void Execute(CancellationToken cancellationToken)
    {
        _cancellationToken = cancellationToken;
        try
        {
            ExecuteOperations(cancellationToken);
        }
        finally
        {
            // Writes still running use the payload and the transaction's staging directory:
            // they must end before either goes away, whatever happened here.
            WaitForWrites();
        }

        ThrowIfWriteFailed();
    }

    private void ExecuteOperations(CancellationToken cancellationToken)
    {
        var ops = _payload.Operations.Span;
        var pos = 0;
        while (pos < ops.Length)
        {
            ThrowIfWriteFailed();
            _opOffset = pos;
            _opcode = ops[pos++];
            switch ((DeltaOpcode)_opcode)
            {
                case DeltaOpcode.OpenSpliceAndClose:
                    OpenSpliceAndClose(ops, ref pos);
                    cancellationToken.ThrowIfCancellationRequested();
                    break;
                case DeltaOpcode.Open:
                    Open(ops, ref pos);
                    break;
                case DeltaOpcode.Write:
                    Write(ops, ref pos);
                    break;
                case DeltaOpcode.SetReadSource:
                    SetReadSource(ops, ref pos);
                    break;
                case DeltaOpcode.UnsetReadSource:
                    UnsetReadSource();
                    break;
                case DeltaOpcode.Close:
                    Close();
                    cancellationToken.ThrowIfCancellationRequested();
                    break;
                case DeltaOpcode.Bspatch:
                    Bspatch(ops, ref pos);
                    break;
                default:
                    Fail("unknown opcode");
                    break;
            }

            _opIndex++;
        }

        if (_open is { } open)
        {
            throw new InvalidDataException($"part {_part}: operations end inside {Describe(open)} ({_buffer.Written} of {_buffer.Declared} bytes written)");
        }

        if (_next != _objects.Count)
        {
            throw new InvalidDataException($"part {_part}: operations produce {_next} objects, the part header lists {_objects.Count}");
        }
    }

    private void OpenSpliceAndClose(ReadOnlySpan<byte> ops, ref int pos)
    {
        var obj = NextObject();
        if (obj.Type.IsMetadata())
        {
            var length = ReadVarint(ops, ref pos, "length");
            var offset = ReadVarint(ops, ref pos, "offset");
            var data = _payload.Blob.Slice(PayloadRange(offset, length, out var n), n);
            if (obj.Type is not (ObjectType.DirTree or ObjectType.DirMeta or ObjectType.Commit))
            {
                Fail($"{Describe(obj)}: this object type is not written from a delta part");
            }

            if (_have[_next])
            {
                Present++;
            }
            else
            {
                var where = Where();
                Dispatch(
                    () =>
                    {
                        try
                        {
                            _tx.WriteMetadata(obj.Type, obj.Checksum, data.Span);
                        }
                        catch (InvalidDataException e)
                        {
                            throw new InvalidDataException($"{where}: {e.Message}", e);
                        }

                        Interlocked.Increment(ref _written);
                    },
                    null);
            }
        }
        else if (obj.Type == ObjectType.File)
        {
            var header = ReadHeader(ops, ref pos, obj);
            var size = ReadVarint(ops, ref pos, "size");
            var offset = ReadVarint(ops, ref pos, "offset");
            var content = _payload.Blob.Slice(PayloadRange(offset, size, out var n), n);
            if (_have[_next])
            {
                Present++;
            }
            else
            {
                WriteContent(obj, header, content, null);
            }
        }
        else
        {
            Fail($"{Describe(obj)}: this object type is not written from a delta part");
        }

        FinishObject();
    }

    private void Open(ReadOnlySpan<byte> ops, ref int pos)
    {
        var obj = NextObject();
        if (obj.Type != ObjectType.File)
        {
            Fail($"{Describe(obj)}: 'o' opens content objects only");
        }

        var header = ReadHeader(ops, ref pos, obj);
        var size = ReadVarint(ops, ref pos, "size");
        if (size > long.MaxValue)
        {
            Fail($"{Describe(obj)}: declared size {size} is too large");
        }

        _open = obj;
        _openHeader = header;
        _openPresent = _have[_next];
        if (_openPresent)
        {
            _buffer.Reset();
        }
        else
        {
            // Only the claim is recorded here; bytes are stored as operations really deliver them.
            _buffer.Start((long)size);
        }
    }

    private void Write(ReadOnlySpan<byte> ops, ref int pos)
    {
        var size = ReadVarint(ops, ref pos, "size");
        var offset = ReadVarint(ops, ref pos, "offset");
        var obj = RequireOpen();
        if (_openPresent)
        {
            // Nothing is written for an object the repo has; the read source is not even opened.
            return;
        }

        if (size > (ulong)_buffer.Remaining)
        {
            Fail($"{Describe(obj)}: writes {size} bytes with only {_buffer.Remaining} of the declared {_buffer.Declared} left");
        }

        if (_readSourceName is { } sourceName)
        {
            var source = OpenReadSource(sourceName);
            if (offset > (ulong)source.Length || size > (ulong)source.Length - offset)
            {
                Fail($"{Describe(obj)}: reads {size} bytes at offset {offset} of read source file {sourceName}, which has {source.Length}");
            }

            source.CopyTo((long)offset, (long)size, _buffer);
        }
        else
        {
            var blob = _payload.Blob.Span;
            _buffer.Append(blob.Slice(PayloadRange(offset, size, out var n), n));
        }
    }

    private void SetReadSource(ReadOnlySpan<byte> ops, ref int pos)
    {
        var offset = ReadVarint(ops, ref pos, "offset");
        var name = _payload.Blob.Span.Slice(PayloadRange(offset, ChecksumLength, out _), ChecksumLength);
        UnsetReadSource();
        // Opened on first use: an object the repo already has never reads its source.
        _readSourceName = Checksum.FromBytes(name);
    }

    private void UnsetReadSource()
    {
        _readSource?.Dispose();
        _readSource = null;
        _readSourceName = null;
    }

    private void Close()
    {
        var obj = RequireOpen();
        if (!_openPresent)
        {
            if (_buffer.Remaining != 0)
            {
                Fail($"{Describe(obj)}: closed after {_buffer.Written} of the declared {_buffer.Declared} bytes");
            }

            if (_buffer.InMemory)
            {
                var length = (int)_buffer.Written;
                var owned = _buffer.Detach();
                WriteContent(obj, _openHeader!, owned.AsMemory(0, length), owned);
            }
            else if (_openHeader!.IsSymlink)
            {
                Fail($"{Describe(obj)}: a {_buffer.Declared}-byte symlink target");
            }
            else
            {
                try
                {
                    // Large objects stream through the transaction, which checks the name.
                    _tx.WriteContent(_openHeader, _buffer.RewoundFile(), _buffer.Declared, obj.Checksum);
                }
                catch (InvalidDataException e)
                {
                    Fail($"{Describe(obj)}: {e.Message}");
                }

                Interlocked.Increment(ref _written);
            }
        }
        else
        {
            Present++;
        }

        _buffer.Reset();
        FinishObject();
    }

    private void Bspatch(ReadOnlySpan<byte> ops, ref int pos)
    {
        var offset = ReadVarint(ops, ref pos, "offset");
        var length = ReadVarint(ops, ref pos, "length");
        var patch = _payload.Blob.Span.Slice(PayloadRange(offset, length, out var n), n);
        var obj = RequireOpen();
        if (_openPresent)
        {
            return;
        }

        if (_readSourceName is not { } sourceName)
        {
            Fail($"{Describe(obj)}: bspatch without a read source");
            return;
        }

        if (_buffer.Written != 0)
        {
            Fail($"{Describe(obj)}: bspatch after {_buffer.Written} bytes were already written");
        }

        // Every output byte of a bsdiff patch is a diff or extra byte stored in the patch,
        // so a declared size larger than the patch is a lie: refuse it before allocating.
        if (_buffer.Declared > patch.Length)
        {
            Fail($"{Describe(obj)}: declared size {_buffer.Declared} cannot come from a {patch.Length}-byte patch");
        }

        var old = OpenReadSource(sourceName).All();
        if (_buffer.TryGetAppendSpan(_buffer.Declared, out var output))
        {
            ApplyPatch(obj, old, patch, output);
            _buffer.Advance(output.Length);
        }
        else
        {
            var rented = System.Buffers.ArrayPool<byte>.Shared.Rent((int)_buffer.Declared);
            try
            {
                var span = rented.AsSpan(0, (int)_buffer.Declared);
                ApplyPatch(obj, old, patch, span);
                _buffer.Append(span);
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private void ApplyPatch(DeltaObject obj, ReadOnlySpan<byte> old, ReadOnlySpan<byte> patch, Span<byte> output)
    {
        try
        {
            Deltas.Bspatch.Apply(old, patch, output);
        }
        catch (InvalidDataException e)
        {
            Fail($"{Describe(obj)}: {e.Message}");
        }
    }

    private ReadSource OpenReadSource(Checksum name)
    {
        if (_readSource is null)
        {
            try
            {
                _readSource = ReadSource.Open(_tx.Repo, name, _tempDirectory);
            }
            catch (InvalidDataException e)
            {
                Fail(e.Message);
            }
        }

        return _readSource;
    }

    /// <summary>
    /// Stores a content object (on a writer thread): a symlink's target is its bytes here; the
    /// object is hashed over header and content and must match its name. <paramref name="rented"/>,
    /// when set, backs <paramref name="content"/> and goes back to the pool afterwards.
    /// </summary>
    private void WriteContent(DeltaObject obj, FileHeader header, ReadOnlyMemory<byte> content, byte[]? rented)
    {
        var where = Where();
        var what = Describe(obj);
        Dispatch(
            () =>
            {
                var actual = StoreContent(header, content.Span, $"{where}: {what}");
                if (actual != obj.Checksum)
                {
                    throw new InvalidDataException($"{where}: {what}: content hashes to {actual}");
                }

                Interlocked.Increment(ref _written);
            },
            rented);
    }

    private Checksum StoreContent(FileHeader header, ReadOnlySpan<byte> content, string context)
    {
        try
        {
            if (!header.IsSymlink)
            {
                return _tx.WriteContent(header, content);
            }

            // A symlink's "content" in a part is its target; the object has no content bytes.
            if (content.Length > FileHeader.MaxSymlinkTarget)
            {
                throw new InvalidDataException($"symlink target of {content.Length} bytes is over the {FileHeader.MaxSymlinkTarget}-byte limit");
            }

            string target;
            try
            {
                target = StrictUtf8.GetString(content);
            }
            catch (DecoderFallbackException)
            {
                throw new InvalidDataException("symlink target is not UTF-8");
            }

            return _tx.WriteContent(header with { SymlinkTarget = target }, ReadOnlySpan<byte>.Empty);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{context}: {e.Message}", e);
        }
    }

    /// <summary>Runs <paramref name="write"/> on a writer thread (inline with one writer); the first failure is kept.</summary>
    private void Dispatch(Action write, byte[]? rented)
    {
        if (_writers == 1)
        {
            try
            {
                write();
            }
            finally
            {
                if (rented is not null)
                {
                    System.Buffers.ArrayPool<byte>.Shared.Return(rented);
                }
            }

            return;
        }

        _slots.Wait(_cancellationToken);
        ThrowIfWriteFailed();
        _writes.Add(Task.Run(() =>
        {
            try
            {
                write();
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _writeError, e, null);
            }
            finally
            {
                if (rented is not null)
                {
                    System.Buffers.ArrayPool<byte>.Shared.Return(rented);
                }

                _slots.Release();
            }
        }));
    }

    private void WaitForWrites()
    {
        foreach (var write in _writes)
        {
            // Failures are recorded in _writeError; the tasks themselves never fault.
            write.Wait(CancellationToken.None);
        }

        _writes.Clear();
    }

    private void ThrowIfWriteFailed()
    {
        if (Volatile.Read(ref _writeError) is { } error)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
        }
    }

    private FileHeader ReadHeader(ReadOnlySpan<byte> ops, ref int pos, DeltaObject obj)
    {
        var modeIndex = ReadVarint(ops, ref pos, "mode index");
        var xattrIndex = ReadVarint(ops, ref pos, "xattr index");
        if (modeIndex >= (ulong)_payload.Modes.Count)
        {
            Fail($"{Describe(obj)}: mode index {modeIndex} is past the {_payload.Modes.Count}-entry mode table");
        }

        if (xattrIndex >= (ulong)_payload.Xattrs.Count)
        {
            Fail($"{Describe(obj)}: xattr index {xattrIndex} is past the {_payload.Xattrs.Count}-entry xattr table");
        }

        var mode = _payload.Modes[(int)modeIndex];
        return new FileHeader(mode.Uid, mode.Gid, mode.Mode, "", _payload.Xattrs[(int)xattrIndex]);
    }

    private DeltaObject NextObject()
    {
        if (_open is { } open)
        {
            Fail($"{Describe(open)} is still open");
        }

        if (_next >= _objects.Count)
        {
            Fail($"operations produce more objects than the {_objects.Count} the part header lists");
        }

        return _objects[_next];
    }

    private DeltaObject RequireOpen() =>
        _open ?? DeltaApplyThrowHelper.Invalid<DeltaObject>(Context("no object is open"));

    private void FinishObject()
    {
        // ostree's close also drops the read source.
        UnsetReadSource();
        _open = null;
        _openHeader = null;
        _openPresent = false;
        _next++;
    }

    private int PayloadRange(ulong offset, ulong length, out int count)
    {
        var size = (ulong)_payload.Blob.Length;
        if (offset > size || length > size - offset)
        {
            Fail($"range of {length} bytes at offset {offset} runs past the {size}-byte payload");
        }

        count = (int)length;
        return (int)offset;
    }

    private ulong ReadVarint(ReadOnlySpan<byte> ops, ref int pos, string what)
    {
        if (!Varint.TryRead(ops, ref pos, out var value))
        {
            Fail($"{what}: truncated or over-long varint");
        }

        return value;
    }

    private string Describe(DeltaObject obj) => $"object {_next} ({obj.Type.Name()} {obj.Checksum})";

    private string Context(string message) => $"{Where()}: {message}";

    private string Where()
    {
        var op = _opcode is >= 0x20 and < 0x7F ? $"'{(char)_opcode}'" : $"0x{_opcode:x2}";
        return $"part {_part}: operation {_opIndex} ({op} at byte {_opOffset})";
    }

    [DoesNotReturn]
    private void Fail(string message) => DeltaApplyThrowHelper.Invalid(Context(message));

    public void Dispose()
    {
        WaitForWrites();
        UnsetReadSource();
        _buffer.Dispose();
        _slots.Dispose();
    }
}
