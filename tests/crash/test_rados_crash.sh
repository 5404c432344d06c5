#!/bin/bash
# test_rados_crash.sh - crashes and faults of a store on Ceph RADOS (rados://POOL/NAME),
# against a one-node cluster this test starts in its own temp folder
# (tests/rados/cluster.sh) and always stops, also on failure.
#
#   O=build/check bash tests/crash/test_rados_crash.sh [--rounds N] [--seed N]
#
# Part 1, kill -9 of the daemon: each round mounts the RADOS store (with -o takeover: the
# killed daemon still holds the store's lock until its lease runs out, and taking it over
# is what a user does after a host died), runs tests/tools/fscrash_work (3 processes of
# creates, writes, renames, unlinks, fsyncs, journaled outside the mount), SIGKILLs the
# daemon after a random delay, then: fsck.lsmfs -n exits 0; a remount; `fscrash_work
# verify` finds every completed operation and every fsync'ed byte (exactly; unsynced
# writes of the writeback rounds from one of the file's versions). Rounds alternate
# -o nowriteback and -o writeback. At the end a clean unmount and a strict fsck -n.
#
# Part 2, the OSD stopped mid-write: mount with rados_timeout=T, a writer writes files and
# fsyncs each one (journaling the acknowledged ones outside the mount); the OSD is frozen
# (SIGSTOP). The writer's next write must fail within a bound of T (no hang), the daemon
# must log the error; then the OSD resumes, the store is unmounted and remounted, every
# acknowledged file is there byte for byte, new writes work, and fsck -n is clean.
#
# Skips (77, with the reason) when the Ceph daemons are not installed, the build has no
# librados, or FUSE is not usable.
. "$(dirname "$0")/fs_lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

rounds=3
seed=${FSCRASH_SEED:-$(( (RANDOM << 15 | RANDOM) ))}
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) rounds=$2; shift 2 ;;
        --seed) seed=$2; shift 2 ;;
        *) echo "usage: $0 [--rounds N] [--seed N]" >&2; exit 2 ;;
    esac
done
echo "test_rados_crash: seed $seed (reproduce: $0 --seed $seed --rounds $rounds)"
RANDOM=$seed

fs_require_fuse
fs_require_root
fs_require_lsmfs
fs_require_tool fscrash_work
nm "$O/lsmfs" 2>/dev/null | grep -q rados_connect || ldd "$O/lsmfs" | grep -q librados ||
    skip "this build has no RADOS support (librados-dev missing at build time)"

TMPROOT=$(mktemp -d /tmp/lsmfs-rcrash.XXXXXX) || exit 1
chmod 755 "$TMPROOT"
CLB=$(mktemp -d /tmp/lsmfs-rcl.XXXXXX) || exit 1
CL=$CLB/c
MNT=$TMPROOT/mnt
mkdir -p "$MNT"
OSD_PID=

# Resume a frozen OSD (or the daemon could not finish), stop the workloads and the daemon,
# stop the cluster, then lib.sh's cleanup (temp folder, exit status).
_rc_cleanup() {
    local rc=$?
    [ -n "$OSD_PID" ] && kill -CONT "$OSD_PID" 2>/dev/null
    _fsc_kill_tracked
    [ -n "$FS_PID" ] && kill -CONT "$FS_PID" 2>/dev/null
    fs_unmount quiet
    fsc_drop_dead_mount >/dev/null
    bash "$HERE/../rados/cluster.sh" stop "$CL"
    rm -rf "$CLB"
    (exit $rc)
    _fsc_cleanup
}
trap _rc_cleanup EXIT
trap _fs_trap_signal INT TERM

