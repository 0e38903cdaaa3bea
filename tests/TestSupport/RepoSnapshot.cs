namespace OstreeContainer.TestSupport;

/// <summary>What a failed, rejected or killed write must leave as it was in a repo.</summary>
public static class RepoSnapshot
{
    /// <summary>Every file under <c>objects/</c> and <c>refs/</c>, with the ref targets.</summary>
    public static SortedSet<string> Of(string repo)
    {
        var result = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var top in new[] { "objects", "refs" })
        {
            foreach (var file in Directory.EnumerateFiles(Path.Combine(repo, top), "*", SearchOption.AllDirectories))
            {
                var rel = Path.GetRelativePath(repo, file);
                result.Add(top == "refs" ? $"{rel} -> {File.ReadAllText(file).Trim()}" : rel);
            }
        }

        return result;
    }
}
