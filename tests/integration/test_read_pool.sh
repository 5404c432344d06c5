#!/bin/bash
# test_read_pool.sh - large READs leave the pinned io_uring worker for the read pool
# (fs/read_pool.c) and come back right: on the io_uring transport a cold read of a big
# file is served by the pool (fs.reads-pooled in `lsmfsctl stats` counts them), on
# /dev/fuse by nobody else; either way the bytes are exact, also with four readers at once
# and with reads that start and end inside a block.
. "$(dirname "$0")/lib.sh"
[ "$LSMFS_TARGET" = lsmfs ] || skip "fs.reads-pooled is lsmfs's own counter (LSMFS_TARGET=$LSMFS_TARGET)"
fs_setup
CTL=$O/lsmfsctl
[ -x "$CTL" ] || { fail "lsmfsctl is not built at $CTL"; fs_done; }
stat_of() { "$CTL" stats "$MNT" | sed -n "s/^$1: //p"; }
ring=0
grep -aq 'FUSE-over-io_uring negotiated' "$TMPROOT/daemon.log" && ring=1
log "transport: $([ $ring = 1 ] && echo io_uring || echo /dev/fuse)"

for i in 1 2 3 4; do
    head -c $((6 * 1024 * 1024 + 1234 * i)) /dev/urandom > "$TMPROOT/src$i"
    cp "$TMPROOT/src$i" "$MNT/f$i" || fail "copy in f$i"
done
fs_remount  # a new kernel inode: nothing of the files is in the page cache

r0=$(stat_of fs.reads); p0=$(stat_of fs.reads-pooled)
[[ "$r0" =~ ^[0-9]+$ && "$p0" =~ ^[0-9]+$ ]] || { fail "stats: fs.reads '$r0', fs.reads-pooled '$p0'"; fs_done; }
cmp "$TMPROOT/src1" "$MNT/f1" || fail "f1 read back differs"
r1=$(stat_of fs.reads); p1=$(stat_of fs.reads-pooled)
log "one cold 6 MiB read: $((r1 - r0)) READs, $((p1 - p0)) through the pool"
[ $((r1 - r0)) -gt 0 ] || fail "no READ reached the daemon for a cold read"
if [ $ring = 1 ]; then
    [ $((p1 - p0)) -gt 0 ] || fail "no READ went through the pool on io_uring"
else
    assert_eq 0 $((p1 - p0)) "READs through the pool on /dev/fuse"
fi
[ $((p1 - p0)) -le $((r1 - r0)) ] || fail "more pooled READs ($((p1 - p0))) than READs ($((r1 - r0)))"

# four readers at once (several READs queued for the pool together)
pids=()
for i in 2 3 4; do cmp "$TMPROOT/src$i" "$MNT/f$i" > "$TMPROOT/cmp$i" 2>&1 & pids+=($!); done
cmp "$TMPROOT/src1" "$MNT/f1" || fail "f1 read again differs"
for k in 0 1 2; do wait "${pids[$k]}" || fail "f$((k + 2)) read back differs: $(cat "$TMPROOT/cmp$((k + 2))")"; done

# big reads that start and end inside blocks, after the page cache is gone again
fs_remount
for spec in "1000 300000" "4095 1048577" "6000000 300000"; do
    set -- $spec
    want=$(tail -c +$(($1 + 1)) "$TMPROOT/src3" | head -c "$2" | md5sum)
    got=$(dd if="$MNT/f3" bs=1M iflag=skip_bytes,count_bytes skip="$1" count="$2" status=none | md5sum)
    assert_eq "$want" "$got" "bytes $1 +$2 of f3"
done
fs_done
