using System.Text;

namespace OstreeContainer.Ostree.Summaries;

/// <summary>
/// The name rules the client applies to what it reads from a summary: ref names
/// (<c>ostree_validate_rev</c>) and collection IDs (<c>ostree_validate_collection_id</c>).
/// </summary>
internal static class RefNames
{
    /// <summary>
    /// OSTREE_REF_REGEXP: <c>(?:[\w\d][-._\w\d]*/)*[\w\d][-._\w\d]*</c>. GRegex compiles
    /// with PCRE2_UCP (gregex.c), so <c>\w</c> is any letter (\p{L}), number (\p{N}) or <c>_</c>.
    /// </summary>
    public static bool IsValidRef(string name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return false;
        }

        foreach (var component in name.Split('/'))
        {
            if (component.Length == 0)
            {
                return false;
            }

            var first = true;
            foreach (var rune in component.EnumerateRunes())
            {
                var word = Rune.IsLetter(rune) || Rune.IsNumber(rune) || rune.Value == '_';
                if (!word && (first || rune.Value is not ('-' or '.')))
                {
                    return false;
                }

                first = false;
            }
        }

        return true;
    }

    /// <summary>
    /// A collection ID has the syntax of a D-Bus interface name (<c>g_dbus_is_interface_name</c>):
    /// at most 255 characters, two or more dot-separated elements of <c>[A-Za-z_][A-Za-z0-9_]*</c>.
    /// </summary>
    public static bool IsValidCollectionId(string id)
    {
        if (string.IsNullOrEmpty(id) || id.Length > 255)
        {
            return false;
        }

        var elements = id.Split('.');
        if (elements.Length < 2)
        {
            return false;
        }

        foreach (var element in elements)
        {
            if (element.Length == 0 || char.IsAsciiDigit(element[0]))
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
        }

        return true;
    }
}
