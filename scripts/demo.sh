#!/usr/bin/env bash
# The main job on a built-in example: builds ostree-container, makes a small example OS
# tree, commits it into a new archive repo, verifies it with our fsck (and the real
# ostree's), and shows the commit. Output goes to ./out/demo.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out=$root/out/demo
step() { printf '\n== %s\n' "$*"; }

step "install what is missing (ostree, gnupg, ...)"
scripts/install-deps.sh

step "build ostree-container"
dotnet publish src/Cli -c Release -o "$root/out/bin" --nologo -v quiet
oc=$root/out/bin/ostree-container

step "make the example OS tree in $out/tree"
rm -rf "$out"
mkdir -p "$out/tree"
(
    cd "$out/tree"
    umask 022
    mkdir -p usr/bin usr/lib usr/etc usr/share/doc/exampleos var tmp
    printf 'NAME="ExampleOS"\nID=exampleos\nVERSION_ID=1\nPRETTY_NAME="ExampleOS 1"\n' > usr/lib/os-release
    ln -s ../lib/os-release usr/etc/os-release
    printf '#!/bin/sh\necho "hello from ExampleOS"\n' > usr/bin/hello
    chmod 0755 usr/bin/hello
    printf 'exampleos\n' > usr/etc/hostname
    printf 'ExampleOS is a demo tree for ostree-container.\n' > usr/share/doc/exampleos/README
    ln -s usr/bin bin
    ln -s usr/etc etc
    chmod 1777 tmp
)

step "ostree-container init + commit"
"$oc" init --repo "$out/repo" --mode archive
commit=$("$oc" commit --repo "$out/repo" --branch exampleos/x86_64/stable \
    --owner-uid 0 --owner-gid 0 --no-xattrs \
    --subject "ExampleOS 1" --add-metadata-string version=1 \
    --timestamp "2024-01-01 00:00:00 +0000" --tree=dir="$out/tree")
echo "commit $commit"

step "ostree-container fsck"
"$oc" fsck --repo "$out/repo"

step "cross-check with the real ostree: fsck and the same commit checksum"
ostree fsck --repo="$out/repo" | tail -n 1
mkdir -p "$out/peer"
ostree init --repo="$out/peer/repo" --mode=archive
peer=$(ostree commit --repo="$out/peer/repo" --branch exampleos/x86_64/stable \
    --owner-uid=0 --owner-gid=0 --no-xattrs \
    --subject "ExampleOS 1" --add-metadata-string version=1 \
    --timestamp "2024-01-01 00:00:00 +0000" --tree=dir="$out/tree")
if [ "$peer" = "$commit" ]; then
    echo "ostree commit gives the same checksum: $peer"
else
    echo "MISMATCH: ostree commit gave $peer" >&2
    exit 1
fi

step "ostree-container show"
"$oc" show --repo "$out/repo" exampleos/x86_64/stable

step "ostree-container object-map build"
"$oc" object-map build --repo "$out/repo" --ref exampleos/x86_64/stable --output "$out/object-map"
"$oc" object-map lookup "$out/object-map" /usr/bin/hello

step "ostree-container serve, then the real ostree pull from it"
port=$(( 20000 + RANDOM % 12000 ))
while (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; do port=$(( 20000 + RANDOM % 12000 )); done
"$oc" serve --repo "$out/repo" --object-map "$out/object-map" --urls "http://127.0.0.1:$port" \
    --request-logging false > "$out/serve.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/readyz" && break; sleep 0.1; done
ostree init --repo="$out/client" --mode=bare-user
ostree remote add --repo="$out/client" --no-gpg-verify exampleos "http://127.0.0.1:$port/repo"
ostree pull --repo="$out/client" exampleos exampleos/x86_64/stable
ostree fsck --repo="$out/client" | tail -n 1
echo "pulled: $(ostree rev-parse --repo="$out/client" exampleos:exampleos/x86_64/stable)"

step "object-map lookup over HTTP"
curl -sf "http://127.0.0.1:$port/object-map/paths/usr/bin/hello"; echo

printf '\nDone. Next:\n'
printf '  ostree-container checkout --repo %s exampleos/x86_64/stable /tmp/exampleos\n' "$out/repo"
printf '  ostree-container serve --repo %s --port 8080   # then: ostree remote add ... http://HOST:8080/repo\n' "$out/repo"
