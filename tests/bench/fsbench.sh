#!/bin/bash
# fsbench.sh - one filesystem benchmark battery on three targets in one run: lsmfs (store on
# ext4), libfuse's passthrough_ll over an ext4 folder, and plain ext4 (a folder on /).
# Targets alternate inside each repetition (the order rotates per rep) so drift on the
# machine hits them alike; every figure quoted is the median over the reps.
#
#   tests/bench/fsbench.sh [--reps N] [--quick] [--targets "lsmfs lsmfs-rados passthrough ext4"]
#                          [--O build] [--out FILE] [--keep]
#
#   --reps N     repetitions (default 3)          --quick   small sizes, for smoke tests
#   --O DIR      where lsmfs and mkfs.lsmfs are (default build, i.e. `make` output)
#   --out FILE   also write the table there       --keep    keep the scratch folder
#
# Targets: lsmfs (its default transport: FUSE-over-io_uring, switched on here through
# tools/enable-uring.sh, where the kernel has it), lsmfs-devfuse (-o nouring: read/write on
# /dev/fuse), lsmfs-rados (the store on Ceph RADOS: a one-node test cluster, memstore OSD on
# loopback, that this script starts with tests/rados/cluster.sh and always stops; left out,
# with the reason, when the Ceph daemons or the build's librados are missing; it measures
# the client path, not a real cluster's disks and network; not in the default list: every
# write of it waits for the OSD, so the full sizes take long; `make bench` runs it beside
# lsmfs at the --quick sizes), passthrough, ext4.
# LSMFS_OPTS adds -o options to the lsmfs targets.
#
# Battery: create/stat/readdir/rename/unlink of 20,000 empty files; 10,000 4 KiB files
# written then read; cp -a of /usr/include in and diff -r out; tar extract of a tarball of
# /usr/include; sequential 1 GiB write (fsync at the end) and read (page cache dropped
# between, where /proc/sys/vm/drop_caches is writable); random 4 KiB writes and reads on a
# 256 MiB file; 2,000 appends each followed by fsync; 4 parallel writers creating files;
# 100,000 null requests (fgetxattr of a missing name: the round trip, no work).
# A workload that fails on a target (passthrough_ll keeps an fd per inode and can hit the
# 20,000 open-file limit) is reported as FAILED, never shrunk. Needs root (FUSE mounts,
# drop_caches). Builds its helpers and passthrough_ll into build/bench/ (never committed).
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/bench/lib.sh
REPS=3; QUICK=0; TARGETS="lsmfs lsmfs-devfuse passthrough ext4"; LSMFS_OPTS=${LSMFS_OPTS:-}; OBIN=build; OUT=; KEEP=0
while [ $# -gt 0 ]; do
    case "$1" in
    --reps) REPS=$2; shift 2 ;;
    --quick) QUICK=1; shift ;;
    --targets) TARGETS=$2; shift 2 ;;
    --O) OBIN=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
    *) echo "fsbench: unknown argument $1" >&2; exit 2 ;;
    esac
done

if [ $QUICK -eq 1 ]; then
    NMETA=2000; NSMALL=1000; SEQ_MB=64; RAND_MB=32; RAND_OPS=2000; NAPPEND=200; PAR_N=250; NNULL=20000
    TREE=/usr/include/linux
else
    NMETA=20000; NSMALL=10000; SEQ_MB=1024; RAND_MB=256; RAND_OPS=20000; NAPPEND=2000; PAR_N=2500; NNULL=100000
    TREE=/usr/include
fi
PAR_T=4

BENCH=build/bench
mkdir -p "$BENCH"
HELPER=$BENCH/fs_bench
PT=$BENCH/passthrough_ll
cc -O2 -Wall -Wextra -Werror -pthread -o "$HELPER" tests/bench/fs_bench.c || exit 1
for t in $TARGETS; do
    case $t in
    lsmfs|lsmfs-devfuse|lsmfs-rados)
        [ -x "$OBIN/lsmfs" ] && [ -x "$OBIN/mkfs.lsmfs" ] ||
            { echo "fsbench: $OBIN/lsmfs or $OBIN/mkfs.lsmfs missing (run make)" >&2; exit 1; } ;;
    passthrough)
        if [ ! -x "$PT" ]; then
            # shellcheck disable=SC2046
            cc -O2 -o "$PT" /usr/share/doc/libfuse3-dev/examples/passthrough_ll.c \
                $(pkg-config --cflags --libs fuse3) || { echo "fsbench: cannot build passthrough_ll" >&2; exit 1; }
        fi ;;
    ext4) ;;
    *) echo "fsbench: unknown target $t" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" -eq 0 ] || { echo "fsbench: run as root (FUSE mounts, drop_caches)" >&2; exit 1; }
