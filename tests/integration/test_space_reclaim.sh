#!/bin/bash
# test_space_reclaim.sh - `rm -rf` of a big tree gives the space back while mounted, without
# a remount or further writes: the idle flush (engine/db/db_idle.c) moves the deletions
# into tables and deletion-triggered compaction (compaction_picker.c) drops them with the
# data they hide. A bounded wait loop (up to 120 s), no speed asserted.
. "$(dirname "$0")/lib.sh"
fs_setup

store_kib() { du -sk "$STORE" | cut -f1; }
base=$(store_kib)
mkdir "$MNT/tree"
# 64 MiB of file data over 2,000 files + one 64 MiB file: several tables at L0 and below.
for d in $(seq 1 20); do
    mkdir "$MNT/tree/d$d"
    for f in $(seq 1 100); do
        head -c 32768 /dev/urandom > "$MNT/tree/d$d/f$f"
    done
done
head -c $((64 << 20)) /dev/urandom > "$MNT/tree/big"
sync
full=$(store_kib)
log "store: ${base} KiB empty, ${full} KiB with the tree"
[ $((full - base)) -ge $((100 * 1024)) ] || fail "the tree takes only $((full - base)) KiB"

rm -rf "$MNT/tree"
reclaimed=0
for i in $(seq 1 120); do
    sleep 1
    now=$(store_kib)
    # the WAL (up to one memtable, 64 MiB) may still hold the tree's bytes until it rolls;
    # what must go is the tables' share
    if [ $((now - base)) -le $(( (full - base) / 2 )) ]; then reclaimed=1; break; fi
done
log "store after rm -rf: ${now} KiB after ${i} s"
[ $reclaimed = 1 ] || fail "space not given back within 120 s: ${now} KiB (full ${full}, empty ${base})"
[ -z "$(ls -A "$MNT")" ] || [ "$(ls -A "$MNT")" = "lost+found" ] || fail "root not empty: $(ls -A "$MNT")"
fs_done
