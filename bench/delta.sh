#!/usr/bin/env bash
# Benchmark: native static deltas (`ostree-container static-delta`) vs the real `ostree
# static-delta`, side by side in one run on copies of the OS fixture:
#   (a) generate C1 -> C2, RUNS times (default 3): time, peak RSS, and the delta's size
#       (parts + fallback objects, as `ostree static-delta show` totals them);
#   (b) generate a from-scratch delta of C2, once per bench run (ostree needs ~160 s);
#   (c) apply C1 -> C2 (ostree's own delta, the same input for both) into a bare-user repo
#       holding C1, RUNS times: ours `static-delta apply-offline` vs ostree's.
# Every delta we generate must parse with `ostree static-delta show`; every apply must end
# with C2 in the repo, and the first run's repos must pass `ostree fsck`. Prints medians,
# ratios (ours / ostree: below 1.0 = faster or smaller), peak RSS, and the bounds of issue
# 14 (size <= 1.05x, generate time <= 0.5x, apply time <= 1.0x, peak RSS <= 2x). Nothing
# is pinned: no server is involved, both tools run alone, and ours is meant to use every
# core.
#
# Usage: bench/delta.sh [RUNS]      env: OSTREE_CONTAINER_FIXTURES (fixture cache)
runs=${1:-3}
. "$(dirname "$0")/lib.sh"

publish_cli
work=$(mktemp -d /var/tmp/oc-bench-delta.XXXXXX)
cleanup() { discard "$work"; }
trap cleanup EXIT

# --- inputs -------------------------------------------------------------------------------
# no_deltas DIR: removes the deltas a run made, so the next run generates from nothing.
no_deltas() { rm -rf "${1:?}/deltas" "$1/delta-indexes"; }
# delta_size REPO NAME: parts plus fallback objects, compressed, as ostree's show totals
# them; fails unless the real ostree parses the delta.
delta_size() {
    local size
    size=$(ostree --repo="$1" static-delta show "$2" | awk '/^Total Size:/ {print $3}')
    [ -n "$size" ] || { echo "ostree static-delta show $2 in $1 printed no total" >&2; exit 1; }
    echo "$size"
}
repo_copy "$work/ours"
repo_copy "$work/ostree"
pair=$C1-$C2
# ostree's own C1 -> C2 delta, the fixture's only one: the input both sides apply.
[ "$(ostree --repo="$REPO" static-delta list)" = "$pair" ] || { echo "expected only $pair in the fixture" >&2; exit 1; }
ostree_delta=$(find "$REPO/deltas" -name superblock -printf '%h\n')

# The bare-user repo holding C1 that each apply starts from; each run applies into a
# hard-linked copy of it (applying only adds objects).
base=$work/base-bareuser
ostree --repo="$base" init --mode=bare-user
ostree --repo="$base" pull-local "$REPO" "$C1" > /dev/null

# --- measurements ------------------------------------------------------------------------
for i in $(seq 1 "$runs"); do
    echo "run $i/$runs ..." >&2
    no_deltas "$work/ours"; no_deltas "$work/ostree"
    measure gen-ours "$oc" static-delta generate --repo "$work/ours" --from "$C1" --to "$C2"
    measure gen-ostree ostree --repo="$work/ostree" static-delta generate --from="$C1" --to="$C2"
    delta_size "$work/ours" "$pair" >> "$work/size-ours.times"
    delta_size "$work/ostree" "$pair" >> "$work/size-ostree.times"

    for side in ours ostree; do
        r=$work/apply-$side-$i
        cp -al "$base" "$r"
        if [ "$side" = ours ]; then
            measure apply-ours "$oc" static-delta apply-offline --repo "$r" --insecure-no-signature "$ostree_delta"
        else
            measure apply-ostree ostree --repo="$r" static-delta apply-offline "$ostree_delta"
        fi
        [ "$(ostree --repo="$r" rev-parse "$C2")" = "$C2" ] && ostree --repo="$r" show "$C2" > /dev/null \
            || { echo "apply $side: C2 missing" >&2; exit 1; }
        [ "$i" != 1 ] || ostree --repo="$r" fsck -q > /dev/null || { echo "apply $side: fsck failed" >&2; exit 1; }
    done
done

echo "from scratch (once) ..." >&2
no_deltas "$work/ours"; no_deltas "$work/ostree"
measure scratch-ours "$oc" static-delta generate --repo "$work/ours" --empty --to "$C2"
measure scratch-ostree ostree --repo="$work/ostree" static-delta generate --empty --to="$C2"
delta_size "$work/ours" "$C2" >> "$work/scratch-size-ours.times"
delta_size "$work/ostree" "$C2" >> "$work/scratch-size-ostree.times"

# --- report ------------------------------------------------------------------------------
printf '\nmachine: %s, %s cores, %s; fixture: %s -> %s; runs: %s (median; from scratch: 1)\n' \
    "$(uname -m)" "$(nproc)" "$(free -g | awk '/Mem:/ {print $2 " GiB"}')" "${C1:0:12}" "${C2:0:12}" "$runs"
printf '%-44s %12s %12s %7s %7s %11s %11s %7s %7s\n' task ours ostree ratio bound "ours RSS" "peer RSS" "RSS x" verdict
# bounded LABEL UNIT OURS PEER BOUND [OURS-RSS-MB PEER-RSS-MB]: prints a row and records it
# for bench/run with the bound (and the RSS bound of 2x when RSS is given) as extra columns.
bounded() {
    local r rr verdict=ok
    r=$(ratio "$3" "$4")
    awk -v r="$r" -v b="$5" 'BEGIN { exit !(r + 0 <= b + 0) }' || verdict=OVER
    rr=-
    if [ -n "${6:-}" ]; then
        rr=$(ratio "$6" "$7")
        awk -v r="$rr" 'BEGIN { exit !(r + 0 <= 2) }' || verdict=OVER
    fi
    printf '%-44s %12s %12s %7s %7s %11s %11s %7s %7s\n' "$1" "$3 $2" "$4 $2" "$r" "<=$5" "${6:--}" "${7:--}" "$rr" "$verdict"
    result "$1" "$2" "$3" "$4" "ostree static-delta" "${6:--}" "${7:--}" - - "$5" "$([ -n "${6:-}" ] && echo 2 || echo -)"
}
timed() { # timed LABEL NAME BOUND: seconds and peak RSS of NAME-ours against NAME-ostree
    bounded "$1" s "$(col "$2-ours" 1)" "$(col "$2-ostree" 1)" "$3" \
        "$(( $(col "$2-ours" 2) / 1024 ))" "$(( $(col "$2-ostree" 2) / 1024 ))"
}
mb() { awk '{printf "%.2f", $1 / 1000000}'; }
timed "generate C1 -> C2" gen 0.5
bounded "C1 -> C2 delta size (parts + fallbacks)" MB "$(col size-ours 1 | mb)" "$(col size-ostree 1 | mb)" 1.05
timed "generate from-scratch C2" scratch 0.5
bounded "from-scratch C2 size (parts + fallbacks)" MB "$(col scratch-size-ours 1 | mb)" "$(col scratch-size-ostree 1 | mb)" 1.05
timed "apply-offline C1 -> C2 into bare-user" apply 1.0
