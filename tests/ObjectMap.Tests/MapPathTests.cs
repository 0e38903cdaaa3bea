using OstreeContainer.Errors;

namespace OstreeContainer.ObjectMap.Tests;

public class MapPathTests
{
    [Theory]
    [InlineData("/", "/")]
    [InlineData("/usr/bin/bash", "/usr/bin/bash")]
    [InlineData("usr/bin/bash", "/usr/bin/bash")]
    [InlineData("/usr/bin/", "/usr/bin")]
    [InlineData("//usr///bin", "/usr/bin")]
    [InlineData("///", "/")]
    [InlineData("/a..b/.c", "/a..b/.c")]
    public void Normalize_Path_ReturnsCanonicalForm(string path, string expected)
    {
        Assert.Equal(expected, MapPath.Normalize(path));
    }

    [Theory]
    [InlineData("")]
    [InlineData("/usr/./bin")]
    [InlineData("/usr/..")]
    [InlineData("..")]
    [InlineData("/a\0b")]
    public void Normalize_DotComponentsEmptyOrNul_Throws(string path)
    {
        Assert.Throws<UserInputException>(() => MapPath.Normalize(path));
    }

    [Theory]
    [InlineData("/", "", "/")]
    [InlineData("/usr", "/", "usr")]
    [InlineData("/usr/bin/bash", "/usr/bin/", "bash")]
    public void Split_CanonicalPath_ParentPlusNameIsThePath(string path, string parent, string name)
    {
        var split = MapPath.Split(path);

        Assert.Equal((parent, name), split);
        Assert.Equal(path, MapPath.Join(split.Parent, split.Name));
    }

    [Theory]
    [InlineData("/", "/")]
    [InlineData("/usr", "/usr/")]
    public void ChildParent_Directory_IsTheParentKeyOfItsChildren(string directory, string expected)
    {
        Assert.Equal(expected, MapPath.ChildParent(directory));
        Assert.Equal(expected, MapPath.Split(MapPath.Join(MapPath.ChildParent(directory), "x")).Parent);
    }
}
