using System.Formats.Tar;
using System.IO.Compression;
using OstreeContainer.Cli;
using OstreeContainer.ImagePuller;
using OstreeContainer.Oci.Registry;
using OstreeContainer.Ostree.Objects;
using OstreeContainer.Ostree.Repository;
using OstreeContainer.Ostree.Signing;

namespace OstreeContainer.Sysroot.Tests;

/// <summary>
/// Two small bootable commits (a kernel and an initramfs under <c>usr/lib/modules/6.1.0/</c>),
/// C2 a child of C1, both ed25519-signed, committed by the real <c>ostree</c> and built into
/// images by our own <c>build</c> (C2's image carries the C1 -> C2 delta); built once per test
/// process. Sysroots are made by the real <c>ostree admin init-fs</c> and <c>os-init</c>.
/// </summary>
internal sealed class SysrootTestImages
{
    public const string Branch = "exampleos/x86_64/stable";

    private static readonly Lazy<SysrootTestImages> Shared = new(Create);

    private SysrootTestImages(string repo, string c1, string c2, string layout1, string layout2, Ed25519SecretKey key)
    {
        Repo = repo;
        C1 = c1;
        C2 = c2;
        Layout1 = layout1;
        Layout2 = layout2;
        Key = key;
        _derived = new Lazy<string>(StackDerivedLayer);
    }

    public static SysrootTestImages Value => Shared.Value;

    public string Repo { get; }

    public string C1 { get; }

    public string C2 { get; }

    /// <summary>Layout holding C1's image, tag <c>c1</c>.</summary>
    public string Layout1 { get; }

    /// <summary>Layout holding C2's image, tag <c>c2</c>.</summary>
    public string Layout2 { get; }

    public Ed25519SecretKey Key { get; }

    /// <summary>The <c>--sign-verify</c> value of the signing key.</summary>
    public string SignVerify => $"ed25519={Key.PublicKey.ToBase64()}";

    /// <summary>A sysroot made by the real tools: <c>ostree admin init-fs</c>, then <c>os-init OS</c> unless null.</summary>
    public static string NewSysroot(string? osName)
    {
        var sysroot = Path.Combine(Fixtures.TempDirectory("sysroot"), "sysroot");
        Directory.CreateDirectory(sysroot);
        Peer.Check("ostree", "admin", "init-fs", sysroot);
        if (osName is not null)
        {
            Peer.Check("ostree", "admin", "os-init", $"--sysroot={sysroot}", osName);
        }

        return sysroot;
    }

    /// <summary>Runs our CLI in-process; fails the test with its stderr unless it exits <paramref name="expected"/>.</summary>
    public static (string Stdout, string Stderr) RunCli(int expected, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = CliApp.Run(args, stdout, stderr);
        Assert.True(code == expected, $"ostree-container {string.Join(' ', args)}: exit {code}, expected {expected}\n{stderr}\n{stdout}");
        return (stdout.ToString(), stderr.ToString());
    }

    /// <summary>Pushes C1 (<paramref name="c2"/> false) or C2's image to <paramref name="registryHost"/>/<paramref name="name"/> with our <c>push</c>.</summary>
    public string Push(string registryHost, string name, bool c2 = false, string? tag = null)
    {
        var target = $"docker://{registryHost}/{name}";
        RunCli(0, "push", tag is not null ? $"oci:{Layout1}:{tag}" : c2 ? $"oci:{Layout2}:c2" : $"oci:{Layout1}:c1", target, "--tls-verify=false", "-q");
        return target;
    }

    /// <summary>A registry client that gives up fast (tests of faults).</summary>
    public static RegistryClient FastClient() =>
        new(new RegistryClientOptions { TlsVerify = false, MaxRetries = 2, InitialBackoff = TimeSpan.FromMilliseconds(50) });

