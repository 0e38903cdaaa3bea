#!/usr/bin/env bash
# Benchmark (issue 15): OS updates through a registry, with static deltas in the images,
# side by side with ostree's own paths on the OS fixture (C1 -> C2), RUNS times (default 3):
#   (a) C1 -> C2 through a docker-registry: images of C1 and C2 built and pushed with
#       `ostree-container build --push` (C2's carries a C1 -> C2 delta layer); each run pulls
#       C1, then C2 with `ostree-container pull` into a fresh bare-user repo. The update's
#       bytes (counted by an nginx proxy in front of the registry) against ostree's own
#       C1 -> C2 delta (`ostree static-delta show`'s Total Size; bound <= 1.1x, goal 1.0x),
#       and its wall time against `ostree pull --require-static-deltas` C1 -> C2 from nginx
#       serving the fixture into a bare-user repo holding C1 (bound <= 1.0x). fsync on
#       (both tools' defaults).
#   (b) the first `ostree pull` of C2 into a fresh bare-user repo from our webserver (the
#       NativeAOT repo-webserver the images embed) serving a copy of the fixture that also
#       has a from-scratch delta of C2 (made once with `ostree-container static-delta
#       generate --empty`): by that delta (--require-static-deltas) and by objects only
#       (--disable-static-deltas), each against nginx serving the same copy. No bound: on
#       loopback a from-scratch delta trades ten thousand requests for one-core xz.
#   (c) `ostree-container build` of C2 from a copy of the fixture without deltas: by default
#       (generates the C1 -> C2 delta) against `--no-deltas` (bound <= 1.3x).
# Servers (registry, proxy, nginx, ours) run on one core, clients on the other (on_server /
# on_client in lib.sh), and each pull row gives the server's CPU seconds per pull; builds
# are not pinned (no server; both sides use every core). Every pull ends with the ref at C2
# and the first run's repos pass `ostree fsck`.
#
# Usage: bench/update.sh [RUNS]      env: OSTREE_CONTAINER_FIXTURES (fixture cache),
#        UPDATE_PARTS (default "registry scratch build": which of (a) (b) (c) to run)
runs=${1:-3}
parts=" ${UPDATE_PARTS:-registry scratch build} "
. "$(dirname "$0")/lib.sh"

publish_bin
work=$(mktemp -d /var/tmp/oc-bench-update.XXXXXX)
servers=()
cleanup() {
    local pid
    stop_registry
    for pid in "${servers[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    discard "$work"
}
trap cleanup EXIT
part() { [[ $parts == *" $1 "* ]]; }   # part NAME: was NAME asked for?

# serve NAME URL CMD...: starts CMD on the server's core, waits until URL answers; sets
# server_pid (taskset execs CMD, so $! is the server itself).
serve() {
    local name=$1 url=$2; shift 2
    "${on_server[@]}" "$@" > "$work/$name.log" 2>&1 &
    server_pid=$!
    servers+=("$server_pid")
    for _ in $(seq 1 100); do curl -fs -o /dev/null "$url" && return; sleep 0.1; done
    cat "$work/$name.log" >&2; echo "$name did not answer at $url" >&2; exit 1
}
# nginx_serving NAME SERVER-BLOCKS HEALTH-URL: nginx (one process: master_process off)
nginx_serving() {
    nginx_conf "$work/$1" "$2"
    serve "$1" "$3" nginx -p "$work/$1" -e "$work/$1/error.log" -c "$work/$1/nginx.conf"
}
check() { # check NAME REPO REF RUN: the ref is C2; fsck on the first run
    [ "$(ostree --repo="$2" rev-parse "$3")" = "$C2" ] || { echo "$1: wrong commit" >&2; exit 1; }
    [ "$4" != 1 ] || ostree --repo="$2" fsck -q > /dev/null || { echo "$1: fsck failed" >&2; exit 1; }
}
client_repo() { # client_repo URL: a fresh bare-user repo with remote origin at URL
    local dir
    dir=$(mktemp -d "$work/client.XXXXXX")
    ostree --repo="$dir" init --mode=bare-user
    ostree --repo="$dir" remote add --no-gpg-verify origin "$1"
    echo "$dir"
}
delta_size() { # delta_size REPO NAME: `ostree static-delta show`'s Total Size (parts + fallbacks)
    local size
    size=$(ostree --repo="$1" static-delta show "$2" | awk '/^Total Size:/ {print $3}')
    [ -n "$size" ] || { echo "ostree static-delta show $2 in $1 printed no total" >&2; exit 1; }
    echo "$size"
}
record() { echo "$2" >> "$work/$1.values"; }   # record NAME VALUE
med() { median < "$work/$1.values"; }
mb() { awk -v b="$1" 'BEGIN { printf "%.2f", b / 1e6 }'; }

# Rows are printed at the end: LABEL UNIT OURS PEER PEER-NAME BOUND OURS-CPU PEER-CPU
rows=()
row() { rows+=("$(printf '%s\t' "$@")"); }

pair=$C1-$C2
[ -d "$REPO/deltas" ] && ostree --repo="$REPO" static-delta list | grep -qx "$pair" \
    || { echo "the fixture lacks ostree's $pair delta" >&2; exit 1; }
