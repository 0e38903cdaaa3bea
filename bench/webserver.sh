#!/usr/bin/env bash
# Benchmark: repo-webserver vs nginx serving the OS-sized fixture repo (make-os-repo.sh),
# side by side in one run on 127.0.0.1. Each measurement is repeated RUNS times (default
# 3) and the median is printed with ratio = ours / nginx (for req/s above 1.0 means we
# are faster; for times and sizes below 1.0 means we are smaller or faster):
#   (a) wrk -t2 -c16 -d10s on one ~1 KB object: requests/s and p99 latency
#   (b) ostree pull of C2 into a fresh bare-user repo: objects only, and C1 -> C2 by delta
#   (c) ours serving a bare-user copy (transcoding to archive-z2) vs nginx serving the
#       archive repo: first pull (cold transcode cache) and repeated pull
#   (d) time to first response after exec, idle RSS, peak RSS under load, binary size
# The server is published NativeAOT (as it ships); if that fails the bench stops. Each
# server runs on one core and every client (ostree pull, wrk) on the other (on_server /
# on_client in lib.sh), both sides alike; (b) and (c) also give the server's CPU seconds
# per pull, from /proc/PID/stat before and after.
#
# Usage: bench/webserver.sh [RUNS]      env: OSTREE_CONTAINER_FIXTURES (fixture cache)
runs=${1:-3}
. "$(dirname "$0")/lib.sh"

work=$(mktemp -d /var/tmp/oc-bench-web.XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    discard "$work"
}
trap cleanup EXIT

# --- the server binary: NativeAOT ----------------------------------------------------
out=$root/out/bench-webserver
build=NativeAOT
aot_args=()
# The AOT toolchain needs a "clang"; Debian's clang-NN packages install only clang-NN.
if ! command -v clang >/dev/null; then
    for cc in /usr/bin/clang-[0-9]*; do [ -x "$cc" ] && aot_args=(-p:CppCompilerAndLinker="$cc"); done
fi
rm -rf "$out"
# ILC writes its object file even when trim warnings fail the publish; left in obj/, the
# next publish would link it and "succeed". Start the native step clean every time.
rm -rf src/RepoWebserver/obj/Release/*/*/native
# The server ships as one NativeAOT binary (plus libe_sqlite3.so); measure exactly that.
if ! dotnet publish src/RepoWebserver -c Release -o "$out" --nologo -v quiet "${aot_args[@]}" > "$work/publish.log" 2>&1 \
    || [ ! -x "$out/repo-webserver" ] || [ -f "$out/repo-webserver.dll" ]; then
    echo "NativeAOT publish of src/RepoWebserver failed:" >&2
    grep -E 'error|Error' "$work/publish.log" | head -5 >&2 || tail -5 "$work/publish.log" >&2
    exit 1
fi
ours_bin=$out/repo-webserver
ours_size=$(stat -c %s "$ours_bin")
nginx_size=$(stat -c %s "$(command -v nginx)")

# --- helpers ----------------------------------------------------------------------------
now_ns() { date +%s%N; }
record() { echo "$2" >> "$work/$1.values"; }          # record NAME VALUE
med() { median < "$work/$1.values"; }

# launch PORT LOG CMD...: starts CMD (output to LOG), waits until GET /healthz on PORT
# answers 200, and sets server_pid and start_ms (milliseconds from exec to that answer).
# A python process starts the server and then polls every millisecond over a raw socket:
# timing from inside the poller leaves out the poller's own start-up, and a loop of curl
# processes (fork and exec, about 5 ms of CPU each) competed with the starting server for
# the two cores, adding 40-70 ms to both servers' times. The server outlives the poller.
launch() {
    local port=$1 log=$2 out; shift 2
    out=$(/usr/bin/python3 - "$port" "$log" "$@" <<'PY'
import socket, subprocess, sys, time
port, log, command = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
with open(log, "ab") as output:
    started = time.monotonic_ns()
    server = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
while time.monotonic_ns() - started < 10_000_000_000 and server.poll() is None:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(request)
            if s.recv(64).startswith(b"HTTP/1.1 200"):
                print(server.pid, (time.monotonic_ns() - started) // 1_000_000)
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.001)
server.kill()
sys.exit(f"server on port {port} did not answer: {' '.join(command)}")
PY
    ) || { cat "$log" >&2; exit 1; }
    read -r server_pid start_ms <<< "$out"
    pids+=("$server_pid")
}

# start_nginx REPO PORT: runs nginx in the foreground, sets server_pid and start_ms
start_nginx() {
    local repo=$1 port=$2 dir
    dir=$(mktemp -d "$work/nginx.XXXXXX")
    nginx_conf "$dir" "    server {
        listen 127.0.0.1:$port;
        location /repo/ { alias $repo/; }
        location = /healthz { return 200 \"ok\\n\"; }
    }"
    launch "$port" "$dir/error.log" taskset -c "$server_cpu" nginx -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf"
}