t0=$SECONDS
CONF=$(bash "$HERE/../rados/cluster.sh" start "$CL")
rc=$?
[ $rc -eq 77 ] && skip "the Ceph daemons are not installed (make deps installs them)"
[ $rc -eq 0 ] || { echo "FAIL: the test cluster did not start"; tail -20 "$CL"/log/*.log; exit 1; }
log "cluster up in $((SECONDS - t0))s"
export LSMFS_RADOS_CONF=$CONF LSMFS_RADOS_TIMEOUT=20
STORE=rados://lsmfs/crash
fs_mkfs || exit 1

die() { echo "FAIL: $*"; echo "daemon log (last lines):"; tail -n 15 "$TMPROOT/daemon.log"; exit 1; }

# ---- part 1: kill -9 of the daemon during concurrent writes and fsyncs ----
WORK=$TOOLS/fscrash_work
for ((round = 1; round <= rounds; round++)); do
    if [ $((round % 2)) -eq 1 ]; then mode=writeback; wbflag=--wb; else mode=nowriteback; wbflag=; fi
    FS_MOUNT_OPTS="takeover,$mode"
    delay=$(fsc_rand_ms 300 2000)
    fs_mount || die "round $round: mount failed"
    "$WORK" run --dir "$MNT/r$round" --journal "$TMPROOT/j$round" --seed $((seed * 100 + round)) \
        --workers 3 $wbflag 2>"$TMPROOT/work.err" &
    wpid=$!
    fsc_track $wpid
    fsc_sleep_ms "$delay"
    fsc_kill_daemon
    fsc_wait_pid $wpid 60
    FSC_PIDS=()
    if [ "$FSC_RC" != 3 ]; then
        cat "$TMPROOT/work.err"
        die "round $round ($mode): workload ended with '$FSC_RC' (3 = stopped by the dead mount)"
    fi
    fsc_drop_dead_mount || die "round $round: dead mount"
    # The dead daemon still holds the store's lock: fsck takes it over, as a user would.
    LSMFS_RADOS_TAKEOVER=1 fsc_fsck_after_crash || die "round $round ($mode): fsck -n after kill -9"
    fs_mount || die "round $round: remount after the crash failed"
    "$WORK" verify --dir "$MNT/r$round" --journal "$TMPROOT/j$round" --workers 3 ||
        die "round $round ($mode): the tree does not match the journal (above)"
    ops=$(cat "$TMPROOT/j$round".* | grep -c '^C ')
    syncs=$(cat "$TMPROOT/j$round".* | grep -c '^B [0-9]* fsync')
    log "round $round ($mode, kill after ${delay} ms): $ops operations ($syncs fsyncs) checked"
    fs_unmount || die "round $round: clean unmount failed"
done
fsc_fsck_clean || die "fsck -n after the last clean unmount"

# ---- part 2: the OSD stopped in the middle of writes ----
OPT_TIMEOUT=5
OSD_PID=$(cat "$CL/run/osd.0.pid")
FS_MOUNT_OPTS="takeover,rados_timeout=$OPT_TIMEOUT"
fs_mount || die "fault: mount failed"
mkdir -p "$MNT/fault" "$TMPROOT/src"
J=$TMPROOT/fault.journal
: >"$J"
# Writes file i (64 KiB, content from i), fsyncs it (dd conv=fsync fails if the fsync
# does); journals "ok i" only after success; on the first failure journals how long the
# failing call took and stops.
(
    i=0
    while [ $i -lt 100000 ]; do
        i=$((i + 1))
        head -c 65536 /dev/urandom >"$TMPROOT/src/f$i"
        s=$(date +%s%N)
        if dd if="$TMPROOT/src/f$i" of="$MNT/fault/f$i" bs=64k conv=fsync status=none 2>"$TMPROOT/dd.err"; then
            echo "ok $i" >>"$J"
        else
            echo "fail $i $(( ($(date +%s%N) - s) / 1000000 )) $(head -1 "$TMPROOT/dd.err")" >>"$J"
            exit 0
        fi
    done
) &
wpid=$!
fsc_track $wpid
sleep 2
before=$(grep -c '^ok' "$J")
[ "$before" -gt 0 ] || die "fault: no acknowledged write before the OSD stopped"
kill -STOP "$OSD_PID"
s0=$SECONDS
# The writer must stop with an error; allow the op timeout a few times over (a write and
# its undo, each bounded by it) plus slack, far below "forever".
bound=$((4 * OPT_TIMEOUT + 10))
fsc_wait_pid $wpid $bound
FSC_PIDS=()
waited=$((SECONDS - s0))
[ "$FSC_RC" = hang ] && die "fault: the writer hung more than ${bound}s with the OSD stopped"
fl=$(grep '^fail' "$J")
[ -n "$fl" ] || die "fault: the writer stopped without a failed write"
log "OSD stopped: the writer failed after ${waited}s (the failing dd took $(echo "$fl" | cut -d' ' -f3) ms): $(echo "$fl" | cut -d' ' -f4-)"
logged=$(grep -i -m1 "timed out" "$TMPROOT/daemon.log") ||
    die "fault: the daemon did not log the timeout"
log "the daemon logged: $logged"
kill -CONT "$OSD_PID"
acked=$(grep -c '^ok' "$J")
fs_unmount quiet # the daemon exits with an error status after a failed write: expected
fs_mount || die "fault: remount after the OSD came back failed"
lost=0
while read -r _ i; do
    cmp -s "$TMPROOT/src/f$i" "$MNT/fault/f$i" || { lost=$((lost + 1)); echo "f$i differs or is missing"; }
done < <(grep '^ok' "$J")
[ $lost -eq 0 ] || die "fault: $lost of $acked acknowledged files lost or changed"
echo after >"$MNT/fault/after" && sync "$MNT/fault/after" || die "fault: no write after the OSD is back"
fs_unmount || die "fault: clean unmount"
fsc_fsck_clean || die "fsck -n after the OSD fault"
log "OSD fault: $acked acknowledged fsync'ed files all intact after a remount; fsck clean"
echo "test_rados_crash: $rounds kill rounds and the OSD fault passed in $((SECONDS - t0)) s"
exit 0
