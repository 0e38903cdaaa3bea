using OstreeContainer.ImagePuller;
using OstreeContainer.Oci;
using OstreeContainer.Ostree.Signing;
using static OstreeContainer.Sysroot.Tests.SysrootTestImages;

namespace OstreeContainer.Sysroot.Tests;

/// <summary>
/// An upgrade that fails (wrong signature, tampered blobs, a registry failing mid-pull, no
/// room, no keys) leaves the deployments, their origins, the boot entries and the repo's
/// refs and objects as they were. Each case: C1 deployed through a fault proxy in front of a
/// real docker-registry, C2 pushed under the same tag, then the library's upgrade.
/// </summary>
public class UpgradeFailureTests
{
    private const string Os = "exampleos";

    [Fact]
    public async Task Upgrade_WrongSigningKey_RejectedNothingChanged()
    {
        using var setup = Setup.Start();
        var wrong = $"ed25519={Ed25519SecretKey.Generate().PublicKey.ToBase64()}";

        var e = await Assert.ThrowsAsync<ImagePullException>(() => setup.Upgrade(new PullTrust { SignVerify = [wrong] }));

        Assert.Contains("signature", e.Message, StringComparison.OrdinalIgnoreCase);
        setup.AssertUnchanged();
    }

    [Fact]
    public async Task Upgrade_TamperedBlobsInTheRegistry_RejectedNothingChanged()
    {
        using var setup = Setup.Start();
        // Every layer of C2 the registry stores is corrupted (the delta first: the pull falls
        // back to the meta and repo layers, which are bad too); the config is left intact.
        var info = await ImageImporter.InspectAsync(ImageReference.Parse($"oci:{Value.Layout2}:c2"), null, Oci.Images.Platform.Current, TestContext.Current.CancellationToken);
        foreach (var layer in info.Layers)
        {
            var path = setup.Registry.BlobDataPath(layer.Descriptor.Digest.ToString());
            var bytes = File.ReadAllBytes(path);
            bytes[bytes.Length / 2] ^= 0x5a;
            File.WriteAllBytes(path, bytes);
        }

        var e = await Assert.ThrowsAsync<ImagePullException>(() => setup.Upgrade());

        TestContext.Current.TestOutputHelper?.WriteLine(e.Message);
        Assert.Contains("bytes received hash to", e.Message, StringComparison.Ordinal);
        setup.AssertUnchanged();
    }

    [Fact]
    public async Task Upgrade_RegistryFailsMidPull_RejectedNothingChanged()
    {
        using var setup = Setup.Start();
        // Manifests and the config come through; every layer blob fails with 500 from now on.
        setup.FailLayers = true;

        var e = await Assert.ThrowsAsync<ImagePullException>(() => setup.Upgrade());

        Assert.Contains("500", e.Message, StringComparison.Ordinal);
        Assert.Contains(setup.Proxy.Log, r => r.Fault == HttpFault.ServerError);
        setup.AssertUnchanged();
    }

    [Fact]
    public async Task Upgrade_NotEnoughFreeSpace_OneLineBeforeAnyLayerNothingChanged()
    {
        using var setup = Setup.Start();
        var check = await setup.Updater(freeSpace: _ => 1000).UpgradeAsync(UpgradeMode.Check, TestContext.Current.CancellationToken);
        Assert.Equal(UpgradeOutcome.Available, check.Outcome);
        Assert.Equal(PullPath.Delta, check.Plan!.Path);
        Assert.Equal((check.Plan.BytesToFetch * SysrootUpdater.BytesWrittenPerByteFetched) + SysrootUpdater.MarginBytes, check.BytesNeeded);
        var logged = setup.Proxy.Log.Count;

        var e = await Assert.ThrowsAsync<SysrootException>(() => setup.Updater(freeSpace: _ => 1000).UpgradeAsync(UpgradeMode.Deploy, TestContext.Current.CancellationToken));

        Assert.Equal(
            $"not enough free space in {Path.Combine(setup.Sysroot, "ostree", "repo")}: the pull fetches {check.Plan.BytesToFetch} bytes and needs about {check.BytesNeeded} bytes, 1000 are free",
            e.Message);
        // The config was read again to decide; no layer was fetched.
        Assert.DoesNotContain(setup.Proxy.Log.Skip(logged), r => r.Path.Contains("/blobs/", StringComparison.Ordinal) && !r.Path.EndsWith(Value.DeltaOfC2().Config, StringComparison.Ordinal));
        setup.AssertUnchanged();
    }

