# lib.sh - helpers shared by the shell benchmarks in tests/bench (sourced, never run).
#
# bench_mount_lsmfs BIN_DIR STORE MNT LOG [lsmfs args...]: makes a fresh store and mounts it
#   in the foreground daemon, whose pid it leaves in DAEMON; returns 1 if the mount does not
#   come up within 10 s (the daemon then is left for bench_unmount to stop).
# bench_wait_mount MNT: waits up to 10 s for MNT to be a mount point; 1 if it is not, or if
#   the daemon DAEMON has exited.
# bench_unmount MNT: unmounts (fusermount3, lazy umount as the last resort) and waits for
#   DAEMON to exit (up to 60 s, then kills it); clears DAEMON.
# bench_median VALUES...: the median of numbers; FAILED if any is FAILED, - if none.

bench_mount_lsmfs() {
    local bin=$1 store=$2 mnt=$3 log=$4; shift 4
    rm -rf --one-file-system "$store"
    mkdir -p "$mnt"
    "$bin/mkfs.lsmfs" -q "$store" >/dev/null || return 1
    "$bin/lsmfs" -f "$@" "$store" "$mnt" >>"$log" 2>&1 &
    DAEMON=$!
    bench_wait_mount "$mnt"
}

bench_wait_mount() {
    local _
    for _ in $(seq 1 200); do
        mountpoint -q "$1" && return 0
        kill -0 "$DAEMON" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

bench_unmount() {
    local mnt=$1 _
    for _ in $(seq 1 10); do fusermount3 -u "$mnt" 2>/dev/null && break; sleep 0.5; done
    mountpoint -q "$mnt" && umount -l "$mnt"
    [ -n "${DAEMON:-}" ] || return 0
    for _ in $(seq 1 600); do kill -0 "$DAEMON" 2>/dev/null || break; sleep 0.1; done
    kill "$DAEMON" 2>/dev/null
    wait "$DAEMON" 2>/dev/null
    DAEMON=
}

bench_median() {
    local v
    for v in "$@"; do [ "$v" = FAILED ] && { echo FAILED; return; }; done
    [ $# -eq 0 ] && { echo "-"; return; }
    printf '%s\n' "$@" | sort -g |
        awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
