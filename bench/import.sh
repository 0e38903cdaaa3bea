#!/usr/bin/env bash
# Benchmark (issue 16): importing a plain OCI image (no ostree labels) of the OS fixture's
# C2 tree into a fresh bare-user repo, side by side in one run, RUNS times (default 3):
#   ours: `ostree-container pull --repo R --ref x --insecure-no-signature oci:DIR:c2`
#         (layers stream into the repo: no extraction to disk);
#   peer: `umoci unpack --image DIR:c2 BUNDLE && ostree commit --repo R2 -b x
#         --tree=dir=BUNDLE/rootfs` (extract, then commit the extracted tree).
# Bound: ours <= 1.0x the peer's wall time (goal 0.4x); peak RSS of each from /usr/bin/time.
# The image is made once by the real buildah: `ostree checkout` of C2 with usr/etc moved back
# to /etc, then `buildah from scratch`, `buildah copy`, `buildah commit`, `buildah push oci:`
# (buildah's own storage under the bench's work dir). fsync on (both tools' defaults). No
# server: nothing is pinned. The two sides alternate which goes first, and every repo passes
# `ostree fsck` on the first run.
#
# Usage: bench/import.sh [RUNS]      env: OSTREE_CONTAINER_FIXTURES (fixture cache)
runs=${1:-3}
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || { echo "bench/import.sh: run as root (ostree checkout and umoci unpack keep owners)" >&2; exit 1; }
for tool in buildah umoci; do
    command -v "$tool" > /dev/null || { echo "bench/import.sh: $tool is missing: apt-get install $tool" >&2; exit 1; }
done

publish_cli
work=$(mktemp -d /var/tmp/oc-bench-import.XXXXXX)
buildah_() { BUILDAH_ISOLATION=chroot buildah --root "$work/buildah/storage" --runroot "$work/buildah/run" "$@"; }
cleanup() { buildah_ rm --all > /dev/null 2>&1 || true; discard "$work"; }
trap cleanup EXIT

# --- the image ------------------------------------------------------------------------------
echo "making a plain OCI image of C2's tree with buildah ..." >&2
tree=$work/tree
ostree --repo="$REPO" checkout "$C2" "$tree"
[ -d "$tree/usr/etc" ] && [ ! -e "$tree/etc" ] || { echo "C2's checkout has no usr/etc (or has an etc)" >&2; exit 1; }
mv "$tree/usr/etc" "$tree/etc"
ctr=$(buildah_ from scratch)
buildah_ copy "$ctr" "$tree" / > /dev/null
buildah_ commit -q "$ctr" plain-c2 > /dev/null
buildah_ rm "$ctr" > /dev/null
layout=$work/layout
buildah_ push -q plain-c2 "oci:$layout:c2" > /dev/null
manifest=$(jq -r '.manifests[0].digest' "$layout/index.json" | cut -d: -f2)
config=$(jq -r '.config.digest' "$layout/blobs/sha256/$manifest" | cut -d: -f2)
if jq -e '.config.Labels // {} | keys | map(select(startswith("ostree."))) | length > 0' "$layout/blobs/sha256/$config" > /dev/null; then
    echo "the plain image carries ostree labels" >&2; exit 1
fi
image_mb=$(jq '[.layers[].size] | add / 1e6' "$layout/blobs/sha256/$manifest")
files=$(find "$tree" | wc -l)
discard "$tree"

# --- the runs -------------------------------------------------------------------------------
ours() { # ours RUN
    local r=$work/ours-$1
    ostree --repo="$r" init --mode=bare-user
    measure import-ours "$oc" pull --repo "$r" --ref x --insecure-no-signature --progress none "oci:$layout:c2"
    [ "$1" != 1 ] || ostree --repo="$r" fsck -q > /dev/null || { echo "ours: fsck failed" >&2; exit 1; }
    [ "$1" != 1 ] || ours_entries=$(ostree --repo="$r" ls -R x | wc -l)
    discard "$r"
}
peer() { # peer RUN
    local r=$work/peer-$1 bundle=$work/bundle-$1
    ostree --repo="$r" init --mode=bare-user
    measure import-peer bash -c "umoci unpack --image '$layout:c2' '$bundle' && ostree --repo='$r' commit -b x --tree=dir='$bundle/rootfs'"
    [ "$1" != 1 ] || ostree --repo="$r" fsck -q > /dev/null || { echo "peer: fsck failed" >&2; exit 1; }
    [ "$1" != 1 ] || peer_entries=$(ostree --repo="$r" ls -R x | wc -l)
    discard "$r" "$bundle"
}
for i in $(seq 1 "$runs"); do
    echo "run $i/$runs ..." >&2
    if [ $(( i % 2 )) = 1 ]; then ours "$i"; peer "$i"; else peer "$i"; ours "$i"; fi
done
[ "$ours_entries" = "$peer_entries" ] \
    || echo "note: the commits list $ours_entries (ours) and $peer_entries (peer) entries (ours drops what the conventions drop)" >&2

# --- report ---------------------------------------------------------------------------------
ours_s=$(col import-ours 1); peer_s=$(col import-peer 1)
ours_mb=$(( $(col import-ours 2) / 1024 )); peer_mb=$(( $(col import-peer 2) / 1024 ))
r=$(ratio "$ours_s" "$peer_s")
verdict=ok; awk -v r="$r" 'BEGIN { exit !(r + 0 <= 1.0) }' || verdict=OVER
goal=no; awk -v r="$r" 'BEGIN { exit !(r + 0 <= 0.4) }' && goal=yes
printf '\nmachine: %s, %s cores, %s, load %s; image: C2 %s (%s entries, %.1f MB of layers); runs: %s (median)\n' \
    "$(uname -m)" "$(nproc)" "$(free -g | awk '/Mem:/ {print $2 " GiB"}')" "$(cut -d' ' -f1-3 /proc/loadavg)" \
    "${C2:0:12}" "$files" "$image_mb" "$runs"
printf '%-48s %10s %10s %7s %7s %8s %6s %12s %12s\n' task ours peer ratio bound verdict goal "ours RSS" "peer RSS"
printf '%-48s %10s %10s %7s %7s %8s %6s %12s %12s\n' "import plain image of C2 into bare-user" "$ours_s s" "$peer_s s" "$r" "<=1.0" "$verdict" "$goal" "$ours_mb MB" "$peer_mb MB"
echo "each run (s, peak KB): ours $(awk '{print $1 "/" $2}' "$work/import-ours.times" | tr '\n' ' ')| peer $(awk '{print $1 "/" $2}' "$work/import-peer.times" | tr '\n' ' ')"
result "import plain OCI image of C2 into bare-user" s "$ours_s" "$peer_s" "umoci unpack + ostree commit" "$ours_mb" "$peer_mb" - - 1.0 -
