#!/usr/bin/env bash
# make-odd-deltas.sh OUT: an archive repo with two commits of an "odd" tree (hardlinks,
# user.* xattrs, symlinks, empty files, a file that shrinks, one that moves, one over the
# fallback size) and static deltas between them made by the real ostree, each in its own
# directory (--filename=DIR/superblock: ostree writes the parts beside the superblock):
# from-scratch, from-scratch inline, from-scratch in 1 MB parts, O1->O2 (rollsum and bsdiff), and from-scratch with a
# fallback entry (default --min-fallback-size).
set -euo pipefail
OUT=${1:?usage: make-odd-deltas.sh OUT}
for tool in ostree setfattr python3; do
  command -v "$tool" >/dev/null || { echo "make-odd-deltas.sh: '$tool' is missing (apt-get install ostree attr python3)" >&2; exit 1; }
done
export LC_ALL=C TZ=UTC
umask 022
rm -rf -- "$OUT"; mkdir -p -- "$OUT"; cd "$OUT"
T1=$OUT/t1; T2=$OUT/t2; R=$OUT/repo
mkdir -p "$T1/a" "$T1/b" "$T1/c/deep/er"
printf 'hello\n' > "$T1/a/hello"
ln "$T1/a/hello" "$T1/a/hardlink"
ln -s ../a/hello "$T1/b/link"
ln -s /nowhere/at/all "$T1/b/dangling"
: > "$T1/a/empty"
: > "$T1/c/empty2"
printf 'with xattrs\n' > "$T1/c/x"
setfattr -n user.test -v value "$T1/c/x"
setfattr -n user.other -v 0x0001ff "$T1/c/x"
# Pseudo-random but reproducible bytes: sha256 chained.
python3 - "$T1" <<'PY'
import hashlib, sys, os
root = sys.argv[1]
def stream(seed, n):
    out = bytearray(); h = seed.encode()
    while len(out) < n:
        h = hashlib.sha256(h).digest(); out += h
    return bytes(out[:n])
open(os.path.join(root, "b/shrinks.bin"), "wb").write(stream("shrink", 300_000))
open(os.path.join(root, "a/mover.dat"), "wb").write(stream("mover", 50_000))
open(os.path.join(root, "c/deep/er/big.img"), "wb").write(stream("big", 5_000_000))
open(os.path.join(root, "c/grows.txt"), "wb").write(b"line\n" * 20000)
PY
chmod 0755 "$T1/a/hello"
cp -a "$T1" "$T2"
python3 - "$T2" <<'PY'
import sys, os
root = sys.argv[1]
p = os.path.join(root, "b/shrinks.bin"); d = open(p, "rb").read()
open(p, "wb").write(d[:150_000] + b"tail changed" + d[200_000:220_000])
os.rename(os.path.join(root, "a/mover.dat"), os.path.join(root, "b/mover.dat"))
p = os.path.join(root, "c/grows.txt"); open(p, "ab").write(b"more\n" * 3000)
p = os.path.join(root, "c/deep/er/big.img"); d = bytearray(open(p, "rb").read()); d[1000:1010] = b"0123456789"; open(p, "wb").write(bytes(d))
PY
printf 'new file\n' > "$T2/a/new"
ostree --repo="$R" init --mode=archive
O1=$(ostree --repo="$R" commit --branch=odd --subject=one --timestamp='2024-01-01 00:00:00 +0000' --add-detached-metadata-string=odd.note=first "$T1")
O2=$(ostree --repo="$R" commit --branch=odd --subject=two --timestamp='2024-01-02 00:00:00 +0000' --add-detached-metadata-string=odd.note=second "$T2")
mkdir -p "$OUT/scratch" "$OUT/scratch-inline" "$OUT/scratch-parts" "$OUT/delta" "$OUT/scratch-fallback"
ostree --repo="$R" static-delta generate --empty --to="$O2" --min-fallback-size=0 --filename="$OUT/scratch/superblock" >/dev/null
ostree --repo="$R" static-delta generate --empty --to="$O2" --min-fallback-size=0 --inline --filename="$OUT/scratch-inline/superblock" >/dev/null
ostree --repo="$R" static-delta generate --empty --to="$O2" --min-fallback-size=0 --max-chunk-size=1 --filename="$OUT/scratch-parts/superblock" >/dev/null
ostree --repo="$R" static-delta generate --from="$O1" --to="$O2" --min-fallback-size=0 --filename="$OUT/delta/superblock" >/dev/null
ostree --repo="$R" static-delta generate --empty --to="$O2" --filename="$OUT/scratch-fallback/superblock" >/dev/null
printf 'O1=%s\nO2=%s\n' "$O1" "$O2" > "$OUT/commits.env"
