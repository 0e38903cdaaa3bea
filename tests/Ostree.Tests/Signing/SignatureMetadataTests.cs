using OstreeContainer.Ostree.GVariant;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Signing;

namespace OstreeContainer.Ostree.Tests.Signing;

/// <summary>Reading and appending the <c>aay</c> signature lists of detached metadata.</summary>
public class SignatureMetadataTests
{
    [Fact]
    public void GetSignatures_NoMetadataOrNoEntry_IsEmpty()
    {
        Assert.Empty(SignatureMetadata.GetSignatures(null, SignatureMetadata.GpgKey));
        Assert.Empty(SignatureMetadata.GetSignatures(new VariantDictionary([new("other", Variant.FromString("x"))]), SignatureMetadata.GpgKey));
    }

    [Fact]
    public void AppendSignature_NewEntry_GoesLastAndSerialisesAsAay()
    {
        var meta = new VariantDictionary([new("a", Variant.FromString("x"))]);

        SignatureMetadata.AppendSignature(meta, SignatureMetadata.GpgKey, [1, 2, 3]);
        SignatureMetadata.AppendSignature(meta, SignatureMetadata.GpgKey, [4]);

        Assert.Equal(["a", SignatureMetadata.GpgKey], meta.Entries.Select(e => e.Key));
        Assert.Equal("aay", meta[SignatureMetadata.GpgKey]!.Type.Signature);
        var reparsed = VariantDictionary.Parse(meta.Serialize());
        Assert.Equal([[1, 2, 3], [4]], SignatureMetadata.GetSignatures(reparsed, SignatureMetadata.GpgKey));
    }

    [Fact]
    public void GetSignatures_CommitmetaWrittenByOstreeGpgSign_HasOneSignature()
    {
        var fx = SignedFixture.Instance;

        var signatures = SignatureMetadata.GetSignatures(fx.CommitMeta(Fixtures.SmallRepo.Commit2), SignatureMetadata.GpgKey);

        // A binary OpenPGP packet: new- or old-format tag byte with the top bit set.
        Assert.True((Assert.Single(signatures)[0] & 0x80) != 0);
    }
}
