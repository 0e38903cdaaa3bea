using System.Text;
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

/// <summary>The on-disk layout of each <see cref="RefKind"/>.</summary>
public static class RefKindExtensions
{
    /// <summary>
    /// The directory, relative to the repository root, under which refs of <paramref name="kind"/>
    /// live: <c>refs/heads</c>, <c>refs/remotes</c> or <c>refs/mirrors</c>.
    /// </summary>
    public static string RelativeDirectory(this RefKind kind) => kind switch
    {
        RefKind.Head => "refs/heads",
        RefKind.Remote => "refs/remotes",
        RefKind.Mirror => "refs/mirrors",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a ref kind"),
    };
}

/// <summary>
/// A ref: its kind, the remote or collection it belongs to (if any), and its name; and the
/// one home of the name rules ostree applies to refs, remotes and collection IDs.
/// </summary>
/// <remarks>
/// ostree 2022.7 (<c>ostree-core.c</c>) matches names against regular expressions compiled by
/// GRegex, which turns on PCRE2's Unicode properties, so <c>\w</c> is any letter (<c>\p{L}</c>),
/// any number (<c>\p{N}</c>, which holds <c>\d</c>) or <c>_</c>:
/// <code>
/// fragment = \w [-._\w]*
/// ref      = fragment ("/" fragment)*     ostree_validate_rev
/// remote   = fragment                     ostree_validate_remote_name
/// refspec  = (remote ":")? ref            ostree_parse_refspec
/// </code>
/// So <c>.</c> and <c>-</c> may not start a segment, <c>..</c> inside one is fine, and
/// <c>é</c>, <c>ü</c> or <c>中文</c> are ordinary letters. The tests ask the real
/// <c>ostree refs --create</c> and <c>ostree init --collection-id</c> the same questions.
/// </remarks>
public readonly record struct RefName(RefKind Kind, string? Owner, string Name)
{
    /// <summary>The longest collection ID (a D-Bus name; <c>g_dbus_is_interface_name</c>).</summary>
    public const int MaxCollectionIdLength = 255;

    /// <summary>The way <c>ostree refs</c> prints it: <c>NAME</c> or <c>REMOTE:NAME</c>.</summary>
    public override string ToString() => Kind switch
    {
        RefKind.Head => Name,
        RefKind.Remote => $"{Owner}:{Name}",
        _ => $"({Owner}, {Name})",
    };

    /// <summary>The path of the ref file relative to the repository root.</summary>
    public string RelativePath => Kind == RefKind.Head
        ? $"{Kind.RelativeDirectory()}/{Name}"
        : $"{Kind.RelativeDirectory()}/{Owner}/{Name}";

    /// <summary>A local branch.</summary>
    /// <exception cref="UserInputException">Not a valid ref name.</exception>
    public static RefName Head(string name) => new(RefKind.Head, null, Validate(name));

    /// <summary>
    /// Parses <c>NAME</c> or <c>REMOTE:NAME</c> as <c>ostree</c> accepts them on the command line.
    /// </summary>
    /// <remarks>
    /// ostree anchors its pattern with <c>$</c>, which PCRE also matches before a final line
    /// break, so <c>ostree refs --create=$'a\n'</c> quietly creates <c>a</c>. A name holding a
    /// line break is refused here instead.
    /// </remarks>
    /// <exception cref="UserInputException">Not a valid ref name or remote name.</exception>
    public static RefName Parse(string refspec)
    {
        ArgumentNullException.ThrowIfNull(refspec);
        var colon = refspec.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            return Head(refspec);
        }

        var remote = refspec[..colon];
        if (!IsValidRemoteName(remote))
        {
            throw new UserInputException($"invalid remote name '{remote}' in '{refspec}'");
        }

        return new RefName(RefKind.Remote, remote, Validate(refspec[(colon + 1)..]));
    }

    /// <summary>Whether <paramref name="name"/> is a valid ref name (<c>ostree_validate_rev</c>).</summary>
    public static bool IsValid(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var span = name.AsSpan();
        foreach (var segment in span.Split('/'))
        {
            if (!IsFragment(span[segment]))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Whether <paramref name="name"/> is a valid remote name (<c>ostree_validate_remote_name</c>): one ref segment.</summary>
    public static bool IsValidRemoteName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return IsFragment(name);
    }

    /// <summary>
    /// Whether <paramref name="id"/> is a valid collection ID (<c>ostree_validate_collection_id</c>),
    /// which has the syntax of a D-Bus interface name (<c>g_dbus_is_interface_name</c>): at most
    /// <see cref="MaxCollectionIdLength"/> characters, two or more dot-separated elements of
    /// <c>[A-Za-z_][A-Za-z0-9_]*</c>. Unlike ref names, ASCII only.
    /// </summary>
    public static bool IsValidCollectionId(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        if (id.Length > MaxCollectionIdLength)
        {
            return false;
        }

        var span = id.AsSpan();
        var elements = 0;
        foreach (var range in span.Split('.'))
        {
            var element = span[range];
            if (element.IsEmpty || char.IsAsciiDigit(element[0]))
            {
                return false;
            }

            foreach (var c in element)
            {
                if (!char.IsAsciiLetterOrDigit(c) && c != '_')
                {
                    return false;
                }
            }

            elements++;
        }

        return elements >= 2;
    }

    /// <summary>
    /// The ref whose file is at <paramref name="path"/> ('/'-separated) under
    /// <paramref name="kind"/>'s <see cref="RefKindExtensions.RelativeDirectory"/>: the inverse
    /// of <see cref="RelativePath"/>. False for a remote or mirror file that is not inside a
    /// remote's or collection's directory. The name is taken as found, not validated.
    /// </summary>
    internal static bool TryFromKindPath(RefKind kind, string path, out RefName name)
    {
        if (kind == RefKind.Head)
        {
            name = new RefName(kind, null, path);
            return true;
        }

        var slash = path.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            name = default;
            return false;
        }

        name = new RefName(kind, path[..slash], path[(slash + 1)..]);
        return true;
    }

    private static string Validate(string name) =>
        IsValid(name) ? name : throw new UserInputException($"invalid ref name '{name}'");

    /// <summary>One segment: a word character, then word characters, <c>-</c> or <c>.</c>.</summary>
    private static bool IsFragment(ReadOnlySpan<char> fragment)
    {
        if (fragment.IsEmpty)
        {
            return false;
        }

        var first = true;
        foreach (var rune in fragment.EnumerateRunes())
        {
            if (!IsWord(rune) && (first || rune.Value is not ('-' or '.')))
            {
                return false;
            }

            first = false;
        }

        return true;
    }

    // PCRE2's \w with Unicode properties: letters (Lu Ll Lt Lm Lo), numbers (Nd Nl No) and '_'.
    // Combining marks and other connector punctuation are not word characters to the PCRE2
    // (10.42) that ostree 2022.7 runs with; a lone surrogate enumerates as U+FFFD, a symbol.
    private static bool IsWord(Rune rune) => Rune.IsLetter(rune) || Rune.IsNumber(rune) || rune.Value == '_';
}
