using System.Formats.Tar;
using System.IO.Compression;
using OstreeContainer.ImageBuilder;
using OstreeContainer.Oci;
using OstreeContainer.Oci.Images;
using OstreeContainer.Oci.Layout;
using OstreeContainer.Oci.Registry;

namespace OstreeContainer.ImagePuller.Tests;

/// <summary>
/// Images made by the real <c>buildah</c> on top of ours, built once per test run and shared:
/// derived images of the OS fixture's C1 and C2 images (RUN steps that add, change and delete
/// files and directories, modes, setuid, hard links, symlinks, /etc, /var and /tmp, and a
/// multi-stage <c>COPY --from</c>), one more layer on top of the first, a plain image from a
/// directory, and a small signed one for trust and malicious-layer tests. <c>umoci</c> is the
/// oracle for what each image's tree is.
/// </summary>
internal static class DerivedTestImages
{
    /// <summary>Tag of the derived image FROM C1 (two RUN layers and a COPY --from layer).</summary>
    public const string Derived = "d1";

    /// <summary>Tag of <see cref="Derived"/> plus one more RUN layer.</summary>
    public const string DerivedPlusOne = "d2";

    /// <summary>Tag of the same Containerfile FROM the C2 image (the base moved).</summary>
    public const string DerivedOnC2 = "c2d1";

    /// <summary>Tag of the plain image made from a directory (no ostree labels).</summary>
    public const string Plain = "plain";

    /// <summary>Tag of the small signed derived image (<see cref="Small"/>).</summary>
    public const string SmallDerived = "small";

    /// <summary>Number of layers the Containerfile adds (RUN, RUN, COPY --from; buildah --layers).</summary>
    public const int DerivedLayerCount = 3;

    /// <summary>The derived images: all tags above but <see cref="SmallDerived"/>, in one OCI layout.</summary>
    public static Set Os => OsImages.Value;

    /// <summary>
    /// The small fixture's commit 2, signed with a fresh ed25519 key, built by us, and a
    /// derived image of it made by buildah with COPY alone (the small tree has no shell).
    /// </summary>
    public static SmallSet Small => SmallImages.Value;

    /// <summary>The layouts of the OS-sized images and the base commit each stands on.</summary>
    public sealed record Set(string BaseLayout, string Layout);

    /// <summary>The small signed derived image: its layout, the base commit and the key that signed it.</summary>
    public sealed record SmallSet(string Layout, string BaseCommit, Ostree.Signing.Ed25519SecretKey Key);

    private static readonly Lazy<Set> OsImages = new(BuildOs);
    private static readonly Lazy<SmallSet> SmallImages = new(BuildSmall);
    private static readonly Dictionary<string, string> Unpacked = new(StringComparer.Ordinal);

    // Steps that touch every kind of change a layer can carry. The first RUN adds, changes and
    // deletes; the second deletes a directory of the first (a whiteout over a derived layer),
    // re-creates one of the base's (an opaque directory), hard-links a file of the first layer
    // and retargets a symlink; the COPY brings a file made in another stage.
    private const string Containerfile = """
        ARG BASE
        FROM ${BASE} AS maker
        RUN mkdir -p /out && printf 'made in the first stage\n' > /out/made.txt && chmod 0640 /out/made.txt

        FROM ${BASE}
        RUN set -e; \
            mkdir -p /usr/share/derived/sub/deeper /usr/share/derived/gone; \
            printf 'hello\n' > /usr/share/derived/hello.txt; \
            printf 'x\n' > /usr/share/derived/sub/x; \
            printf 'y\n' > /usr/share/derived/sub/deeper/y; \
            printf 'z\n' > /usr/share/derived/gone/z; \
            ln /usr/share/derived/hello.txt /usr/share/derived/hello-hard; \
            ln /usr/share/common-licenses/GPL-3 /usr/share/derived/gpl3-hard; \
            ln -s ../derived/hello.txt /usr/share/derived/hello-sym; \
            ln -s /usr/share/derived/sub /usr/share/derived/abs-sym; \
            cp /usr/bin/true /usr/libexec/suid-true; chmod 4755 /usr/libexec/suid-true; \
            chmod 2750 /usr/share/derived/sub/deeper; chmod 0600 /usr/share/derived/sub/x; \
            chown 1000:1000 /usr/share/derived/sub/x; \
            chmod 0755 /usr/share/common-licenses/BSD; \
            printf 'appended by the derived image\n' >> /usr/share/common-licenses/MPL-2.0; \
            rm /usr/share/common-licenses/Artistic; \
            rm -rf /usr/share/doc/adduser /usr/share/zoneinfo/Antarctica; \
            printf 'derived\n' > /etc/derived.conf; \
            printf 'derived-host\n' > /etc/hostname; \
            rm /etc/motd; \
            mkdir -p /etc/derived.d && printf 'a=1\n' > /etc/derived.d/a.conf; \
            mkdir -p /var/lib/derived && printf 'state\n' > /var/lib/derived/state; \
            printf 'scratch\n' > /tmp/scratch
        RUN set -e; \
            rm -rf /usr/share/derived/gone; \
            ln /usr/share/derived/hello.txt /usr/share/derived/hello-hard2; \
            rm -rf /usr/share/zoneinfo/Arctic && mkdir /usr/share/zoneinfo/Arctic && printf 'new\n' > /usr/share/zoneinfo/Arctic/only; \
            ln -sf hello.txt /usr/share/derived/hello-sym
        COPY --from=maker /out/made.txt /usr/share/derived/made.txt
        """;

