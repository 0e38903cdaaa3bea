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

# discard DIR...: removes bench data. Deleting a repo of ~10k files makes ext4 scan its
# inode tables on every file creation for the next 1-6 minutes (recently_deleted), which
# slowed whichever pull or commit came next, on either side. Each bench keeps its data
# until it ends; under bench/run (BENCH_TRASH set) it is moved aside and deleted only
# after the last bench.
discard() {
    local d
    for d in "$@"; do
        [ -e "$d" ] || continue
        if [ -n "${BENCH_TRASH:-}" ]; then
            mkdir -p "$BENCH_TRASH"
            mv "$d" "$(mktemp -d "$BENCH_TRASH/x.XXXXXX")/"
        else
            rm -rf "$d"
        fi
    done
}

# --- pinning: on 2 cores a client and a server compete for CPU, so a server that spends
# more CPU looks slower than it would across a network. Every pull bench runs each server
# on one core ("${on_server[@]}" CMD) and each client on the other ("${on_client[@]}" CMD),
# both sides alike, and reports the server's CPU seconds per pull (measure with $serving
# set) next to the wall time. BENCH_SERVER_CPU / BENCH_CLIENT_CPU choose the cores
# (default 0 and 1).
server_cpu=${BENCH_SERVER_CPU:-0}
client_cpu=${BENCH_CLIENT_CPU:-1}
[ "$(nproc)" -ge 2 ] || { echo "the pull benches pin server and client to two different cores; this machine has $(nproc)" >&2; exit 1; }
# Prefixes, not functions, so /usr/bin/time and `&` run the command itself (taskset execs
# it: $! is the server's PID): "${on_server[@]}" CMD..., "${on_client[@]}" CMD...
on_server=(taskset -c "$server_cpu")
on_client=(taskset -c "$client_cpu")
clock_ticks=$(getconf CLK_TCK)
# cpu_ticks PID...: user + system CPU of the processes so far (all their threads), in
# clock ticks (fields 14 and 15 of /proc/PID/stat; the name in field 2 may hold spaces,
# so fields are counted after its closing parenthesis).
cpu_ticks() {
    local pid total=0 rest
    for pid in "$@"; do
        rest=$(sed 's/^.*) //' "/proc/$pid/stat") || { echo "cpu_ticks: process $pid is gone" >&2; exit 1; }
        # after "pid (comm) ", field 3 (state) is the first: utime is 14 - 2 = 12th, stime 13th
        total=$(( total + $(awk '{print $12 + $13}' <<< "$rest") ))
    done
    echo "$total"
}

# repo_copy DIR: the fixture with its objects hard-linked (no tool writes an existing
# object) and what generating deltas or a summary may rewrite (config, summary, deltas,
# indexes, refs) copied for real, so the fixture is never touched.
repo_copy() {
    cp -al "$REPO" "$1"
    local m
    for m in config summary summary.sig deltas delta-indexes refs; do
        if [ -e "$REPO/$m" ]; then rm -rf "${1:?}/$m"; cp -a "$REPO/$m" "$1/$m"; fi
    done
}

