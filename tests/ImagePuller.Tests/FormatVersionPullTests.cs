using OstreeContainer.ImageBuilder;
using OstreeContainer.ImageFormat;
using OstreeContainer.Oci;
using OstreeContainer.Oci.Images;
using OstreeContainer.Oci.Layout;

namespace OstreeContainer.ImagePuller.Tests;

/// <summary>The format version label: written by the builder, absent means 1, a newer major is refused.</summary>
public class FormatVersionPullTests
{
    private static readonly Lazy<(string Layout, ImageBuildResult Result)> SmallImage =
        new(() => PullTestImages.Build(Fixtures.SmallRepo.ArchiveRepo, "fixture/main", "main"));

    /// <summary>Tags a copy of <paramref name="tag"/> as <paramref name="newTag"/> whose config labels are changed by <paramref name="edit"/>.</summary>
    private static void RelabelConfig(string directory, string tag, string newTag, Action<SortedDictionary<string, string>> edit)
    {
        var layout = ImageLayout.Open(directory);
        var manifest = OciJson.ParseManifest(layout.ResolveManifest(tag).Bytes);
        var config = OciJson.ParseConfig(layout.ReadBlob(manifest.Config, OciJson.MaxDocumentBytes));
        var labels = new SortedDictionary<string, string>(config.Config!.Labels!, StringComparer.Ordinal);
        edit(labels);
        var configDescriptor = layout.WriteBlob(OciJson.Serialize(config with { Config = config.Config with { Labels = labels } }), manifest.Config.MediaType);
        var manifestDescriptor = layout.WriteBlob(OciJson.Serialize(manifest with { Config = configDescriptor }), MediaTypes.OciManifest);
        layout.SetManifest(manifestDescriptor, newTag);
    }

    [Fact]
    public async Task Build_WritesTheCurrentFormatVersion()
    {
        var (layout, _) = SmallImage.Value;

        var info = await ImageImporter.InspectAsync(ImageReference.Parse($"oci:{layout}:main"), null, Platform.Current, TestContext.Current.CancellationToken);

        Assert.Equal(FormatVersion.Current.ToString(), info.Labels[ImageLabelKeys.Format]);
    }

    [Fact]
    public async Task Pull_NoFormatLabel_ReadAsVersion1()
    {
        var (layout, _) = SmallImage.Value;
        RelabelConfig(layout, "main", "unlabelled", labels => labels.Remove(ImageLabelKeys.Format));
        var repo = PullTestImages.NewRepo("archive");

        var result = await ImageImporter.PullAsync(ImageImporterTests.Options(repo, ImageReference.Parse($"oci:{layout}:unlabelled")), TestContext.Current.CancellationToken);

        Assert.Equal(Fixtures.SmallRepo.Commit2, result.Commit);
        Peer.Ostree(repo, "fsck");
    }

    [Fact]
    public async Task Pull_NewerMajorFormat_RefusedInOneLineNamingTheLabel_RepoUntouched()
    {
        var (layout, _) = SmallImage.Value;
        RelabelConfig(layout, "main", "format2", labels => labels[ImageLabelKeys.Format] = "2.0");
        var repo = PullTestImages.NewRepo("archive");
        var snapshot = RepoSnapshot.Of(repo);

        var error = await Assert.ThrowsAsync<ImagePullException>(() => ImageImporter.PullAsync(
            ImageImporterTests.Options(repo, ImageReference.Parse($"oci:{layout}:format2")), TestContext.Current.CancellationToken));

        Assert.Contains("ostree.container.format", error.Message, StringComparison.Ordinal);
        Assert.Contains("2.0", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
        Assert.Equal(snapshot, RepoSnapshot.Of(repo));
    }
}