ostree_delta=$(delta_size "$REPO" "$pair")

# --- (a) C1 -> C2 through the registry ----------------------------------------------------
if part registry; then
    echo "(a) building and pushing C1 and C2 ..." >&2
    push_fixture_images "$work/registry"
    # C2's image must carry a C1 -> C2 delta layer (announced by its annotations).
    delta_layers=$(skopeo inspect --raw --tls-verify=false "docker://$image:C2" | jq --arg f "$C1" --arg t "$C2" \
        '[.layers[] | select(.annotations["ostree.container.delta.from"] == $f and .annotations["ostree.container.delta.to"] == $t)] | length')
    [ "$delta_layers" = 1 ] || { echo "the C2 image has $delta_layers C1 -> C2 delta layers, not 1" >&2; exit 1; }

    nginx_port=$(free_port)
    proxy_port=$(free_port)
    nginx_serving nginx "    server {
        listen 127.0.0.1:$nginx_port;
        location /repo/ { alias $REPO/; }
    }" "http://127.0.0.1:$nginx_port/repo/config"
    nginx_pid=$server_pid
    # The proxy counts the bytes of every response (body only: headers are a few hundred
    # bytes a request, and ostree's own side is counted without them too).
    nginx_serving proxy "    log_format bytes '\$request \$status \$body_bytes_sent';
$(counting_proxy "$proxy_port" "$registry_port" "$work/proxy.log")" "http://127.0.0.1:$proxy_port/v2/"
    proxy_pid=$server_pid

    # The fixture's commits are unsigned (--insecure-no-signature); the images carry no
    # ostree.ref label (built from checksums), so the ref is named.
    ours_pull=(pull --insecure-no-signature --progress none --tls-verify=false --ref "$BRANCH")
    proxied=docker://127.0.0.1:$proxy_port/os/exampleos
    for i in $(seq 1 "$runs"); do
        echo "(a) run $i/$runs ..." >&2
        r=$work/ours-$i
        ostree --repo="$r" init --mode=bare-user
        "${on_client[@]}" "$oc" "${ours_pull[@]}" --repo "$r" "$proxied:C1" > /dev/null
        : > "$work/proxy.log"
        serving="$registry_pid $proxy_pid"
        measure update-ours "${on_client[@]}" "$oc" "${ours_pull[@]}" --repo "$r" "$proxied:C2"
        serving=
        check "ours update" "$r" "$BRANCH" "$i"
        record update-bytes "$(awk '{s += $NF} END {print s + 0}' "$work/proxy.log")"
        [ "$i" != 1 ] || cp "$work/proxy.log" "$work/proxy-first-update.log"

        r=$(client_repo "http://127.0.0.1:$nginx_port/repo")
        ostree --repo="$r" pull-local "$REPO" "$C1" > /dev/null
        ostree --repo="$r" refs --create="origin:$BRANCH" "$C1"
        serving=$nginx_pid
        measure update-ostree "${on_client[@]}" ostree --repo="$r" pull --require-static-deltas origin "$BRANCH"
        serving=
        check "ostree update" "$r" "origin:$BRANCH" "$i"
    done
    fetched=$(med update-bytes)
    # Which path the pull took, from what it fetched: a delta layer is about ostree's
    # delta; the repo-layer path fetches every changed repo layer (tens of MB).
    if [ "$fetched" -le $(( ostree_delta * 2 )) ]; then path="delta layer"; else path="repo layers"; fi
    row "update C1 -> C2 via registry: MB fetched ($path)" MB "$(mb "$fetched")" "$(mb "$ostree_delta")" \
        "ostree's own C1 -> C2 delta" 1.1 - -
    row "update C1 -> C2 via registry: wall ($path)" s "$(col update-ours 1)" "$(col update-ostree 1)" \
        "ostree pull by delta from nginx" 1.0 "$(cpu update-ours)" "$(cpu update-ostree)"
    echo "requests of the first update (through the proxy):" >&2
    sed 's/^/    /' "$work/proxy-first-update.log" >&2
fi

