#!/usr/bin/env bash
# The one-command demo (README command one). On a fresh Debian machine, as root:
#
#   scripts/demo.sh
#
# installs what is missing, builds ostree-container and its NativeAOT webserver, makes a
# small example OS (busybox), commits and signs it, builds it into the OCI image
# ./out/exampleos, inspects it with skopeo, runs it with podman as a shell and as the
# repo webserver, pulls it with the real `ostree pull`, pushes it to a local registry and
# pulls it back with `ostree-container pull`. Each step prints what it does; the run ends
# with a summary and exits non-zero if any step failed.
#
# Environment: OSTREE_CONTAINER_DEMO_OUT  output folder (default ./out; the image is
#                                         $OUT/exampleos tagged stable, scratch files $OUT/demo)
#              OSTREE_CONTAINER_DEMO_PORT port for the webserver (default 8080; a free
#                                         port is used when it is taken)
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out=$(mkdir -p "${OSTREE_CONTAINER_DEMO_OUT:-$root/out}" && cd "${OSTREE_CONTAINER_DEMO_OUT:-$root/out}" && pwd)
work=$out/demo
image=$out/exampleos
# The layout's tag, as README's examples name it: oci:out/exampleos:stable.
tag=stable
bin=$out/bin
oc=$bin/ostree-container
branch=exampleos/x86_64/stable
podman_image=localhost/ostree-container-demo/exampleos:1
started=$SECONDS

# podman settings for machines where crun cannot run (no CAP_SYS_RESOURCE, cgroup v1):
# runc, cgroupfs, low ulimits, no network namespace (we use --network=host on loopback).
export CONTAINERS_CONF=$work/containers.conf

results=()
step() { printf '\n== %s\n' "$*"; }
note() { printf '   %s\n' "$*"; }

# run NAME FUNCTION: runs FUNCTION in a subshell with errexit and records ok/FAILED.
# State shared between steps lives in files under $work (subshells cannot set variables).
run() {
    local name=$1 fn=$2 rc t0=$SECONDS
    step "$name"
    ( set -e; "$fn" )
    rc=$?
    if [ -f "$work/skipped.$fn" ]; then
        results+=("$name: skipped ($(cat "$work/skipped.$fn"))")
    elif [ $rc -eq 0 ]; then
        results+=("$name: ok ($(( SECONDS - t0 )) s)")
    else
        results+=("$name: FAILED (exit $rc)")
        failed=1
    fi
    return $rc
}

# required NAME FUNCTION: a step every later step needs; stop at once if it fails.
required() {
    # Not `run ... || finish`: errexit is ignored inside anything run in a || list.
    run "$@"
    [ $? -eq 0 ] || finish
}

finish() {
    printf '\n== summary (%d s)\n' $(( SECONDS - started ))
    printf '   %s\n' "${results[@]}"
    if [ "${failed:-0}" = 1 ]; then
        echo "demo: some steps FAILED (output above; scratch files in $work)" >&2
        exit 1
    fi

    cat <<EOF

What to run next:
  skopeo inspect oci:$image:$tag                # the image: labels, layers
  export CONTAINERS_CONF=$work/containers.conf      # podman with runc (see the file)
  podman run --rm -ti --entrypoint /bin/sh oci:$image:$tag   # a shell in ExampleOS (busybox sh; no bash)
  podman run --rm --network=host $podman_image    # its repo on :8080, then:
  ostree remote add --gpg-import=$work/demo-key.gpg exampleos http://127.0.0.1:8080/repo
  ostree pull exampleos $branch
  $oc push oci:$image:$tag docker://REGISTRY/os/exampleos:1
  $oc pull --repo /ostree/repo --keyring $work/demo-key.gpg docker://REGISTRY/os/exampleos:1
  kubectl apply -k deploy/k8s                     # serve it in a cluster (set the image in deploy/k8s/kustomization.yaml)
EOF
    exit 0
}

cleanup() {
    # Only what this run started: the processes and container named in $work/pids.
    if [ -f "$work/container" ]; then
        podman rm -f "$(cat "$work/container")" >/dev/null 2>&1 || true
    fi
    if [ -f "$work/pids" ]; then
        while read -r pid; do kill "$pid" 2>/dev/null || true; done < "$work/pids"
    fi
    rm -f "$work/pids" "$work/container"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    local port=$1
    if [ -n "$port" ] && ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "$port"
        return
    fi
    port=$(( 20000 + RANDOM % 12000 ))
    while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$(( 20000 + RANDOM % 12000 )); done
    echo "$port"
}

