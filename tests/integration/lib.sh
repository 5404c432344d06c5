# lib.sh - shared framework for the integration tests (sourced, never run).
#
# Every test script gets the filesystem under test from here, so the same script can be
# pointed at lsmfs, at libfuse's passthrough_ll, or at a plain directory (to validate the
# tests themselves against a filesystem known to be right):
#
#   O=build/check bash tests/integration/test_x.sh                  lsmfs (default)
#   LSMFS_TARGET=dir         O=build/check bash tests/integration/test_x.sh   ext4 directory
#   LSMFS_TARGET=passthrough O=build/check bash tests/integration/test_x.sh   passthrough_ll
#
# Guarantees: fs_setup installs a trap on EXIT/INT/TERM that always unmounts (fusermount3 -u,
# then umount -l), stops the daemon it started (by its pid) and removes the temp folder, even
# when the test fails half-way. Assertion helpers print file:line and count failures instead
# of stopping; fs_done turns the count into the exit status (0 pass, 1 fail). A test skips
# (exit 77, with a reason) when FUSE is not usable here.
#
# Variables a test may use after fs_setup: MNT (mounted root), STORE (the store folder, lsmfs
# only), TMPROOT (scratch space outside the filesystem under test), TOOLS ($O/tools).

O=${O:-build/check}
LSMFS_TARGET=${LSMFS_TARGET:-lsmfs}
TOOLS=$O/tools
NOBODY_UID=65534
NOBODY_GID=65534
FS_FAILS=0
FS_PID=
FS_MOUNTED=0
TMPROOT=
MNT=
STORE=
# Extra -o options for every mount of the target (comma separated, may be empty).
FS_MOUNT_OPTS=${FS_MOUNT_OPTS:-}
# lsmfs's FUSE transport for every mount: uring, nouring, or empty for lsmfs's default
# (io_uring when the kernel offers it). tests/run.sh runs the suites once with each.
LSMFS_TRANSPORT=${LSMFS_TRANSPORT:-}
# passthrough_ll used when LSMFS_TARGET=passthrough (built on demand, never committed).
PASSTHROUGH_LL=${PASSTHROUGH_LL:-build/pt/passthrough_ll}

log()  { echo "[$(date +%T)] $*"; }
skip() { echo "SKIP: $*"; exit 77; }

# ---- assertions (print where, count, go on) --------------------------------------------
_where() { echo "${BASH_SOURCE[2]##*/}:${BASH_LINENO[1]}"; }
fail() { FS_FAILS=$((FS_FAILS + 1)); echo "FAIL $(_where): $*"; }
# Same as fail, for use from helper functions one level deeper.
_fail_up() { FS_FAILS=$((FS_FAILS + 1)); echo "FAIL ${BASH_SOURCE[2]##*/}:${BASH_LINENO[1]}: $*"; }

assert_eq() { # expected actual message
    if [ "$1" != "$2" ]; then
        FS_FAILS=$((FS_FAILS + 1))
        echo "FAIL $(_where): $3: expected '$1', got '$2'"
    fi
}
assert_ok() { # command... : must exit 0
    local out rc
    out=$("$@" 2>&1); rc=$?
    if [ $rc -ne 0 ]; then
        FS_FAILS=$((FS_FAILS + 1))
        echo "FAIL $(_where): '$*' exited $rc: $(echo "$out" | tail -n 5)"
    fi
    return $rc
}
assert_fails() { # command... : must exit non-zero
    local out rc
    out=$("$@" 2>&1); rc=$?
    if [ $rc -eq 0 ]; then
        FS_FAILS=$((FS_FAILS + 1))
        echo "FAIL $(_where): '$*' succeeded but should have failed"
    fi
    [ $rc -ne 0 ]
}
assert_same_file() { # a b : byte-identical
    if ! cmp -s "$1" "$2"; then
        FS_FAILS=$((FS_FAILS + 1))
        echo "FAIL $(_where): '$1' and '$2' differ"
    fi
}

