#!/usr/bin/env bash
# Benchmark: `ostree-container pull` of the OS fixture's image (C2) from a local
# docker-registry vs the peers, side by side in one run, RUNS times (default 3):
#   (a) into a fresh archive repo vs the real `ostree pull` of the same commit from nginx
#       serving the archive repo into a fresh archive repo;
#   (b) the same into fresh bare-user repos;
#   (c) vs `skopeo copy docker://… oci:…` of the same image (transport only);
#   (d) the C1 -> C2 update: bytes fetched (counted by an nginx proxy in front of the
#       registry) against the size of the repo and meta layers C2 has and C1 lacks.
# Prints medians, ratios (ours / peer, below 1.0 = faster), peak RSS, and the server's CPU
# seconds per pull (the registry for ours and skopeo, nginx for ostree). The servers run
# on one core and the clients on the other (on_server / on_client in lib.sh), both sides
# alike. Every pull is checked: the ref must be C2, and the first run's repos must pass
# `ostree fsck`.
#
# Usage: bench/pull.sh [RUNS]      env: OSTREE_CONTAINER_FIXTURES (fixture cache)
runs=${1:-3}
. "$(dirname "$0")/lib.sh"

publish_bin
work=$(mktemp -d /var/tmp/oc-bench-pull.XXXXXX)
nginx_pid=
cleanup() {
    stop_registry
    if [ -n "$nginx_pid" ]; then kill "$nginx_pid" 2>/dev/null || true; wait "$nginx_pid" 2>/dev/null || true; fi
    discard "$work"
}
trap cleanup EXIT

# --- inputs: C1 and C2 built and pushed once; nginx serves the archive repo and proxies
# the registry with an access log of bytes sent ------------------------------------------
push_fixture_images "$work/registry"
nginx_port=$(free_port)
proxy_port=$(free_port)
nginx_conf "$work/nginx" "    log_format bytes '\$request \$status \$body_bytes_sent';
    server {
        listen 127.0.0.1:$nginx_port;
        location /repo/ { alias $REPO/; }
    }
$(counting_proxy "$proxy_port" "$registry_port" "$work/proxy.log")"
"${on_server[@]}" nginx -p "$work/nginx" -e "$work/nginx/error.log" -c "$work/nginx/nginx.conf" &
nginx_pid=$!
for _ in $(seq 1 100); do curl -fs -o /dev/null "http://127.0.0.1:$nginx_port/repo/config" && break; sleep 0.1; done

# The fixture's commits are unsigned, hence --insecure-no-signature; the images are built
# from commit checksums, so they carry no ostree.ref label and the ref is named.
ours_pull=(pull --insecure-no-signature --progress none --tls-verify=false --ref "$BRANCH")
peer_repo() { # peer_repo MODE: a fresh repo with remote origin at nginx
    local dir
    dir=$(mktemp -d "$work/peer.XXXXXX")
    ostree --repo="$dir" init --mode="$1"
    ostree --repo="$dir" remote add --no-gpg-verify origin "http://127.0.0.1:$nginx_port/repo"
    echo "$dir"
}
check() { # check NAME REPO REF RUN: the ref is C2; fsck on the first run
    [ "$(ostree --repo="$2" rev-parse "$3")" = "$C2" ] || { echo "$1: wrong commit" >&2; exit 1; }
    [ "$4" != 1 ] || ostree --repo="$2" fsck -q > /dev/null || { echo "$1: fsck failed" >&2; exit 1; }
}

