using OstreeContainer.Errors;

namespace OstreeContainer.Ostree.Repository;

/// <summary>Where a ref lives: <c>refs/heads</c>, <c>refs/remotes/REMOTE</c> or <c>refs/mirrors/COLLECTION</c>.</summary>
public enum RefKind
{
    /// <summary>A local branch (<c>refs/heads/NAME</c>).</summary>
    Head,

    /// <summary>A ref pulled from a remote (<c>refs/remotes/REMOTE/NAME</c>), written <c>REMOTE:NAME</c>.</summary>
    Remote,

    /// <summary>A collection-ID ref (<c>refs/mirrors/COLLECTION/NAME</c>).</summary>
    Mirror,
}

/// <summary>A ref: its kind, the remote or collection it belongs to (if any), and its name.</summary>
public readonly record struct RefName(RefKind Kind, string? Owner, string Name)
{
    /// <summary>The way <c>ostree refs</c> prints it: <c>NAME</c> or <c>REMOTE:NAME</c>.</summary>
    public override string ToString() => Kind switch
    {
        RefKind.Head => Name,
        RefKind.Remote => $"{Owner}:{Name}",
        _ => $"({Owner}, {Name})",
    };

    /// <summary>The path of the ref file relative to the repository.</summary>
    public string RelativePath => Kind switch
    {
        RefKind.Head => $"refs/heads/{Name}",
        RefKind.Remote => $"refs/remotes/{Owner}/{Name}",
        _ => $"refs/mirrors/{Owner}/{Name}",
    };

    /// <summary>A local branch.</summary>
    public static RefName Head(string name) => new(RefKind.Head, null, Validate(name));

    /// <summary>
    /// Parses <c>NAME</c> or <c>REMOTE:NAME</c> as <c>ostree</c> accepts them on the command line.
    /// </summary>
    /// <exception cref="UserInputException">Not a valid ref name.</exception>
    public static RefName Parse(string refspec)
    {
        ArgumentNullException.ThrowIfNull(refspec);
        var colon = refspec.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            return Head(refspec);
        }

        var remote = refspec[..colon];
        if (!IsValidComponent(remote))
        {
            throw new UserInputException($"invalid remote name '{remote}' in '{refspec}'");
        }

        return new RefName(RefKind.Remote, remote, Validate(refspec[(colon + 1)..]));
    }

    /// <summary>
    /// Whether <paramref name="name"/> matches ostree's ref grammar:
    /// <c>([\w\d][-._\w\d]*/)*[\w\d][-._\w\d]*</c>.
    /// </summary>
    public static bool IsValid(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.Length == 0)
        {
            return false;
        }

        foreach (var part in name.Split('/'))
        {
            if (!IsValidComponent(part))
            {
                return false;
            }
        }

        return true;
    }

    private static string Validate(string name) =>
        IsValid(name) ? name : throw new UserInputException($"invalid ref name '{name}'");

    private static bool IsValidComponent(string part)
    {
        if (part.Length == 0 || !IsWord(part[0]))
        {
            return false;
        }

        foreach (var c in part)
        {
            if (!IsWord(c) && c is not ('-' or '.'))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsWord(char c) => char.IsAsciiLetterOrDigit(c) || c == '_';
}