wait_http() {
    for _ in $(seq 1 150); do curl -sf -o /dev/null "$1" && return 0; sleep 0.2; done
    echo "no answer from $1" >&2
    return 1
}

deps() {
    scripts/install-deps.sh
}

build() {
    note "dotnet publish src/Cli -> $bin (the ostree-container CLI)"
    dotnet publish src/Cli -c Release -o "$bin" --nologo -v quiet
    # `build` embeds the NativeAOT server; it looks for native/repo-webserver beside the CLI.
    # A plain `dotnet build` restores these projects without a runtime identifier, and the
    # NativeAOT publish then recompiles and relinks everything (minutes on 2 cores), so
    # the native server is republished only when its sources are newer than it.
    local native=$bin/native/repo-webserver
    if [ -x "$native" ] && [ -z "$(find src/Ostree src/ObjectMap src/RepoWebserver Directory.Build.props Directory.Packages.props global.json \
            -newer "$native" -type f -not -path '*/bin/*' -not -path '*/obj/*' -print -quit)" ]; then
        note "$native is newer than its sources; not republished"
    else
        publish_native
    fi
    "$oc" --version
}

publish_native() {
    note "dotnet publish src/RepoWebserver (NativeAOT) -> $bin/native"
    if ! dotnet publish src/RepoWebserver -c Release -o "$bin/native" --nologo -v quiet; then
        # ILC can leave a stale object file after a failed publish; retry from a clean native step.
        rm -rf src/RepoWebserver/obj/Release/*/*/native
        dotnet publish src/RepoWebserver -c Release -o "$bin/native" --nologo -v quiet
    fi
    touch "$bin/native/repo-webserver"
}

tree() {
    local t=$work/tree busybox
    busybox=$(command -v busybox || echo /bin/busybox)
    rm -rf "$t"
    mkdir -p "$t"
    cd "$t"
    umask 022
    # An OSTree OS keeps everything under /usr; /etc's defaults live in /usr/etc (ostree
    # merges them into /etc on deploy; the image shows them as /etc).
    mkdir -p usr/bin usr/lib usr/etc usr/share/doc/exampleos var tmp
    cp "$busybox" usr/bin/busybox
    for applet in $(usr/bin/busybox --list); do
        [ -e "usr/bin/$applet" ] || ln -s busybox "usr/bin/$applet"
    done
    ln -s usr/bin bin
    ln -s usr/bin sbin
    ln -s usr/lib lib
    # The image's ENTRYPOINT, the NativeAOT repo-webserver, links glibc dynamically: the
    # OS needs the loader and the libraries it names (busybox itself is static).
    mkdir -p usr/lib/x86_64-linux-gnu usr/lib64
    ln -s usr/lib64 lib64
    for lib in $(ldd "$bin/native/repo-webserver" "$bin/native/libe_sqlite3.so" | grep -v ':$' | grep -o '/[^ ]*' | sort -u); do
        cp -L "$lib" "usr/lib/x86_64-linux-gnu/$(basename "$lib")"
    done
    ln -s ../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 usr/lib64/ld-linux-x86-64.so.2
    printf 'NAME="ExampleOS"\nID=exampleos\nVERSION_ID=1\nPRETTY_NAME="ExampleOS 1 (busybox)"\n' > usr/lib/os-release
    ln -s ../lib/os-release usr/etc/os-release
    printf 'exampleos\n' > usr/etc/hostname
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > usr/etc/passwd
    printf 'root:x:0:\nnogroup:x:65534:\n' > usr/etc/group
    printf '#!/bin/sh\necho "hello from ExampleOS"\n' > usr/bin/hello
    chmod 0755 usr/bin/hello
    printf 'ExampleOS is a demo tree for ostree-container.\n' > usr/share/doc/exampleos/README
    chmod 1777 tmp
    note "$(find . | wc -l) paths, $(du -sh . | cut -f1): busybox $(usr/bin/busybox | head -n1 | cut -d' ' -f2) with $(usr/bin/busybox --list | wc -l) applets"
}