    private const string OneMoreLayer = """
        FROM localhost/derived1
        RUN printf 'one more layer\n' > /usr/share/derived/more.txt && rm /usr/share/derived/hello-hard
        """;

    private const string SmallContainerfile = """
        ARG BASE
        FROM ${BASE}
        COPY added.txt /usr/share/added/added.txt
        COPY added.conf /usr/share/added/added.conf
        """;

    /// <summary>
    /// Runs the real buildah with its own storage under <paramref name="work"/> (chroot
    /// isolation, runc per shared/fixtures/containers.conf); returns stdout.
    /// </summary>
    public static string Buildah(string work, params string[] args)
    {
        var env = new Dictionary<string, string>
        {
            ["BUILDAH_ISOLATION"] = "chroot",
            ["CONTAINERS_CONF"] = Path.Combine(Fixtures.ScriptsDirectory, "containers.conf"),
        };
        string[] all = ["--root", Path.Combine(work, "storage"), "--runroot", Path.Combine(work, "run"), .. args];
        return Peer.Run("buildah", all, workingDirectory: work, env: env, timeout: TimeSpan.FromMinutes(15))
            .EnsureSuccess($"buildah {string.Join(' ', args.Where(a => !a.Contains('\n', StringComparison.Ordinal)))}").Stdout;
    }

    /// <summary>
    /// Drops buildah's storage under <paramref name="work"/> once the images are in OCI
    /// layouts: its overlay driver leaves its storage directory bind-mounted on itself, which
    /// would keep the test folder from being deleted (and hold a few hundred MB).
    /// </summary>
    private static void DropStorage(string work)
    {
        Buildah(work, "rm", "--all");
        Buildah(work, "rmi", "--all", "--force");
        var overlay = Path.Combine(work, "storage", "overlay");
        if (Peer.Run("mountpoint", ["-q", overlay]).ExitCode == 0)
        {
            Peer.Check("umount", "-l", overlay);
        }

        Directory.Delete(Path.Combine(work, "storage"), recursive: true);
    }

