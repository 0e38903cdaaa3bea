using System.Globalization;

namespace OstreeContainer.RepoWebserver.Serving;

/// <summary>
/// A single byte range from a <c>Range</c> header (RFC 9110 §14.1.2). Multiple ranges and
/// syntax errors are treated as no range (the full response is allowed by §14.2).
/// </summary>
public readonly record struct HttpRange(long Start, long Length)
{
    /// <summary>The outcome of applying a Range header to a representation.</summary>
    public enum Result
    {
        /// <summary>Serve the whole representation (no header, invalid syntax, several ranges).</summary>
        Full,

        /// <summary>Serve the one satisfiable range (206).</summary>
        Partial,

        /// <summary>The range cannot be satisfied (416).</summary>
        Unsatisfiable,
    }

    /// <summary>Interprets <paramref name="header"/> for a representation of <paramref name="length"/> bytes.</summary>
    public static Result Parse(string? header, long length, out HttpRange range)
    {
        range = default;
        if (string.IsNullOrEmpty(header) || !header.StartsWith("bytes=", StringComparison.OrdinalIgnoreCase))
        {
            return Result.Full;
        }

        var spec = header.AsSpan(6).Trim();
        if (spec.Contains(','))
        {
            return Result.Full;
        }

        var dash = spec.IndexOf('-');
        if (dash < 0)
        {
            return Result.Full;
        }

        var first = spec[..dash].Trim();
        var last = spec[(dash + 1)..].Trim();
        if (first.IsEmpty)
        {
            // Suffix range: the last N bytes.
            if (!long.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out var suffix))
            {
                return Result.Full;
            }

            if (suffix == 0 || length == 0)
            {
                return Result.Unsatisfiable;
            }

            var n = Math.Min(suffix, length);
            range = new HttpRange(length - n, n);
            return Result.Partial;
        }

        if (!long.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out var start))
        {
            return Result.Full;
        }

        var end = length - 1;
        if (!last.IsEmpty)
        {
            if (!long.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out var lastByte) || lastByte < start)
            {
                return Result.Full;
            }

            end = Math.Min(lastByte, length - 1);
        }

        if (start >= length)
        {
            return Result.Unsatisfiable;
        }

        range = new HttpRange(start, end - start + 1);
        return Result.Partial;
    }
}
