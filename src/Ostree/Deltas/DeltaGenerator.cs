using OstreeContainer.Ostree.Deltas.Generate;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Repository;
using OstreeContainer.Ostree.Signing;
using OstreeContainer.Ostree.Summaries;

namespace OstreeContainer.Ostree.Deltas;

/// <summary>
/// What <c>static-delta generate</c> may choose; the defaults are ostree's
/// (ostree-format.md §8.8). Sizes are bytes (ostree's MB options are 1000 x 1000 bytes).
/// </summary>
public sealed record DeltaGenerateOptions
{
    /// <summary>ostree's <c>--max-chunk-size</c> default, 32 MB: a new part starts past it.</summary>
    public const long DefaultMaxChunkSize = 32_000_000;

    /// <summary>ostree's <c>--min-fallback-size</c> default, 4 MB.</summary>
    public const long DefaultMinFallbackSize = 4_000_000;

    /// <summary>ostree's <c>--max-bsdiff-size</c> default, 128 MB.</summary>
    public const long DefaultMaxBsdiffSize = 128_000_000;

    /// <summary>Put the parts inside the superblock (<c>--inline</c>).</summary>
    public bool Inline { get; init; }

    /// <summary>A new part starts once a part's uncompressed objects pass this size.</summary>
    public long MaxChunkSize { get; init; } = DefaultMaxChunkSize;

    /// <summary>New files larger than this without a match become fallback objects; 0 disables fallbacks.</summary>
    public long MinFallbackSize { get; init; } = DefaultMinFallbackSize;

    /// <summary>Never encode a file as a bsdiff patch (<c>--disable-bsdiff</c>).</summary>
    public bool DisableBsdiff { get; init; }

    /// <summary>bsdiff only when the old and new file together fit this size.</summary>
    public long MaxBsdiffSize { get; init; } = DefaultMaxBsdiffSize;

    /// <summary>Keys to sign the superblock with (<c>--sign-type ed25519 --sign KEY</c>); the signed wrapper only <c>apply-offline</c> reads.</summary>
    public IReadOnlyList<Ed25519SecretKey> SignKeys { get; init; } = [];

    /// <summary>Parts, compression and bsdiff run on this many threads at most.</summary>
    public int MaxParallelism { get; init; } = Environment.ProcessorCount;

    /// <summary>The default <see cref="CompressionPreset"/>.</summary>
    public const int DefaultCompressionPreset = 2;

    /// <summary>
    /// The xz preset parts are compressed with (0–9). ostree always uses 8; we default to 2,
    /// about a third of preset 8's CPU time, and still match ostree's delta sizes because
    /// similar files are packed next to each other and x86 code gets the BCJ filter
    /// (measured on the OS fixture; see Generate/README.md). Already-compressed files always
    /// go into preset-0 parts.
    /// </summary>
    public int CompressionPreset { get; init; } = DefaultCompressionPreset;

    /// <summary>
    /// How many parts a small delta's compressible objects are spread over, so its
    /// compression runs on that many cores (never below 1 MB a part, never past
    /// <see cref="MaxChunkSize"/>). Null: <see cref="MaxParallelism"/>. Part boundaries change
    /// the delta's bytes, so output that must not depend on the machine sets this.
    /// </summary>
    public int? SpreadParts { get; init; }

    /// <summary>Clock for the superblock timestamp (a fixed time makes the delta reproducible).</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>
    /// Write the delta directory (superblock and parts) to this path, which must not exist,
    /// instead of into the repo's <c>deltas/</c>; the repo is then only read (no <c>tmp/</c>,
    /// delta index or summary changes), so it may be read-only. Null: into the repo.
    /// </summary>
    public string? OutputDirectory { get; init; }
}

/// <summary>What a generated delta holds.</summary>
/// <param name="Name">From/to commits.</param>
/// <param name="Directory">The delta directory: under the repo, or <see cref="DeltaGenerateOptions.OutputDirectory"/>.</param>
/// <param name="Parts">Number of parts.</param>
/// <param name="PartBytes">Bytes of all part files (or inline parts).</param>
/// <param name="Fallbacks">Number of fallback objects.</param>
/// <param name="FallbackBytes">Compressed bytes of the fallback objects.</param>
/// <param name="SuperblockBytes">Length of the superblock file.</param>
public sealed record DeltaGenerateResult(DeltaName Name, string Directory, int Parts, long PartBytes, int Fallbacks, long FallbackBytes, long SuperblockBytes);

/// <summary>Generates static deltas natively, in ostree's format.</summary>
public static class DeltaGenerator
{
    /// <summary>
    /// Generates the delta <paramref name="from"/> (null: from scratch) to <paramref name="to"/>
    /// into <c>deltas/…</c> of <paramref name="repo"/>, then refreshes the delta index and,
    /// when the repo has a summary, the summary's delta list. An existing delta of the same
    /// name is replaced only once the new one is complete. With
    /// <see cref="DeltaGenerateOptions.OutputDirectory"/> the delta goes there instead and the
    /// repo is only read.
    /// </summary>
    /// <exception cref="InvalidDataException">A commit, or an object one reaches, is missing or malformed; nothing is left under <c>deltas/</c> (or at the output directory).</exception>
    /// <exception cref="IOException">The output directory exists already.</exception>
    public static Task<DeltaGenerateResult> GenerateAsync(OstreeRepo repo, Checksum? from, Checksum to, DeltaGenerateOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(repo);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegative(options.MaxChunkSize);
        ArgumentOutOfRangeException.ThrowIfNegative(options.MinFallbackSize);
        ArgumentOutOfRangeException.ThrowIfNegative(options.MaxBsdiffSize);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxParallelism, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(options.CompressionPreset);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.CompressionPreset, 9);
        if (options.SpreadParts is { } spread)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(spread, 1, nameof(options.SpreadParts));
        }

        if (options.OutputDirectory is { } output && Path.Exists(output))
        {
            throw new IOException($"static delta output {output} exists already");
        }
        return Task.Run(() => DeltaCompiler.Generate(repo, from, to, options, cancellationToken), cancellationToken);
    }
}