    private static Set BuildOs()
    {
        var (baseLayout, _, _) = OsUpdateTests.Images.Value;
        var work = Fixtures.TempDirectory("buildah");
        var layout = Path.Combine(work, "layout");
        var context = Path.Combine(work, "context");
        Directory.CreateDirectory(context);
        File.WriteAllText(Path.Combine(context, "Containerfile"), Containerfile);

        Buildah(work, "bud", "--layers", "--build-arg", $"BASE=oci:{baseLayout}:c1", "-t", "derived1", context);
        Buildah(work, "push", "derived1", $"oci:{layout}:{Derived}");

        File.WriteAllText(Path.Combine(context, "Containerfile.more"), OneMoreLayer);
        Buildah(work, "bud", "--layers", "--pull=never", "-f", Path.Combine(context, "Containerfile.more"), "-t", "derived2", context);
        Buildah(work, "push", "derived2", $"oci:{layout}:{DerivedPlusOne}");

        Buildah(work, "bud", "--layers", "--build-arg", $"BASE=oci:{baseLayout}:c2", "-t", "derived-c2", context);
        Buildah(work, "push", "derived-c2", $"oci:{layout}:{DerivedOnC2}");

        // A plain image from a directory: buildah from scratch, copy, commit.
        var plain = Path.Combine(work, "plain");
        Directory.CreateDirectory(Path.Combine(plain, "usr/share/plain/private"));
        Directory.CreateDirectory(Path.Combine(plain, "usr/bin"));
        Directory.CreateDirectory(Path.Combine(plain, "etc/plain.d"));
        Directory.CreateDirectory(Path.Combine(plain, "var/lib/plain"));
        File.WriteAllText(Path.Combine(plain, "usr/share/plain/a.txt"), "plain a\n");
        File.WriteAllText(Path.Combine(plain, "usr/share/plain/private/secret"), "secret\n");
        File.WriteAllText(Path.Combine(plain, "usr/bin/plain-tool"), "#!/bin/sh\necho plain\n");
        File.WriteAllText(Path.Combine(plain, "etc/plain.conf"), "plain=1\n");
        File.WriteAllText(Path.Combine(plain, "etc/plain.d/b.conf"), "b=2\n");
        File.WriteAllText(Path.Combine(plain, "var/lib/plain/state"), "state\n");
        Peer.Check("ln", Path.Combine(plain, "usr/share/plain/a.txt"), Path.Combine(plain, "usr/share/plain/a-hard"));
        Peer.Check("ln", "-s", "a.txt", Path.Combine(plain, "usr/share/plain/a-sym"));
        Peer.Check("chmod", "0755", Path.Combine(plain, "usr/bin/plain-tool"));
        Peer.Check("chmod", "0700", Path.Combine(plain, "usr/share/plain/private"));
        Peer.Check("chmod", "0600", Path.Combine(plain, "usr/share/plain/private/secret"));
        var container = Buildah(work, "from", "scratch").Trim();
        Buildah(work, "copy", container, plain, "/");
        Buildah(work, "commit", container, "plain");
        Buildah(work, "rm", container);
        Buildah(work, "push", "plain", $"oci:{layout}:{Plain}");
        DropStorage(work);
        return new Set(baseLayout, layout);
    }

    private static SmallSet BuildSmall()
    {
        var key = Ostree.Signing.Ed25519SecretKey.Generate();
        var work = Fixtures.TempDirectory("buildah-small");
        var repo = PullTestImages.SignedSmallRepo(work, key);

        var baseLayout = Path.Combine(work, "base");
        PullTestImages.Build(repo, Fixtures.SmallRepo.Commit2, "signed", baseLayout);
        var context = Path.Combine(work, "context");
        Directory.CreateDirectory(context);
        File.WriteAllText(Path.Combine(context, "Containerfile"), SmallContainerfile);
        File.WriteAllText(Path.Combine(context, "added.txt"), "added by buildah\n");
        File.WriteAllText(Path.Combine(context, "added.conf"), "added=1\n");
        var layout = Path.Combine(work, "layout");
        Buildah(work, "bud", "--layers", "--build-arg", $"BASE=oci:{baseLayout}:signed", "-t", "small", context);
        Buildah(work, "push", "small", $"oci:{layout}:{SmallDerived}");
        DropStorage(work);
        return new SmallSet(layout, Fixtures.SmallRepo.Commit2, key);
    }

    /// <summary>Names <paramref name="digest"/> as the config or layer N of each of <paramref name="tags"/> that holds it.</summary>
    public static string Describe(string layout, Digest digest, params string[] tags)
    {
        var image = ImageLayout.Open(layout);
        var names = new List<string>();
        foreach (var tag in tags)
        {
            var manifest = OciJson.ParseManifest(image.ResolveManifest(tag).Bytes);
            if (manifest.Config.Digest == digest)
            {
                names.Add($"{tag} config");
            }

            names.AddRange(manifest.Layers.Select((l, i) => (l, i)).Where(x => x.l.Digest == digest).Select(x => $"{tag} layer {x.i}/{manifest.Layers.Count}"));
        }

        return $"{digest.ToString()[..19]} ({(names.Count == 0 ? "in none" : string.Join(", ", names))})";
    }