    /// <summary>What a failed operation must leave as it was: the repo's objects and refs, the deployments, their origins and the boot entries.</summary>
    public static SortedSet<string> Snapshot(string sysroot)
    {
        var result = RepoSnapshot.Of(Path.Combine(sysroot, "ostree", "repo"));
        result.Add("status: " + Peer.Check("ostree", "admin", "status", $"--sysroot={sysroot}"));
        // Never recursive: ostree's boot/boot is a symlink to "." and deployments are whole trees.
        var loader = new FileInfo(Path.Combine(sysroot, "boot", "loader"));
        result.Add($"boot/loader -> {loader.LinkTarget}");
        foreach (var file in Directory.EnumerateDirectories(Path.Combine(sysroot, "ostree", "deploy")).Select(os => Path.Combine(os, "deploy")).Where(Directory.Exists).SelectMany(d => Directory.EnumerateFiles(d, "*.origin"))
            .Concat(Directory.EnumerateDirectories(Path.Combine(sysroot, "boot"), "loader.*").SelectMany(d => Directory.EnumerateFiles(Path.Combine(d, "entries"), "*.conf"))))
        {
            result.Add($"{Path.GetRelativePath(sysroot, file)}: {File.ReadAllText(file)}");
        }

        return result;
    }

    /// <summary>The deployments as the real <c>ostree admin status</c> lists them: "OS COMMIT.SERIAL" per line.</summary>
    public static IReadOnlyList<string> Status(string sysroot) =>
        [.. Peer.Check("ostree", "admin", "status", $"--sysroot={sysroot}").Split('\n')
            .Where(l => l.Length > 2 && l[1] == ' ' && l[2] != ' ')
            .Select(l => l[2..].Trim())];

    /// <summary>The commit the sysroot's ref for <paramref name="osName"/> points at, by the real ostree.</summary>
    public static string RefCommit(string sysroot, string osName) =>
        Peer.Ostree(Path.Combine(sysroot, "ostree", "repo"), "rev-parse", SysrootUpdater.RefFor(osName)).Trim();

    /// <summary>The origin file of the deployment of <paramref name="commit"/> (the newest serial).</summary>
    public static string Origin(string sysroot, string osName, string commit) =>
        File.ReadAllText(Directory.EnumerateFiles(Path.Combine(sysroot, "ostree", "deploy", osName, "deploy"), $"{commit}.*.origin").Order(StringComparer.Ordinal).Last());

    /// <summary>C2's C1 -> C2 delta layer (digest and size) and its config digest.</summary>
    public (string Digest, long Size, string Config) DeltaOfC2()
    {
        var info = ImageImporter.InspectAsync(Oci.ImageReference.Parse($"oci:{Layout2}:c2"), null, Oci.Images.Platform.Current).GetAwaiter().GetResult();
        var delta = PullPlan.DeltaLayers(info).Single(d => d.Info.From == C1 && d.Info.To == C2);
        var config = Oci.Images.OciJson.ParseManifest(info.ManifestBytes).Config.Digest.ToString();
        return (delta.Layer.Descriptor.Digest.ToString(), delta.Layer.Descriptor.Size, config);
    }

    /// <summary>
    /// Stacks one layer on C1's image the way buildah does for <c>FROM</c> + <c>RUN</c> (labels
    /// kept, layer annotations dropped) as tag <c>derived</c> of <see cref="Layout1"/>, once.
    /// </summary>
    public string DerivedTag => _derived.Value;

    private readonly Lazy<string> _derived;