# Run one command under a time limit, counting a timeout or non-zero exit as a failure.
run_tool() { # seconds command...
    local secs=$1; shift
    timeout -k 10 "$secs" "$@"
    local rc=$?
    if [ $rc -ne 0 ]; then
        FS_FAILS=$((FS_FAILS + 1))
        if [ $rc -eq 124 ]; then echo "FAIL $(_where): '$*' timed out after ${secs}s"
        else echo "FAIL $(_where): '$*' exited $rc"; fi
    fi
    return $rc
}

# Run a command as an unprivileged user (nobody by default; AS_UID/AS_GID override).
as_user() {
    setpriv --reuid="${AS_UID:-$NOBODY_UID}" --regid="${AS_GID:-$NOBODY_GID}" --clear-groups "$@"
}

fs_done() {
    if [ "$FS_FAILS" -ne 0 ]; then
        echo "$FS_FAILS check(s) failed"
        exit 1
    fi
    echo "all checks passed"
    exit 0
}

# ---- environment checks -------------------------------------------------------------------
fs_require_fuse() {
    [ "$LSMFS_TARGET" = dir ] && return 0
    [ -c /dev/fuse ] || skip "/dev/fuse is missing: no FUSE on this machine"
    command -v fusermount3 >/dev/null || skip "fusermount3 is not installed"
    command -v mountpoint >/dev/null || skip "mountpoint(1) is not installed"
}

fs_require_lsmfs() {
    [ -x "$O/lsmfs" ] || { echo "lsmfs is not built at $O/lsmfs"; exit 1; }
    [ -x "$O/mkfs.lsmfs" ] || { echo "mkfs.lsmfs is not built at $O/mkfs.lsmfs"; exit 1; }
}

fs_require_tool() { # name...
    local t
    for t in "$@"; do
        [ -x "$TOOLS/$t" ] || { echo "test tool $TOOLS/$t is not built (make O=$O tests)"; exit 1; }
    done
}

fs_require_root() {
    [ "$(id -u)" -eq 0 ] || skip "needs root (to mount with allow_other and switch users)"
}

# ---- mount management ----------------------------------------------------------------------
_fs_cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    fs_unmount quiet
    # keep the daemon's log of a failed run, and show its end
    if [ $rc -ne 0 ] && [ $rc -ne 77 ] && [ -s "$TMPROOT/daemon.log" ]; then
        local keep
        keep="$O/test-logs/$(basename "$0" .sh).$(date +%H%M%S).daemon.log"
        mkdir -p "$O/test-logs" && cp "$TMPROOT/daemon.log" "$keep"
        echo "daemon log (last 15 lines; whole log kept in $keep):"
        tail -n 15 "$TMPROOT/daemon.log"
    fi
    if [ -n "$TMPROOT" ] && [ -d "$TMPROOT" ]; then
        if [ -n "$MNT" ] && mountpoint -q "$MNT" 2>/dev/null; then
            echo "cleanup: $MNT is still mounted; leaving $TMPROOT in place"
        else
            rm -rf --one-file-system "$TMPROOT"
        fi
    fi
    exit $rc
}

_fs_trap_signal() { echo "interrupted"; exit 130; }

fs_mkfs() { # [mkfs options]: make a fresh store in $STORE
    [ "$LSMFS_TARGET" = lsmfs ] || { mkdir -p "$STORE"; return 0; }
    local out
    if ! out=$("$O/mkfs.lsmfs" "$@" "$STORE" 2>&1); then
        echo "mkfs.lsmfs $* $STORE failed: $out"
        return 1
    fi
}

_fs_opts() { # base options, then FS_MOUNT_OPTS
    local o=$1
    [ -n "$FS_MOUNT_OPTS" ] && o="$o,$FS_MOUNT_OPTS"
    echo "$o"
}

_fs_build_passthrough() {
    [ -x "$PASSTHROUGH_LL" ] && return 0
    mkdir -p "$(dirname "$PASSTHROUGH_LL")"
    # shellcheck disable=SC2046
    cc -O2 -o "$PASSTHROUGH_LL" /usr/share/doc/libfuse3-dev/examples/passthrough_ll.c \
        $(pkg-config --cflags --libs fuse3) || skip "cannot build passthrough_ll"
}

