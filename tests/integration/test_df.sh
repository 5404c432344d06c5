#!/bin/bash
# test_df.sh - df on an lsmfs mount reports the store's own use (fs_op_statfs): "Used" is
# the store's tables, memtables and space reserve, not everything on the host disk, it
# grows with the data written, and the free space is the host's.
. "$(dirname "$0")/lib.sh"
fs_setup
used_kib() { df -k --output=used "$1" | tail -n 1 | tr -d ' '; }
avail_kib() { df -k --output=avail "$1" | tail -n 1 | tr -d ' '; }
u0=$(used_kib "$MNT")
reserve=$(stat -c %s "$STORE/RESERVE" 2>/dev/null || echo 0)
log "empty store: used ${u0} KiB (reserve $((reserve / 1024)) KiB)"
[ "$u0" -le $((reserve / 1024 + 8 * 1024)) ] ||
    fail "an empty store shows ${u0} KiB used (more than its reserve + 8 MiB: the host's use?)"
head -c 24M /dev/urandom > "$MNT/big"
sync "$MNT/big"
u1=$(used_kib "$MNT")
log "after a 24 MiB file: used ${u1} KiB"
[ $((u1 - u0)) -ge $((20 * 1024)) ] || fail "used grew by $((u1 - u0)) KiB after writing 24 MiB"
[ $((u1 - u0)) -le $((40 * 1024)) ] || fail "used grew by $((u1 - u0)) KiB after writing 24 MiB"
# free space is the host's (both move with other users of the disk: compare loosely)
ha=$(avail_kib "$STORE"); ma=$(avail_kib "$MNT")
d=$((ha - ma)); d=${d#-}
[ "$d" -le $((64 * 1024)) ] || fail "available: mount $ma KiB, host $ha KiB"
fs_unmount
fs_done
