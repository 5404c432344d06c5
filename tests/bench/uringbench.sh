#!/bin/bash
# uringbench.sh - the per-request cost of lsmfs's transport under different settings, with
# the daemon's own CPU time and context switches (perf stat -p on the daemon) beside the
# wall time, and plain ext4 as the floor. Used to choose the io_uring transport's
# defaults (uring_poll, uring_threads, uring_nopin): CPU time and context switches are far
# steadier than wall time on a shared machine.
#
#   tests/bench/uringbench.sh [--reps N] [--O build] [--n 20000] [--nnull 50000]
#                             LABEL=OPTS ...
#
# Each LABEL=OPTS is one target: lsmfs from --O with `-o OPTS` (OPTS may be empty), or,
# for the label `ext4`, a plain folder on the disk. Targets alternate inside each
# repetition (the order rotates per rep); every figure is the median over the reps.
# Workloads: N null requests (fgetxattr of a missing name), create / stat (caches
# dropped first) / rename / unlink of N empty files in one folder, 4 threads creating N
# 4 KiB files in all (par4), tar x of /usr/include, then rm -rf of that tree. For each:
# wall time, daemon CPU ms (task-clock) and daemon context switches; "us/op" is the
# daemon CPU per operation (per file for tar and rm).
# Needs root (FUSE mounts, drop_caches) and perf. Scratch lives in build/bench.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/bench/lib.sh
REPS=3; OBIN=build; N=20000; NNULL=50000; TARGETS=()
while [ $# -gt 0 ]; do
    case "$1" in
    --reps) REPS=$2; shift 2 ;;
    --O) OBIN=$2; shift 2 ;;
    --n) N=$2; shift 2 ;;
    --nnull) NNULL=$2; shift 2 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *=*) TARGETS+=("$1"); shift ;;
    *) echo "uringbench: unknown argument $1 (targets are LABEL=OPTS)" >&2; exit 2 ;;
    esac
done
[ ${#TARGETS[@]} -gt 0 ] || { echo "uringbench: name at least one LABEL=OPTS target" >&2; exit 2; }
command -v perf >/dev/null || { echo "uringbench: needs perf" >&2; exit 2; }

BENCH=build/bench
mkdir -p "$BENCH"
HELPER=$BENCH/fs_bench
cc -O2 -Wall -Wextra -Werror -pthread -o "$HELPER" tests/bench/fs_bench.c || exit 1
TARBALL=$BENCH/uring-tree.tar
[ -f "$TARBALL" ] || tar -C /usr -cf "$TARBALL" include || exit 1
NTAR=$(tar -tf "$TARBALL" | wc -l)
tools/enable-uring.sh >/dev/null 2>&1 || true
WORK=$(mktemp -d "$PWD/$BENCH/uringbench.XXXXXX")
MNT=$WORK/mnt; DAEMON=; PERF=
cleanup() {
    [ -n "$PERF" ] && kill -INT "$PERF" 2>/dev/null
    mountpoint -q "$MNT" 2>/dev/null && bench_unmount "$MNT"
    rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true; }

# measure LABEL WORKLOAD OPS command...: runs the command with perf on the daemon; appends
# "label workload wall_s cpu_ms cs ops" to $WORK/raw
measure() {
    local label=$1 wl=$2 ops=$3; shift 3
    local out=$WORK/perf.out cpu=0 cs=0 t0 t1
    rm -f "$out"
    if [ -n "$DAEMON" ]; then
        perf stat -x, -e task-clock,context-switches -p "$DAEMON" -o "$out" 2>/dev/null &
        PERF=$!
        sleep 0.3
    fi
    t0=$(date +%s.%N)
    "$@" >/dev/null 2>"$WORK/err" || { echo "    $label $wl FAILED: $(tail -n 1 "$WORK/err")"; }
    t1=$(date +%s.%N)
    if [ -n "$PERF" ]; then
        kill -INT "$PERF"; wait "$PERF" 2>/dev/null; PERF=
        cpu=$(awk -F, '/task-clock/ { printf "%.1f", $1 }' "$out")
        cs=$(awk -F, '/context-switches/ { print $1 }' "$out")
    fi
    echo "$label $wl $(awk -v a="$t0" -v z="$t1" 'BEGIN { printf "%.4f", z - a }') ${cpu:-0} ${cs:-0} $ops" >>"$WORK/raw"
}

battery() { # label dir
    local l=$1 d=$2
    measure "$l" null "$NNULL" "$HELPER" null_req "$d/null" "$NNULL"
    mkdir "$d/meta"
    measure "$l" create "$N" "$HELPER" create "$d/meta" "$N"
    drop_caches
    measure "$l" stat "$N" "$HELPER" stat "$d/meta" "$N"
    measure "$l" rename "$N" "$HELPER" rename "$d/meta" "$N"
    measure "$l" unlink "$N" "$HELPER" unlink "$d/meta" "$N"
    mkdir "$d/par"
    measure "$l" par4 "$N" "$HELPER" par_create "$d/par" 4 $((N / 4)) 4096
    mkdir "$d/tar"
    measure "$l" "tar_x" "$NTAR" tar -C "$d/tar" -xf "$TARBALL"
    drop_caches
    measure "$l" "rm_rf" "$NTAR" rm -rf "$d/tar"
}

echo "uringbench: $(uptime)"
for rep in $(seq 1 "$REPS"); do
    n=${#TARGETS[@]}
    for i in $(seq 0 $((n - 1))); do
        t=${TARGETS[$(((i + rep - 1) % n))]}
        label=${t%%=*}; opts=${t#*=}
        echo "  rep $rep: $label"
        if [ "$label" = ext4 ]; then
            DAEMON=; rm -rf "$WORK/ext4"; mkdir -p "$WORK/ext4"
            battery "$label" "$WORK/ext4"; rm -rf "$WORK/ext4"
        else
            bench_mount_lsmfs "$OBIN" "$WORK/store" "$MNT" "$WORK/$label.log" \
                ${opts:+-o "$opts"} || { echo "    could not mount $label"; tail -n 3 "$WORK/$label.log"; continue; }
            battery "$label" "$MNT"
            bench_unmount "$MNT"
            grep -a 'io_uring served' "$WORK/$label.log" | tail -n 1 | sed 's/^/    /'
        fi
    done
done
echo "uringbench: $(uptime)"
python3 - "$WORK/raw" "${TARGETS[@]}" <<'PY'
import sys, statistics as st
rows = [l.split() for l in open(sys.argv[1])]
print("%-10s %-8s %9s %10s %9s %10s %8s" % ("target", "workload", "wall s", "us/op wall",
                                            "cpu ms", "us/op cpu", "cs/op"))
for t in sys.argv[2:]:
    label = t.split("=", 1)[0]
    for wl in ("null", "create", "stat", "rename", "unlink", "par4", "tar_x", "rm_rf"):
        r = [x for x in rows if x[0] == label and x[1] == wl]
        if not r:
            continue
        ops = float(r[0][5])
        wall, cpu, cs = (st.median(float(x[k]) for x in r) for k in (2, 3, 4))
        print("%-10s %-8s %9.3f %10.2f %9.1f %10.2f %8.2f" %
              (label, wl, wall, wall * 1e6 / ops, cpu, cpu * 1e3 / ops, cs / ops))
print("(medians of %d rep(s); cpu and cs are the daemon's, from perf stat -p)" %
      max(1, len([x for x in rows if x[1] == "null"]) // max(1, len(sys.argv) - 2)))
PY
