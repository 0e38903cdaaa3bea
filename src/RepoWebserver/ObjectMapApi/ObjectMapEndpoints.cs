using System.Text;
using System.Text.Json;
using OstreeContainer.Errors;
using OstreeContainer.ObjectMap;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.RepoWebserver.Hosting;

namespace OstreeContainer.RepoWebserver.ObjectMapApi;

/// <summary>
/// The object-map API under <c>/object-map/</c>: JSON answers from the SQLite map built for
/// the image's commit(s). Every lookup takes an optional <c>?commit=</c> (a checksum or a
/// ref recorded in the map; default: the newest commit). Documented by
/// <c>/object-map/openapi.json</c> and in the README.
/// </summary>
public static class ObjectMapEndpoints
{
    /// <summary>The URL prefix.</summary>
    public const string Prefix = "/object-map";

    /// <summary>Adds the routes; <paramref name="reader"/> null means no map is available (every lookup answers 503).</summary>
    public static void MapObjectMapApi(this IEndpointRouteBuilder app, ObjectMapReader? reader, ServerMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(app);
        var logger = app.ServiceProvider.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ObjectMapEndpoints));
        var group = app.MapGroup(Prefix);
        group.MapGet("/openapi.json", () => Results.Text(ObjectMapOpenApi.Document, "application/json", Encoding.UTF8));
        group.MapGet("/commits", () => Answer(reader, metrics, logger, map => Results.Json(map.ListCommits(), ObjectMapJsonContext.Default.IReadOnlyListObjectMapCommit)));
        group.MapGet("/paths/{**path}", (string? path, string? commit) => Answer(reader, metrics, logger, map =>
            map.TryGetEntry("/" + (path ?? ""), commit, out var entry)
                ? Results.Json(entry, ObjectMapJsonContext.Default.ObjectMapEntry)
                : Error(StatusCodes.Status404NotFound, $"no path /{path} in commit {map.ResolveCommit(commit).Checksum}")));
        group.MapGet("/ls/{**path}", (string? path, string? commit) => Answer(reader, metrics, logger, map =>
            map.ListDirectory("/" + (path ?? ""), commit) is { } entries
                ? Results.Json(entries, ObjectMapJsonContext.Default.IReadOnlyListObjectMapEntry)
                : Error(StatusCodes.Status404NotFound, $"no directory /{path} in commit {map.ResolveCommit(commit).Checksum}")));
        group.MapGet("/checksums/{checksum}", (string checksum) => Answer(reader, metrics, logger, map =>
            !Checksum.TryParse(checksum, out var parsed)
                ? Error(StatusCodes.Status400BadRequest, $"'{checksum}' is not a checksum (64 lowercase hex characters)")
                : map.FindPaths(parsed) is { Count: > 0 } paths
                    ? Results.Json(paths, ObjectMapJsonContext.Default.IReadOnlyListCommitPath)
                    : Error(StatusCodes.Status404NotFound, $"no path uses object {checksum}")));
        group.MapGet("/diff", (string? from, string? to) => Answer(reader, metrics, logger, map =>
            from is null || to is null
                ? Error(StatusCodes.Status400BadRequest, "give both ?from=COMMIT and ?to=COMMIT")
                : Results.Json(map.Diff(from, to), ObjectMapJsonContext.Default.ObjectMapDiff)));
    }

    private static IResult Answer(ObjectMapReader? reader, ServerMetrics metrics, ILogger logger, Func<ObjectMapReader, IResult> lookup)
    {
        IResult result;
        if (reader is null)
        {
            Log.NoObjectMap(logger);
            result = Error(StatusCodes.Status503ServiceUnavailable, "this server has no object map");
        }
        else
        {
            try
            {
                result = lookup(reader);
            }
            catch (KeyNotFoundException e)
            {
                Log.LookupFailed(logger, StatusCodes.Status404NotFound, e.Message, e);
                result = Error(StatusCodes.Status404NotFound, e.Message);
            }
            catch (UserInputException e)
            {
                Log.LookupFailed(logger, StatusCodes.Status400BadRequest, e.Message, e);
                result = Error(StatusCodes.Status400BadRequest, e.Message);
            }
        }

        metrics.Request("object-map", result is IStatusCodeHttpResult { StatusCode: { } code } ? code : StatusCodes.Status200OK, 0);
        return result;
    }

    /// <summary>A JSON error body <c>{"error": "…"}</c>.</summary>
    private static IResult Error(int status, string message)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("error", message);
            writer.WriteEndObject();
        }

        return Results.Text(buffer.ToArray(), "application/json", status);
    }
}