commit() {
    rm -rf "$work/repo" "$work/peer"
    "$oc" init --repo "$work/repo" --mode archive
    local c
    c=$("$oc" commit --repo "$work/repo" --branch "$branch" \
        --owner-uid 0 --owner-gid 0 --no-xattrs \
        --subject "ExampleOS 1" --add-metadata-string version=1 \
        --timestamp "2024-01-01 00:00:00 +0000" --tree=dir="$work/tree")
    echo "$c" > "$work/commit"
    note "commit $c"
    "$oc" fsck --repo "$work/repo"

    note "cross-check: the real ostree commits the same tree to the same checksum, and fscks ours"
    ostree init --repo="$work/peer" --mode=archive
    local peer
    peer=$(ostree commit --repo="$work/peer" --branch "$branch" \
        --owner-uid=0 --owner-gid=0 --no-xattrs \
        --subject "ExampleOS 1" --add-metadata-string version=1 \
        --timestamp "2024-01-01 00:00:00 +0000" --tree=dir="$work/tree")
    [ "$peer" = "$c" ] || { echo "MISMATCH: ostree commit gave $peer" >&2; exit 1; }
    ostree fsck --repo="$work/repo" | tail -n 1
}

sign() {
    # A throwaway GPG key made here; Debian's ostree signs with GPG (its ed25519 support
    # needs libsodium, which Debian's build leaves out), and both pullers verify it.
    local home=$work/gnupg
    rm -rf "$home"
    mkdir -m 0700 "$home"
    gpg --homedir "$home" --batch --passphrase '' --quick-gen-key 'ExampleOS demo key <demo@exampleos.invalid>' default sign never 2>/dev/null
    local fpr
    fpr=$(gpg --homedir "$home" --with-colons --list-keys | awk -F: '/^fpr:/ {print $10; exit}')
    gpg --homedir "$home" --export "$fpr" > "$work/demo-key.gpg"
    ostree gpg-sign --repo="$work/repo" --gpg-homedir="$home" "$(cat "$work/commit")" "$fpr"
    gpgconf --homedir "$home" --kill gpg-agent 2>/dev/null || true
    note "signed by $fpr; public key in $work/demo-key.gpg"
    ostree show --repo="$work/repo" --gpg-homedir="$home" "$branch" | grep -E 'Good signature|Signature made' | head -n 2
}

image() {
    rm -rf "$image"
    "$oc" build --repo "$work/repo" --ref "$branch" --oci-dir "$image:$tag" \
        --label org.opencontainers.image.title=ExampleOS
}

inspect() {
    skopeo inspect "oci:$image:$tag" | jq '{Digest, Created, Labels, Layers: (.Layers | length)}'
    note "cross-check: the OCI image-spec validator accepts the layout"
    # oci-image-tool 1.0.0-rc1 validates a layout through --type image (imageLayout is unimplemented).
    oci-image-tool validate --type image --ref "name=$tag" "$image"
}

podman_shell() {
    cat > "$work/containers.conf" <<'EOF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
netns = "none"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
    rm -f "$work/podman-ok"
    if ! command -v podman >/dev/null; then
        echo "podman is not installed" > "$work/skipped.podman_shell"
        return 0
    fi
    local id
    id=$(jq -r '.manifests[0].digest' "$image/index.json")
    id=$(jq -r '.config.digest' "$image/blobs/sha256/${id#sha256:}")
    podman pull -q "oci:$image:$tag" >/dev/null
    podman tag "${id#sha256:}" "$podman_image"
    note "podman run --rm --entrypoint /bin/sh $podman_image -c 'cat /etc/os-release'"
    local rc=0 os
    os=$(podman run --rm --entrypoint /bin/sh "$podman_image" -c 'cat /etc/os-release' 2> "$work/podman.err") || rc=$?
    if [ $rc -eq 125 ] || [ $rc -eq 126 ]; then
        # 125: podman itself (or the OCI runtime) failed, not the command in the image.
        echo "podman cannot run containers on this machine: $(tail -n 1 "$work/podman.err")" | tee "$work/skipped.podman_shell"
        return 0
    fi
    cat "$work/podman.err" >&2
    echo "$os" | sed 's/^/   | /'
    [ $rc -eq 0 ] && grep -q '^NAME="ExampleOS"' <<< "$os"
    touch "$work/podman-ok"
}

