#!/bin/bash
# test_admin_tools.sh - the tools' rough edges an administrator meets:
#   - fsck.lsmfs right after `fusermount3 -u` waits (saying so) for the daemon that is still
#     closing the store, and then checks it (exit 0), instead of "in use" (exit 8);
#   - fsck.lsmfs -y on a store that is still mounted fails at once with 8 (-n checks it
#     online: test_fsck_online.sh);
#   - -V / --version on mkfs.lsmfs and fsck.lsmfs print the version and exit 0;
#   - mkfs.lsmfs's summary states the space reserve, min(64 MiB, 1% of the file system),
#     and a mount makes RESERVE that size (checked on a small tmpfs, where 1% is less).
. "$(dirname "$0")/lib.sh"
fs_setup
for i in $(seq 1 200); do echo "$i" > "$MNT/f$i"; done

# still mounted: refused at once
start=$SECONDS
"$O/fsck.lsmfs" -y "$STORE" >/dev/null 2>&1; rc=$?
assert_eq 8 "$rc" "fsck -y on a mounted store"
[ $((SECONDS - start)) -le 3 ] || fail "fsck on a mounted store took $((SECONDS - start)) s"

# unmounted, daemon still closing: fsck waits for it
fusermount3 -u "$MNT" || fail "fusermount3 -u"
FS_MOUNTED=0
out=$("$O/fsck.lsmfs" -n "$STORE" 2>&1); rc=$?
assert_eq 0 "$rc" "fsck -n right after fusermount3 -u (output: $(echo "$out" | tail -n 3))"
echo "$out" | grep -q "waiting" && log "fsck waited for the closing daemon"
fs_unmount quiet

for tool in mkfs.lsmfs fsck.lsmfs lsmfs; do
    for flag in -V --version; do
        out=$("$O/$tool" $flag 2>&1); rc=$?
        assert_eq 0 "$rc" "$tool $flag exit status"
        case "$out" in "$tool "[0-9]*) ;; *) fail "$tool $flag printed '$out'" ;; esac
    done
done

# the reserve follows the size of the file system: 1% of a 200 MiB tmpfs = 2 MiB
SMALL=$TMPROOT/small
mkdir "$SMALL" && mount -t tmpfs -o size=200m tmpfs "$SMALL" || skip "cannot mount a tmpfs"
out=$("$O/mkfs.lsmfs" "$SMALL/store" 2>&1) || fail "mkfs on tmpfs: $out"
want=$(( $(stat -f -c '%b * %S / 100 / 65536 * 64' "$SMALL") ))
echo "$out" | grep -q "reserve: *$want KiB" || fail "mkfs summary does not state a $want KiB reserve: $out"
mkdir "$TMPROOT/m2"
if "$O/lsmfs" "$SMALL/store" "$TMPROOT/m2"; then
    got=$(stat -c %s "$SMALL/store/RESERVE" 2>/dev/null)
    assert_eq $((want * 1024)) "$got" "RESERVE size on a 200 MiB file system"
    fusermount3 -u "$TMPROOT/m2"
    for _ in $(seq 1 100); do flock -n "$SMALL/store/LOCK" true && break; sleep 0.1; done
else
    fail "mount of the tmpfs store"
fi
umount "$SMALL" || umount -l "$SMALL"
fs_done
