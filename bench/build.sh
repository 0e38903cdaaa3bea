#!/usr/bin/env bash
# Benchmark: `ostree-container build` of the OS fixture (commit C2) into an OCI layout vs
# the obvious shell pipeline doing the same job for one layer:
#   ostree checkout + tar + gzip -6 + sha256sum (diff ID and digest).
# and against umoci making the same one-layer image from a checkout
#   ostree checkout + umoci init/new/insert.
# Side by side in one run, RUNS times (default 3); prints median wall time, ratio
# (ours / pipeline, below 1.0 = faster), peak RSS, and MB/s of tree content against
# `gzip -6` alone on this machine (the speed limit of a one-core gzip layer).
#
# Usage: bench/build.sh [RUNS]      env: OSTREE_CONTAINER_FIXTURES (fixture cache)
runs=${1:-3}
. "$(dirname "$0")/lib.sh"

publish_bin
work=$(mktemp -d /var/tmp/oc-bench.XXXXXX)
trap 'discard "$work"' EXIT


pipeline='set -eo pipefail
ostree checkout --repo="$1" "$2" "$3/co"
tar --numeric-owner --xattrs --xattrs-include="*" -C "$3/co" -cf - . \
    | tee >(sha256sum > "$3/diffid") | gzip -6 | tee "$3/layer.tar.gz" | sha256sum > "$3/digest"'

umoci_job='set -e
ostree checkout --repo="$1" "$2" "$3/co"
umoci init --layout "$3/layout"
umoci new --image "$3/layout:bench"
umoci insert --image "$3/layout:bench" "$3/co" /'

# Each run writes into folders of its own, kept until the end (see discard in lib.sh).
for i in $(seq 1 "$runs"); do
    mkdir -p "$work/pipe.$i" "$work/umoci.$i"
    measure build-ours "$oc" build -q --repo "$REPO" --ref "$C2" --oci-dir "$work/layout.$i:bench"
    measure build-pipeline bash -c "$pipeline" pipeline "$REPO" "$C2" "$work/pipe.$i"
    measure build-umoci bash -c "$umoci_job" umoci "$REPO" "$C2" "$work/umoci.$i"
done
ln -s "pipe.$runs" "$work/pipe"
ln -s "layout.$runs" "$work/layout"

# gzip -6 alone over the same tree as one tar: the one-core limit.
tar --numeric-owner -C "$work/pipe/co" -cf "$work/tree.tar" .
measure gzip-only bash -c "gzip -6 < '$work/tree.tar' > /dev/null"
tree_mb=$(du -sb --apparent-size "$work/pipe/co" | awk '{printf "%.1f", $1 / 1e6}')
layers=$(jq '.layers | length' "$work/layout/blobs/sha256/$(jq -r '.manifests[0].digest' "$work/layout/index.json" | cut -d: -f2)")

printf '\nmachine: %s, %s cores, %s; tree: %s MB (commit %s); runs: %s (median)\n' \
    "$(uname -m)" "$(nproc)" "$(free -g | awk '/Mem:/ {print $2 " GiB"}')" "$tree_mb" "${C2:0:12}" "$runs"
o=$(col build-ours 1); p=$(col build-pipeline 1); g=$(col gzip-only 1)
printf '%-28s %10s %10s %8s %12s %12s\n' task "ours (s)" "peer (s)" ratio "ours RSS MB" "peer RSS MB"
om=$(( $(col build-ours 2) / 1024 )); pm=$(( $(col build-pipeline 2) / 1024 ))
printf '%-28s %10s %10s %8s %12s %12s\n' "build to OCI layout" "$o" "$p" "$(ratio "$o" "$p")" "$om" "$pm"
result "build OS image to OCI layout" s "$o" "$p" "checkout+tar+gzip -6+sha256sum" "$om" "$pm"
u=$(col build-umoci 1); um=$(( $(col build-umoci 2) / 1024 ))
printf '%-28s %10s %10s %8s %12s %12s\n' "same, vs umoci insert" "$o" "$u" "$(ratio "$o" "$u")" "$om" "$um"
result "build OS image to OCI layout" s "$o" "$u" "checkout+umoci insert" "$om" "$um"
printf 'ours: %s layers, %s MB/s of tree content; gzip -6 alone: %s MB/s (%s s)\n' "$layers" \
    "$(awk -v m="$tree_mb" -v t="$o" 'BEGIN{printf "%.0f", m/t}')" "$(awk -v m="$tree_mb" -v t="$g" 'BEGIN{printf "%.0f", m/t}')" "$g"
