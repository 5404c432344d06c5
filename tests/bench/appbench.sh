#!/bin/bash
# appbench.sh - application benchmark: what a user feels, lsmfs against plain ext4 on the
# same disk. Each workload is a real program, timed from outside (wall-clock seconds):
#
#   sqlite   python3's sqlite3: WAL mode, 100 transactions of 1,000 rows, then
#            `pragma integrity_check` (must answer "ok")
#   git      git init, add + commit of this project's source tree, git gc, git fsck
#   tar      tar extract of a source tree (a tarball of /usr/include, or $APPBENCH_TREE)
#   build    `make -j2` of this project, in a copy of its source tree on the filesystem
#   files    $APPBENCH_NFILES empty files in 200 directories created (python3, one open+close
#            each), then `rm -rf` of them (two rows: create, rm -rf)
#
#   tests/bench/appbench.sh [--reps N] [--quick] [--targets "ext4 lsmfs ..."]
#                           [--workloads "sqlite git tar build files"] [--O build]
#                           [--out FILE] [--keep]
#
# Targets (default "ext4 lsmfs lsmfs+nouring"): `ext4` is a directory on the filesystem holding /var/tmp (on this machine the same
# ext4 disk as /work and the lsmfs store). `lsmfs` is a fresh store (mkfs.lsmfs) in the same
# place, mounted with the options in $LSMFS_OPTS (e.g. LSMFS_OPTS="-o writeback"). More lsmfs
# columns: `lsmfs+OPT[+OPT...]` mounts with $LSMFS_OPTS plus `-o OPT,...`, e.g.
# --targets "ext4 lsmfs lsmfs+uring lsmfs+writeback". `lsmfs@DIR[+OPT...]` takes lsmfs and
# mkfs.lsmfs from DIR instead of --O (an older build to compare, e.g. lsmfs@/work/main/build).
# Targets alternate inside each rep (the
# order rotates per rep); every figure is the median over the reps; the ratio columns are
# target time / ext4 time (lower is better, 1.00 = as fast as ext4).
#
# Environment: LSMFS_OPTS (extra lsmfs arguments, default none), APPBENCH_NFILES (files for
# the `files` workload; default 20000, 2000 with --quick; the issue's figure is 200000),
# APPBENCH_TREE (tree tarred for `tar`; default /usr/include, /usr/include/linux with
# --quick). Needs root (FUSE mounts). Scratch in /var/tmp/appbench.XXXXXX, removed at the end.
set -u
cd "$(dirname "$0")/../.." || exit 1
SRC=$PWD
. tests/bench/lib.sh
REPS=3; QUICK=0; TARGETS="ext4 lsmfs lsmfs+nouring"; OBIN=build; OUT=; KEEP=0
WORKLOADS="sqlite git tar build files"
while [ $# -gt 0 ]; do
    case "$1" in
    --reps) REPS=$2; shift 2 ;;
    --quick) QUICK=1; shift ;;
    --targets) TARGETS=$2; shift 2 ;;
    --workloads) WORKLOADS=$2; shift 2 ;;
    --O) OBIN=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    *) echo "appbench: unknown argument $1" >&2; exit 2 ;;
    esac
done
if [ $QUICK -eq 1 ]; then
    NFILES=${APPBENCH_NFILES:-2000}; TREE=${APPBENCH_TREE:-/usr/include/linux}; SQL_TX=10
else
    NFILES=${APPBENCH_NFILES:-20000}; TREE=${APPBENCH_TREE:-/usr/include}; SQL_TX=100
fi
LSMFS_OPTS=${LSMFS_OPTS:-}
[ "$(id -u)" -eq 0 ] || { echo "appbench: run as root (FUSE mounts)" >&2; exit 1; }
[ -x "$OBIN/lsmfs" ] && [ -x "$OBIN/mkfs.lsmfs" ] ||
    { echo "appbench: $OBIN/lsmfs or $OBIN/mkfs.lsmfs missing (run make)" >&2; exit 1; }
for t in $TARGETS; do
    case $t in ext4|lsmfs|lsmfs+*|lsmfs@*) ;; *) echo "appbench: unknown target $t" >&2; exit 2 ;; esac
    if [[ $t == lsmfs@* ]]; then
        d=${t#lsmfs@}; d=${d%%+*}
        [ -x "$d/lsmfs" ] && [ -x "$d/mkfs.lsmfs" ] ||
            { echo "appbench: $d/lsmfs or $d/mkfs.lsmfs missing (target $t)" >&2; exit 2; }
    fi
done
for w in $WORKLOADS; do
    case $w in sqlite|git|tar|build|files) ;; *) echo "appbench: unknown workload $w" >&2; exit 2 ;; esac