# --- (b) first pull of C2 from our webserver: from-scratch delta, objects only ------------
if part scratch; then
    echo "(b) generating a from-scratch delta of C2 on a copy of the fixture ..." >&2
    served=$work/scratch-repo
    repo_copy "$served"
    start=$(date +%s)
    "$oc" static-delta generate --repo "$served" --empty --to "$C2" > /dev/null
    scratch_gen_s=$(( $(date +%s) - start ))
    ostree --repo="$served" summary -u
    scratch_size=$(delta_size "$served" "$C2")

    ours_port=$(free_port)
    serve ours "http://127.0.0.1:$ours_port/healthz" "$bin/native/repo-webserver" --repo "$served" \
        --urls "http://127.0.0.1:$ours_port" --request-logging false --cache-dir "$work/ours-cache"
    ours_pid=$server_pid
    scratch_nginx_port=$(free_port)
    nginx_serving nginx-scratch "    server {
        listen 127.0.0.1:$scratch_nginx_port;
        location /repo/ { alias $served/; }
    }" "http://127.0.0.1:$scratch_nginx_port/repo/config"
    scratch_nginx_pid=$server_pid

    for i in $(seq 1 "$runs"); do
        echo "(b) run $i/$runs ..." >&2
        for how in scratch objects; do
            flag=--require-static-deltas; [ "$how" = objects ] && flag=--disable-static-deltas
            for who in ours nginx; do
                if [ "$who" = ours ]; then url=http://127.0.0.1:$ours_port/repo; serving=$ours_pid
                else url=http://127.0.0.1:$scratch_nginx_port/repo; serving=$scratch_nginx_pid; fi
                r=$(client_repo "$url")
                measure "first-$how-$who" "${on_client[@]}" ostree --repo="$r" pull "$flag" origin "$BRANCH"
                serving=
                check "first pull $how from $who" "$r" "origin:$BRANCH" "$i"
            done
        done
    done
    row "first ostree pull of C2 by from-scratch delta" s "$(col first-scratch-ours 1)" "$(col first-scratch-nginx 1)" \
        "ostree pull from nginx, same repo" - "$(cpu first-scratch-ours)" "$(cpu first-scratch-nginx)"
    row "first ostree pull of C2 by objects only" s "$(col first-objects-ours 1)" "$(col first-objects-nginx 1)" \
        "ostree pull from nginx, same repo" - "$(cpu first-objects-ours)" "$(cpu first-objects-nginx)"
    row "first pull from ours: from-scratch delta vs objects" s "$(col first-scratch-ours 1)" "$(col first-objects-ours 1)" \
        "objects only, same server" - "$(cpu first-scratch-ours)" "$(cpu first-objects-ours)"
fi

# --- (c) build with the C1 -> C2 delta generated vs --no-deltas ---------------------------
if part build; then
    "$oc" build --help | grep -q -- --no-deltas \
        || { echo "(c) needs issue 15's build (--no-deltas); this ostree-container lacks it" >&2; exit 1; }
    src=$work/build-repo
    repo_copy "$src"
    no_deltas() { rm -rf "${src:?}/deltas" "$src/delta-indexes"; ostree --repo="$src" summary -u; }
    no_deltas
    layers() { # layers LAYOUT: the number of C1 -> C2 delta layers in LAYOUT's image
        local manifest
        manifest=$(jq -r '.manifests[0].digest' "$1/index.json" | cut -d: -f2)
        jq --arg f "$C1" '[.layers[] | select(.annotations["ostree.container.delta.from"] == $f)] | length' "$1/blobs/sha256/$manifest"
    }
    for i in $(seq 1 "$runs"); do
        echo "(c) run $i/$runs ..." >&2
        measure build-deltas "$oc" build -q --repo "$src" --ref "$C2" --oci-dir "$work/deltas-$i:c2"
        no_deltas   # in case the build left the delta it generated in the source repo
        measure build-plain "$oc" build -q --repo "$src" --ref "$C2" --oci-dir "$work/plain-$i:c2" --no-deltas
        [ "$(layers "$work/deltas-$i")" = 1 ] || { echo "build: no C1 -> C2 delta layer by default" >&2; exit 1; }
        [ "$(layers "$work/plain-$i")" = 0 ] || { echo "build --no-deltas: a delta layer" >&2; exit 1; }
    done
    row "build C2 with the C1 -> C2 delta generated" s "$(col build-deltas 1)" "$(col build-plain 1)" \
        "build --no-deltas" 1.3 - -
fi

# --- report --------------------------------------------------------------------------------
printf '\nmachine: %s, %s cores, %s, load %s; fixture: %s -> %s; ostree delta %s bytes; runs: %s (median)\n' \
    "$(uname -m)" "$(nproc)" "$(free -g | awk '/Mem:/ {print $2 " GiB"}')" "$(cut -d' ' -f1-3 /proc/loadavg)" \
    "${C1:0:12}" "${C2:0:12}" "$ostree_delta" "$runs"
part scratch && printf 'from-scratch delta of C2: %s bytes, generated in %s s\n' "$scratch_size" "$scratch_gen_s"
printf '%-56s %10s %10s %7s %7s %8s %9s %9s\n' task ours peer ratio bound verdict "srv CPU" "peer CPU"
for line in "${rows[@]}"; do
    IFS=$'\t' read -r label unit ours peer peer_name bound ours_cpu peer_cpu <<< "$line"
    r=$(ratio "$ours" "$peer")
    verdict=-
    if [ "$bound" != - ]; then
        verdict=ok; awk -v r="$r" -v b="$bound" 'BEGIN { exit !(r + 0 <= b + 0) }' || verdict=OVER
    fi
    printf '%-56s %10s %10s %7s %7s %8s %9s %9s\n' "$label" "$ours $unit" "$peer $unit" "$r" "$([ "$bound" = - ] && echo - || echo "<=$bound")" "$verdict" "$ours_cpu" "$peer_cpu"
    result "$label" "$unit" "$ours" "$peer" "$peer_name" - - "$ours_cpu" "$peer_cpu" "$bound" -
done
