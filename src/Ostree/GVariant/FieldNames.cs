namespace OstreeContainer.Ostree.GVariant;

/// <summary>
/// Names of a tuple's members for error paths, and optionally the names for tuples nested
/// in those members (directly, or as the elements of an array or maybe): the dirtree's
/// <c>files</c> member holds <c>(name, checksum)</c> tuples, so an error reads
/// <c>files[2].name</c> rather than <c>files[2].member 0</c>.
/// </summary>
internal sealed class FieldNames(IReadOnlyList<string> members, IReadOnlyList<FieldNames?>? nested = null)
{
    /// <summary>The name of member <paramref name="index"/>, or null when unnamed.</summary>
    public string? this[int index] => index < members.Count ? members[index] : null;

    /// <summary>Names for the tuples inside member <paramref name="index"/>.</summary>
    public FieldNames? Nested(int index) => nested is not null && index < nested.Count ? nested[index] : null;
}