    private string StackDerivedLayer()
    {
        var tar = new MemoryStream();
        using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var (name, text) in new[] { ("usr/share/added.txt", "added by a RUN step\n"), ("etc/derived.conf", "key=value\n") })
            {
                writer.WriteEntry(new PaxTarEntry(TarEntryType.Directory, Path.GetDirectoryName(name) + "/") { Mode = (UnixFileMode)0x1ED });
                writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { Mode = (UnixFileMode)0x1A4, DataStream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(text)) });
            }
        }

        var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(tar.ToArray());
        }

        var image = Oci.Layout.ImageLayout.Open(Layout1);
        var manifest = Oci.Images.OciJson.ParseManifest(image.ResolveManifest("c1").Bytes);
        var config = Oci.Images.OciJson.ParseConfig(image.ReadBlob(manifest.Config, Oci.Images.OciJson.MaxDocumentBytes));
        var layer = image.WriteBlob(compressed.ToArray(), Oci.MediaTypes.OciLayerGzip);
        var newConfig = image.WriteBlob(
            Oci.Images.OciJson.Serialize(config with { RootFs = config.RootFs with { DiffIds = [.. config.RootFs.DiffIds, Oci.Digest.Compute(tar.ToArray())] } }),
            manifest.Config.MediaType);
        var layers = manifest.Layers.Select(l => l with { Annotations = null }).Append(layer).ToList();
        image.SetManifest(image.WriteBlob(Oci.Images.OciJson.Serialize(manifest with { Config = newConfig, Layers = layers, Annotations = null }), Oci.MediaTypes.OciManifest), "derived");
        return "derived";
    }

    private static SysrootTestImages Create()
    {
        var dir = Fixtures.TempDirectory("sysroot-images");
        var repo = Path.Combine(dir, "repo");
        Peer.Check("ostree", "init", $"--repo={repo}", "--mode=archive");
        var tree = Path.Combine(dir, "tree");
        Write(tree, "usr/lib/modules/6.1.0/vmlinuz", "kernel 6.1.0 build 1\n");
        Write(tree, "usr/lib/modules/6.1.0/initramfs.img", "initramfs 6.1.0 build 1\n");
        Write(tree, "usr/etc/os-release", "ID=exampleos\nVERSION_ID=1\n");
        Write(tree, "usr/bin/tool", "#!/bin/sh\necho 1\n");
        var big = new byte[256 * 1024];
        new Random(17).NextBytes(big);
        Directory.CreateDirectory(Path.Combine(tree, "usr/share/data"));
        File.WriteAllBytes(Path.Combine(tree, "usr/share/data/blob"), big);
        var c1 = Commit(repo, tree, "1");

        Write(tree, "usr/etc/os-release", "ID=exampleos\nVERSION_ID=2\n");
        Write(tree, "usr/bin/tool", "#!/bin/sh\necho 2\n");
        Write(tree, "usr/share/data/new", "added in 2\n");
        var c2 = Commit(repo, tree, "2");

        var key = Ed25519SecretKey.Generate();
        var target = OstreeRepo.Open(repo);
        using (var transaction = target.BeginTransaction())
        {
            foreach (var commit in new[] { c1, c2 }.Select(Checksum.Parse))
            {
                var metadata = target.ReadCommitMeta(commit) ?? new VariantDictionary();
                Ed25519Signatures.Sign(metadata, target.ReadMetadataBytes(commit, ObjectType.Commit), key);
                transaction.WriteCommitMeta(commit, metadata);
            }

            transaction.Commit();
        }

        var layout1 = Path.Combine(dir, "layout1");
        var layout2 = Path.Combine(dir, "layout2");
        RunCli(0, "build", "--repo", repo, "--ref", c1, "--oci-dir", $"{layout1}:c1", "--webserver", NativeWebserver.Executable, "-q");
        RunCli(0, "build", "--repo", repo, "--ref", Branch, "--oci-dir", $"{layout2}:c2", "--webserver", NativeWebserver.Executable, "-q");
        return new SysrootTestImages(repo, c1, c2, layout1, layout2, key);
    }

    private static string Commit(string repo, string tree, string version) =>
        Peer.Ostree(repo, "commit", $"--branch={Branch}", $"--tree=dir={tree}", $"--add-metadata-string=version={version}", $"--subject=exampleos {version}").Trim();

    private static void Write(string tree, string path, string text)
    {
        var full = Path.Combine(tree, path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.WriteAllText(full, text);
    }
}
