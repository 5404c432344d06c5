#!/bin/bash
# reqcount.sh - FUSE requests per file operation on lsmfs, counted from the daemon's -d log.
#
#   tests/bench/reqcount.sh [--n N] [--O build] [-- extra lsmfs arguments, e.g. -o writeback]
#
# Mounts a fresh store with `lsmfs -d` (libfuse prints one "opcode:" line per request it
# receives), runs each operation N times (default 500) on distinct files from one python3
# process whose working directory is outside the mount, and prints, per operation, the
# requests the daemon received divided by N, with the opcodes behind them. Between phases it
# waits for the log to go quiet, so requests the kernel sends in the background (RELEASE,
# FORGET) are counted in the phase that caused them. "cold" phases start after
# /proc/sys/vm/drop_caches (skipped, and said so, when it is not writable); the FORGETs the
# drop itself causes are not counted. LSMFS_OPTS is added to the lsmfs arguments as well.
# Needs root (FUSE mount, drop_caches). Exit status 0 unless the mount or a phase failed.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/bench/lib.sh
N=500; OBIN=build
while [ $# -gt 0 ]; do
    case "$1" in
    --n) N=$2; shift 2 ;;
    --O) OBIN=$2; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "reqcount: unknown argument $1" >&2; exit 2 ;;
    esac
done
EXTRA=("$@")
# shellcheck disable=SC2206
[ -n "${LSMFS_OPTS:-}" ] && EXTRA+=($LSMFS_OPTS)
[ "$(id -u)" -eq 0 ] || { echo "reqcount: run as root" >&2; exit 1; }
[ -x "$OBIN/lsmfs" ] || { echo "reqcount: $OBIN/lsmfs missing (run make)" >&2; exit 1; }

WORK=$(mktemp -d /var/tmp/reqcount.XXXXXX) || exit 1
MNT=$WORK/mnt; LOG=$WORK/lsmfs.log; DAEMON=
cleanup() {
    mountpoint -q "$MNT" 2>/dev/null && { fusermount3 -u "$MNT" 2>/dev/null || umount -l "$MNT"; }
    [ -n "$DAEMON" ] && { kill "$DAEMON" 2>/dev/null; wait "$DAEMON" 2>/dev/null; }
    rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bench_mount_lsmfs "$OBIN" "$WORK/store" "$MNT" "$LOG" -d "${EXTRA[@]}" ||
    { echo "reqcount: mount failed:"; tail -n 5 "$LOG"; exit 1; }

DROP_OK=0
sync && echo 3 > /proc/sys/vm/drop_caches 2>/dev/null && DROP_OK=1

# The operations, one python3 process per phase: ops.py PHASE DIR N
cat > "$WORK/ops.py" <<'EOF'
import os, sys
phase, d, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
blk = b"x" * 4096
MB = 1 << 20
def f(i): return f"{d}/f{i}"
def g(i): return f"{d}/g{i}"
if phase == "mkdir":
    os.mkdir(d)
elif phase == "create":
    for i in range(n): os.close(os.open(f(i), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
elif phase == "stat missing x2":
    for i in range(n):
        for _ in range(2):
            try: os.stat(f"{d}/missing{i}")
            except FileNotFoundError: pass
elif phase.startswith("stat"):
    for i in range(n): os.stat(f(i))
elif phase == "rename":
    for i in range(n): os.rename(f(i), g(i))
elif phase == "open+write 4K+close":
    for i in range(n):
        fd = os.open(g(i), os.O_WRONLY); os.write(fd, blk); os.close(fd)
elif phase == "write 4K (open fd)":
    fd = os.open(f"{d}/big", os.O_CREAT | os.O_WRONLY, 0o644)
    for i in range(n): os.pwrite(fd, blk, i * 4096)
    os.close(fd)
elif phase.startswith("open+read 4K+close"):
    for i in range(n):
        fd = os.open(g(i), os.O_RDONLY); os.read(fd, 8192); os.close(fd)
elif phase == "readdir (ls -l)":
    for e in os.scandir(d): e.stat(follow_symlinks=False)
elif phase == "unlink":
    for i in range(n): os.unlink(g(i))
elif phase == "write 1 MiB":
    fd = os.open(f"{d}/mb", os.O_CREAT | os.O_WRONLY, 0o644)
    for i in range(n): os.write(fd, blk * 256)
    os.close(fd)
elif phase == "read 1 MiB (cold)":
    fd = os.open(f"{d}/mb", os.O_RDONLY)
    for i in range(n): os.read(fd, MB)
    os.close(fd)
else:
    sys.exit("unknown phase " + phase)
EOF

# settle: waits until the log has not grown for 0.3 s.
settle() {
    local a b
    a=$(stat -c %s "$LOG")
    while sleep 0.3; b=$(stat -c %s "$LOG"); [ "$a" != "$b" ]; do a=$b; done
}
drop() { settle; sync; [ $DROP_OK -eq 1 ] && echo 3 > /proc/sys/vm/drop_caches; settle; }
status=0
# phase NAME DIVISOR: runs ops.py NAME, prints requests / DIVISOR and the opcode mix.
phase() {
    local name=$1 div=$2
    settle
    local from
    from=$(wc -l < "$LOG")
    (cd / && python3 "$WORK/ops.py" "$name" "$MNT/d" "$div") || { echo "$name: FAILED"; status=1; }
    settle
    tail -n +"$((from + 1))" "$LOG" | grep -o 'opcode: [^,]*' |
        sed -e 's/opcode: //' -e 's/??? (52)/STATX (52)/' -e 's/ ([0-9]*)//' |
        sort | uniq -c | sort -rn |
        awk -v name="$name" -v div="$div" '
            { tot += $1; mix = mix sprintf(" %s %.2f", $2, $1 / div) }
            END { printf "%-28s %8.2f  %s\n", name, tot / div, mix }'
}

echo "reqcount: $OBIN/lsmfs ${EXTRA[*]}, N=$N, drop_caches $([ $DROP_OK -eq 1 ] && echo on || echo 'NOT permitted: cold rows are warm')"
printf '%-28s %8s  %s\n' "operation" "req/op" "requests per operation, by opcode"
(cd / && python3 "$WORK/ops.py" mkdir "$MNT/d" 0) || exit 1
phase create "$N"
phase "stat (warm)" "$N"
drop; phase "stat (cold)" "$N"
phase "stat missing x2" "$N"
phase rename "$N"
phase "open+write 4K+close" "$N"
phase "open+read 4K+close (warm)" "$N"
drop; phase "open+read 4K+close (cold)" "$N"
drop; phase "readdir (ls -l)" "$N"
phase unlink "$N"
phase "write 4K (open fd)" "$N"
phase "write 1 MiB" 16
drop; phase "read 1 MiB (cold)" 16
echo "(per operation; N=$N files; 'stat missing x2' = two stats of one missing name; the 1 MiB rows: 16 MiB in 1 MiB calls; 'readdir (ls -l)' per entry)"
exit $status