case " $TARGETS " in *" lsmfs "*) tools/enable-uring.sh ;; esac

WORK=$(mktemp -d /var/tmp/fsbench.XXXXXX) || exit 1
MNT=$WORK/mnt
DAEMON=
RCONF=; RSEQ=0; RSTORE=
cleanup() {
    [ -n "$MNT" ] && mountpoint -q "$MNT" 2>/dev/null && { fusermount3 -u "$MNT" 2>/dev/null || umount -l "$MNT"; }
    [ -n "$DAEMON" ] && { kill "$DAEMON" 2>/dev/null; wait "$DAEMON" 2>/dev/null; }
    [ -d "$WORK/cluster" ] && bash tests/rados/cluster.sh stop "$WORK/cluster"
    if [ $KEEP -eq 0 ]; then rm -rf --one-file-system "$WORK"; else echo "kept $WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# lsmfs-rados: bring up the test cluster once (its OSD keeps objects in memory: each
# store is emptied after its battery), or leave the target out with the reason.
if [[ " $TARGETS " == *" lsmfs-rados "* ]]; then
    why=
    if ! { nm "$OBIN/lsmfs" 2>/dev/null | grep -q rados_connect || ldd "$OBIN/lsmfs" | grep -q librados; }; then
        why="this build has no RADOS support (librados-dev missing at build time)"
    elif ! RCONF=$(RADOS_OSD_BYTES=$((8 << 30)) bash tests/rados/cluster.sh start "$WORK/cluster" 2>"$WORK/cluster.err"); then
        why="the test cluster did not start: $(tail -n 1 "$WORK/cluster.err")"
    fi
    if [ -n "$why" ]; then
        echo "fsbench: lsmfs-rados left out: $why"
        TARGETS=$(echo " $TARGETS " | sed 's/ lsmfs-rados / /; s/^ *//; s/ *$//')
        RCONF=
    fi
fi

DROP_OK=0
if sync && echo 3 > /proc/sys/vm/drop_caches 2>/dev/null; then DROP_OK=1; fi
drop_caches() { sync; [ $DROP_OK -eq 1 ] && echo 3 > /proc/sys/vm/drop_caches; }

TARBALL=$BENCH/tree.tar
TREE_BYTES=$(find "$TREE" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
if [ ! -f "$TARBALL" ] || [ "$(cat "$TARBALL.src" 2>/dev/null)" != "$TREE" ]; then
    tar -C "$(dirname "$TREE")" -cf "$TARBALL" "$(basename "$TREE")" && echo "$TREE" > "$TARBALL.src"
fi

# ---- targets ---------------------------------------------------------------------------
mount_target() { # target: leaves the filesystem under test at $MNT
    rm -rf --one-file-system "$WORK/store" "$WORK/ptsrc" "$WORK/ext4dir"
    DAEMON=
    case $1 in
    ext4) mkdir -p "$WORK/ext4dir"; MNT=$WORK/ext4dir; return 0 ;;
    lsmfs|lsmfs-devfuse)
        MNT=$WORK/mnt; mkdir -p "$MNT"
        "$OBIN/mkfs.lsmfs" "$WORK/store" >/dev/null || return 1
        local o=$LSMFS_OPTS
        [ "$1" = lsmfs-devfuse ] && o=${o:+$o,}nouring
        "$OBIN/lsmfs" -f ${o:+-o "$o"} "$WORK/store" "$MNT" >>"$WORK/lsmfs.log" 2>&1 &
        DAEMON=$! ;;
    lsmfs-rados)
        MNT=$WORK/mnt; mkdir -p "$MNT"
        RSEQ=$((RSEQ + 1)); RSTORE=fsbench$RSEQ
        "$OBIN/mkfs.lsmfs" -o "conf=$RCONF" "rados://lsmfs/$RSTORE" >/dev/null || return 1
        "$OBIN/lsmfs" -f -o "conf=$RCONF${LSMFS_OPTS:+,$LSMFS_OPTS}" "rados://lsmfs/$RSTORE" "$MNT" \
            >>"$WORK/lsmfs.log" 2>&1 &
        DAEMON=$! ;;
    passthrough)
        MNT=$WORK/mnt; mkdir -p "$MNT" "$WORK/ptsrc"
        "$PT" -f -o source="$WORK/ptsrc" "$MNT" >>"$WORK/passthrough.log" 2>&1 &
        DAEMON=$! ;;
    esac
    bench_wait_mount "$MNT"
}

unmount_target() {
    if [ -n "$DAEMON" ]; then
        bench_unmount "$MNT"
        if [ -n "$RSTORE" ]; then # free the OSD's memory: remove the store's objects
            rados -c "$RCONF" -p lsmfs -N "$RSTORE" ls 2>/dev/null |
                xargs -r rados -c "$RCONF" -p lsmfs -N "$RSTORE" rm 2>/dev/null
            RSTORE=
        fi
    else
        rm -rf --one-file-system "$MNT"
    fi
}

