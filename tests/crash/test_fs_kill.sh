#!/bin/bash
# test_fs_kill.sh - kill -9 of the lsmfs daemon in the middle of a filesystem workload, then
# fsck and a check of every file against the workload's journal.
#
#   O=build/check bash tests/crash/test_fs_kill.sh                  short: 26 kill points
#   O=build/check bash tests/crash/test_fs_kill.sh --rounds 400     long, by count
#   O=build/check bash tests/crash/test_fs_kill.sh --duration 1800  long, by time
#   ... --seed N [--workers W] [-v]                                  reproduce / more output
#
# Each round: mount (alternately with `-o nowriteback` and with `-o writeback`,
# and with a random memtable size so flushes and compactions run during the workload),
# start tests/tools/fscrash_work (W processes, each journaling its operations outside the
# mount), SIGKILL the daemon after a random delay, wait for the workload to notice, detach
# the dead mount, then:
#   1. fsck.lsmfs -n STORE exits 0 (orphans - files unlinked while open when the daemon
#      died, which the next mount reclaims - are reported, not errors);
#   2. remount: `fscrash_work verify` checks the round's tree against its journals
#      (every completed operation is there; the one in doubt is all there or not at all;
#      names, types, hard links, nlink, readdir vs lstat; contents exactly, or with the
#      writeback cache, exactly for synced files and from the file's own versions for
#      unsynced ones - see fscrash_work.c);
#   3. the tree of the previous round is byte-for-byte what it was when it was checked;
#   4. a clean unmount, and every 13 rounds (and at the end) a strict fsck -n (exit 0),
#      a check of every earlier round's tree, and a fresh store.
# The seed (printed first) fixes the workload and the kill delays; the exact kill point
# also depends on timing, so a failure prints everything needed to look at it, and
# FSCRASH_KEEP=DIR keeps a copy of the failing store there.
. "$(dirname "$0")/fs_lib.sh"

rounds=26
duration=0
seed=${FSCRASH_SEED:-$(( (RANDOM << 15 | RANDOM) ))}
workers=3
verbose=0
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) rounds=$2; shift 2 ;;
        --duration) duration=$2; rounds=0; shift 2 ;;
        --seed) seed=$2; shift 2 ;;
        --workers) workers=$2; shift 2 ;;
        -v) verbose=1; shift ;;
        *) echo "usage: $0 [--rounds N | --duration SECS] [--seed N] [--workers W] [-v]" >&2
           exit 2 ;;
    esac
done
if [ "$rounds" -gt 0 ]; then how="--rounds $rounds"; else how="--duration $duration"; fi
echo "test_fs_kill: seed $seed (reproduce: $0 --seed $seed $how)"
RANDOM=$seed
fs_require_tool fscrash_work
fsc_setup

WORK=$TOOLS/fscrash_work
GEN_ROUNDS=13
kills=0 gen_first=1 start=$SECONDS
declare -A modes

keep_store() { # FSCRASH_KEEP=DIR: DIR/store (unmounted first), the journals, the daemon log
    if [ -n "${FSCRASH_KEEP:-}" ]; then
        fs_unmount quiet
        rm -rf "$FSCRASH_KEEP" && mkdir -p "$FSCRASH_KEEP" && cp -a "$STORE" "$FSCRASH_KEEP/store" &&
            cp "$TMPROOT"/j* "$TMPROOT/daemon.log" "$FSCRASH_KEEP/" 2>/dev/null
        echo "store, journals and daemon log kept in $FSCRASH_KEEP"
    fi
}

die_round() { # round message
    echo "FAIL round $1 (seed $seed, ${modes[$1]}): $2"
    echo "daemon log (last lines):"; tail -n 15 "$TMPROOT/daemon.log" 2>/dev/null
    keep_store
    exit 1
}