fs_mount() { # mount the target on $MNT; returns non-zero (with the log) when it does not come up
    mkdir -p "$MNT"
    case "$LSMFS_TARGET" in
    dir) FS_MOUNTED=1; return 0 ;;
    passthrough)
        _fs_build_passthrough
        "$PASSTHROUGH_LL" -f -o "$(_fs_opts "source=$STORE,allow_other,default_permissions,xattr")" \
            "$MNT" >>"$TMPROOT/daemon.log" 2>&1 &
        FS_PID=$! ;;
    lsmfs)
        "$O/lsmfs" -f -o "$(_fs_opts allow_other${LSMFS_TRANSPORT:+,$LSMFS_TRANSPORT})" \
            "$STORE" "$MNT" >>"$TMPROOT/daemon.log" 2>&1 &
        FS_PID=$! ;;
    *) echo "unknown LSMFS_TARGET=$LSMFS_TARGET"; exit 1 ;;
    esac
    local i
    for i in $(seq 1 200); do
        if mountpoint -q "$MNT"; then FS_MOUNTED=1; return 0; fi
        if ! kill -0 "$FS_PID" 2>/dev/null; then
            wait "$FS_PID"; local rc=$?
            echo "daemon exited ($rc) before the mount came up; log:"
            tail -n 20 "$TMPROOT/daemon.log"
            FS_PID=
            return 1
        fi
        sleep 0.05
    done
    echo "mount did not come up within 10 s; log:"
    tail -n 20 "$TMPROOT/daemon.log"
    return 1
}

fs_unmount() { # [quiet]: unmount and wait for the daemon to exit (so the store is closed)
    if [ "$LSMFS_TARGET" = dir ]; then FS_MOUNTED=0; sync; return 0; fi
    local quiet=${1:-} rc=0 i
    if [ -n "$MNT" ] && mountpoint -q "$MNT" 2>/dev/null; then
        for i in 1 2 3 4 5 6 7 8 9 10; do
            fusermount3 -u "$MNT" 2>/dev/null && break
            sleep 0.3
        done
        if mountpoint -q "$MNT" 2>/dev/null; then
            [ -z "$quiet" ] && echo "fusermount3 -u $MNT kept failing (busy?); using umount -l"
            umount -l "$MNT" 2>/dev/null || fusermount3 -uz "$MNT" 2>/dev/null
            rc=1
        fi
    fi
    if [ -n "$FS_PID" ]; then
        for i in $(seq 1 600); do
            kill -0 "$FS_PID" 2>/dev/null || break
            sleep 0.05
        done
        if kill -0 "$FS_PID" 2>/dev/null; then
            echo "daemon $FS_PID did not exit 30 s after unmount; sending TERM"
            kill -TERM "$FS_PID" 2>/dev/null; sleep 2
            kill -KILL "$FS_PID" 2>/dev/null
            rc=1
        fi
        wait "$FS_PID" 2>/dev/null
        local drc=$?
        if [ $drc -ne 0 ] && [ $rc -eq 0 ] && [ -z "$quiet" ]; then
            echo "daemon exited with status $drc after unmount; log:"
            tail -n 20 "$TMPROOT/daemon.log"
            rc=1
        fi
        FS_PID=
    fi
    FS_MOUNTED=0
    return $rc
}

fs_remount() {
    fs_unmount || { _fail_up "unmount before remount was not clean"; }
    fs_mount || { _fail_up "remount failed"; fs_done; }
}

# Make the scratch folder, a fresh store and mount it. Exits 77/1 when that is impossible.
fs_setup() { # [mkfs options]
    fs_require_fuse
    fs_require_root
    [ "$LSMFS_TARGET" = lsmfs ] && fs_require_lsmfs
    TMPROOT=$(mktemp -d /tmp/lsmfs-it.XXXXXX) || exit 1
    chmod 755 "$TMPROOT"
    STORE=${LSMFS_IT_STORE:-$TMPROOT/store}  # e.g. rados://POOL/NAME (test_rados.sh)
    MNT=$TMPROOT/mnt
    trap _fs_cleanup EXIT
    trap _fs_trap_signal INT TERM
    fs_mkfs "$@" || exit 1
    fs_mount || exit 1
    log "target $LSMFS_TARGET mounted on $MNT"
}
