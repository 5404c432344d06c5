#!/bin/bash
# test_rados.sh - lsmfs on a store in Ceph RADOS (rados://POOL/NAME), against a one-node
# cluster this test starts in its temp folder (tests/rados/cluster.sh) and always stops.
#
# Checks: mkfs/mount/write/remount/read back/fsck on a RADOS store; posix_ops, a short fsx
# run and test_tree.sh (on /usr/include/linux) on it; a second mount of the
# store is refused while the first holds its lock; a frozen owner is taken over with
# -o takeover and fenced (its late writes fail, the new owner's data is intact); one-line
# errors, within the timeout, for an unreachable cluster, a missing pool, a missing store
# (lsmfs, and fsck.lsmfs: exit 8, never "damaged"); mkfs/fsck -o conf=,id=,rados_timeout=
# without the environment, and a bad -o option refused with one line, nothing made.
# Skips (77, with the reason) when the Ceph daemons are not installed, the build has no
# librados, or FUSE is not usable.
set -u
O=${O:-build/check}
O=$(cd "$O" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../rados/testlib.sh"
rados_test_prereqs

T=$(mktemp -d /tmp/lsmfs-rados.XXXXXX)
chmod 755 "$T" # the unprivileged cases of posix_ops must reach the mountpoint
PIDS=()
cleanup() {
    for m in "$T"/mnt-a "$T"/mnt-b; do
        mountpoint -q "$m" 2>/dev/null && { fusermount3 -u "$m" 2>/dev/null || umount -l "$m"; }
    done
    for p in "${PIDS[@]}"; do kill -CONT "$p" 2>/dev/null; kill -KILL "$p" 2>/dev/null; done
    bash "$HERE/../rados/cluster.sh" stop "$T/cluster"
    rm -rf "$T"
}
trap cleanup EXIT INT TERM

t0=$SECONDS
rados_test_cluster "$T/cluster"
export LSMFS_RADOS_CONF=$CONF LSMFS_RADOS_TIMEOUT=20
S=rados://lsmfs/t1
mkdir -p "$T/mnt-a" "$T/mnt-b"

# ---- make, mount, write, remount, read back, fsck ----
"$O/mkfs.lsmfs" -q $S || fail "mkfs.lsmfs $S"
"$O/lsmfs" -o allow_other $S "$T/mnt-a" || fail "mount $S"
# The POSIX behaviour cases and a short fsx run, on the RADOS store (test builds only).
if [ -x "$O/tools/posix_ops" ] && [ -x "$O/tools/fsx" ]; then
    mkdir -p "$T/mnt-a/posix" "$T/outside"
    # All default cases but statfs: a cluster without ceph-mgr (like this one) reports no
    # capacity, so df shows 0 blocks here (see docs/SCALE.md).
    cases=$("$O/tools/posix_ops" -l | grep -vx statfs | grep -vx sparse_tib)
    timeout -k 10 300 "$O/tools/posix_ops" -o "$T/outside" "$T/mnt-a/posix" $cases \
        >"$T/posix.out" 2>&1 ||
        { fail "posix_ops on the RADOS store"; grep FAIL "$T/posix.out" | head -20; }
    timeout -k 10 300 "$O/tools/fsx" -S 13 -N 2000 -l $((1 << 20)) -o $((64 << 10)) \
        -m "$T/fsx.model" "$T/mnt-a/fsx" >"$T/fsx.out" 2>&1 ||
        { fail "fsx on the RADOS store"; tail -20 "$T/fsx.out"; }
    rm -rf "$T/mnt-a/posix" "$T/mnt-a/fsx"
fi
# The tree test (a real source tree copied in with cp -a, compared entry by entry, compared
# again after a remount, hard links and renames, then removed) on a second RADOS store,
# through the integration library (LSMFS_IT_STORE names the store instead of a folder).
if [ -d /usr/include/linux ]; then
    LSMFS_IT_STORE=rados://lsmfs/tree TREE_SRC=/usr/include/linux O="$O" \
        timeout -k 10 600 bash "$HERE/test_tree.sh" >"$T/tree.out" 2>&1 ||
        { fail "test_tree on a RADOS store"; tail -20 "$T/tree.out"; }
fi
mkdir -p "$T/mnt-a/d/e" && echo hello >"$T/mnt-a/d/e/f" &&
    head -c 3000000 /dev/urandom >"$T/mnt-a/big" && ln -s d/e/f "$T/mnt-a/sl" &&
    mv "$T/mnt-a/d/e/f" "$T/mnt-a/d/g" || fail "file operations on the RADOS store"
sum=$(md5sum <"$T/mnt-a/big")
out=$("$O/lsmfs" $S "$T/mnt-b" 2>&1) && fail "a second mount of a locked store succeeded"
echo "$out" | grep -q "in use" || fail "second mount: no 'in use' message: $out"
fusermount3 -u "$T/mnt-a" || fail "unmount"
sleep 1
"$O/lsmfs" $S "$T/mnt-a" || fail "remount $S"
[ "$(md5sum <"$T/mnt-a/big")" = "$sum" ] || fail "big file differs after remount"
[ "$(cat "$T/mnt-a/d/g" 2>/dev/null)" = hello ] || fail "renamed file lost after remount"
[ "$(readlink "$T/mnt-a/sl")" = d/e/f ] || fail "symlink lost after remount"
fusermount3 -u "$T/mnt-a"
sleep 1
"$O/fsck.lsmfs" -n $S >"$T/fsck.out" 2>&1 || { fail "fsck -n found problems"; cat "$T/fsck.out"; }

# ---- takeover of a frozen owner, with fencing ----
"$O/lsmfs" -o sync,lease=5 $S "$T/mnt-a" || fail "mount as host A"
pidA=$(pgrep -n -f "lsmfs -o sync,lease=5 $S") && PIDS+=("$pidA")
echo before >"$T/mnt-a/owner" || fail "write as host A"
kill -STOP "$pidA"
out=$(LSMFS_RADOS_ID=admin "$O/lsmfs" -o takeover,lease=5 $S "$T/mnt-b" 2>&1) ||
    fail "takeover mount as host B failed: $out"
echo after >"$T/mnt-b/owner" || fail "write as host B"
kill -CONT "$pidA"
# A is fenced: its next synced write must fail (EIO) instead of reaching the store.
if timeout 60 sh -c "echo late >'$T/mnt-a/late' && sync '$T/mnt-a/late'" 2>/dev/null; then
    fail "the fenced old owner could still write"
fi
fusermount3 -u "$T/mnt-a" 2>/dev/null || umount -l "$T/mnt-a"
[ "$(cat "$T/mnt-b/owner")" = after ] || fail "new owner's data wrong"
[ -e "$T/mnt-b/late" ] && fail "the fenced owner's late file reached the store"
fusermount3 -u "$T/mnt-b" || fail "unmount B"

# ---- errors: one line, no hang ----
sed 's/^mon host = .*/mon host = v2:127.0.0.1:1/' "$CONF" >"$T/bad.conf"
s0=$SECONDS
out=$(LSMFS_RADOS_CONF=$T/bad.conf LSMFS_RADOS_TIMEOUT=3 "$O/lsmfs" $S "$T/mnt-a" 2>&1) &&
    fail "mount with an unreachable cluster succeeded"
[ $((SECONDS - s0)) -le 15 ] || fail "unreachable cluster took $((SECONDS - s0))s"
echo "$out" | grep -q "cannot reach the Ceph cluster" || fail "unreachable: $out"
# fsck: an unreachable cluster or a missing pool is an operational error (8), not damage
out=$(LSMFS_RADOS_CONF=$T/bad.conf LSMFS_RADOS_TIMEOUT=3 "$O/fsck.lsmfs" -n $S 2>&1); rc=$?
[ $rc -eq 8 ] || fail "fsck -n with an unreachable cluster exits $rc (want 8): $out"
echo "$out" | grep -q "cannot reach the Ceph cluster" || fail "fsck, unreachable: $out"
echo "$out" | grep -qi "damaged\|rebuild" && fail "fsck calls an unreachable cluster damage: $out"
out=$("$O/fsck.lsmfs" -n rados://nopool/t1 2>&1); rc=$?
[ $rc -eq 8 ] || fail "fsck -n of a missing pool exits $rc (want 8): $out"
out=$("$O/lsmfs" rados://nopool/t1 "$T/mnt-a" 2>&1) && fail "mount from a missing pool"
echo "$out" | grep -q "pool 'nopool' does not exist" || fail "missing pool: $out"
out=$("$O/lsmfs" rados://lsmfs/nothere "$T/mnt-a" 2>&1) && fail "mount of a missing store"
echo "$out" | grep -q "does not exist\|no lsmfs store" || fail "missing store: $out"

# ---- mkfs/fsck -o: the connection options, without the environment ----
S2=rados://lsmfs/t2
OPTS="conf=$CONF,id=admin,rados_timeout=20"
env -u LSMFS_RADOS_CONF "$O/mkfs.lsmfs" -q -o "$OPTS" $S2 || fail "mkfs.lsmfs -o $OPTS"
out=$(env -u LSMFS_RADOS_CONF "$O/fsck.lsmfs" -n -o "$OPTS" $S2 2>&1) ||
    fail "fsck.lsmfs -n -o $OPTS: $out"
# the option really reaches the backend: a config that does not exist is named
out=$(env -u LSMFS_RADOS_CONF "$O/fsck.lsmfs" -n -o conf=$T/none.conf $S2 2>&1); rc=$?
[ $rc -eq 8 ] && echo "$out" | grep -q "cannot read the Ceph config $T/none.conf" ||
    fail "fsck -o conf=missing: exit $rc: $out"
# a bad option: one line, usage exit status, nothing made
for tool in mkfs fsck; do
    for bad in colour=blue rados_timeout=soon lease=0; do
        if [ $tool = mkfs ]; then want=1; args=(-q -o "$bad" rados://lsmfs/t3)
        else want=16; args=(-n -o "$bad" $S2); fi
        err=$("$O/$tool.lsmfs" "${args[@]}" 2>&1 >/dev/null); rc=$?
        [ $rc -eq $want ] || fail "$tool.lsmfs -o $bad exits $rc (want $want)"
        [ "$(echo "$err" | wc -l)" -eq 1 ] && echo "$err" | grep -q "^$tool.lsmfs: .*'$bad'" ||
            fail "$tool.lsmfs -o $bad: not one clear line: $err"
    done
done
out=$("$O/fsck.lsmfs" -n rados://lsmfs/t3 2>&1) && fail "mkfs with a bad -o made a store: $out"

echo "test_rados: $FAILS failure(s), $((SECONDS - t0))s"
[ $FAILS -eq 0 ]
