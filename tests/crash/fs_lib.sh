# fs_lib.sh - helpers of the filesystem crash tests (tests/crash/test_fs_*.sh); sourced,
# never run. Builds on tests/integration/lib.sh (mount, unmount, assertions), adding what a
# crash needs: killing the daemon with SIGKILL, dropping the dead mount, running fsck -n on
# the store, and cleaning up background workloads.
#
# Guarantees: fsc_setup installs a trap on EXIT/INT/TERM that kills every process recorded
# with fsc_track (workloads; by pid, SIGKILL), lazily unmounts a dead mount, then runs
# lib.sh's cleanup (unmount, stop the daemon by its pid, remove the temp folder), even
# when the test fails half-way. A test skips (77) when /dev/fuse or fusermount3 is missing.
#
# Variables after fsc_setup: TMPROOT, STORE, MNT, TOOLS (as lib.sh), FSC_SEED.

# shellcheck source=../integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"

FSC_PIDS=()
FSC_ORPHAN_ONLY=0   # how many fsck -n runs found only orphans (see fsc_fsck_after_crash)

fsc_track() { FSC_PIDS+=("$@"); }

_fsc_kill_tracked() {
    local p
    for p in "${FSC_PIDS[@]}"; do
        kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
    done
    for p in "${FSC_PIDS[@]}"; do wait "$p" 2>/dev/null; done
    FSC_PIDS=()
}

# Is $MNT in the mount table (even when its daemon is dead and stat says ENOTCONN)?
fsc_mounted() { grep -q " $MNT fuse" /proc/self/mounts 2>/dev/null; }

# After the daemon died: detach the dead mount so the mountpoint is a plain folder again.
fsc_drop_dead_mount() {
    local i
    for i in 1 2 3 4 5; do
        fsc_mounted || return 0
        fusermount3 -u -z "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null
        fsc_mounted || return 0
        sleep 0.2
    done
    echo "cannot detach the dead mount $MNT"
    return 1
}

_fsc_cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    _fsc_kill_tracked
    if [ -n "$FS_PID" ] && ! kill -0 "$FS_PID" 2>/dev/null; then
        wait "$FS_PID" 2>/dev/null
        FS_PID=
        fsc_drop_dead_mount >/dev/null
    fi
    fs_unmount quiet
    fsc_drop_dead_mount >/dev/null
    # lib.sh's cleanup removes TMPROOT (unless something is still mounted) and keeps rc
    (exit $rc)
    _fs_cleanup
}

# Scratch folder and a fresh store (not mounted). [mkfs options]
fsc_setup() {
    fs_require_fuse
    fs_require_root
    fs_require_lsmfs
    TMPROOT=$(mktemp -d /tmp/lsmfs-crash.XXXXXX) || exit 1
    chmod 755 "$TMPROOT"
    STORE=$TMPROOT/store
    MNT=$TMPROOT/mnt
    mkdir -p "$MNT"
    trap _fsc_cleanup EXIT
    trap _fs_trap_signal INT TERM
    fs_mkfs "$@" || exit 1
}

# A fresh store in place of the old one (not mounted).
fsc_new_store() {
    rm -rf "$STORE"
    fs_mkfs "$@"
}

# SIGKILL the daemon started by fs_mount, wait for it to die. The mount stays (dead) until
# fsc_drop_dead_mount: processes using it get ENOTCONN/ECONNABORTED.
fsc_kill_daemon() {
    [ -n "$FS_PID" ] || return 0
    kill -KILL "$FS_PID" 2>/dev/null
    wait "$FS_PID" 2>/dev/null
    FS_PID=
    FS_MOUNTED=0
}

# Waits up to $2 seconds for our child $1; sets FSC_RC to its exit status, or to "hang"
# (then it is killed). Not in a $(...) subshell: only the parent shell can wait for it.
fsc_wait_pid() {
    local pid=$1 secs=$2 i
    for ((i = 0; i < secs * 20; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        FSC_RC=hang
        return
    fi
    wait "$pid"
    FSC_RC=$?
}

# fsck -n of the store after a crash: must exit 0. Orphans (files unlinked while open when
# the daemon died: the next mount reclaims them, as docs/FILESYSTEM.md says) are reported
# but are no error; runs that found some are counted in FSC_ORPHAN_ONLY. Anything else
# fails, with fsck's output. Returns 0/1.
fsc_fsck_after_crash() {
    local out rc
    out=$("$O/fsck.lsmfs" -n "$STORE" 2>&1); rc=$?
    if [ $rc -eq 0 ]; then
        grep -q '^Orphan inode [0-9]* .*reclaimed at the next mount' <<<"$out" &&
            FSC_ORPHAN_ONLY=$((FSC_ORPHAN_ONLY + 1))
        return 0
    fi
    echo "fsck.lsmfs -n exited $rc after the crash:"
    echo "$out" | tail -n 30
    return 1
}

# fsck -n of a cleanly unmounted store: must exit 0. Returns 0/1.
fsc_fsck_clean() {
    local out rc
    out=$("$O/fsck.lsmfs" -n "$STORE" 2>&1); rc=$?
    [ $rc -eq 0 ] && return 0
    echo "fsck.lsmfs -n exited $rc on a cleanly unmounted store:"
    echo "$out" | tail -n 30
    return 1
}

# A digest of a tree: types, names, inode numbers, link counts, sizes, file hashes (no
# times: reads move atimes). Used to prove that a tree checked after one crash is still
# identical after later crashes.
fsc_digest() { # dir
    (cd "$1" && find . -printf '%y %p %i %n %s\n' | sort &&
        find . -type f -print0 | sort -z | xargs -0 -r md5sum)
}

# Milliseconds in [lo, hi) from bash's RANDOM (seeded by the test).
fsc_rand_ms() { echo $(( $1 + (RANDOM * 32768 + RANDOM) % ($2 - $1) )); }
fsc_sleep_ms() { sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"; }
