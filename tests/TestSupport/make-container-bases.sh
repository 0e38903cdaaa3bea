#!/usr/bin/env bash
# make-container-bases.sh: local stand-ins for the public base images the Containerfile
# names (mcr.microsoft.com/dotnet/runtime-deps:10.0 and .../sdk:10.0), which cannot be
# pulled on machines that reach only the Debian and NuGet feeds.
#
#   runtime-deps  a debootstrap'd Debian minbase with what a self-contained .NET app needs
#                 (libc, libstdc++, libssl, zlib, CA certificates, tzdata)
#   sdk           runtime-deps + gcc/libc6-dev/zlib1g-dev (NativeAOT links with clang or gcc)
#                 + libicu (the SDK itself is not globalization-invariant)
#                 + this machine's .NET SDK copied to /usr/share/dotnet
#
# Both are cached in container storage under a tag that hashes everything that goes into
# them, so a rerun only looks them up. Runs under flock: concurrent callers build them once.
# Prints RUNTIME_IMAGE=... and SDK_IMAGE=... on stdout; progress goes to stderr.
#
# Needs root, debootstrap and buildah (with runc: see shared/fixtures/containers.conf).
# Env: OSTREE_CONTAINER_FIXTURES (cache root, default /var/tmp/ostree-container-fixtures),
#      MIRROR (default: the Debian mirror apt uses).
set -euo pipefail

export BUILDAH_RUNTIME=${BUILDAH_RUNTIME:-runc}
cache=${OSTREE_CONTAINER_FIXTURES:-/var/tmp/ostree-container-fixtures}/container-bases
suite=bookworm
runtime_packages=ca-certificates,libssl3,libstdc++6,zlib1g,tzdata
sdk_packages="gcc libc6-dev zlib1g-dev libicu72"

log() { printf '[container-bases %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

apt_mirror() {
    local u
    u=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
    [ -n "$u" ] || u=$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
    printf '%s' "${u:-http://deb.debian.org/debian}"
}
mirror=${MIRROR:-$(apt_mirror)}

dotnet_root=$(dirname "$(readlink -f "$(command -v dotnet)")")
# Each tag hashes what goes into its image; bump the recipe word when a step below changes.
# The runtime base's key leaves out the SDK, so a new SDK does not repeat the debootstrap.
runtime_key=$(printf '%s\n' runtime-1 "$suite" "$runtime_packages" | sha256sum | cut -c1-16)
sdk_key=$( {
    printf '%s\n' sdk-1 "$runtime_key" "$sdk_packages"
    ls "$dotnet_root/sdk" "$dotnet_root/shared"/*
} | sha256sum | cut -c1-16)
runtime_image=localhost/ostree-container-test/runtime-deps:$runtime_key
sdk_image=localhost/ostree-container-test/sdk:$sdk_key

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9

have() { buildah inspect --type image "$1" >/dev/null 2>&1; }

if ! have "$runtime_image"; then
    rootfs=$cache/rootfs-$runtime_key
    if [ ! -e "$rootfs/.complete" ]; then
        rm -rf "$rootfs"
        log "debootstrap --variant=minbase $suite ($mirror)"
        debootstrap --variant=minbase --include="$runtime_packages" "$suite" "$rootfs" "$mirror" > "$cache/debootstrap.log" 2>&1 \
            || { tail -n 20 "$cache/debootstrap.log" >&2; exit 1; }
        # Device nodes come from the runtime; package caches are dead weight in an image.
        find "$rootfs/dev" -mindepth 1 -delete
        rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
        touch "$rootfs/.complete"
    fi
    log "committing $runtime_image"
    ctr=$(buildah from scratch)
    mnt=$(buildah mount "$ctr")
    # tar keeps ownership and modes (buildah copy would chown everything to root).
    tar -C "$rootfs" --exclude=./.complete -cf - . | tar -C "$mnt" -xpf -
    buildah umount "$ctr" >/dev/null
    buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --cmd /bin/bash "$ctr"
    buildah commit --quiet --rm "$ctr" "$runtime_image" >/dev/null
fi

if ! have "$sdk_image"; then
    log "installing $sdk_packages into $sdk_image"
    ctr=$(buildah from "$runtime_image")
    trap 'buildah rm "$ctr" >/dev/null 2>&1 || true' EXIT
    buildah run --network=host -v /etc/ssl/certs:/etc/ssl/certs:ro "$ctr" -- sh -c \
        "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $sdk_packages >/dev/null && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb" >&2
    log "copying the .NET SDK from $dotnet_root"
    mnt=$(buildah mount "$ctr")
    mkdir -p "$mnt/usr/share/dotnet"
    cp -a "$dotnet_root/." "$mnt/usr/share/dotnet/"
    ln -sf /usr/share/dotnet/dotnet "$mnt/usr/bin/dotnet"
    buildah umount "$ctr" >/dev/null
    buildah config --env DOTNET_ROOT=/usr/share/dotnet --env DOTNET_CLI_TELEMETRY_OPTOUT=1 \
        --env DOTNET_NOLOGO=1 --env DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1 "$ctr"
    buildah commit --quiet --rm "$ctr" "$sdk_image" >/dev/null
    trap - EXIT
fi

echo "RUNTIME_IMAGE=$runtime_image"
echo "SDK_IMAGE=$sdk_image"