done
# lsmfs's default transport is FUSE-over-io_uring where the kernel offers it; lsmfs+nouring
# is the /dev/fuse column (issue 11 asks for both).
case " $TARGETS " in *" lsmfs "*|*"+uring"*) tools/enable-uring.sh ;; esac
for p in python3 git tar make cc; do
    command -v $p >/dev/null || { echo "appbench: $p is missing (make deps)" >&2; exit 1; }
done

BENCH=$OBIN/bench
mkdir -p "$BENCH"
WORK=$(mktemp -d /var/tmp/appbench.XXXXXX) || exit 1
MNT=; DAEMON=
cleanup() {
    [ -n "$DAEMON" ] && mountpoint -q "$WORK/mnt" 2>/dev/null &&
        { fusermount3 -u "$WORK/mnt" 2>/dev/null || umount -l "$WORK/mnt"; }
    [ -n "$DAEMON" ] && { kill "$DAEMON" 2>/dev/null; wait "$DAEMON" 2>/dev/null; }
    if [ $KEEP -eq 0 ]; then rm -rf --one-file-system "$WORK"; else echo "kept $WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Inputs, made once outside the filesystems under test: this project's source tree (the
# files git tracks, as a tarball) and the tree for the tar workload.
PROJ_TAR=$WORK/project.tar
git -C "$SRC" ls-files -z | tar -C "$SRC" --null -T - -cf "$PROJ_TAR" ||
    { echo "appbench: cannot tar the project's source tree" >&2; exit 1; }
TREE_TAR=$WORK/tree.tar
tar -C "$(dirname "$TREE")" -cf "$TREE_TAR" "$(basename "$TREE")" 2>/dev/null ||
    { echo "appbench: cannot tar $TREE" >&2; exit 1; }
# The SQLite workload (python3's sqlite3 module).
cat > "$WORK/sqlite.py" <<'EOF'
import sqlite3, sys
path, ntx = sys.argv[1], int(sys.argv[2])
db = sqlite3.connect(path, isolation_level=None)
if db.execute("pragma journal_mode=wal").fetchone()[0] != "wal":
    sys.exit("sqlite: WAL mode refused")
db.execute("create table t (id integer primary key, k text, v blob)")
for tx in range(ntx):
    db.execute("begin")
    db.executemany("insert into t (k, v) values (?, ?)",
                   ((f"key-{tx}-{i}", bytes(100)) for i in range(1000)))
    db.execute("commit")
ok = db.execute("pragma integrity_check").fetchone()[0]
n = db.execute("select count(*) from t").fetchone()[0]
db.close()
if ok != "ok" or n != ntx * 1000:
    sys.exit(f"sqlite: integrity_check {ok!r}, {n} rows")
EOF
# The `files` workload's creator: N empty files spread over 200 directories.
cat > "$WORK/files.py" <<'EOF'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
ndirs = 200
for d in range(ndirs):
    os.mkdir(f"{root}/d{d}")
for i in range(n):
    os.close(os.open(f"{root}/d{i % ndirs}/f{i}", os.O_CREAT | os.O_WRONLY, 0o644))
EOF

# The git workload: init, add + commit the tree in $1, gc, fsck.
cat > "$WORK/git.sh" <<'EOF'
cd "$1" && git init -q . && git add -A &&
    git -c user.name=bench -c user.email=bench@localhost commit -q -m tree &&
    git gc -q && git fsck --no-progress --strict
EOF

# ---- targets ---------------------------------------------------------------------------
# mount_target TARGET: leaves the filesystem under test (empty) at $MNT.
mount_target() {
    rm -rf --one-file-system "$WORK/ext4dir"
    DAEMON=
    if [ "$1" = ext4 ]; then
        MNT=$WORK/ext4dir; mkdir -p "$MNT"; return 0
    fi
    local extra=() o=${1#lsmfs} bin=$OBIN
    if [[ $o == @* ]]; then bin=${o#@}; bin=${bin%%+*}; o=${o#@"$bin"}; fi
    # shellcheck disable=SC2206
    [ -n "$LSMFS_OPTS" ] && extra=($LSMFS_OPTS)
    [ -n "$o" ] && extra+=(-o "$(echo "${o#+}" | tr + ,)")
    MNT=$WORK/mnt
    bench_mount_lsmfs "$bin" "$WORK/store" "$MNT" "$WORK/lsmfs.log" "${extra[@]}"
}

unmount_target() {
    if [ -z "$DAEMON" ]; then rm -rf --one-file-system "$MNT"; else bench_unmount "$MNT"; fi
}

# ---- workloads -------------------------------------------------------------------------
declare -A RES
ROWS=()
add_row() { local r; for r in "${ROWS[@]}"; do [ "$r" = "$1" ] && return; done; ROWS+=("$1"); }
# timed ROW TARGET COMMAND...: records the command's wall time in seconds, or FAILED.
timed() {
    local row=$1 target=$2; shift 2
    add_row "$row"
    local t0 t1
    t0=$(date +%s.%N)
    if timeout -k 10 3600 "$@" >"$WORK/out" 2>&1; then
        t1=$(date +%s.%N)
        RES["$row|$target"]="${RES["$row|$target"]:-} $(awk -v a="$t0" -v z="$t1" 'BEGIN { printf "%.2f", z - a }')"
        return 0
    fi
    echo "    $row on $target FAILED: $(tail -n 3 "$WORK/out")"
    RES["$row|$target"]="${RES["$row|$target"]:-} FAILED"
    return 1
}

battery() { # target
    local t=$1 w
    for w in $WORKLOADS; do
        case $w in
        sqlite)
            timed "sqlite: ${SQL_TX} tx x 1000 rows (WAL)" "$t" \
                python3 "$WORK/sqlite.py" "$MNT/bench.db" "$SQL_TX"
            rm -f "$MNT"/bench.db* ;;
        git)
            mkdir "$MNT/git" && tar -C "$MNT/git" -xf "$PROJ_TAR"
            timed "git: init, add+commit, gc, fsck" "$t" bash "$WORK/git.sh" "$MNT/git"
            rm -rf "$MNT/git" ;;
        tar)
            mkdir "$MNT/tar"
            timed "tar x $(basename "$TREE")" "$t" tar -C "$MNT/tar" -xf "$TREE_TAR"
            rm -rf "$MNT/tar" ;;
        build)
            mkdir "$MNT/build" && tar -C "$MNT/build" -xf "$PROJ_TAR"
            timed "make -j2 of lsmfs" "$t" make -C "$MNT/build" -j2 all
            rm -rf "$MNT/build" ;;
        files)
            mkdir "$MNT/files"
            if timed "${NFILES} files in 200 dirs: create" "$t" \
                python3 "$WORK/files.py" "$MNT/files" "$NFILES"; then
                timed "${NFILES} files in 200 dirs: rm -rf" "$t" rm -rf "$MNT/files"
            fi
            rm -rf "$MNT/files" ;;
        esac
    done
}

