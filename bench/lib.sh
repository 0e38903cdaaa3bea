# Shared by the bench scripts (sourced): goes to the checkout root, installs what is
# missing, and makes sure the OS-sized fixture exists (a few minutes the first time).
# Sets: root, fixtures; and REPO BRANCH C1 C2 from the fixture's commits.env.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
fixtures=${OSTREE_CONTAINER_FIXTURES:-/var/tmp/ostree-container-fixtures}
shared=${OSTREE_CONTAINER_FIXTURE_SCRIPTS:-$root/../shared/fixtures}

scripts/install-deps.sh
if [ ! -f "$fixtures/os/commits.env" ]; then
    echo "building the OS fixture (a few minutes) ..." >&2
    mkdir -p "$fixtures"
    EMPTY_DELTAS=0 bash "$shared/make-os-repo.sh" "$fixtures/os" > "$fixtures/make-os-repo.log" 2>&1
fi
# shellcheck disable=SC1091
. "$fixtures/os/commits.env"   # REPO BRANCH C1 C2

# measure NAME CMD... : runs CMD under /usr/bin/time, appends "seconds peak-kb" to
# $work/NAME.times (the caller sets $work); stops the bench if CMD fails.
measure() {
    local name=$1; shift
    sync
    /usr/bin/time -f '%e %M' -o "$work/$name.one" "$@" >/dev/null 2>"$work/$name.err" || {
        cat "$work/$name.err" >&2; echo "$name failed" >&2; exit 1; }
    cat "$work/$name.one" >> "$work/$name.times"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
col() { awk -v c="$2" '{print $c}' "$work/$1.times" | median; }   # col NAME COLUMN: median of a column

# publish_bin: the CLI (Release) into $bin and the NativeAOT webserver into $bin/native,
# as they ship; sets bin and oc.
publish_bin() {
    bin=$root/out/bench-bin
    dotnet publish src/Cli -c Release -o "$bin" --nologo -v quiet
    # ILC leaves its object file behind when a publish fails; start the native step clean.
    rm -rf src/RepoWebserver/obj/Release/*/*/native
    dotnet publish src/RepoWebserver -c Release -o "$bin/native" --nologo -v quiet
    oc=$bin/ostree-container
}
