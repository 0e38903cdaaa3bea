#!/usr/bin/env bash
# Benchmark: pushing the OS fixture's image (C2, built once into an OCI layout) to a local
# docker-registry with `ostree-container push` vs `skopeo copy oci:… docker://…`, side by
# side in one run, RUNS times (default 3). Every push goes to a registry with empty
# storage, so every blob is uploaded. Prints median wall time, ratio (ours / skopeo,
# below 1.0 = faster) and peak RSS.
#
# Usage: bench/push.sh [RUNS]      env: OSTREE_CONTAINER_FIXTURES (fixture cache)
runs=${1:-3}
. "$(dirname "$0")/lib.sh"

publish_bin
work=$(mktemp -d /var/tmp/oc-bench.XXXXXX)
trap 'stop_registry; discard "$work"' EXIT

"$oc" build -q --repo "$REPO" --ref "$C2" --oci-dir "$work/layout:bench" --webserver "$bin/native/repo-webserver" >/dev/null
size_mb=$(du -sm "$work/layout/blobs" | cut -f1)
for i in $(seq 1 "$runs"); do
    start_registry "$work/registry"
    measure push-ours "$oc" push -q --tls-verify=false "oci:$work/layout:bench" "127.0.0.1:$registry_port/os/exampleos:bench"
    start_registry "$work/registry"
    measure push-skopeo skopeo copy -q --dest-tls-verify=false "oci:$work/layout:bench" "docker://127.0.0.1:$registry_port/os/exampleos:bench"
done

printf '\nmachine: %s, %s cores, %s; image: %s MB of blobs; runs: %s (median)\n' \
    "$(uname -m)" "$(nproc)" "$(free -g | awk '/Mem:/ {print $2 " GiB"}')" "$size_mb" "$runs"
o=$(col push-ours 1); p=$(col push-skopeo 1)
printf '%-28s %10s %10s %8s %12s %12s\n' task "ours (s)" "skopeo (s)" ratio "ours RSS MB" "skopeo RSS MB"
om=$(( $(col push-ours 2) / 1024 )); pm=$(( $(col push-skopeo 2) / 1024 ))
printf '%-28s %10s %10s %8s %12s %12s\n' "push layout to registry" "$o" "$p" "$(ratio "$o" "$p")" "$om" "$pm"
result "push OS image to docker-registry (${size_mb} MB)" s "$o" "$p" "skopeo copy" "$om" "$pm"
