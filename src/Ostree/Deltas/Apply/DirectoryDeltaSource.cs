using System.Globalization;
using OstreeContainer.Errors;
using OstreeContainer.Ostree.Summaries;

namespace OstreeContainer.Ostree.Deltas.Apply;

/// <summary>
/// A delta as <c>ostree static-delta apply-offline</c> takes it: a delta directory holding
/// <c>superblock</c> and the part files <c>0</c>, <c>1</c>…, or the path of the superblock
/// file itself, whose parts are its siblings.
/// </summary>
public sealed class DirectoryDeltaSource : IDeltaSource
{
    private readonly string _directory;
    private readonly string _superblock;

    /// <summary>A source reading <paramref name="path"/>: a delta directory or a superblock file.</summary>
    /// <exception cref="UserInputException">Neither a directory nor a file exists at <paramref name="path"/>.</exception>
    public DirectoryDeltaSource(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var full = Path.GetFullPath(path);
        if (Directory.Exists(full))
        {
            _directory = full;
            _superblock = Path.Combine(full, DeltaName.SuperblockFileName);
        }
        else if (File.Exists(full))
        {
            _directory = Path.GetDirectoryName(full)!;
            _superblock = full;
        }
        else
        {
            throw new UserInputException($"{path}: no delta directory or superblock file here");
        }
    }

    /// <inheritdoc/>
    public string Description => _directory;

    /// <inheritdoc/>
    public async ValueTask<byte[]> ReadSuperblockAsync(int maxLength, CancellationToken cancellationToken)
    {
        FileStream stream;
        try
        {
            stream = new FileStream(_superblock, FileMode.Open, FileAccess.Read, FileShare.Read, 1, useAsync: false);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new InvalidDataException($"{_superblock}: no superblock file", e);
        }

        await using (stream.ConfigureAwait(false))
        {
            if (stream.Length > maxLength)
            {
                throw new InvalidDataException($"{_superblock}: {stream.Length} bytes is over the {maxLength}-byte limit for a superblock");
            }

            var data = new byte[stream.Length];
            await stream.ReadExactlyAsync(data, cancellationToken).ConfigureAwait(false);
            return data;
        }
    }

    /// <inheritdoc/>
    public ValueTask<Stream> OpenPartAsync(int index, CancellationToken cancellationToken)
    {
        var path = Path.Combine(_directory, index.ToString(CultureInfo.InvariantCulture));
        try
        {
            return ValueTask.FromResult<Stream>(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new InvalidDataException($"part {index}: no file {path}", e);
        }
    }
}
