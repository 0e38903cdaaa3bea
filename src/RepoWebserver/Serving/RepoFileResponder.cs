using System.Buffers;
using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Net.Http.Headers;
using Microsoft.Win32.SafeHandles;
using OstreeContainer.Ostree.Posix;

namespace OstreeContainer.RepoWebserver.Serving;

/// <summary>
/// Writes a <see cref="RepoFile"/> with the semantics of RFC 9110: strong ETag,
/// Last-Modified, preconditions evaluated in the order of §13.2.2 (If-Match,
/// If-Unmodified-Since, If-None-Match, If-Modified-Since, then If-Range/Range), single
/// byte ranges (206/416), HEAD without a body. Never compresses: <c>ostree pull</c> sends
/// no Accept-Encoding. A client that disconnects mid-body is not an error.
/// </summary>
public static class RepoFileResponder
{
    private const string OctetStream = "application/octet-stream";

    /// <summary>Bytes read from a file per <c>pread</c>.</summary>
    private const int ChunkSize = 64 * 1024;

    /// <summary>
    /// Answers the request in <paramref name="context"/> with <paramref name="file"/>, read
    /// from <paramref name="opened"/> when the caller has it open already (the caller keeps
    /// ownership), otherwise opened by its path. A file that shrinks while it is sent aborts
    /// the connection (a short body must not pass for a complete one) and is logged to
    /// <paramref name="logger"/>.
    /// </summary>
    public static async Task WriteAsync(HttpContext context, RepoFile file, SafeFileHandle? opened = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(file);
        var request = context.Request;
        var response = context.Response;
        var headers = response.Headers;
        headers.ETag = file.ETag;
        headers.LastModified = file.LastModifiedText;
        headers.CacheControl = file.CacheControl;
        headers.AcceptRanges = "bytes";

        var status = EvaluatePreconditions(request, file);
        if (status != StatusCodes.Status200OK)
        {
            response.StatusCode = status;
            return;
        }

        var offset = 0L;
        var length = file.Length;
        if (HttpMethods.IsGet(request.Method) && request.Headers.Range.Count > 0 && IfRangeAllows(request, file))
        {
            switch (HttpRange.Parse(request.Headers.Range.ToString(), file.Length, out var range))
            {
                case HttpRange.Result.Unsatisfiable:
                    response.StatusCode = StatusCodes.Status416RangeNotSatisfiable;
                    headers.ContentRange = $"bytes */{file.Length}";
                    return;
                case HttpRange.Result.Partial:
                    response.StatusCode = StatusCodes.Status206PartialContent;
                    headers.ContentRange = $"bytes {range.Start}-{range.Start + range.Length - 1}/{file.Length}";
                    offset = range.Start;
                    length = range.Length;
                    break;
            }
        }

        response.ContentType = OctetStream;
        response.ContentLength = length;
        if (HttpMethods.IsHead(request.Method) || length == 0)
        {
            return;
        }

        if (file.PhysicalPath is { } path)
        {
            await SendFromDiskAsync(context, opened, path, offset, length, logger).ConfigureAwait(false);
        }
        else
        {
            await response.Body.WriteAsync(file.Bytes.Slice((int)offset, (int)length)).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Sends <paramref name="length"/> bytes from <paramref name="offset"/> of
    /// <paramref name="opened"/>, or of <paramref name="path"/> opened now. Kestrel has no
    /// sendfile: its fallback goes through an async <see cref="FileStream"/>, which on Linux
    /// hands every read to another thread-pool thread. Files come from the page cache, so a
    /// synchronous <c>pread</c> into a pooled buffer is cheaper, and a small file leaves with
    /// its headers in one send. The file is opened before the response starts, so a
    /// vanished one still becomes <see cref="FileNotFoundException"/> for the caller to
    /// answer 404.
    /// </summary>
    private static async Task SendFromDiskAsync(HttpContext context, SafeFileHandle? opened, string path, long offset, long length, ILogger? logger)
    {
        using var openedHere = opened is null ? FileSystem.OpenReadNoFollow(path) : null;
        var handle = opened ?? openedHere!;
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(length, ChunkSize));
        try
        {
            var body = context.Response.Body;
            while (length > 0)
            {
                var read = FileSystem.Read(handle, buffer.AsSpan(0, (int)Math.Min(length, buffer.Length)), offset);
                if (read == 0)
                {
                    // Truncated under us: abort rather than send a short body as if complete.
                    Log.FileTruncated(logger ?? NullLogger.Instance, path, context.Response.ContentLength ?? 0);
                    context.Abort();
                    return;
                }

                await body.WriteAsync(buffer.AsMemory(0, read)).ConfigureAwait(false);
                offset += read;
                length -= read;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static int EvaluatePreconditions(HttpRequest request, RepoFile file)
    {
        var h = request.Headers;
        if (h.IfMatch.Count == 0 && h.IfNoneMatch.Count == 0 && h.IfModifiedSince.Count == 0 && h.IfUnmodifiedSince.Count == 0)
        {
            return StatusCodes.Status200OK;
        }

        var typed = request.GetTypedHeaders();
        var etag = new EntityTagHeaderValue(file.ETag);
        if (h.IfMatch.Count > 0)
        {
            if (!typed.IfMatch.Any(t => t.Equals(EntityTagHeaderValue.Any) || t.Compare(etag, useStrongComparison: true)))
            {
                return StatusCodes.Status412PreconditionFailed;
            }
        }
        else if (typed.IfUnmodifiedSince is { } unmodifiedSince && file.LastModified > unmodifiedSince)
        {
            return StatusCodes.Status412PreconditionFailed;
        }

        if (h.IfNoneMatch.Count > 0)
        {
            if (typed.IfNoneMatch.Any(t => t.Equals(EntityTagHeaderValue.Any) || t.Compare(etag, useStrongComparison: false)))
            {
                return StatusCodes.Status304NotModified;
            }
        }
        else if (typed.IfModifiedSince is { } modifiedSince && file.LastModified <= modifiedSince)
        {
            return StatusCodes.Status304NotModified;
        }

        return StatusCodes.Status200OK;
    }

    private static bool IfRangeAllows(HttpRequest request, RepoFile file)
    {
        var ifRange = request.Headers.IfRange;
        if (ifRange.Count == 0)
        {
            return true;
        }

        var value = ifRange.ToString();
        if (value.StartsWith('"') || value.StartsWith("W/", StringComparison.Ordinal))
        {
            // A weak validator never matches (§13.1.5 requires a strong comparison).
            return value == file.ETag;
        }

        return DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date) && date == file.LastModified;
    }
}
