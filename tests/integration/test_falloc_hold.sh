#!/bin/bash
# test_falloc_hold.sh - fallocate holds the space it promises (fs/falloc_hold.c), on a
# store of its own small tmpfs (skip, 77, when mounting one is not permitted):
#   - df's Avail drops by the fallocated size at once (the hold = device Avail minus the
#     mount's Avail), and comes back on truncate, unlink and (in part) punch;
#   - another file filled until ENOSPC cannot take the held space, while writing the whole
#     fallocated range afterwards still succeeds and reads back;
#   - the hold survives a remount; KEEP_SIZE holds below EOF only (see docs/FILESYSTEM.md);
#   - fsck.lsmfs -n finds the store (with a hold in it) clean.
. "$(dirname "$0")/lib.sh"
[ "$LSMFS_TARGET" = lsmfs ] || skip "the hold is lsmfs's own accounting (LSMFS_TARGET=$LSMFS_TARGET)"
fs_setup
fs_unmount || fail "unmount of the default store"

DEV=$TMPROOT/dev
mkdir -p "$DEV"
_hold_cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    fs_unmount quiet
    if grep -q " $DEV tmpfs" /proc/self/mounts; then umount "$DEV" 2>/dev/null || umount -l "$DEV"; fi
    (exit $rc)
    _fs_cleanup
}
trap _hold_cleanup EXIT
if ! mount -t tmpfs -o size=96m tmpfs "$DEV" 2>"$TMPROOT/mount.err"; then
    skip "cannot mount a tmpfs here: $(cat "$TMPROOT/mount.err")"
fi
STORE=$DEV/store
fs_mkfs || exit 1
# no writeback cache: ENOSPC comes back from write(2) itself; a small memtable so the
# filling writes flush and free their WAL as they go
FS_MOUNT_OPTS="nowriteback,write_buffer=4M,reserve=4M${FS_MOUNT_OPTS:+,$FS_MOUNT_OPTS}"
fs_mount || exit 1

MiB=$((1024 * 1024))
avail_kib() { df -k --output=avail "$1" | tail -n 1 | tr -d ' '; }
# the space held now, in KiB: the device's Avail minus what the mount reports
held_kib() {
    local d m
    sync -f "$MNT" 2>/dev/null
    d=$(avail_kib "$DEV"); m=$(avail_kib "$MNT")
    echo $((d - m))
}
assert_near() { # expected_kib actual_kib tolerance_kib message
    if [ "$2" -lt $(($1 - $3)) ] || [ "$2" -gt $(($1 + $3)) ]; then
        _fail_up "$4: expected ${1} KiB (+-$3), got ${2} KiB"
    fi
}
TOL=1024
head -c $((96 * MiB)) /dev/urandom > "$TMPROOT/ref"
# waits (up to 15 s) until the device's Avail stops moving: the engine's flushes and
# compactions have given back what they can
settle() {
    local a b i
    a=$(avail_kib "$DEV")
    for i in $(seq 1 30); do
        sleep 0.5
        b=$(avail_kib "$DEV")
        [ "$a" = "$b" ] && return 0
        a=$b
    done
}

assert_near 0 "$(held_kib)" $TOL "nothing held on a new store"
# truncate, unlink, punch give it back
fallocate -l $((16 * MiB)) "$MNT/t" || fail "fallocate t"
assert_near 16384 "$(held_kib)" $TOL "held after fallocate t"
truncate -s $((4 * MiB)) "$MNT/t"
assert_near 4096 "$(held_kib)" $TOL "held after truncate t to 4 MiB"
rm -f "$MNT/t"
assert_near 0 "$(held_kib)" $TOL "held after unlink t"
fallocate -l $((16 * MiB)) "$MNT/p" || fail "fallocate p"
fallocate -p -o 0 -l $((8 * MiB)) "$MNT/p" || fail "punch p"
assert_near 8192 "$(held_kib)" $TOL "held after punching half of p"
dd if="$TMPROOT/ref" of="$MNT/p" bs=1M seek=8 count=4 conv=notrunc status=none || fail "write p"
assert_near 4096 "$(held_kib)" $TOL "held after writing 4 MiB into p"

# KEEP_SIZE: below EOF held, past EOF checked only
truncate -s $((8 * MiB)) "$MNT/k"
fallocate -n -l $((16 * MiB)) "$MNT/k" || fail "fallocate -n k"
assert_near $((4096 + 8192)) "$(held_kib)" $TOL "held after KEEP_SIZE over 8 MiB of k"
assert_eq $((8 * MiB)) "$(stat -c %s "$MNT/k")" "KEEP_SIZE keeps the size"

# the hold survives a remount, and fsck agrees with it
held=$(held_kib)
fs_unmount || fail "unmount"
out=$("$O/fsck.lsmfs" -n "$STORE" 2>&1); rc=$?
assert_eq 0 "$rc" "fsck -n with 12 MiB held (output: $out)"
fs_mount || { fail "remount"; fs_done; }
assert_near "$held" "$(held_kib)" $TOL "held after a remount"
rm -f "$MNT/p" "$MNT/k"
assert_near 0 "$(held_kib)" $TOL "held after removing everything"
settle

before=$(avail_kib "$MNT")
fallocate -l $((32 * MiB)) "$MNT/a" || fail "fallocate 32 MiB"
after=$(avail_kib "$MNT")
assert_near 32768 $((before - after)) $TOL "df Avail drop at fallocate"
assert_near 32768 "$(held_kib)" $TOL "held after fallocate 32 MiB"

# another file cannot take the held space
out=$(dd if="$TMPROOT/ref" of="$MNT/b" bs=1M status=none 2>&1) && fail "filling b did not fail"
case $out in *"No space left"*) ;; *) fail "filling b said: $out" ;; esac
bsize=$(stat -c %s "$MNT/b")
log "b took $((bsize / MiB)) MiB before ENOSPC; $(held_kib) KiB held, device Avail $(avail_kib "$DEV") KiB"
# once the engine has given back what it could, a new file fills what is left beside the
# hold and stops with ENOSPC as well: the held 32 MiB stay free on the device
settle
out=$(dd if="$TMPROOT/ref" of="$MNT/c" bs=64k status=none 2>&1) && fail "filling c did not fail"
case $out in *"No space left"*) ;; *) fail "filling c said: $out" ;; esac
settle
dev_free=$(avail_kib "$DEV")
log "c took $(( $(stat -c %s "$MNT/c") / 1024 )) KiB; settled: device Avail $dev_free KiB"
[ "$dev_free" -ge 32768 ] || fail "the device kept $dev_free KiB free, less than the held 32 MiB"

# ... while the fallocated range can be written in full
dd if="$TMPROOT/ref" of="$MNT/a" bs=1M count=32 conv=notrunc status=none || fail "writing the fallocated range"
cmp -s <(head -c $((32 * MiB)) "$TMPROOT/ref") "$MNT/a" || fail "a reads back wrong"
assert_near 0 "$(held_kib)" $TOL "held after writing all of a"

fs_unmount || fail "unmount"
out=$("$O/fsck.lsmfs" -n "$STORE" 2>&1) || fail "fsck -n after the fill: $out"
fs_done