    /// <summary>The manifest digest of <paramref name="tag"/> in <paramref name="layout"/>.</summary>
    public static Digest ManifestDigest(string layout, string tag) => Digest.Compute(ImageLayout.Open(layout).ResolveManifest(tag).Bytes);

    /// <summary>Pushes <paramref name="tag"/> of <paramref name="layout"/> as NAME:TAG and returns the reference pinned by digest.</summary>
    public static ImageReference PushPinned(LocalRegistry registry, RegistryClient client, string layout, string tag, string name)
    {
        var image = ImageLayout.Open(layout);
        var bytes = image.ResolveManifest(tag).Bytes;
        LayoutPush.PushAsync(image, bytes, client, ImageReference.Parse($"docker://{registry.Host}/{name}:{tag}")).GetAwaiter().GetResult();
        return ImageReference.Parse($"docker://{registry.Host}/{name}@{Digest.Compute(bytes)}");
    }

    /// <summary>
    /// Copies <paramref name="tag"/> to <paramref name="newTag"/> with one more gzip layer
    /// holding <paramref name="tar"/> as given (diff_id, history, config and manifest updated).
    /// </summary>
    public static void AppendLayer(string layout, string tag, string newTag, byte[] tar)
    {
        var image = ImageLayout.Open(layout);
        var manifest = OciJson.ParseManifest(image.ResolveManifest(tag).Bytes);
        var config = OciJson.ParseConfig(image.ReadBlob(manifest.Config, OciJson.MaxDocumentBytes));
        var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(tar);
        }