# ---- results ---------------------------------------------------------------------------
declare -A RES UNIT
METRICS=()
add_metric() { # name unit
    local m
    for m in "${METRICS[@]}"; do [ "$m" = "$1" ] && return; done
    METRICS+=("$1"); UNIT[$1]=$2
}
record() { # metric target value|FAILED
    RES["$1|$2"]="${RES["$1|$2"]:-} $3"
}
# run_h metric unit target helper-args...: rate from the helper's "secs count unit" line
run_h() {
    local metric=$1 unit=$2 target=$3; shift 3
    add_metric "$metric" "$unit"
    local out
    if out=$(timeout -k 10 1800 "$HELPER" "$@" 2>"$WORK/err"); then
        local rate
        rate=$(echo "$out" | awk -v u="$unit" '{ if ($1 <= 0) $1 = 1e-9; r = $2 / $1; if (u == "MB/s") r /= 1048576; printf "%.1f", r }')
        record "$metric" "$target" "$rate"
        return 0
    fi
    echo "    $metric on $target FAILED: $(tail -n 1 "$WORK/err")"
    record "$metric" "$target" FAILED
    return 1
}
# run_t metric target bytes command...: MB/s of a shell command (timed here)
run_t() {
    local metric=$1 target=$2 bytes=$3; shift 3
    add_metric "$metric" "MB/s"
    local t0 t1
    t0=$(date +%s.%N)
    if timeout -k 10 1800 "$@" >/dev/null 2>"$WORK/err"; then
        t1=$(date +%s.%N)
        record "$metric" "$target" "$(awk -v b="$bytes" -v a="$t0" -v z="$t1" 'BEGIN { printf "%.1f", b / 1048576 / (z - a) }')"
    else
        echo "    $metric on $target FAILED: $(tail -n 1 "$WORK/err")"
        record "$metric" "$target" FAILED
    fi
}

battery() { # target
    local t=$1 d
    # metadata: 20,000 empty files
    d=$MNT/meta; mkdir "$d"
    if run_h "create ${NMETA} files" ops/s "$t" create "$d" "$NMETA"; then
        drop_caches
        run_h "stat ${NMETA} files" ops/s "$t" stat "$d" "$NMETA"
        drop_caches
        run_h "readdir ${NMETA} files" entries/s "$t" readdir "$d" "$NMETA"
        run_h "rename ${NMETA} files" ops/s "$t" rename "$d" "$NMETA"
        run_h "unlink ${NMETA} files" ops/s "$t" unlink "$d" "$NMETA"
    else
        for m in stat readdir rename unlink; do
            add_metric "$m ${NMETA} files" ops/s; record "$m ${NMETA} files" "$t" FAILED
        done
    fi
    # drop caches first: a passthrough_ll that ran out of fds gets them back when the kernel
    # forgets its inodes
    drop_caches; rm -rf "$d" 2>/dev/null || { drop_caches; rm -rf "$d"; }; drop_caches
    # small files
    d=$MNT/small; mkdir "$d"
    run_h "write ${NSMALL} x 4KiB files" MB/s "$t" small_write "$d" "$NSMALL" 4096
    drop_caches
    run_h "read ${NSMALL} x 4KiB files" MB/s "$t" small_read "$d" "$NSMALL" 4096
    rm -rf "$d"; drop_caches
    # a source tree in and out, and a tar extract
    run_t "cp -a $TREE in" "$t" "$TREE_BYTES" cp -a "$TREE" "$MNT/tree"
    drop_caches
    run_t "diff -r $TREE out" "$t" "$TREE_BYTES" diff -r --no-dereference "$TREE" "$MNT/tree/"
    rm -rf "$MNT/tree"; drop_caches
    mkdir "$MNT/tar"
    run_t "tar x $(basename "$TREE")" "$t" "$TREE_BYTES" tar -C "$MNT/tar" -xf "$TARBALL"
    rm -rf "$MNT/tar"; drop_caches
    # sequential
    run_h "seq write ${SEQ_MB} MiB + fsync" MB/s "$t" seq_write "$MNT/seq" $((SEQ_MB << 20))
    drop_caches
    run_h "seq read ${SEQ_MB} MiB (cold)" MB/s "$t" seq_read "$MNT/seq"
    rm -f "$MNT/seq"; drop_caches
    # random 4 KiB
    if "$HELPER" rand_prep "$MNT/rand" $((RAND_MB << 20)) >/dev/null 2>"$WORK/err"; then
        drop_caches
        run_h "rand 4KiB write (${RAND_MB} MiB file)" ops/s "$t" rand_write "$MNT/rand" "$RAND_OPS"
        drop_caches
        run_h "rand 4KiB read (${RAND_MB} MiB file)" ops/s "$t" rand_read "$MNT/rand" "$RAND_OPS"
    else
        echo "    rand_prep on $t FAILED: $(tail -n 1 "$WORK/err")"
        for m in write read; do
            add_metric "rand 4KiB $m (${RAND_MB} MiB file)" ops/s; record "rand 4KiB $m (${RAND_MB} MiB file)" "$t" FAILED
        done
    fi
    rm -f "$MNT/rand"; drop_caches
    run_h "${NAPPEND} appends + fsync each" ops/s "$t" append_fsync "$MNT/append" "$NAPPEND"
    rm -f "$MNT/append"
    # the transport's floor: a request the daemon answers without work (ext4: the syscall)
    run_h "null request (fgetxattr, none)" ops/s "$t" null_req "$MNT/null" "$NNULL"
    rm -f "$MNT/null"
    mkdir "$MNT/par"
    run_h "${PAR_T} writers create 4KiB files" files/s "$t" par_create "$MNT/par" "$PAR_T" "$PAR_N" 4096
    rm -rf "$MNT/par"; drop_caches
}

