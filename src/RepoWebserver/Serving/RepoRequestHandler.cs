using OstreeContainer.RepoWebserver.Hosting;
using OstreeContainer.RepoWebserver.Upstream;

namespace OstreeContainer.RepoWebserver.Serving;

/// <summary>
/// Answers <c>GET|HEAD /repo/&lt;path&gt;</c>: allowed repo files only (see
/// <see cref="RepoPath"/>), 404 for anything missing or not allowed (never 500 for a
/// missing file: <c>ostree pull</c> treats 404 as "absent" and 5xx as "retry"). With an
/// upstream configured, allowed files absent here are fetched from it. Every failure turned
/// into a 404 is logged.
/// </summary>
public sealed class RepoRequestHandler(RepoFileStore store, UpstreamForwarder? upstream, ServerMetrics metrics, ILogger<RepoRequestHandler> logger)
{
    /// <summary>The URL prefix the repo is served under.</summary>
    public const string Prefix = "/repo";

    /// <summary>Handles one request whose path starts with <see cref="Prefix"/>.</summary>
    public async Task HandleAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var request = context.Request;
        if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method))
        {
            context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            context.Response.Headers.Allow = "GET, HEAD";
            return;
        }

        var rest = request.Path.Value.AsSpan(Prefix.Length).TrimStart('/');
        if (!RepoPath.TryParse(rest, out var path))
        {
            NotFound(context, "other");
            metrics.Duration("other", started);
            return;
        }

        ResolvedFile? resolved;
        try
        {
            resolved = await store.ResolveAsync(path, context.RequestAborted).ConfigureAwait(false);
        }
        catch (InvalidDataException e)
        {
            // A corrupt object is never served; to the client it is simply not here.
            Log.CorruptObject(logger, path.Relative, e);
            resolved = null;
        }

        if (resolved is not { } found)
        {
            if (upstream is not null)
            {
                await upstream.ForwardAsync(context, path).ConfigureAwait(false);
                metrics.Request(path.Kind, context.Response.StatusCode, 0);
                return;
            }

            NotFound(context, ServerMetrics.ClassOf(path.Kind));
            return;
        }

        try
        {
            using (found)
            {
                await RepoFileResponder.WriteAsync(context, found.File, found.Handle, logger).ConfigureAwait(false);
            }
        }
        catch (FileNotFoundException e) when (!context.Response.HasStarted)
        {
            // Evicted from a cache between resolving and sending: resolve once more.
            Log.FileVanished(logger, path.Relative, e);
            store.Forget(path);
            if (await store.ResolveAsync(path, context.RequestAborted).ConfigureAwait(false) is not { } again)
            {
                Log.FileGone(logger, path.Relative);
                NotFound(context, ServerMetrics.ClassOf(path.Kind));
                return;
            }

            using (again)
            {
                await RepoFileResponder.WriteAsync(context, again.File, again.Handle, logger).ConfigureAwait(false);
            }
        }

        metrics.Request(path.Kind, context.Response.StatusCode, context.Response.ContentLength ?? 0);
        metrics.Duration(ServerMetrics.ClassOf(path.Kind), started);
    }

    private void NotFound(HttpContext context, string kind)
    {
        context.Response.StatusCode = StatusCodes.Status404NotFound;
        context.Response.Headers.CacheControl = "no-cache";
        metrics.Request(kind, StatusCodes.Status404NotFound, 0);
    }
}
