#!/bin/bash
# test_remount_ro.sh - `mount -o remount,ro` and `remount,rw` of a live lsmfs mount.
#
# mount(8) runs mount.fuse3, which runs `lsmfs STORE MNT -o remount,...`: that must remount
# the existing mount (no second daemon) and tell the running daemon, which then flushes
# the store and refuses every change (also its own atime updates). Checked, with files open:
#   - remount,ro while a file is open for writing fails with EBUSY (as on ext4); the mount
#     stays writable and the open file keeps working;
#   - after closing it, remount,ro works: /proc/mounts says ro, writes get EROFS, a file
#     open for reading keeps reading, a read does not move atime, the store's files do not
#     change at all, and a copy of the store taken then is clean for fsck and complete;
#   - remount,rw: writes work again, through new and old descriptors, and persist;
#   - flags the options do not name (nosuid, noexec) survive a remount;
#   - a daemon started with -o ro refuses remount,rw (its store is open read-only).
# The script re-runs itself in a private mount namespace whose /usr/local/sbin holds a link
# to the lsmfs under test (mount(8) looks helpers up in a fixed PATH), so mount(8) itself is
# used; without unshare(1) those steps call `lsmfs ... -o remount` directly, as
# mount.fuse3 would.
# The whole test runs in its own mount namespace when it can (so mount(8) sees the same
# mounts as the checks, and the helper link is seen by nobody else).
if [ -z "${LSMFS_REMOUNT_NS:-}" ] && unshare -m --propagation private true 2>/dev/null; then
    exec env LSMFS_REMOUNT_NS=1 unshare -m --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
fs_setup

BIN=$TMPROOT/bin
mkdir -p "$BIN" && ln -s "$(cd "$O" && pwd)/lsmfs" "$BIN/lsmfs"
HAVE_MOUNT8=0
if [ -n "${LSMFS_REMOUNT_NS:-}" ] && mount --bind "$BIN" /usr/local/sbin; then
    HAVE_MOUNT8=1
else
    log "no private mount namespace (unshare -m): calling lsmfs -o remount directly"
fi

remount_direct() { "$O/lsmfs" "$STORE" "$MNT" -o "remount,$1"; }
remount_mount8() { # opts: `mount -o remount,OPTS MNT`, the way users run it
    if [ $HAVE_MOUNT8 -eq 1 ]; then mount -o "remount,$1" "$MNT"; else remount_direct "$1"; fi
}
mnt_opts() { awk -v m="$MNT" '$2 == m { o = $4 } END { print o }' /proc/self/mounts; }
is_ro() { [[ ",$(mnt_opts)," == *,ro,* ]]; }
store_sum() {
    (cd "$STORE" && find . -type f ! -name LOCK -print0 | sort -z | xargs -0 -r sha256sum) | sha256sum
}
daemon_alive() { kill -0 "$FS_PID" 2>/dev/null || fail "the daemon is gone ($1)"; }

echo "first" > "$MNT/w"
echo "old" > "$MNT/old"; touch -a -d '2001-01-01' "$MNT/old"
mkdir "$MNT/d"; for i in $(seq 1 50); do echo "file $i" > "$MNT/d/f$i"; done

# 1. open for writing: EBUSY, still writable
exec 3>>"$MNT/w"
echo "second" >&3
out=$(remount_direct ro 2>&1); rc=$?
[ $rc -ne 0 ] || fail "remount,ro succeeded while a file was open for writing"
[[ "$out" == *"busy"* ]] || fail "remount,ro with a file open for writing: message '$out'"
is_ro && fail "the mount went read-only although the remount failed"
echo "third" >&3 || fail "writing through the open descriptor after the refused remount"
exec 3>&-
assert_eq "first second third" "$(tr '\n' ' ' < "$MNT/w" | sed 's/ $//')" "w after the refused remount"
daemon_alive "after the refused remount"

