#!/bin/bash
# test_writeback_opt.sh - `-o writeback` really turns the kernel writeback cache on, and
# `-o nowriteback` (the default) really leaves it off.
#
# Two ways of seeing it, so neither a wrong log line nor a wrong flag can pass alone:
#   - the negotiated INIT flags: with -o debug the daemon logs "capable 0x.., want 0x..";
#     FUSE_CAP_WRITEBACK_CACHE (bit 16) must be in `want` exactly when asked for;
#   - behaviour: 256 writes of 64 bytes into one file reach the daemon as 256 WRITE requests
#     without the cache, and as a handful of page writebacks with it (libfuse's debug
#     output names every request's opcode).
. "$(dirname "$0")/lib.sh"
FS_MOUNT_OPTS=debug,nowriteback
fs_setup

WB_BIT=$((1 << 16))
want_flags() { # the last "want 0x.." the daemon logged
    sed -n 's/.*lsmfs: capable 0x[0-9a-f]*, want \(0x[0-9a-f]*\),.*/\1/p' "$TMPROOT/daemon.log" | tail -n 1
}
writes_for_small_appends() { # prints the number of WRITE requests 256 x 64 B cost
    local before after
    before=$(grep -c 'opcode: WRITE ' "$TMPROOT/daemon.log")
    dd if=/dev/urandom of="$MNT/f.$1" bs=64 count=256 conv=fsync status=none ||
        _fail_up "dd into $MNT/f.$1 failed"
    after=$(grep -c 'opcode: WRITE ' "$TMPROOT/daemon.log")
    echo $((after - before))
}
check_mode() { # name 0|1
    local want n
    want=$(want_flags)
    [ -n "$want" ] || { fail "$1: the daemon logged no negotiated flags"; return; }
    n=$(writes_for_small_appends "$1")
    if [ "$2" -eq 1 ]; then
        [ $((want & WB_BIT)) -ne 0 ] || fail "$1: WRITEBACK_CACHE not in want ($want)"
        [ "$n" -ge 1 ] && [ "$n" -le 16 ] ||
            fail "$1: 256 small writes cost $n WRITE requests (expected a few page writebacks)"
    else
        [ $((want & WB_BIT)) -eq 0 ] || fail "$1: WRITEBACK_CACHE in want ($want)"
        [ "$n" -eq 256 ] || fail "$1: 256 small writes cost $n WRITE requests, expected 256"
    fi
    log "$1: want=$want, 256 x 64 B writes -> $n WRITE requests"
}

check_mode nowriteback 0
fs_unmount
FS_MOUNT_OPTS=debug,writeback
fs_mount || { fail "mount with -o writeback failed"; fs_done; }
check_mode writeback 1
fs_unmount
FS_MOUNT_OPTS=debug
fs_mount || { fail "mount with default options failed"; fs_done; }
check_mode default 0
# data written through the cache is all there after a remount
fs_unmount
FS_MOUNT_OPTS=
fs_mount || { fail "remount failed"; fs_done; }
assert_eq 16384 "$(stat -c %s "$MNT/f.writeback")" "size of the file written through the cache"
fs_done