ratio() { # a b
    if [ "$1" = FAILED ] || [ "$2" = FAILED ] || [ "$1" = - ] || [ "$2" = - ]; then echo "-"; return; fi
    awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'
}

# ---- run -------------------------------------------------------------------------------
read -r -a TLIST <<< "$TARGETS"
echo "fsbench: reps $REPS, targets ${TLIST[*]}, $([ $QUICK -eq 1 ] && echo quick || echo full) sizes," \
     "drop_caches $([ $DROP_OK -eq 1 ] && echo on || echo 'NOT permitted (reads may be warm)'), scratch $WORK"
for rep in $(seq 1 "$REPS"); do
    n=${#TLIST[@]}
    for k in $(seq 0 $((n - 1))); do
        t=${TLIST[$(( (k + rep - 1) % n ))]}
        echo "  rep $rep: $t"
        if ! mount_target "$t"; then
            echo "    could not mount $t"; tail -n 5 "$WORK"/*.log 2>/dev/null
            add_metric "mount" "-"; record mount "$t" FAILED
            continue
        fi
        battery "$t"
        unmount_target
    done
done

table() {
    printf '%-38s %-10s' "workload" "unit"
    local t
    for t in "${TLIST[@]}"; do printf ' %12s' "$t"; done
    [[ " ${TLIST[*]} " == *" lsmfs "* ]] && [[ " ${TLIST[*]} " == *" passthrough "* ]] && printf ' %10s' "lsmfs/pt"
    [[ " ${TLIST[*]} " == *" lsmfs "* ]] && [[ " ${TLIST[*]} " == *" ext4 "* ]] && printf ' %10s' "lsmfs/ext4"
    [[ " ${TLIST[*]} " == *" lsmfs "* ]] && [[ " ${TLIST[*]} " == *" lsmfs-devfuse "* ]] && printf ' %10s' "uring/dev"
    [[ " ${TLIST[*]} " == *" lsmfs "* ]] && [[ " ${TLIST[*]} " == *" lsmfs-rados "* ]] && printf ' %10s' "rados/lsmfs"
    printf '\n'
    local m
    for m in "${METRICS[@]}"; do
        printf '%-38s %-10s' "$m" "${UNIT[$m]}"
        declare -A med=()
        for t in "${TLIST[@]}"; do
            # shellcheck disable=SC2086
            med[$t]=$(bench_median ${RES["$m|$t"]:-})
            printf ' %12s' "${med[$t]}"
        done
        [[ -n "${med[lsmfs]:-}" && -n "${med[passthrough]:-}" ]] && printf ' %10s' "$(ratio "${med[lsmfs]}" "${med[passthrough]}")"
        [[ -n "${med[lsmfs]:-}" && -n "${med[ext4]:-}" ]] && printf ' %10s' "$(ratio "${med[lsmfs]}" "${med[ext4]}")"
        [[ -n "${med[lsmfs]:-}" && -n "${med[lsmfs-devfuse]:-}" ]] && printf ' %10s' "$(ratio "${med[lsmfs]}" "${med[lsmfs-devfuse]}")"
        [[ -n "${med[lsmfs]:-}" && -n "${med[lsmfs-rados]:-}" ]] && printf ' %10s' "$(ratio "${med[lsmfs-rados]}" "${med[lsmfs]}")"
        printf '\n'
        unset med
    done
    echo "(medians of $REPS rep(s); higher is better; FAILED = the workload errored on that target)"
}
echo
table | tee ${OUT:+"$OUT"}
