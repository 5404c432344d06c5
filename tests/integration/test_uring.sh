#!/bin/bash
# test_uring.sh - the FUSE-over-io_uring transport (fs/uring.c) and its fallback.
#   - with the kernel's enable_uring = Y, a default mount negotiates io_uring (one log line)
#     and serves the workload's requests through the rings (the count lsmfs logs at unmount
#     is at least the number of operations), with data verified: small and 1 MiB writes,
#     reads after drop_caches (forgets and lookups again), concurrent writers, renames,
#     unlinks, an unlinked open file, fsync, xattrs, readdir;
#   - notifications still travel through /dev/fuse while the rings serve requests:
#     strictatime reads drop the kernel's cached attributes, and stat sees the new atime;
#   - with -o uring_poll=1000 (pinned) and uring_poll=20,uring_nopin,uring_threads=1 the
#     workload is served over the rings too (served count), requests are found by the poll,
#     and a bad uring_poll value (abc, -1, 1001, 20x, empty) is refused with one line;
#   - -o nouring serves everything through /dev/fuse (no ring line, 0 served);
#   - with enable_uring = N, -o uring falls back to /dev/fuse with one clear log line;
#   - an aborted connection (/sys/fs/fuse/connections/N/abort) mid-workload: the daemon
#     exits by itself, the store passes fsck -n, remounts, and holds what was synced.
# The module parameter is restored to its old value at the end. Skips (77) on a kernel
# without FUSE-over-io_uring.
. "$(dirname "$0")/lib.sh"
PARAM=/sys/module/fuse/parameters/enable_uring
[ "$LSMFS_TARGET" = lsmfs ] || skip "lsmfs only"
[ "$LSMFS_TRANSPORT" = nouring ] && skip "this test chooses its transports itself"
[ -w "$PARAM" ] || skip "this kernel has no FUSE-over-io_uring ($PARAM)"
OLD_PARAM=$(cat "$PARAM")
restore_param() { echo "$OLD_PARAM" > "$PARAM" 2>/dev/null; }
echo Y > "$PARAM"
LSMFS_TRANSPORT=
fs_setup
trap 'rc=$?; restore_param; (exit $rc); _fs_cleanup' EXIT
fs_require_tool mtwrite

served() { # the count of the last "io_uring served N requests" line in the daemon log
    grep -a 'io_uring served' "$TMPROOT/daemon.log" | tail -n 1 | sed 's/.*served \([0-9]*\).*/\1/'
}

workload() { # dir: a bit of everything; prints the number of operations it made
    local d=$1 i n=0
    mkdir -p "$d/w"
    for i in $(seq 1 100); do echo "file $i" > "$d/w/f$i"; done; n=$((n + 300))
    for i in $(seq 1 50); do mv "$d/w/f$i" "$d/w/g$i"; done; n=$((n + 50))
    for i in $(seq 51 80); do rm "$d/w/f$i"; done; n=$((n + 30))
    head -c 3M /dev/urandom > "$TMPROOT/big.ref"
    dd if="$TMPROOT/big.ref" of="$d/w/big" bs=1M conv=fsync status=none; n=$((n + 5))
    setfattr -n user.k -v v1 "$d/w/g1" 2>/dev/null && n=$((n + 1))
    echo $n
}

verify() { # dir
    local d=$1 i
    for i in 1 25 50; do assert_eq "file $i" "$(cat "$d/w/g$i")" "renamed file g$i"; done
    for i in 81 100; do assert_eq "file $i" "$(cat "$d/w/f$i")" "file f$i"; done
    [ -e "$d/w/f60" ] && fail "f60 was unlinked but is there"
    assert_eq 20 "$(ls "$d/w" | grep -c '^f')" "f* entries in w"
    assert_same_file "$TMPROOT/big.ref" "$d/w/big"
}

# ---- io_uring negotiated and used ------------------------------------------------------
grep -aq 'FUSE-over-io_uring negotiated' "$TMPROOT/daemon.log" ||
    fail "default mount with enable_uring=Y did not negotiate io_uring"
ops=$(workload "$MNT")
echo 2 > /proc/sys/vm/drop_caches
verify "$MNT"
# an unlinked file stays readable while open
exec 7<"$MNT/w/g2"
rm "$MNT/w/g2"
assert_eq "file 2" "$(cat <&7)" "unlinked open file"
exec 7<&-
mkdir "$MNT/mt"
run_tool 120 "$TOOLS/mtwrite" -t 4 -r 300000 -f 8 "$MNT/mt"
# notifications: strictatime bumps atime in the store and invalidates the cached attributes
fs_unmount || fail "unmount"
n=$(served)
log "io_uring served ${n:-none} requests for about $ops operations"
[ -n "$n" ] && [ "$n" -ge "$ops" ] || fail "io_uring served ${n:-no} requests, expected >= $ops"

FS_MOUNT_OPTS=strictatime fs_mount || { fail "strictatime mount"; fs_done; }
verify "$MNT"
touch -a -d '2001-01-01' "$MNT/w/g3"
a1=$(stat -c %X "$MNT/w/g3")
cat "$MNT/w/g3" >/dev/null
a2=$(stat -c %X "$MNT/w/g3")
[ "$a2" -gt "$a1" ] || fail "strictatime read did not show a new atime ($a1 -> $a2)"
fs_unmount || fail "unmount"