# 2. read-only, with a file open for reading
exec 4<"$MNT/w"
read -r line <&4
assert_eq first "$line" "first line through fd 4"
start=$SECONDS
assert_ok remount_mount8 ro
[ $((SECONDS - start)) -lt 30 ] || fail "remount,ro took $((SECONDS - start)) s"
is_ro || fail "not read-only after remount,ro: $(mnt_opts)"
daemon_alive "after remount,ro"
assert_fails touch "$MNT/new"
err=$(sh -c "echo x >> '$MNT/w'" 2>&1)
[[ "$err" == *"Read-only"* ]] || fail "append on the read-only mount: '$err'"
assert_fails mkdir "$MNT/d2"
sleep 0.5
sum1=$(store_sum)
atime1=$(stat -c %X "$MNT/old")
assert_eq old "$(cat "$MNT/old")" "read on the read-only mount"
cat "$MNT"/d/* > /dev/null
read -r line <&4
assert_eq second "$line" "second line through fd 4 on the read-only mount"
sleep 1
assert_eq "$atime1" "$(stat -c %X "$MNT/old")" "atime moved on the read-only mount"
assert_eq "$sum1" "$(store_sum)" "the store's files changed while read-only"
# the backup use: a copy of the store taken now is complete and clean
cp -a "$STORE" "$TMPROOT/backup"
rm -f "$TMPROOT/backup/LOCK"
out=$("$O/fsck.lsmfs" -n "$TMPROOT/backup" 2>&1); rc=$?
assert_eq 0 "$rc" "fsck -n of a copy taken while read-only (output: $out)"
mkdir -p "$TMPROOT/bmnt"
if "$O/lsmfs" -o ro "$TMPROOT/backup" "$TMPROOT/bmnt"; then
    assert_eq "first second third" "$(tr '\n' ' ' < "$TMPROOT/bmnt/w" | sed 's/ $//')" "w in the copy"
    assert_eq 50 "$(ls "$TMPROOT/bmnt/d" | wc -l)" "files of d in the copy"
    fusermount3 -u "$TMPROOT/bmnt" || umount -l "$TMPROOT/bmnt"
else
    fail "the copy of the store does not mount"
fi
# remount,ro again: a no-op that still succeeds
assert_ok remount_direct ro

# 3. back to read-write, with fd 4 still open
assert_ok remount_mount8 rw
is_ro && fail "still read-only after remount,rw: $(mnt_opts)"
read -r line <&4
assert_eq third "$line" "third line through fd 4 after remount,rw"
exec 4<&-
echo "fourth" >> "$MNT/w" || fail "append after remount,rw"
exec 3>>"$MNT/w"; echo "fifth" >&3 || fail "write through a new descriptor"
touch -a -d '2002-02-02' "$MNT/old" || fail "touch after remount,rw"
# ro again with that file open for writing: refused
assert_fails remount_mount8 ro
exec 3>&-
echo "new" > "$MNT/new" || fail "create after remount,rw"

# 4. flags the options do not name survive; named ones change
assert_ok remount_direct nosuid,noexec
[[ ",$(mnt_opts)," == *,nosuid,* && ",$(mnt_opts)," == *,noexec,* ]] ||
    fail "nosuid,noexec not set: $(mnt_opts)"
assert_ok remount_direct ro
[[ ",$(mnt_opts)," == *,nosuid,*,noexec,* || ",$(mnt_opts)," == *,noexec,*,nosuid,* ]] ||
    fail "remount,ro dropped nosuid/noexec: $(mnt_opts)"
assert_ok remount_direct rw,exec
[[ ",$(mnt_opts)," != *,noexec,* && ",$(mnt_opts)," == *,nosuid,* ]] ||
    fail "remount,rw,exec: $(mnt_opts)"

# 5. everything persists
fs_remount
assert_eq "first second third fourth fifth" "$(tr '\n' ' ' < "$MNT/w" | sed 's/ $//')" "w after a real remount"
assert_eq new "$(cat "$MNT/new")" "new after a real remount"

# 6. errors: not an lsmfs mount; a daemon started with -o ro refuses rw
out=$("$O/lsmfs" "$STORE" "$TMPROOT" -o remount,ro 2>&1) && fail "remount of a non-mount succeeded"
[[ "$out" == *"not a mounted lsmfs"* ]] || fail "remount of a non-mount: '$out'"
fs_unmount
FS_MOUNT_OPTS=ro
fs_mount || { fail "mount -o ro"; fs_done; }
out=$(remount_direct rw 2>&1) && fail "remount,rw of a store opened with -o ro succeeded"
[[ "$out" == *"opened read-only"* ]] || fail "remount,rw of an -o ro mount: '$out'"
is_ro || fail "an -o ro mount became writable"
daemon_alive "after a refused remount,rw"
fs_done
