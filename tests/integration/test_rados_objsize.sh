#!/bin/bash
# test_rados_objsize.sh - a RADOS store stays under the cluster's object size limit.
#
# Ceph refuses objects above osd_max_object_size (128 MiB by default); a WAL or table past it
# would fail with EFBIG. The engine reads the limit at open and fits its files under it
# (engine/db/location.c: write buffer <= 1/2, table target and MANIFEST roll-over <= 1/4).
# This test starts a one-node cluster (tests/rados/cluster.sh, always stopped) with a 4 MiB
# limit, mounts with the default 64 MiB write buffer (which must be lowered, with one warning
# in the daemon log), writes a 24 MiB file and 300 small files (many flushes and
# compactions), and checks: every write succeeded, every object of the store is below the
# limit, there are several tables, remount reads the same bytes (md5), fsck -n is clean.
# Skips (77, with the reason) without Ceph daemons, librados in the build, or FUSE.
set -u
O=${O:-build/check}
O=$(cd "$O" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../rados/testlib.sh"
rados_test_prereqs

T=$(mktemp -d /tmp/lsmfs-objsize.XXXXXX)
M=$T/mnt
cleanup() {
    mountpoint -q "$M" 2>/dev/null && { fusermount3 -u "$M" 2>/dev/null || umount -l "$M"; }
    bash "$HERE/../rados/cluster.sh" stop "$T/cluster"
    rm -rf "$T"
}
trap cleanup EXIT INT TERM

LIMIT=$((4 << 20))
t0=$SECONDS
RADOS_MAX_OBJECT=$LIMIT rados_test_cluster "$T/cluster"
export LSMFS_RADOS_CONF=$CONF LSMFS_RADOS_TIMEOUT=30
S=rados://lsmfs/big
mkdir -p "$M"

"$O/mkfs.lsmfs" -q $S || fail "mkfs.lsmfs $S"
"$O/lsmfs" -o log="$T/daemon.log" $S "$M" || { echo "FAIL: mount $S"; exit 1; }
grep -q "write buffer lowered from 65536 KiB to 2048 KiB.*osd_max_object_size" "$T/daemon.log" ||
    fail "no warning that the 64 MiB write buffer was lowered: $(cat "$T/daemon.log")"
head -c $((24 << 20)) /dev/urandom >"$T/big.src"
cp "$T/big.src" "$M/big" || fail "writing a 24 MiB file failed"
mkdir "$M/d" || fail "mkdir"
for i in $(seq 1 300); do
    head -c $((20000 + i * 37)) "$T/big.src" >"$M/d/f$i" || { fail "writing d/f$i"; break; }
done
sync -f "$M" || fail "syncfs"
sum=$(md5sum <"$T/big.src")
[ "$(md5sum <"$M/big")" = "$sum" ] || fail "big file differs before remount"
fusermount3 -u "$M" || fail "unmount"
sleep 1

# Every object of the store's namespace below the limit; several tables exist.
max=0 ssts=0 n=0
while read -r obj; do
    sz=$(rados -c "$CONF" -p lsmfs -N big stat "$obj" 2>/dev/null | sed -n 's/.* size \([0-9]*\).*/\1/p')
    [ -n "$sz" ] || { fail "cannot stat object $obj"; continue; }
    n=$((n + 1))
    [ "$sz" -gt "$max" ] && max=$sz
    case $obj in *.sst) ssts=$((ssts + 1)) ;; esac
    [ "$sz" -lt "$LIMIT" ] || fail "object $obj is $sz bytes, not below the $LIMIT limit"
done < <(rados -c "$CONF" -p lsmfs -N big ls)
echo "$n objects, $ssts tables, largest $max bytes (limit $LIMIT)"
[ "$ssts" -ge 2 ] || fail "expected several tables after 30 MiB of writes, found $ssts"

"$O/lsmfs" $S "$M" || fail "remount $S"
[ "$(md5sum <"$M/big")" = "$sum" ] || fail "big file differs after remount"
for i in 1 150 300; do
    cmp -s <(head -c $((20000 + i * 37)) "$T/big.src") "$M/d/f$i" || fail "d/f$i differs after remount"
done
[ "$(ls "$M/d" | wc -l)" -eq 300 ] || fail "d/ has $(ls "$M/d" | wc -l) entries, want 300"
fusermount3 -u "$M" || fail "unmount after remount"
sleep 1
out=$("$O/fsck.lsmfs" -n $S 2>&1) || fail "fsck -n not clean: $out"

echo "test_rados_objsize: $FAILS failure(s), $((SECONDS - t0))s"
[ $FAILS -eq 0 ]