# start_ours REPO PORT: runs repo-webserver with a fresh transcode cache, sets server_pid
# and start_ms
start_ours() {
    local repo=$1 port=$2 cache
    cache=$(mktemp -d "$work/cache.XXXXXX")
    launch "$port" "$work/ours.log" taskset -c "$server_cpu" "$ours_bin" --repo "$repo" --urls "http://127.0.0.1:$port" --request-logging false \
        --cache-dir "$cache" "${ours_extra[@]}"
}

# stop_server: the server is not this shell's child (the poller started it): wait for
# its pid to vanish.
stop_server() {
    kill "$server_pid" 2>/dev/null || true
    while kill -0 "$server_pid" 2>/dev/null; do sleep 0.01; done
}
rss_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }   # rss_kb PID VmRSS|VmHWM

# client URL: a fresh bare-user repo with remote origin, path on stdout
client() {
    local dir
    dir=$(mktemp -d "$work/client.XXXXXX")
    ostree --repo="$dir" init --mode=bare-user >/dev/null
    ostree --repo="$dir" remote add --no-gpg-verify origin "$1" >/dev/null
    echo "$dir"
}

# timed_pull NAME CLIENT ARGS...: appends the wall time in seconds (NAME) and the
# server's CPU seconds during the pull (NAME-cpu); checks the result
timed_pull() {
    local name=$1 repo=$2 before after; shift 2
    before=$(cpu_ticks "$server_pid")
    /usr/bin/time -f '%e' -o "$work/pull.time" "${on_client[@]}" ostree --repo="$repo" pull "$@" origin "$BRANCH" > "$work/pull.out" 2>&1 || {
        cat "$work/pull.out" >&2; echo "$name: pull failed" >&2; exit 1; }
    after=$(cpu_ticks "$server_pid")
    [ "$(ostree --repo="$repo" rev-parse "origin:$BRANCH")" = "$C2" ] || { echo "$name: wrong commit" >&2; exit 1; }
    record "$name" "$(cat "$work/pull.time")"
    record "$name-cpu" "$(awk -v t=$(( after - before )) -v hz="$clock_ticks" 'BEGIN { printf "%.2f", t / hz }')"
}

# wrk_run NAME URL: requests/s and p99 (ms)
wrk_run() {
    "${on_client[@]}" wrk -t2 -c16 -d10s --latency "$2" > "$work/wrk.out"
    grep -q 'Non-2xx' "$work/wrk.out" && { cat "$work/wrk.out" >&2; echo "$1: non-2xx responses" >&2; exit 1; }
    record "$1-rps" "$(awk '/Requests\/sec:/ {print $2}' "$work/wrk.out")"
    record "$1-p99" "$(awk '$1 == "99%" { v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; print v }' "$work/wrk.out")"
}