# --- measurements ------------------------------------------------------------------------
# Every pull goes into a new directory and nothing is deleted until the end: ext4 does not
# reuse an inode freed in the last minute or so, and finding a free one then walks the
# inode table (recently_deleted in the kernel profile), which more than doubled the system
# time of whichever tool created 10k files right after the previous repo was removed.
for i in $(seq 1 "$runs"); do
    echo "run $i/$runs ..." >&2
    for mode in archive bare-user; do
        r=$work/ours-$mode-$i; ostree --repo="$r" init --mode="$mode"
        serving=$registry_pid
        measure "ours-$mode" "${on_client[@]}" "$oc" "${ours_pull[@]}" --repo "$r" "docker://$image:C2"
        check "ours $mode" "$r" "$BRANCH" "$i"
        r=$(peer_repo "$mode")
        serving=$nginx_pid
        measure "ostree-$mode" "${on_client[@]}" ostree --repo="$r" pull origin "$BRANCH"
        check "ostree $mode" "$r" "origin:$BRANCH" "$i"
    done
    serving=$registry_pid
    measure skopeo "${on_client[@]}" skopeo copy -q --src-tls-verify=false "docker://$image:C2" "oci:$work/skopeo-$i:C2"
done
serving=

# (d) C1 -> C2 through the counting proxy (once: the byte count does not vary)
r=$work/update; ostree --repo="$r" init --mode=archive
"$oc" "${ours_pull[@]}" --repo "$r" "docker://127.0.0.1:$proxy_port/os/exampleos:C1" > /dev/null
: > "$work/proxy.log"
"$oc" "${ours_pull[@]}" --repo "$r" "docker://127.0.0.1:$proxy_port/os/exampleos:C2" > /dev/null
check "update" "$r" "$BRANCH" 1
fetched=$(awk '{s += $NF} END {print s + 0}' "$work/proxy.log")
manifest() { skopeo inspect --raw --tls-verify=false "docker://$image:$1"; }
changed=$(jq -s '(.[0].layers | map(.digest)) as $old
    | [.[1].layers[] | select(.annotations["ostree.container.layer"] == "repo" or .annotations["ostree.container.layer"] == "meta")
       | select(.digest as $d | $old | index($d) | not) | .size] | add' <(manifest C1) <(manifest C2))

# --- report ------------------------------------------------------------------------------
size_mb=$(du -sm "$work/skopeo-1/blobs" | cut -f1)
printf '\nmachine: %s, %s cores, %s; image: %s MB of blobs (commit %s); runs: %s (median)\n' \
    "$(uname -m)" "$(nproc)" "$(free -g | awk '/Mem:/ {print $2 " GiB"}')" "$size_mb" "${C2:0:12}" "$runs"
printf '%-40s %10s %10s %8s %12s %12s %12s %12s\n' task "ours (s)" "peer (s)" ratio "ours RSS MB" "peer RSS MB" \
    "ours srv CPU" "peer srv CPU"
line() { # line LABEL OURS PEER PEER-NAME
    local o p om pm oc pc
    o=$(col "$2" 1); p=$(col "$3" 1); om=$(( $(col "$2" 2) / 1024 )); pm=$(( $(col "$3" 2) / 1024 ))
    oc=$(cpu "$2"); pc=$(cpu "$3")
    printf '%-40s %10s %10s %8s %12s %12s %12s %12s\n' "$1" "$o" "$p" "$(ratio "$o" "$p")" "$om" "$pm" "$oc" "$pc"
    result "$1" s "$o" "$p" "$4" "$om" "$pm" "$oc" "$pc"
}
line "pull OS image into archive repo" ours-archive ostree-archive "ostree pull from nginx"
line "pull OS image into bare-user repo" ours-bare-user ostree-bare-user "ostree pull from nginx"
line "pull OS image vs transport only" ours-archive skopeo "skopeo copy to oci:"
printf 'C1 -> C2 update: %s bytes fetched; changed repo+meta layers: %s bytes; ratio %s (goal <= 1.5)\n' \
    "$fetched" "$changed" "$(ratio "$fetched" "$changed")"
result "C1 -> C2 update: MB fetched vs changed repo layers" MB "$(ratio "$fetched" 1000000)" "$(ratio "$changed" 1000000)" "changed layers' size"
