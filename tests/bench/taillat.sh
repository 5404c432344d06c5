#!/bin/bash
# taillat.sh - latency percentiles (p50/p99/p99.9) of random 4 KiB writes, lsmfs vs ext4.
#
#   tests/bench/taillat.sh [--reps N] [--secs S] [--size MiB] [--O build] [-- lsmfs args]
#
# fio (psync, queue depth 1, one job) overwrites random 4 KiB blocks of a file laid out
# first (default 256 MiB) for S seconds (default 20) on a fresh lsmfs store (mounted with the
# lsmfs arguments after --, plus $LSMFS_OPTS) and on an ext4 directory in /var/tmp (the same
# disk), alternating, N reps (default 3). Prints each run's IOPS and completion-latency
# percentiles in microseconds, then the medians. Needs root and fio (make deps).
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/bench/lib.sh
REPS=3; SECS=20; SIZE=256; OBIN=build
while [ $# -gt 0 ]; do
    case "$1" in
    --reps) REPS=$2; shift 2 ;;
    --secs) SECS=$2; shift 2 ;;
    --size) SIZE=$2; shift 2 ;;
    --O) OBIN=$2; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "taillat: unknown argument $1" >&2; exit 2 ;;
    esac
done
EXTRA=("$@")
# shellcheck disable=SC2206
[ -n "${LSMFS_OPTS:-}" ] && EXTRA+=($LSMFS_OPTS)
command -v fio >/dev/null || { echo "taillat: fio missing (make deps)" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "taillat: run as root" >&2; exit 1; }
WORK=$(mktemp -d /var/tmp/taillat.XXXXXX) || exit 1
MNT=$WORK/mnt; DAEMON=
cleanup() {
    mountpoint -q "$MNT" 2>/dev/null && { fusermount3 -u "$MNT" 2>/dev/null || umount -l "$MNT"; }
    [ -n "$DAEMON" ] && { kill "$DAEMON" 2>/dev/null; wait "$DAEMON" 2>/dev/null; }
    rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# run DIR: one fio run in DIR; prints "iops p50 p99 p99.9" (latencies in us).
run() {
    fio --name=rw --directory="$1" --filename=f --size="${SIZE}M" --rw=randwrite --bs=4k \
        --ioengine=psync --time_based --runtime="$SECS" --percentile_list=50:99:99.9 \
        --output-format=json 2>/dev/null |
        python3 -c '
import json, sys
j = json.load(sys.stdin)["jobs"][0]["write"]
p = j["clat_ns"]["percentile"]
print("%.0f %.0f %.0f %.0f" % (j["iops"], p["50.000000"] / 1e3, p["99.000000"] / 1e3, p["99.900000"] / 1e3))'
}
declare -A R
for rep in $(seq 1 "$REPS"); do
    for t in $( ((rep % 2)) && echo "lsmfs ext4" || echo "ext4 lsmfs"); do
        if [ $t = ext4 ]; then
            mkdir -p "$WORK/ext4"; out=$(run "$WORK/ext4"); rm -rf "$WORK/ext4"
        else
            bench_mount_lsmfs "$OBIN" "$WORK/store" "$MNT" "$WORK/log" "${EXTRA[@]}" ||
                { echo "taillat: mount failed"; tail -n 5 "$WORK/log"; exit 1; }
            out=$(run "$MNT")
            bench_unmount "$MNT"
        fi
        echo "rep $rep $t: iops p50 p99 p99.9 = $out"
        R[$t]="${R[$t]:-}$out"$'\n'
    done
done
# med COLUMN: the median of that column of stdin.
med() { local v; mapfile -t v < <(awk -v c="$1" '{ print $c }'); bench_median "${v[@]}"; }
for t in lsmfs ext4; do
    printf 'median %-6s IOPS %s p50us %s p99us %s p99.9us %s\n' "$t" \
        "$(printf '%s' "${R[$t]}" | med 1)" "$(printf '%s' "${R[$t]}" | med 2)" \
        "$(printf '%s' "${R[$t]}" | med 3)" "$(printf '%s' "${R[$t]}" | med 4)"
done
