namespace OstreeContainer.Sysroot;

/// <summary>
/// One deployment of a sysroot as <c>ostree admin status</c> lists it, in its order (the
/// first is the default boot entry).
/// </summary>
/// <param name="Index">Its position in the list (what <c>ostree admin undeploy INDEX</c> takes).</param>
/// <param name="OsName">The stateroot.</param>
/// <param name="Commit">The deployed commit.</param>
/// <param name="Serial">The deploy serial (several deployments of one commit differ by it).</param>
/// <param name="Booted">The running system (<c>*</c>).</param>
/// <param name="Flags">What status says in parentheses after it: <c>pending</c>, <c>rollback</c>, <c>staged</c>, or empty.</param>
public sealed record Deployment(int Index, string OsName, string Commit, int Serial, bool Booted, string Flags)
{
    /// <summary>The deployment's directory under <paramref name="sysroot"/>.</summary>
    public string DirectoryIn(string sysroot) => Path.Combine(sysroot, "ostree", "deploy", OsName, "deploy", $"{Commit}.{Serial}");

    /// <summary>Its origin file under <paramref name="sysroot"/>.</summary>
    public string OriginPathIn(string sysroot) => DirectoryIn(sysroot) + ".origin";

    /// <inheritdoc/>
    public override string ToString() => $"{OsName} {Commit}.{Serial}";
}