serve_image() {
    local port
    port=$(free_port "${OSTREE_CONTAINER_DEMO_PORT:-8080}")
    [ "$port" = "${OSTREE_CONTAINER_DEMO_PORT:-8080}" ] || note "port ${OSTREE_CONTAINER_DEMO_PORT:-8080} is taken; using $port"
    echo "$port" > "$work/port"
    if [ -f "$work/podman-ok" ]; then
        local name=ostree-container-demo-$$
        # The image's ENTRYPOINT serves its repo; it runs here as deploy/k8s runs it: uid
        # 65534, read-only root with a /tmp of its own, no capabilities, no privilege gain.
        note "podman run -d --network=host --user 65534:65534 --read-only --tmpfs /tmp --cap-drop=ALL \\"
        note "    --security-opt no-new-privileges -e ASPNETCORE_URLS=http://127.0.0.1:$port $podman_image"
        echo "$name" > "$work/container"
        podman run -d --name "$name" --network=host --user 65534:65534 --read-only --tmpfs /tmp \
            --cap-drop=ALL --security-opt no-new-privileges \
            -e "ASPNETCORE_URLS=http://127.0.0.1:$port" "$podman_image" >/dev/null
    else
        note "podman cannot run the image here, so the image's repo is served by 'ostree-container serve' instead"
        rm -rf "$work/unpacked"
        umoci unpack --image "$image:$tag" "$work/unpacked" >/dev/null
        "$oc" serve --repo "$work/unpacked/rootfs/ostree/repo" --object-map "$work/unpacked/rootfs/ostree/object-map" \
            --urls "http://127.0.0.1:$port" --request-logging false > "$work/serve.log" 2>&1 &
        echo $! >> "$work/pids"
    fi
    wait_http "http://127.0.0.1:$port/readyz"
    note "GET /readyz: $(curl -sf "http://127.0.0.1:$port/readyz")"
    note "GET /object-map/paths/usr/bin/hello: $(curl -sf "http://127.0.0.1:$port/object-map/paths/usr/bin/hello" | head -c 160)..."
}

ostree_pull() {
    local port client=$work/ostree-client
    port=$(cat "$work/port")
    rm -rf "$client"
    ostree init --repo="$client" --mode=bare-user
    # The remote verifies the commit's GPG signature with the demo's key.
    ostree remote add --repo="$client" --gpg-import="$work/demo-key.gpg" exampleos "http://127.0.0.1:$port/repo"
    ostree pull --repo="$client" exampleos "$branch"
    ostree fsck --repo="$client" | tail -n 1
    local got
    got=$(ostree rev-parse --repo="$client" "exampleos:$branch")
    note "ostree pull got $got"
    [ "$got" = "$(cat "$work/commit")" ]
}

registry_roundtrip() {
    local port reg=$work/registry dest=$work/pulled
    port=$(free_port "")
    rm -rf "$reg" "$dest"
    mkdir -p "$reg"
    cat > "$reg/config.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $reg/storage
http:
  addr: 127.0.0.1:$port
  secret: ostree-container-demo
EOF
    note "docker-registry serve on 127.0.0.1:$port (storage in $reg/storage)"
    docker-registry serve "$reg/config.yml" > "$reg/log" 2>&1 &
    echo $! >> "$work/pids"
    wait_http "http://127.0.0.1:$port/v2/"
    local ref=127.0.0.1:$port/exampleos:1
    note "ostree-container push oci:$image:$tag docker://$ref"
    "$oc" push --tls-verify=false "oci:$image:$tag" "docker://$ref"
    note "ostree-container pull --keyring demo-key.gpg docker://$ref into a fresh repo"
    "$oc" init --repo "$dest" --mode bare-user
    "$oc" pull --tls-verify=false --repo "$dest" --keyring "$work/demo-key.gpg" --progress none "docker://$ref"
    ostree fsck --repo="$dest" | tail -n 1
    local got
    got=$(ostree rev-parse --repo="$dest" "$branch")
    note "pulled $got, signature checked against the demo key"
    [ "$got" = "$(cat "$work/commit")" ]
}

mkdir -p "$work"
rm -f "$work"/skipped.*
required "install dependencies (scripts/install-deps.sh)" deps
required "build ostree-container and the NativeAOT repo-webserver" build
required "make the example OS tree (busybox) in $work/tree" tree
required "commit it with ostree-container commit (cross-checked with the real ostree)" commit
required "sign the commit with a GPG key made for this demo" sign
required "build the OCI image $image:$tag" image
run "skopeo inspect oci:$image:$tag" inspect
run "podman: a shell in the image (cat /etc/os-release)" podman_shell
required "serve the image's repo on 127.0.0.1 (podman, or ostree-container serve)" serve_image
run "the real ostree pull from the image's webserver, GPG-verified, fsck" ostree_pull
run "push to a local docker-registry, ostree-container pull back (signature verified)" registry_roundtrip
finish
