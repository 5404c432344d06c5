#!/bin/bash
# test_mount_errors.sh - the daemon and mkfs refuse what they must, with a non-zero exit and
# a message on stderr, and leave nothing mounted: a folder mkfs did not make (empty, or with
# other files), a missing store or mountpoint, a store that is already mounted, an unknown
# -o option; mkfs refuses a non-empty folder unless -f. Also: without -f the daemon goes to
# the background and the mount works; after unmount the store can be mounted again; a store
# on a read-only file system mounts with -o ro and passes fsck -n.
. "$(dirname "$0")/lib.sh"
[ "$LSMFS_TARGET" = lsmfs ] || skip "mount errors are lsmfs-specific (target is $LSMFS_TARGET)"
fs_setup
M2=$TMPROOT/mnt2
mkdir -p "$M2"

# expect_refused what command...: exit non-zero within 20 s, say something, mount nothing
expect_refused() {
    local what=$1; shift
    timeout -k 5 20 "$@" >"$TMPROOT/out" 2>"$TMPROOT/err"
    local rc=$?
    if mountpoint -q "$M2"; then
        _fail_up "$what: mounted anyway (exit $rc)"
        fusermount3 -u "$M2" 2>/dev/null || umount -l "$M2"
        return
    fi
    if [ $rc -eq 0 ]; then _fail_up "$what: exit status 0"; return; fi
    if [ $rc -eq 124 ]; then _fail_up "$what: still running after 20 s"; return; fi
    if [ ! -s "$TMPROOT/err" ] && [ ! -s "$TMPROOT/out" ]; then
        _fail_up "$what: exit $rc but no message"; return
    fi
    echo "  ok: $what -> exit $rc: $(head -n 2 "$TMPROOT/err" "$TMPROOT/out" | grep -v '^==>' | grep . | head -n 1)"
}

mkdir -p "$TMPROOT/empty" "$TMPROOT/junk"
echo "not a store" > "$TMPROOT/junk/README"
expect_refused "mount an empty folder"            "$O/lsmfs" "$TMPROOT/empty" "$M2"
expect_refused "mount a folder of other files"     "$O/lsmfs" "$TMPROOT/junk" "$M2"
expect_refused "mount a missing store"             "$O/lsmfs" "$TMPROOT/nonexistent" "$M2"
expect_refused "mount on a missing mountpoint"     "$O/lsmfs" "$STORE" "$TMPROOT/nomnt"
expect_refused "mount a store already mounted"     "$O/lsmfs" "$STORE" "$M2"
expect_refused "mount a mounted store with -f"     "$O/lsmfs" -f "$STORE" "$M2"
# the refusal names the existing mount and the way to a second view (a bind mount)
expect_refused "mount a store already mounted (message)" "$O/lsmfs" "$STORE" "$M2"
grep -q "mounted on $MNT" "$TMPROOT/err" || fail "the in-use message does not name $MNT: $(cat "$TMPROOT/err")"
grep -q "mount --bind $MNT" "$TMPROOT/err" || fail "the in-use message does not suggest a bind mount: $(cat "$TMPROOT/err")"
assert_eq "$TMPROOT/junk/README" "$(ls -d "$TMPROOT"/junk/*)" "a refused mount left the folder as it was"
# the first mount is unharmed
echo alive > "$MNT/alive"
assert_eq alive "$(cat "$MNT/alive")" "first mount still works"

fs_unmount
expect_refused "unknown -o option"                 "$O/lsmfs" -o no_such_option_xyz "$STORE" "$M2"
expect_refused "unknown -o option with -f"         "$O/lsmfs" -f -o no_such_option_xyz "$STORE" "$M2"

# background mode: the command returns once mounted, the store opens again after unmount
if timeout -k 5 20 "$O/lsmfs" -o allow_other "$STORE" "$M2" >"$TMPROOT/out" 2>&1; then
    if mountpoint -q "$M2"; then
        assert_eq alive "$(cat "$M2/alive")" "data through a background daemon"
        fusermount3 -u "$M2"
    else
        fail "lsmfs without -f exited 0 but $M2 is not mounted"
    fi
else
    fail "lsmfs without -f failed: $(cat "$TMPROOT/out")"
fi
# the background daemon must release the store: mounting again succeeds within 10 s
ok=0
for i in $(seq 1 20); do
    if fs_mount 2>/dev/null; then ok=1; break; fi
    sleep 0.5
done
assert_eq 1 "$ok" "store mounts again after the background daemon's unmount"
fs_unmount

# A store on a read-only file system (a snapshot or backup medium, here a read-only bind
# mount): -o ro mounts it and reads, fsck -n checks it, a read-write mount is refused.
fs_mount || fail "mount before the read-only media case"
echo "on read-only media" > "$MNT/romedia"
fs_unmount
RO=$TMPROOT/ro-store
mkdir -p "$RO"
if mount --bind "$STORE" "$RO" 2>/dev/null && mount -o remount,ro,bind "$RO" 2>/dev/null; then
    if "$O/lsmfs" -o ro "$RO" "$M2" 2>"$TMPROOT/err"; then
        assert_eq "on read-only media" "$(cat "$M2/romedia")" "file read from a store on read-only media"
        assert_fails touch "$M2/new"
        fusermount3 -u "$M2" 2>/dev/null || umount "$M2"
    else
        fail "-o ro of a store on a read-only file system: $(cat "$TMPROOT/err")"
    fi
    # the background daemon may still hold the store for a moment (exit 8: in use)
    for i in $(seq 1 20); do
        "$O/fsck.lsmfs" -n "$RO" >"$TMPROOT/fsck.out" 2>&1; rc=$?
        [ $rc -eq 8 ] && grep -q "in use" "$TMPROOT/fsck.out" || break
        sleep 0.5
    done
    assert_eq 0 "$rc" "fsck -n of a store on a read-only file system"
    expect_refused "read-write mount of a store on a read-only file system" "$O/lsmfs" "$RO" "$M2"
    grep -q "Read-only file system" "$TMPROOT/err" ||
        fail "the read-write refusal does not say why: $(cat "$TMPROOT/err")"
    umount "$RO" || umount -l "$RO"
else
    umount "$RO" 2>/dev/null
    echo "NOTE: no read-only bind mount here; the read-only media case was not run"
fi

# mkfs
mkdir -p "$TMPROOT/nonempty"; echo keep > "$TMPROOT/nonempty/file"
expect_refused "mkfs on a non-empty folder"        "$O/mkfs.lsmfs" "$TMPROOT/nonempty"
assert_eq keep "$(cat "$TMPROOT/nonempty/file")" "mkfs left the non-empty folder alone"
expect_refused "mkfs over an existing store"       "$O/mkfs.lsmfs" "$STORE"
assert_ok "$O/mkfs.lsmfs" -f "$STORE"
fs_mount || fail "mount after mkfs -f"
assert_fails test -e "$MNT/alive"
assert_ok test -d "$MNT/lost+found"
fs_unmount
mkdir -p "$TMPROOT/fresh"
assert_ok "$O/mkfs.lsmfs" -b 8192 -L mylabel "$TMPROOT/fresh"
fs_done