# --- inputs -----------------------------------------------------------------------------
small=$(find "$REPO/objects" -name '*.dirtree' -size +900c -size -1200c | head -n 1)
[ -n "$small" ] || small=$(find "$REPO/objects" -name '*.filez' -size +900c -size -1200c | head -n 1)
small_url=/repo/${small#"$REPO"/}
small_bytes=$(stat -c %s "$small")
bareuser=$work/bareuser
ostree --repo="$bareuser" init --mode=bare-user
ostree --repo="$bareuser" pull-local "$REPO" "$BRANCH" >/dev/null

# (e) the object map of C2, built with the CLI (timed), served by ours during (a)/(b)
publish_cli
map=$work/object-map
om_start=$(now_ns)
"$oc" object-map build --repo "$REPO" --ref "$C2" --output "$map" > /dev/null
om_build_ms=$(( ($(now_ns) - om_start) / 1000000 ))
ours_extra=(--object-map "$map")

# --- measurements -----------------------------------------------------------------------
for i in $(seq 1 "$runs"); do
    echo "run $i/$runs ..." >&2
    ours_extra=(--object-map "$map")
    for who in ours nginx; do
        port=$(free_port)
        "start_$who" "$REPO" "$port"
        base=http://127.0.0.1:$port
        record "$who-start" "$start_ms"
        sleep 0.5
        record "$who-idle-rss" "$(rss_kb "$server_pid" VmRSS)"

        # (a) one small object
        wrk_run "$who-wrk" "$base$small_url"
        # (e) object-map path lookups over HTTP (ours only: nginx has no such API)
        [ "$who" = ours ] && wrk_run ours-om "$base/object-map/paths/usr/bin/bash"

        # (b) objects only, then C1 -> C2 by delta (C1 set up locally, not timed)
        c=$(client "$base/repo")
        timed_pull "$who-pull" "$c" --disable-static-deltas
        [ "$i" = 1 ] && ostree --repo="$c" fsck -q >/dev/null
        c=$(client "$base/repo")
        ostree --repo="$c" pull-local "$REPO" "$C1" >/dev/null
        ostree --repo="$c" refs --create="origin:$BRANCH" "$C1"
        timed_pull "$who-delta" "$c"
        grep -q 'delta parts' "$work/pull.out" || { echo "$who: the delta was not used" >&2; exit 1; }

        record "$who-peak-rss" "$(rss_kb "$server_pid" VmHWM)"
        stop_server
    done

    # (c) ours on the bare-user copy (cold, then warm transcode cache) vs nginx on archive
    port=$(free_port)
    ours_extra=()
    start_ours "$bareuser" "$port"
    for attempt in first repeat; do
        c=$(client "http://127.0.0.1:$port/repo")
        timed_pull "ours-bareuser-$attempt" "$c" --disable-static-deltas
        [ "$i" = 1 ] && [ "$attempt" = first ] && ostree --repo="$c" fsck -q >/dev/null
    done
    record "ours-bareuser-peak-rss" "$(rss_kb "$server_pid" VmHWM)"
    stop_server
    port=$(free_port)
    start_nginx "$REPO" "$port"
    for attempt in first repeat; do
        c=$(client "http://127.0.0.1:$port/repo")
        timed_pull "nginx-archive-$attempt" "$c" --disable-static-deltas
    done
    stop_server
done

# --- report -----------------------------------------------------------------------------
objects=$(find "$REPO/objects" -type f | wc -l)
printf '\nmachine: %s, %s cores, %s; repo: %s objects, %s MB; ours: %s build; runs: %s (median)\n' \
    "$(uname -m)" "$(nproc)" "$(free -g | awk '/Mem:/ {print $2 " GiB"}')" "$objects" \
    "$(( $(du -sb "$REPO" | cut -f1) / 1000000 ))" "$build" "$runs"
# row LABEL UNIT OURS PEER [OURS-RSS PEER-RSS [OURS-CPU PEER-CPU]]: prints a row and
# records it for bench/run
row() {
    printf '%-46s %12s %12s %8s %12s %12s\n' "$1 ($2)" "$3" "$4" "$(ratio "$3" "$4")" "${7:--}" "${8:--}"
    local peer=nginx; [ "$4" = - ] && peer=-
    result "$1" "$2" "$3" "$4" "$peer" "${5:--}" "${6:--}" "${7:--}" "${8:--}"
}
mb() { echo $(( $(med "$1") / 1024 )); }
printf '%-46s %12s %12s %8s %12s %12s\n' measure ours nginx ratio "ours srv CPU" "nginx srv CPU"
row "(a) ${small_bytes} B object, wrk -t2 -c16" req/s "$(med ours-wrk-rps)" "$(med nginx-wrk-rps)" "$(mb ours-peak-rss)" "$(mb nginx-peak-rss)"
row "(a) same, p99 latency" ms "$(med ours-wrk-p99)" "$(med nginx-wrk-p99)"
row "(b) ostree pull C2, objects only" s "$(med ours-pull)" "$(med nginx-pull)" "$(mb ours-peak-rss)" "$(mb nginx-peak-rss)" \
    "$(med ours-pull-cpu)" "$(med nginx-pull-cpu)"
row "(b) ostree pull C1 -> C2 by static delta" s "$(med ours-delta)" "$(med nginx-delta)" - - "$(med ours-delta-cpu)" "$(med nginx-delta-cpu)"
row "(c) bare-user src vs archive, first pull" s "$(med ours-bareuser-first)" "$(med nginx-archive-first)" "$(mb ours-bareuser-peak-rss)" - \
    "$(med ours-bareuser-first-cpu)" "$(med nginx-archive-first-cpu)"
row "(c) bare-user src vs archive, repeat pull" s "$(med ours-bareuser-repeat)" "$(med nginx-archive-repeat)" - - \
    "$(med ours-bareuser-repeat-cpu)" "$(med nginx-archive-repeat-cpu)"
row "(d) time to first response after exec" ms "$(med ours-start)" "$(med nginx-start)"
row "(d) idle RSS" MB "$(mb ours-idle-rss)" "$(mb nginx-idle-rss)"
row "(d) peak RSS after (a)+(b)" MB "$(mb ours-peak-rss)" "$(mb nginx-peak-rss)"
row "(d) peak RSS transcoding bare-user" MB "$(mb ours-bareuser-peak-rss)" -
row "(e) object map of C2: build time" ms "$om_build_ms" -
row "(e) object-map path lookups over HTTP" req/s "$(med ours-om-rps)" -
row "(d) binary size" MB "$(awk -v b="$ours_size" 'BEGIN{printf "%.1f", b/1e6}')" "$(awk -v b="$nginx_size" 'BEGIN{printf "%.1f", b/1e6}')"