# ---- busy polling (-o uring_poll=US): the same requests, over the rings ----------------------
polled() { # the "N found by polling" of the last served line
    grep -a 'io_uring served' "$TMPROOT/daemon.log" | tail -n 1 | sed -n 's/.*; \([0-9]*\) found by polling.*/\1/p'
}
cp "$TMPROOT/big.ref" "$TMPROOT/big.orig" # workload() writes a new big.ref
for popts in uring_poll=1000 uring_poll=20,uring_nopin,uring_threads=1; do
    : > "$TMPROOT/daemon.log"
    FS_MOUNT_OPTS=$popts fs_mount || { fail "mount with $popts"; fs_done; }
    d=$MNT/poll-${popts%%,*}
    ops=$(workload "$d")
    echo 2 > /proc/sys/vm/drop_caches
    verify "$d"
    cp "$TMPROOT/big.orig" "$TMPROOT/big.ref"
    verify "$MNT"
    fs_unmount || fail "unmount ($popts)"
    n=$(served); p=$(polled)
    log "$popts: io_uring served ${n:-none} requests, ${p:-none} found by polling, ~$ops operations"
    [ -n "$n" ] && [ "$n" -ge "$ops" ] || fail "$popts: io_uring served ${n:-no} requests, expected >= $ops"
    [ -n "$p" ] && [ "$p" -le "$n" ] || fail "$popts: polled count '${p}' missing or above served $n"
done
# a 1 ms budget covers the gap between the requests of one operation (lookup, create, ...)
: > "$TMPROOT/daemon.log"
FS_MOUNT_OPTS=uring_poll=1000 fs_mount || { fail "mount with uring_poll=1000"; fs_done; }
for i in $(seq 1 50); do echo "$i" > "$MNT/pp$i"; done
fs_unmount || fail "unmount (uring_poll=1000)"
p=$(polled)
[ -n "$p" ] && [ "$p" -gt 0 ] || fail "uring_poll=1000: no request was found by polling (${p:-none})"

# ---- a bad uring_poll value is refused with one clear line, nothing mounted -----------------
for bad in abc -1 1001 20x ""; do
    err=$("$O/lsmfs" -f -o "uring_poll=$bad" "$STORE" "$MNT" 2>&1 >/dev/null </dev/null)
    rc=$?
    [ $rc -ne 0 ] || fail "uring_poll=$bad was accepted"
    assert_eq 1 "$(printf '%s\n' "$err" | grep -c .)" "lines of error for uring_poll=$bad"
    case "$err" in *"uring_poll=$bad"*expected*) ;; *) fail "uring_poll=$bad: unclear error: $err" ;; esac
    mountpoint -q "$MNT" && fail "uring_poll=$bad mounted"
done

# ---- -o nouring ----------------------------------------------------------------------------
: > "$TMPROOT/daemon.log"
FS_MOUNT_OPTS=nouring fs_mount || { fail "nouring mount"; fs_done; }
verify "$MNT"
echo x > "$MNT/nouring"
fs_unmount || fail "unmount"
grep -aq 'FUSE-over-io_uring negotiated' "$TMPROOT/daemon.log" && fail "nouring negotiated io_uring"
[ -z "$(served)" ] || fail "nouring mount logged ring requests: $(served)"

# ---- the kernel refuses: fallback with one line ---------------------------------------------
echo N > "$PARAM"
: > "$TMPROOT/daemon.log"
fs_mount || { fail "mount with enable_uring=N"; fs_done; }
verify "$MNT"
echo y > "$MNT/fallback"
assert_eq y "$(cat "$MNT/fallback")" "write on the fallback transport"
fs_unmount || fail "unmount"
assert_eq 1 "$(grep -ac 'does not offer FUSE-over-io_uring' "$TMPROOT/daemon.log")" \
    "fallback log lines"
assert_eq 0 "$(served)" "requests served by rings on the fallback"
echo Y > "$PARAM"

# ---- connection aborted mid-workload --------------------------------------------------------
fs_mount || { fail "mount before abort"; fs_done; }
echo synced > "$MNT/synced"; sync "$MNT/synced"
mkdir "$MNT/spin"
( i=0; while [ $i -lt 100000 ]; do { echo $i > "$MNT/spin/$((i % 50))"; } 2>/dev/null || break
      i=$((i + 1)); done ) &
spinner=$!
sleep 1
conn=$(stat -c %d "$MNT")
mountpoint -q /sys/fs/fuse/connections || mount -t fusectl fusectl /sys/fs/fuse/connections
echo 1 > "/sys/fs/fuse/connections/$conn/abort" || fail "cannot abort connection $conn"
wait $spinner
for _ in $(seq 1 200); do kill -0 "$FS_PID" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$FS_PID" 2>/dev/null; then
    fail "the daemon did not exit 10 s after the connection was aborted"
else
    wait "$FS_PID"; FS_PID=
fi
umount -l "$MNT" 2>/dev/null || fusermount3 -uz "$MNT" 2>/dev/null
FS_MOUNTED=0
out=$("$O/fsck.lsmfs" -n "$STORE" 2>&1) || fail "fsck -n after abort: $out"
fs_mount || { fail "mount after abort"; fs_done; }
assert_eq synced "$(cat "$MNT/synced")" "synced file after the abort"
verify "$MNT"
fs_done
