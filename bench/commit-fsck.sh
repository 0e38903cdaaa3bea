#!/usr/bin/env bash
# Benchmark: ostree-container commit/fsck vs ostree commit/fsck on the OS-sized fixture
# tree (make-os-repo.sh tree1), side by side in one run. Each measurement is repeated
# RUNS times (default 3); the median wall time and the peak RSS (/usr/bin/time -v) are
# printed with ratio = ours / ostree (below 1.0 means we are faster).
#
# Usage: bench/commit-fsck.sh [RUNS]      env: OSTREE_CONTAINER_FIXTURES (fixture cache)
runs=${1:-3}
. "$(dirname "$0")/lib.sh"
tree=$fixtures/os/tree1

publish_cli
work=$(mktemp -d /var/tmp/oc-bench.XXXXXX)
trap 'discard "$work"' EXIT


for i in $(seq 1 "$runs"); do
    ours=$work/ours.$i peer=$work/peer.$i   # kept until the end (see discard)
    "$oc" init --repo "$ours" --mode archive >/dev/null
    ostree init --repo="$peer" --mode=archive
    measure commit-ours "$oc" commit --repo "$ours" -b bench --timestamp=@1 --tree=dir="$tree"
    measure commit-ostree ostree commit --repo="$peer" -b bench --timestamp=@1 --tree=dir="$tree"
    [ "$(cat "$ours/refs/heads/bench")" = "$(cat "$peer/refs/heads/bench")" ] || { echo "commit checksums differ" >&2; exit 1; }
    measure fsck-ours "$oc" fsck --repo "$peer"
    measure fsck-ostree ostree fsck --repo="$peer"
done

files=$(find "$tree" -type f | wc -l)
bytes=$(du -sb --apparent-size "$tree" | cut -f1)
printf '\nmachine: %s, %s cores, %s; tree: %s files, %s MB; runs: %s (median)\n' \
    "$(uname -m)" "$(nproc)" "$(free -g | awk '/Mem:/ {print $2 " GiB"}')" "$files" "$((bytes / 1000000))" "$runs"
printf '%-8s %12s %12s %8s %14s %14s\n' task "ours (s)" "ostree (s)" ratio "ours RSS MB" "ostree RSS MB"
for task in commit fsck; do
    o=$(col "$task-ours" 1); p=$(col "$task-ostree" 1)
    om=$(col "$task-ours" 2); pm=$(col "$task-ostree" 2)
    printf '%-8s %12s %12s %8s %14s %14s\n' "$task" "$o" "$p" "$(ratio "$o" "$p")" "$((om / 1024))" "$((pm / 1024))"
    result "$task OS tree ($files files)" s "$o" "$p" "ostree $task" "$((om / 1024))" "$((pm / 1024))"
done