# ---- run -------------------------------------------------------------------------------
read -r -a TLIST <<< "$TARGETS"
echo "appbench: $(date -Iseconds), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)," \
     "reps $REPS, targets ${TLIST[*]}, LSMFS_OPTS='${LSMFS_OPTS}', files $NFILES," \
     "ext4 = a directory on $(df --output=source,fstype /var/tmp | tail -n 1 | tr -s ' ')," \
     "git $(git -C "$SRC" rev-parse --short HEAD 2>/dev/null)"
for rep in $(seq 1 "$REPS"); do
    n=${#TLIST[@]}
    for k in $(seq 0 $((n - 1))); do
        t=${TLIST[$(( (k + rep - 1) % n ))]}
        echo "  rep $rep: $t"
        if ! mount_target "$t"; then
            echo "    could not mount $t"; tail -n 5 "$WORK/lsmfs.log" 2>/dev/null
            for w in "${ROWS[@]}"; do RES["$w|$t"]="${RES["$w|$t"]:-} FAILED"; done
            continue
        fi
        battery "$t"
        unmount_target
    done
done

table() {
    local t r
    printf '%-40s' "workload (seconds)"
    for t in "${TLIST[@]}"; do printf ' %12s' "$t"; done
    for t in "${TLIST[@]}"; do [ "$t" != ext4 ] && printf ' %14s' "$t/ext4"; done
    printf '\n'
    for r in "${ROWS[@]}"; do
        printf '%-40s' "$r"
        declare -A med=()
        for t in "${TLIST[@]}"; do
            # shellcheck disable=SC2086
            med[$t]=$(bench_median ${RES["$r|$t"]:-})
            printf ' %12s' "${med[$t]}"
        done
        for t in "${TLIST[@]}"; do
            [ "$t" = ext4 ] && continue
            printf ' %14s' "$(awk -v a="${med[$t]}" -v b="${med[ext4]:--}" \
                'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "-" }')"
        done
        printf '\n'
        unset med
    done
    echo "(wall seconds, medians of $REPS rep(s), lower is better; ratio = time / ext4 time)"
}
echo
table | tee ${OUT:+"$OUT"}
status=0
for r in "${ROWS[@]}"; do for t in "${TLIST[@]}"; do
    [[ "${RES["$r|$t"]:-}" == *FAILED* ]] && status=1
done; done
exit $status