    [Fact]
    public async Task Upgrade_SignedOriginWithoutKeys_OneLineNothingFetched()
    {
        using var setup = Setup.Start();
        var requests = setup.Proxy.Log.Count;

        var e = await Assert.ThrowsAsync<SysrootException>(() => setup.Upgrade(new PullTrust()));

        Assert.Equal(
            $"ostree-image-signed:docker://{setup.Proxy.Host}/os/x:stable asks for a signed image: pass the keys its commit is signed with (--keyring FILE or --sign-verify ed25519=KEY|file:PATH)",
            e.Message);
        Assert.Equal(requests, setup.Proxy.Log.Count);
        setup.AssertUnchanged();
    }

    /// <summary>C1 deployed from a registry behind a fault proxy, C2 pushed under the same tag, the sysroot's state recorded.</summary>
    private sealed class Setup : IDisposable
    {
        private volatile bool _failLayers;

        private Setup()
        {
            Registry = LocalRegistry.Start();
            Proxy = new RegistryFaultProxy(Registry.Port, (method, path, _) =>
                _failLayers && method == "GET" && path.Contains("/blobs/", StringComparison.Ordinal) && !path.EndsWith(Value.DeltaOfC2().Config, StringComparison.Ordinal)
                    ? HttpFault.ServerError
                    : HttpFault.None);
            Client = FastClient();
            Sysroot = NewSysroot(Os);
        }

        public LocalRegistry Registry { get; }

        public RegistryFaultProxy Proxy { get; }

        public Oci.Registry.RegistryClient Client { get; }

        public string Sysroot { get; }

        public SortedSet<string> Before { get; private set; } = [];

        public bool FailLayers
        {
            set => _failLayers = value;
        }

        public static Setup Start()
        {
            var setup = new Setup();
            try
            {
                var images = Value;
                images.Push(setup.Registry.Host, "os/x:stable");
                var image = ImageReference.Parse($"docker://{setup.Proxy.Host}/os/x:stable");
                var trust = new PullTrust { SignVerify = [images.SignVerify] };
                var deployed = setup.Updater(trust: trust, os: Os)
                    .DeployAsync(image, SysrootUpdater.ParseTarget(image.ToString(), trust).Origin, [], TestContext.Current.CancellationToken).GetAwaiter().GetResult();
                Assert.Equal(images.C1, deployed.Pull.Commit);
                images.Push(setup.Registry.Host, "os/x:stable", c2: true);
                setup.Before = Snapshot(setup.Sysroot);
                return setup;
            }
            catch
            {
                setup.Dispose();
                throw;
            }
        }

        public SysrootUpdater Updater(PullTrust? trust = null, string? os = null, Func<string, long>? freeSpace = null) => new(new SysrootOptions
        {
            Sysroot = Sysroot,
            OsName = os,
            Trust = trust ?? new PullTrust { SignVerify = [Value.SignVerify] },
            Registry = Client,
            FreeSpace = freeSpace ?? (_ => long.MaxValue),
        });

        public Task<UpgradeResult> Upgrade(PullTrust? trust = null) => Updater(trust).UpgradeAsync(UpgradeMode.Deploy, TestContext.Current.CancellationToken);

        public void AssertUnchanged()
        {
            var after = Snapshot(Sysroot);
            Assert.True(after.SetEquals(Before), $"changed: -{string.Join(", -", Before.Except(after))} +{string.Join(", +", after.Except(Before))}");
        }

        public void Dispose()
        {
            Client.Dispose();
            Proxy.Dispose();
            Registry.Dispose();
        }
    }
}
