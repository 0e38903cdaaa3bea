using OstreeContainer.Ostree.Objects;

namespace OstreeContainer.Ostree.Tests.Objects;

/// <summary>Xattrs serialise in libglnx's canonical form (strcmp order, no empty values) and parse back unchanged.</summary>
public class XattrTests
{
    [Fact]
    public void Sorted_NamesAboveTheBmp_SortByteWiseLikeStrcmp()
    {
        // UTF-8: U+FFFD is EF BF BD, U+1F600 is F0 9F 98 80, so U+FFFD sorts first; UTF-16
        // ordinal order (D83D < FFFD) would put the emoji first.
        Xattr[] xattrs = [new("user.\U0001F600", [1]), new("user.\uFFFD", [2]), new("user.a", [3])];

        Assert.Equal(["user.a", "user.\uFFFD", "user.\U0001F600"], Xattr.Sorted(xattrs).Select(x => x.Name));
    }

    [Fact]
    public void ContentHeader_XattrsInAnyOrder_SerialiseCanonicallyAndParseBack()
    {
        var header = FileHeader.Regular(0, 0, 0x1A4, [new("user.\U0001F600", [1]), new("user.\uFFFD", [2]), new("user.empty", [])]);

        var parsed = FileHeader.ParseContentHeader(header.ToContentHeader(), out _);

        Assert.Equal(["user.\uFFFD", "user.\U0001F600"], parsed.Xattrs.Select(x => x.Name));
        Assert.Equal(header.ToContentHeader(), parsed.ToContentHeader());
    }

    [Fact]
    public void BareUserMeta_WithXattrs_RoundTrips()
    {
        var header = FileHeader.Symlink(1000, 1000, "target", [new("user.b", [2]), new("security.selinux", "system_u:object_r:bin_t:s0\0"u8.ToArray())]);

        var parsed = FileHeader.FromBareUserMeta(header.ToBareUserMeta(), () => "target");

        Assert.Equal(["security.selinux", "user.b"], parsed.Xattrs.Select(x => x.Name));
        Assert.Equal(header.ToBareUserMeta(), parsed.ToBareUserMeta());
        Assert.Equal(header.ComputeChecksum([]), parsed.ComputeChecksum([]));
    }
}