# Checks all rounds of this store generation against their digests, then a clean unmount
# and a strict fsck. Leaves the store unmounted.
end_generation() { # last round
    local k
    for ((k = gen_first; k <= $1; k++)); do
        [ -f "$TMPROOT/digest.$k" ] || continue
        fsc_digest "$MNT/r$k" > "$TMPROOT/digest.now"
        if ! diff -q "$TMPROOT/digest.$k" "$TMPROOT/digest.now" >/dev/null; then
            diff "$TMPROOT/digest.$k" "$TMPROOT/digest.now" | head -n 20
            die_round "$1" "the tree of round $k changed after it was checked"
        fi
    done
    fs_unmount || die_round "$1" "clean unmount failed"
    fsc_fsck_clean || die_round "$1" "fsck -n after a clean unmount"
}

round=0
while :; do
    if [ "$rounds" -gt 0 ]; then [ $round -ge "$rounds" ] && break
    else [ $((SECONDS - start)) -ge "$duration" ] && break; fi
    round=$((round + 1))
    wb=$((round % 2))
    case $((RANDOM % 3)) in 0) wbuf=128k ;; 1) wbuf=1M ;; *) wbuf=64M ;; esac
    if [ $wb -eq 1 ]; then FS_MOUNT_OPTS="writeback,write_buffer=$wbuf"; wbflag=--wb
    else FS_MOUNT_OPTS="nowriteback,write_buffer=$wbuf"; wbflag=; fi
    modes[$round]="$([ $wb -eq 1 ] && echo writeback || echo nowriteback), write_buffer=$wbuf"
    delay=$(fsc_rand_ms 50 1500)
    wseed=$((seed * 1000 + round))
    [ $verbose -eq 1 ] && log "round $round: ${modes[$round]}, kill after ${delay} ms"
    fs_mount || die_round $round "mount failed"
    "$WORK" run --dir "$MNT/r$round" --journal "$TMPROOT/j$round" --seed "$wseed" \
        --workers "$workers" $wbflag 2>"$TMPROOT/work.err" &
    wpid=$!
    fsc_track $wpid
    fsc_sleep_ms "$delay"
    fsc_kill_daemon
    kills=$((kills + 1))
    fsc_wait_pid $wpid 30
    wrc=$FSC_RC
    FSC_PIDS=()
    if [ "$wrc" != 3 ]; then
        cat "$TMPROOT/work.err"
        die_round $round "workload ended with '$wrc' (3 = stopped by the dead mount; 'hang' = stuck)"
    fi
    fsc_drop_dead_mount || die_round $round "dead mount"
    fsc_fsck_after_crash || die_round $round "fsck -n after kill -9"
    fs_mount || die_round $round "remount after the crash failed"
    vflag=; [ $verbose -eq 1 ] && vflag=-v
    if ! "$WORK" verify --dir "$MNT/r$round" --journal "$TMPROOT/j$round" --workers "$workers" $vflag; then
        die_round $round "the tree does not match the journal (fscrash_work verify, above)"
    fi
    prev=$((round - 1))
    if [ $prev -ge $gen_first ] && [ -f "$TMPROOT/digest.$prev" ]; then
        fsc_digest "$MNT/r$prev" > "$TMPROOT/digest.now"
        if ! diff -q "$TMPROOT/digest.$prev" "$TMPROOT/digest.now" >/dev/null; then
            diff "$TMPROOT/digest.$prev" "$TMPROOT/digest.now" | head -n 20
            die_round $round "the tree of round $prev changed after it was checked"
        fi
    fi
    fsc_digest "$MNT/r$round" > "$TMPROOT/digest.$round"
    ops=$(cat "$TMPROOT/j$round".* | grep -c '^C ')
    [ $verbose -eq 1 ] && log "round $round: $ops operations completed before the kill: ok"
    if [ $((round % GEN_ROUNDS)) -eq 0 ]; then
        end_generation $round
        fsc_new_store || die_round $round "mkfs"
        rm -f "$TMPROOT"/digest.* "$TMPROOT"/j*
        gen_first=$((round + 1))
    else
        fs_unmount || die_round $round "clean unmount failed"
    fi
done
if [ $round -ge $gen_first ]; then
    fs_mount || die_round $round "final mount"
    end_generation $round
fi
echo "test_fs_kill: $kills kill points, all checks passed (seed $seed; fsck found only" \
     "orphans after $FSC_ORPHAN_ONLY of them) in $((SECONDS - start)) s"
exit 0
