#!/bin/bash
# run.sh - the standard benchmark set of `make bench`: kvbench (engine vs RocksDB/LevelDB)
# on the workloads the project tracks, then tests/bench/fsbench.sh when it exists, then
# tests/bench/appbench.sh (applications vs ext4; LSMFS_OPTS passes extra lsmfs options), then
# fsbench's lsmfs-rados target (a store on a throw-away Ceph cluster) beside lsmfs.
#
#   tests/bench/run.sh [--quick]
#
# Everything printed goes to the terminal and to build/bench/results-<date>.txt as well
# (kvbench's per-repetition progress lines go to the terminal only).
#
# Environment:
#   O=build               build folder holding kvbench (made by bench.mk)
#   BENCH_QUICK=1         every size 10x smaller (same as --quick; passed to fsbench.sh)
#   BENCH_REPS=3          repetitions per kvbench run (backends alternate, medians shown)
#   BENCH_BACKENDS=...    backend list for kvbench (default lsm,rocksdb,leveldb)
#   KVBENCH_ARGS=...      extra kvbench options appended to every run (e.g. --db=/mnt/x)
#
# Exit status: 0 when every run succeeded, 1 when any failed (the rest still run).
set -u
cd "$(dirname "$0")/../.." || exit 1

O=${O:-build}
QUICK=${BENCH_QUICK:-0}
for a in "$@"; do
    case "$a" in
    --quick) QUICK=1 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $a" >&2; exit 2 ;;
    esac
done
REPS=${BENCH_REPS:-3}
BACKENDS=${BENCH_BACKENDS:-lsm,rocksdb,leveldb}
KVBENCH=$O/kvbench
if [ ! -x "$KVBENCH" ]; then
    echo "run.sh: $KVBENCH is missing; build it with: make all && make -f tests/bench/bench.mk O=$O" >&2
    exit 1
fi

# n SIZE: the size, 10x smaller under BENCH_QUICK.
n() { if [ "$QUICK" = 1 ]; then echo $(($1 / 10)); else echo "$1"; fi; }

mkdir -p "$O/bench"
OUT=$O/bench/results-$(date +%Y%m%d-%H%M%S).txt
status=0

log() { echo "$@" | tee -a "$OUT"; }

# kv TITLE ARGS...: one kvbench run, its table appended to $OUT.
kv() {
    local title=$1; shift
    log ""
    log "=== $title"
    log "\$ kvbench $* --reps=$REPS --backends=${BACKENDS} ${KVBENCH_ARGS:-}"
    # shellcheck disable=SC2086
    "$KVBENCH" "$@" --reps="$REPS" --backends="$BACKENDS" ${KVBENCH_ARGS:-} | tee -a "$OUT"
    local rc=${PIPESTATUS[0]}
    if [ "$rc" -ne 0 ]; then
        log "=== FAILED (exit $rc): $title"
        status=1
    fi
}

# Backends that have pipelined / concurrent memtable writes (leveldb has neither).
PIPE_BACKENDS=$(echo "$BACKENDS" | tr ',' '\n' | grep -v '^leveldb$' | paste -sd, -)

log "lsmfs benchmarks $(date -Iseconds) on $(hostname): $(nproc) CPUs, quick=$QUICK, reps=$REPS"
log "git $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (dirty tree)')"

kv "single thread, $(n 500000) keys" \
    --num="$(n 500000)" --threads=1 --benchmarks=fillseq,fillrandom,readrandom
kv "single thread, $(n 1000000) keys, db_bench's read/delete set" \
    --num="$(n 1000000)" --threads=1 --benchmarks=fillrandom,readrandom,readseq,seekrandom,deleterandom
kv "single thread, $(n 5000000) keys" \
    --num="$(n 5000000)" --threads=1 --benchmarks=fillrandom,overwrite,readrandom,readseq,seekrandom
kv "sync writes, group commit" \
    --num="$(n 20000)" --sync=1 --threads=1,2,4,8,16 --benchmarks=fillrandom
for p in 0 1; do
    for c in 0 1; do
        be=$BACKENDS
        [ "$p$c" != 00 ] && be=$PIPE_BACKENDS
        [ -z "$be" ] && continue
        BACKENDS=$be kv "async writes, pipelined=$p concurrent-memtable=$c" \
            --num="$(n 500000)" --sync=0 --threads=1,2,4,8 --benchmarks=fillrandom \
            --pipelined="$p" --concurrent-memtable="$c"
    done
done

# sub SCRIPT TITLE: runs tests/bench/SCRIPT (with --quick under BENCH_QUICK), output logged.
sub() {
    local script=tests/bench/$1
    if [ ! -e "$script" ]; then log "=== $1: not present; skipped"; return; fi
    if [ ! -x "$script" ]; then log "=== $1: not executable; skipped"; return; fi
    log ""
    log "=== $2"
    local args=()
    [ "$QUICK" = 1 ] && args+=(--quick)
    "$script" "${args[@]}" 2>&1 | tee -a "$OUT"
    [ "${PIPESTATUS[0]}" -ne 0 ] && { log "=== FAILED: $1"; status=1; }
}
sub fsbench.sh fsbench
sub appbench.sh "appbench (applications: lsmfs vs ext4)"
# Synced writes with group commit, the engine's store in Ceph RADOS (a one-node test cluster
# started here and always stopped; skipped with the reason when it cannot start) beside the
# same run on a local store.
RCL=$(mktemp -d /tmp/kvbench-rados.XXXXXX)
trap 'bash tests/rados/cluster.sh stop "$RCL/c"; rm -rf "$RCL"' EXIT
if ! nm "$KVBENCH" 2>/dev/null | grep -q rados_connect; then
    log ""
    log "=== kvbench on RADOS skipped: kvbench was built without librados"
elif RCONF=$(bash tests/rados/cluster.sh start "$RCL/c" 2>"$RCL/err"); then
    BACKENDS=lsm kv "sync writes, group commit, local store" \
        --num="$(n 20000)" --sync=1 --threads=1,4,16 --benchmarks=fillrandom
    LSMFS_RADOS_CONF=$RCONF BACKENDS=lsm KVBENCH_ARGS="${KVBENCH_ARGS:-} --db=rados://lsmfs" \
        kv "sync writes, group commit, store on RADOS (test cluster: the client path)" \
        --num="$(n 20000)" --sync=1 --threads=1,4,16 --benchmarks=fillrandom
    bash tests/rados/cluster.sh stop "$RCL/c"
else
    log ""
    log "=== kvbench on RADOS skipped: $(tail -n 1 "$RCL/err")"
fi

# A store on Ceph RADOS beside a local one: fsbench starts a one-node test cluster (memstore
# OSD on loopback) and stops it; quick sizes, since every write waits for the OSD.
if [ -x tests/bench/fsbench.sh ]; then
    log ""
    log "=== fsbench on RADOS (lsmfs-rados vs lsmfs, quick sizes; test cluster: the client path)"
    tests/bench/fsbench.sh --quick --targets "lsmfs lsmfs-rados" 2>&1 | tee -a "$OUT"
    [ "${PIPESTATUS[0]}" -ne 0 ] && { log "=== FAILED: fsbench on RADOS"; status=1; }
fi

log ""
log "results saved to $OUT"
exit $status
