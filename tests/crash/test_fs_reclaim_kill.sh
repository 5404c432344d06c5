#!/bin/bash
# test_fs_reclaim_kill.sh - the batch reclaim of unlinked files (fs/reclaim_queue.c) loses
# nothing and leaks nothing, also when the daemon is killed while reclaims are queued.
#
#   O=build/check bash tests/crash/test_fs_reclaim_kill.sh [--seed N]
#
# Workload (python3, one process): N files of 8 KiB (every 4th with an xattr) are created;
# half of them are closed and then unlinked (the kernel's FORGET queues the reclaim), the
# other half unlinked while open and then closed (the RELEASE queues it).
#   1. Without a kill: `df -i` right after the workload counts only what is left (statfs
#      drains the queue), a clean unmount, and fsck -n finds nothing, no orphan either.
#   2. ROUNDS rounds: the daemon is SIGKILLed a random few milliseconds into the
#      closes/unlinks. fsck -n must exit 0 (orphans allowed: the next mount reclaims them);
#      the remount must leave exactly the kept files (contents checked) and `df -i` must
#      count only them; after a clean unmount fsck -n finds no orphan and no stray row (no
#      space leak: data or xattr rows of a reclaimed inode would be reported).
. "$(dirname "$0")/fs_lib.sh"

seed=${FSCRASH_SEED:-$(( (RANDOM << 15 | RANDOM) ))}
while [ $# -gt 0 ]; do
    case "$1" in
        --seed) seed=$2; shift 2 ;;
        *) echo "usage: $0 [--seed N]" >&2; exit 2 ;;
    esac
done
echo "test_fs_reclaim_kill: seed $seed (reproduce: $0 --seed $seed)"
RANDOM=$seed
ROUNDS=4
N=600
command -v python3 >/dev/null || skip "python3 is not installed (the workload is a python3 script)"
fsc_setup

WORK=$TMPROOT/reclaim_work.py
cat >"$WORK" <<'EOF'
import os, resource, sys
d, n = sys.argv[1], int(sys.argv[2])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, n + 64)), hard))
fds = []
for i in range(n):
    p = "%s/f%d" % (d, i)
    fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o644)
    os.write(fd, bytes([i % 251 + 1]) * 8192)
    if i % 4 == 0:
        os.setxattr(p, "user.t", b"x" * 32)
    if i % 2 == 0:
        os.close(fd)        # closed, then unlinked below: FORGET reclaims it
    else:
        fds.append((p, fd))  # unlinked while open, closed below: RELEASE reclaims it
print("go", flush=True)
for i in range(0, n, 2):
    os.unlink("%s/f%d" % (d, i))
for p, fd in fds:
    os.unlink(p)
for p, fd in fds:
    os.close(fd)
EOF

# Kept files: they must survive every round unchanged.
make_kept() {
    mkdir -p "$MNT/kept" && for i in 1 2 3 4 5; do
        head -c $((i * 5000)) /dev/urandom >"$MNT/kept/k$i"
    done
    (cd "$MNT/kept" && md5sum k*) >"$TMPROOT/kept.md5"
}
check_kept() {
    (cd "$MNT/kept" && md5sum -c --quiet "$TMPROOT/kept.md5") >/dev/null 2>&1 ||
        fail "$1: kept files changed"
}
iused() { df --output=iused "$MNT" | tail -n 1 | tr -d ' '; }
fsck_no_orphan() { # after a clean unmount: exit 0 and not even an orphan
    local out rc
    out=$("$O/fsck.lsmfs" -n "$STORE" 2>&1); rc=$?
    [ $rc -eq 0 ] || { fail "$1: fsck -n exited $rc"; echo "$out" | tail -n 20; return; }
    if grep -q '^Orphan' <<<"$out"; then
        fail "$1: fsck found orphans after a clean unmount"
        echo "$out" | tail -n 20
    fi
}

fs_mount || { fail "mount failed"; fs_done; }
make_kept
base=$(iused)
log "base: $base inodes in use"

log "1. no kill: $N files, half reclaimed by FORGET, half by RELEASE"
mkdir "$MNT/w"
python3 "$WORK" "$MNT/w" "$N" >/dev/null || fail "workload failed"
rmdir "$MNT/w" || fail "the workload's directory is not empty"
assert_eq "$base" "$(iused)" "df -i right after the unlinks"
check_kept "no kill"
fs_unmount || fail "unmount was not clean"
fsck_no_orphan "no kill"

for r in $(seq 1 "$ROUNDS"); do
    fs_mount || { fail "round $r: mount failed"; break; }
    mkdir -p "$MNT/w$r"
    rm -f "$TMPROOT/fifo" && mkfifo "$TMPROOT/fifo"
    python3 "$WORK" "$MNT/w$r" "$N" >"$TMPROOT/fifo" 2>/dev/null &
    wpid=$!
    fsc_track "$wpid"
    # "go" comes just before the first unlink: the kill lands among the unlinks and closes
    read -r -t 60 go <"$TMPROOT/fifo" || go=
    [ "$go" = go ] || fail "round $r: the workload did not start"
    ms=$(fsc_rand_ms 0 40)
    fsc_sleep_ms "$ms"
    fsc_kill_daemon
    fsc_wait_pid "$wpid" 30
    log "round $r: killed ${ms} ms into the unlinks (workload exit: $FSC_RC)"
    fsc_drop_dead_mount || { fail "round $r: dead mount stays"; break; }
    fsc_fsck_after_crash || fail "round $r: fsck -n after the kill"
    fs_mount || { fail "round $r: remount failed"; break; }
    # What the workload did not unlink yet is still there: unlink it now (a live reclaim).
    rm -rf "$MNT/w$r" || fail "round $r: rm -rf of what was left"
    assert_eq "$base" "$(iused)" "round $r: df -i after the remount and rm -rf"
    check_kept "round $r"
    fs_unmount || fail "round $r: unmount was not clean"
    fsck_no_orphan "round $r"
done
echo "test_fs_reclaim_kill: $ROUNDS kill rounds; fsck found orphans after $FSC_ORPHAN_ONLY of them"
fs_done