# measure NAME CMD... : runs CMD under /usr/bin/time, appends "seconds peak-kb server-cpu-s"
# to $work/NAME.times (the caller sets $work); server-cpu-s is the CPU the processes in
# $serving (PIDs, set by the caller for a pull; "-" when empty) spent during CMD. Stops
# the bench if CMD fails.
serving=
measure() {
    local name=$1 before=0 after cpu=-; shift
    sync
    # shellcheck disable=SC2086
    [ -z "$serving" ] || before=$(cpu_ticks $serving)
    /usr/bin/time -f '%e %M' -o "$work/$name.one" "$@" >/dev/null 2>"$work/$name.err" || {
        cat "$work/$name.err" >&2; echo "$name failed" >&2; exit 1; }
    if [ -n "$serving" ]; then
        # shellcheck disable=SC2086
        after=$(cpu_ticks $serving)
        cpu=$(awk -v t=$(( after - before )) -v hz="$clock_ticks" 'BEGIN { printf "%.2f", t / hz }')
    fi
    echo "$(cat "$work/$name.one") $cpu" >> "$work/$name.times"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
col() { awk -v c="$2" '{print $c}' "$work/$1.times" | median; }   # col NAME COLUMN: median of a column
# cpu NAME: median server CPU seconds per run of NAME (column 3 of measure's record)
cpu() { col "$1" 3; }

# publish_cli: the CLI (Release, ReadyToRun) into $bin, as it ships; sets bin and oc.
publish_cli() {
    bin=$root/out/bench-bin
    dotnet publish src/Cli -c Release -o "$bin" --nologo -v quiet
    oc=$bin/ostree-container
}

# publish_bin: the CLI and, in $bin/native, the NativeAOT webserver `build` embeds.
publish_bin() {
    publish_cli
    # ILC leaves its object file behind when a publish fails; start the native step clean.
    rm -rf src/RepoWebserver/obj/Release/*/*/native
    dotnet publish src/RepoWebserver -c Release -o "$bin/native" --nologo -v quiet
}

# free_port: a port nothing listens on, below the kernel's ephemeral range (32768+) so no
# outgoing connection holds it; checked with bash's /dev/tcp.
free_port() {
    local p
    while :; do
        p=$(( 20000 + RANDOM % 12000 ))
        (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo "$p"; return; }
    done
}

# start_registry DIR: a docker-registry with empty storage under DIR on a free port, on
# the server's core; sets registry_port and registry_pid. stop_registry stops it.
registry_pid=
start_registry() {
    local dir=$1
    stop_registry
    rm -rf "$dir"; mkdir -p "$dir"
    registry_port=$(free_port)
    cat > "$dir/registry.yml" <<YML
version: 0.1
storage:
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$registry_port
log:
  level: error
YML
    "${on_server[@]}" docker-registry serve "$dir/registry.yml" > "$dir/registry.log" 2>&1 &
    registry_pid=$!
    for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$registry_port/v2/" >/dev/null && return; sleep 0.1; done
    echo "docker-registry did not start" >&2; cat "$dir/registry.log" >&2; exit 1
}
stop_registry() {
    if [ -n "$registry_pid" ]; then kill "$registry_pid" 2>/dev/null || true; wait "$registry_pid" 2>/dev/null || true; fi
    registry_pid=
}

# push_fixture_images DIR: starts the registry (storage in DIR) and pushes images of C1 and
# C2 built by $oc as $image:C1 and $image:C2; sets image (and registry_port).
push_fixture_images() {
    start_registry "$1"
    image=127.0.0.1:$registry_port/os/exampleos
    local c
    for c in C1 C2; do
        "$oc" build -q --repo "$REPO" --ref "${!c}" --push "$image:$c" --tls-verify=false \
            --webserver "$bin/native/repo-webserver" > /dev/null
    done
}

# counting_proxy PORT REGISTRY_PORT LOG: the nginx server block (for nginx_conf) of a proxy
# in front of the registry that logs each request with its response's body bytes, in the
# log format `bytes` the caller declares; the bytes a pull fetched are the log's sum.
counting_proxy() {
    cat <<EOC
    server {
        listen 127.0.0.1:$1;
        client_max_body_size 0;
        location / {
            proxy_pass http://127.0.0.1:$2;
            proxy_set_header Host \$http_host;
            proxy_buffering off;
            access_log $3 bytes;
        }
    }
EOC
}

# nginx_conf DIR SERVER-BLOCKS: writes DIR/nginx.conf for a foreground nginx run as
# Debian ships it (one worker per core, sendfile), with the given server blocks.
nginx_conf() {
    local dir=$1 servers=$2
    mkdir -p "$dir"
    cat > "$dir/nginx.conf" <<EOC
daemon off;
master_process off;
worker_processes auto;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $dir/client_body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
$servers
}
EOC
}

# ratio A B: A/B with two decimals ("-" when B is 0)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b + 0 == 0) print "-"; else printf "%.2f", a/b }'; }

# result TASK UNIT OURS PEER PEER-NAME [OURS-RSS-MB PEER-RSS-MB [OURS-CPU-S PEER-CPU-S
# [BOUND [RSS-BOUND]]]]: one measured row for bench/run's report, appended as a
# tab-separated line to $BENCH_RESULTS when it is set (the columns report.py reads: bench,
# task, unit, ours, peer, peer name, ratio, RSS ours/peer, bound on the ratio, bound on
# the RSS ratio, server CPU seconds ours/peer; "-" for none). UNIT "req/s" means higher is
# better; every other unit, lower is better.
result() {
    [ -n "${BENCH_RESULTS:-}" ] || return 0
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(basename "$0" .sh)" "$1" "$2" "$3" "$4" "$5" \
        "$(ratio "$3" "$4")" "${6:--}" "${7:--}" "${10:--}" "${11:--}" "${8:--}" "${9:--}" >> "$BENCH_RESULTS"
}