        var layer = image.WriteBlob(compressed.ToArray(), MediaTypes.OciLayerGzip);
        var newConfig = config with
        {
            RootFs = config.RootFs with { DiffIds = [.. config.RootFs.DiffIds, Digest.Compute(tar)] },
            History = config.History is null ? null : [.. config.History, new HistoryEntry { CreatedBy = "crafted layer" }],
        };
        var configDescriptor = image.WriteBlob(OciJson.Serialize(newConfig), manifest.Config.MediaType);
        var newManifest = image.WriteBlob(OciJson.Serialize(manifest with { Config = configDescriptor, Layers = [.. manifest.Layers, layer] }), MediaTypes.OciManifest);
        image.SetManifest(newManifest, newTag);
    }

    /// <summary>A tar (PAX) of <paramref name="entries"/>, each with its data when given.</summary>
    public static byte[] Tar(IEnumerable<(TarEntry Entry, byte[]? Data)> entries)
    {
        var tar = new MemoryStream();
        using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var (entry, data) in entries)
            {
                if (data is not null)
                {
                    entry.DataStream = new MemoryStream(data);
                }

                writer.WriteEntry(entry);
            }
        }

        return tar.ToArray();
    }

    /// <summary>
    /// The tree of <paramref name="tag"/> as the real <c>umoci unpack</c> sees it (as root, owners
    /// kept), normalised as a pull must write it (<see cref="Normalise"/>). Unpacked once per tag.
    /// </summary>
    public static string UmociTree(string layout, string tag)
    {
        lock (Unpacked)
        {
            var key = $"{layout}:{tag}";
            if (!Unpacked.TryGetValue(key, out var rootfs))
            {
                Assert.True(Ostree.Posix.FileSystem.IsRoot, "umoci unpack keeps owners only as root: run the tests as root");
                var bundle = Path.Combine(Fixtures.TempDirectory("umoci"), "bundle");
                Peer.Check("umoci", "unpack", "--image", $"{layout}:{tag}", bundle);
                rootfs = Path.Combine(bundle, "rootfs");
                Normalise(rootfs);
                Unpacked[key] = rootfs;
            }

            return rootfs;
        }
    }

    /// <summary>
    /// Maps an image's filesystem to what a commit of it holds, in place: <c>etc</c> becomes
    /// <c>usr/etc</c>; the children of <c>run</c>, <c>tmp</c>, <c>proc</c>, <c>sys</c>,
    /// <c>dev</c> and <c>sysroot</c> are dropped (the directories stay). Two things our own
    /// builder puts in an image outside the commit are removed as well: <c>/ostree</c> (the
    /// image's repo; a symlink to sysroot/ostree in the commit) and an empty <c>var/tmp</c>
    /// (added for containers, README of src/ImageBuilder). Used on both sides of a comparison.
    /// </summary>
    public static void Normalise(string root)
    {
        var etc = Path.Combine(root, "etc");
        if (Directory.Exists(etc) && !File.GetAttributes(etc).HasFlag(FileAttributes.ReparsePoint))
        {
            Assert.False(Path.Exists(Path.Combine(root, "usr/etc")), $"{root} has both etc and usr/etc");
            Directory.CreateDirectory(Path.Combine(root, "usr"));
            Directory.Move(etc, Path.Combine(root, "usr/etc"));
        }

        foreach (var top in new[] { "run", "tmp", "proc", "sys", "dev", "sysroot" })
        {
            var dir = new DirectoryInfo(Path.Combine(root, top));
            if (dir.Exists && dir.LinkTarget is null)
            {
                foreach (var child in dir.EnumerateFileSystemInfos())
                {
                    Delete(child);
                }
            }
        }

        var ostree = new FileInfo(Path.Combine(root, "ostree"));
        if (ostree.Exists || Directory.Exists(ostree.FullName) || ostree.LinkTarget is not null)
        {
            Delete(Directory.Exists(ostree.FullName) && ostree.LinkTarget is null ? new DirectoryInfo(ostree.FullName) : ostree);
        }

        var varTmp = new DirectoryInfo(Path.Combine(root, "var/tmp"));
        if (varTmp.Exists && varTmp.LinkTarget is null && !varTmp.EnumerateFileSystemInfos().Any())
        {
            varTmp.Delete();
        }
    }

    /// <summary>
    /// Asserts that commit <paramref name="rev"/> of <paramref name="repo"/>, checked out by the
    /// real ostree, equals <paramref name="tag"/> of <paramref name="layout"/> as umoci unpacks
    /// it (normalised on both sides), owners and modes included whatever <paramref name="mode"/>
    /// the repo has (<paramref name="mode"/> names it in messages); and that files hard-linked
    /// in the image have one content in the commit.
    /// </summary>
    public static void AssertCommitIsImage(string repo, string rev, string mode, string layout, string tag)
    {
        // As root, ostree checks out every mode's commit with owners and setuid/setgid bits
        // (a user-mode checkout, -U, would drop both).
        var expected = UmociTree(layout, tag);
        var actual = PullTestImages.Checkout(repo, rev, "bare");
        Normalise(actual);
        var diffs = TreeDiff.Compare(expected, actual, ownership: true);
        Assert.True(diffs.Count == 0, $"{repo} ({mode}) {rev} differs from umoci's {tag}:\n{string.Join('\n', diffs.Take(40))}");
        AssertHardLinksShareContent(expected, actual);
    }

    // Hard links in umoci's tree (same inode) must be files of one content in the checkout:
    // a bare checkout may or may not share inodes, so content is what is checked (TreeDiff
    // compares each path's content too; this names the links when it fails).
    private static void AssertHardLinksShareContent(string expected, string actual)
    {
        var links = Peer.Check("find", expected, "-type", "f", "-links", "+1", "-printf", "%i %P\\n")
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' ', 2))
            .GroupBy(p => p[0], p => p[1]);
        foreach (var group in links)
        {
            var contents = group.Select(p => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(Path.Combine(actual, p))))).Distinct().ToList();
            Assert.True(contents.Count == 1, $"hard links {string.Join(", ", group)} differ in the commit");
        }
    }

    private static void Delete(FileSystemInfo info)
    {
        if (info is DirectoryInfo dir && dir.LinkTarget is null)
        {
            dir.Delete(recursive: true);
        }
        else
        {
            File.Delete(info.FullName);
        }
    }
}
