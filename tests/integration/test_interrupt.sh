#!/bin/bash
# test_interrupt.sh - requests whose callers are signalled while the daemon works on them.
# A signal that reaches a process waiting for a FUSE reply makes the kernel send
# FUSE_INTERRUPT (through /dev/fuse, also when the request itself went through an io_uring
# ring) or abandon the request; the daemon must answer or drop each of them without losing
# track of the others. Rounds of writers (1 MiB writes + fsync), readers of a large file,
# tree walkers and creators are killed (SIGINT, SIGTERM, SIGKILL) a few milliseconds to a
# few hundred after they start. Then: the daemon is still serving, a file written and
# fsynced afterwards reads back, every surviving file holds only what its writer wrote
# (zeros, no more than it wrote), the store unmounts, fsck -n finds it clean,
# and it remounts with the data. Then a writer that catches signals gets a storm of them
# while it writes and fsyncs: every write lands, in order. Runs on both transports.
. "$(dirname "$0")/lib.sh"
[ "$LSMFS_TARGET" = lsmfs ] || skip "lsmfs only"
fs_setup
trap '_fs_cleanup' EXIT

head -c 24M /dev/urandom > "$TMPROOT/big.ref"
cp "$TMPROOT/big.ref" "$MNT/big"
mkdir -p "$MNT/tree"
for i in $(seq 1 200); do echo "$i" > "$MNT/tree/f$i"; done
echo 3 > /proc/sys/vm/drop_caches

sigs=(INT TERM KILL)
exec 3>&2 2>/dev/null   # bash reports every killed job; the checks below say what matters
for round in $(seq 1 12); do
    pids=()
    for k in 1 2 3; do
        dd if=/dev/zero of="$MNT/w$round.$k" bs=1M count=48 conv=fsync status=none 2>/dev/null &
        pids+=($!)
    done
    cat "$MNT/big" > /dev/null 2>&1 &
    pids+=($!)
    ( for i in $(seq 1 500); do : > "$MNT/tree/c$round.$i" || break; done ) 2>/dev/null &
    pids+=($!)
    ls -lR "$MNT" > /dev/null 2>&1 &
    pids+=($!)
    sleep "0.0$((RANDOM % 9 + 1))"
    for p in "${pids[@]}"; do
        kill -s "${sigs[$(( (RANDOM + p) % 3 ))]}" "$p" 2>/dev/null
        sleep 0.0$((RANDOM % 3))
    done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    echo 1 > /proc/sys/vm/drop_caches
done
exec 2>&3 3>&-

# A writer that survives signals (it catches SIGUSR1), sent in a storm while it writes and
# fsyncs: requests the daemon is already working on get FUSE_INTERRUPT (a run with -d
# counted 3 on io_uring, 17 on /dev/fuse); each must still complete, in order, in full.
cat > "$TMPROOT/sigwrite.py" <<'PY'
import os, signal, sys
signal.signal(signal.SIGUSR1, lambda s, f: None)
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
print("ready", flush=True)
for i in range(int(sys.argv[2])):
    os.write(fd, bytes([i % 251 + 1]) * (1 << 20))
    os.fsync(fd)
os.close(fd)
signal.signal(signal.SIGUSR1, signal.SIG_IGN)  # also through the interpreter's exit
print("done", flush=True)
PY
python3 "$TMPROOT/sigwrite.py" "$MNT/sigwrite" 64 > "$TMPROOT/sigwrite.out" &
wp=$!
for i in $(seq 1 500); do grep -q ready "$TMPROOT/sigwrite.out" && break; sleep 0.02; done
while ! grep -q done "$TMPROOT/sigwrite.out" && kill -USR1 "$wp" 2>/dev/null; do :; done
wait "$wp" || fail "the signalled writer failed (exit $?)"
python3 - "$MNT/sigwrite" <<'PY' || fail "the signalled writer's file is not what it wrote"
import sys
with open(sys.argv[1], "rb") as f:
    for i in range(64):
        if f.read(1 << 20) != bytes([i % 251 + 1]) * (1 << 20):
            sys.exit("MiB %d differs" % i)
    if f.read(1):
        sys.exit("longer than written")
PY

# still serving, and consistent
assert_ok stat "$MNT/big"
head -c 1M /dev/urandom > "$TMPROOT/after.ref"
dd if="$TMPROOT/after.ref" of="$MNT/after" bs=64k conv=fsync status=none || fail "write after the rounds"
assert_same_file "$TMPROOT/after.ref" "$MNT/after"
assert_same_file "$TMPROOT/big.ref" "$MNT/big"
for f in "$MNT"/w*; do
    [ -e "$f" ] || continue
    sz=$(stat -c %s "$f")
    [ "$sz" -le $((48 * 1048576)) ] || fail "$f: size $sz is more than was written"
    cmp -s -n "$sz" "$f" /dev/zero || fail "$f: holds bytes the writer never wrote"
done
assert_eq 200 "$(ls "$MNT/tree" | grep -c '^f')" "the tree's 200 files"
grep -aiE 'assert|segfault|sanitizer|double free' "$TMPROOT/daemon.log" && fail "daemon log reports a crash"

fs_unmount
"$O/fsck.lsmfs" -n -f "$STORE" > "$TMPROOT/fsck.out" 2>&1
rc=$?
[ "$rc" -eq 0 ] || { cat "$TMPROOT/fsck.out"; fail "fsck -n after the interrupted rounds exits $rc"; }
fs_mount || fail "remount"
assert_same_file "$TMPROOT/after.ref" "$MNT/after"
assert_same_file "$TMPROOT/big.ref" "$MNT/big"
fs_done
