#!/bin/bash
# test_fsck.sh - fsck.lsmfs against deliberately damaged stores and a clean real one.
#
# For every problem class tests/tools/fsck_damage can make (rows: dangling entry, wrong
# nlink, unreachable inodes, directory cycle, blocks past EOF, orphan, xattrs of a missing
# inode, low high-water mark, bad entry names, unknown inode flag bits, missing superblock, corrupt inode, hard link
# to a directory, missing lost+found; engine: flipped SST byte, missing SST,
# damaged MANIFEST, damaged WAL):
#   -n  reports it, exits 4, and leaves every file of the store byte-identical (LOCK aside)
#   -y  repairs it and exits 1 (damaged tables or MANIFEST: by rebuilding the store)
#   -n  again exits 0
#   and the files populate made are still reachable with their exact data.
# Random row damage (20 seeds): -y never fails and a second -n finds nothing.
# Then: usage errors (16), missing store (8), store in use (8), stdin not a terminal (as
# -n), preen (-p fixes safe problems, stops at others), progress output (-C), SIGINT (32),
# and with FUSE: a store filled by `cp -a /usr/include` through a real mount checks clean,
# a mounted store is refused by -y and checked online by -n, an orphan left by a killed daemon is reclaimed, and
# repaired files are readable through a mount. Mount parts are skipped without /dev/fuse;
# the trap from lib.sh always unmounts.
#
#   O=build/check bash tests/integration/test_fsck.sh
. "$(dirname "$0")/lib.sh"

FSCK=$O/fsck.lsmfs
MKFS=$O/mkfs.lsmfs
DMG=$O/tools/fsck_damage
MKSTORE=$O/tools/fsck_mkstore
for p in "$FSCK" "$MKFS" "$DMG" "$MKSTORE"; do
    [ -x "$p" ] || { echo "$p is not built (make O=$O tests)"; exit 1; }
done
TMPROOT=$(mktemp -d /tmp/lsmfs-fsck.XXXXXX) || exit 1
chmod 755 "$TMPROOT"
STORE=$TMPROOT/store
MNT=$TMPROOT/mnt
trap _fs_cleanup EXIT
trap _fs_trap_signal INT TERM

HAVE_FUSE=0
if [ -c /dev/fuse ] && command -v fusermount3 >/dev/null && command -v mountpoint >/dev/null &&
   [ -x "$O/lsmfs" ] && [ "$(id -u)" -eq 0 ]; then
    HAVE_FUSE=1
fi

# Checksum of every file of the store but LOCK (fsck may create LOCK; it holds no data).
store_sum() {
    (cd "$STORE" && find . -type f ! -name LOCK -print0 | sort -z | xargs -0 -r sha256sum) |
        sha256sum
}

fresh() { # [populate]: a new store, with the fixed tree unless told "empty"
    rm -rf "$STORE"
    "$MKFS" -q "$STORE" || { _fail_up "mkfs.lsmfs failed"; return 1; }
    if [ "${1:-populate}" = populate ]; then
        "$DMG" "$STORE" populate >/dev/null || { _fail_up "fsck_damage populate failed"; return 1; }
    fi
}

FSCK_OUT=
# run_fsck RC PATTERN ARGS...: fsck ARGS STORE must exit RC and print PATTERN (if given).
run_fsck() {
    local want=$1 pat=$2 rc
    shift 2
    FSCK_OUT=$(timeout -k 5 120 "$FSCK" "$@" "$STORE" 2>&1 </dev/null); rc=$?
    if [ "$rc" -ne "$want" ]; then
        _fail_up "fsck.lsmfs $* exited $rc, expected $want"
        echo "$FSCK_OUT" | tail -n 25
    fi
    if [ -n "$pat" ] && ! grep -q -- "$pat" <<<"$FSCK_OUT"; then
        _fail_up "fsck.lsmfs $*: output lacks '$pat'"
        echo "$FSCK_OUT" | tail -n 25
    fi
}

# damage_case CLASS PATTERN RC_Y RC_N2 VERIFY
damage_case() {
    local cls=$1 pat=$2 rc_y=$3 rc_n2=$4 verify=$5 before after
    log "damage: $cls"
    fresh || return
    run_fsck 0 "" -n
    "$DMG" "$STORE" "$cls" >/dev/null || { _fail_up "fsck_damage $cls failed"; return; }
    before=$(store_sum)
    run_fsck 4 "$pat" -n
    after=$(store_sum)
    [ "$before" = "$after" ] || _fail_up "$cls: fsck -n changed the store"
    run_fsck "$rc_y" "" -y
    run_fsck "$rc_n2" "" -n
    if [ "$verify" = 1 ] && ! "$DMG" "$STORE" verify; then
        _fail_up "$cls: data made by populate is not intact after the repair"
    fi
    if [ "$verify" = partial ]; then
        # One lost data block costs at most the file block it held; all else reads back.
        local bad
        bad=$("$DMG" "$STORE" verify 2>&1 | grep -c '^verify:')
        [ "$bad" -le 1 ] || _fail_up "$cls: $bad problems in populate's data after the repair"
    fi
}

# ---- row-level damage: found by -n, repaired by -y, clean afterwards, data intact ----
damage_case dangling    "has deleted/unused inode 999999"          1 0 1
damage_case nlink       "ref count is 5, should be 2"              1 0 1
damage_case unreachable "Unconnected directory inode 4"            1 0 1
damage_case cycle       "in a cycle of directories"                1 0 1
damage_case beyond      "past its end, from block 7"               1 0 1
damage_case unwritten   "Inode 5 counts [1-9][0-9]* fallocated, unwritten block.*but has 0" 1 0 1
# An orphan is not damage (the next mount reclaims it): -n reports it and exits 0.
log "damage: orphan"
if fresh; then
    "$DMG" "$STORE" orphan >/dev/null || fail "fsck_damage orphan failed"
    run_fsck 0 "Orphan inode 9 .* is reclaimed at the next mount" -n
    run_fsck 1 "Orphan inode 9" -y
    run_fsck 0 "" -n
    "$DMG" "$STORE" verify || fail "orphan: data made by populate is not intact"
fi
damage_case xattr       "Inode 888888 is missing, but has 2 extended attribute" 1 0 1
# chattr flags (immutable, append-only) are legal; a flag bit lsmfs does not know is
# reported and cleared, keeping the known one beside it.
log "damage: chattr"
if fresh; then
    "$DMG" "$STORE" chattr >/dev/null || fail "fsck_damage chattr failed"
    run_fsck 0 "" -f -n
    run_fsck 0 "" -f -p
fi
damage_case flags       "Inode 6 (regular file) has unknown flags 0x40000000" 1 0 1
damage_case nofeature   "Inode 3 has chattr flags 0x30, but the superblock lacks feature bit 0x1" 1 0 1
damage_case badacl      "POSIX ACL 'system.posix_acl_access' of inode 6 is malformed" 1 0 1
damage_case hwm         "high-water mark is 3, but inode 8 is in use" 1 0 1
damage_case badname     "Entry 'a/b' in directory 1 has an invalid name" 1 0 1
damage_case super       "The superblock is missing"                1 0 1
damage_case dirlink     "second link to directory 4"               1 0 1
damage_case nolf        "/lost+found is missing"                   1 0 1
# An undecodable inode is cleared, with its entry and blocks: its file is gone (no verify).
damage_case badinode    "Inode 7 is corrupt"                       1 0 0

# ---- engine-level damage ----
# Tables and MANIFEST: -y rebuilds the store with lsm_repair_db (keeping every block that
# reads) and exits 1; the other passes then repair the fs-level fallout, and -n is clean.
# A flipped byte loses one data block (one file block here); a missing table loses all it
# held (populate's rows are all in the newest table: no verify); a damaged MANIFEST loses
# nothing.
damage_case sst-flip    "checksum mismatch"                        1 0 partial
damage_case sst-missing "000.*sst"                                 1 0 0
damage_case manifest    "MANIFEST"                                 1 0 1
# The rebuild names the files it changed: every data block lost (verify's list) lies in a
# byte range fsck -y printed for that file, with its path.
log "damage: sst-data (fsck names the files the rebuild changed)"
if fresh && "$DMG" "$STORE" sst-data >/dev/null; then
    run_fsck 1 "Files changed:" -y
    grep -q "^    /d1/d2/f3 (inode 7): data, offset 0, length [0-9]*" <<<"$FSCK_OUT" ||
        fail "sst-data: /d1/d2/f3's damaged block 0 not named: $(grep -A5 'Files changed' <<<"$FSCK_OUT")"
    lostlist=$("$DMG" "$STORE" verify 2>&1 | sed -n 's/^verify: block \([0-9]*\) of inode \([0-9]*\) is wrong$/\1 \2/p')
    [ -n "$lostlist" ] || fail "sst-data: verify found nothing lost (the damage missed?)"
    while read -r blk ino; do
        [ -n "$blk" ] || continue
        ok=0
        while read -r off len; do
            [ $((blk * 4096)) -ge "$off" ] && [ $((blk * 4096)) -lt $((off + len)) ] && ok=1
        done < <(sed -n "s/^    \/.* (inode $ino): data, offset \([0-9]*\), length \([0-9]*\): .*/\1 \2/p" <<<"$FSCK_OUT")
        [ $ok = 1 ] || fail "sst-data: lost block $blk of inode $ino is not in any range fsck named"
    done <<<"$lostlist"
    run_fsck 0 "" -n
    grep -q "Files changed" <<<"$FSCK_OUT" && fail "sst-data: a clean run still names changed files"
fi
# A WAL damaged mid-log: -y recovers the prefix (point-in-time), which keeps everything
# populate flushed to tables.
damage_case wal         "write-ahead log is damaged"               1 0 1

# A WAL cut short in its middle: two live WALs (the second continues the first's
# history), built from a copy of the store taken while the first was live; the whole pair
# is clean, the first cut to half its size is reported (-n: 4, nothing changed), -y keeps
# the history after the gap, and a second -n is clean.
log "damage: WAL cut short in its middle"
if fresh && "$DMG" "$STORE" wal-batches >/dev/null; then
    IMG=$TMPROOT/img
    rm -rf "$IMG" && cp -a "$STORE" "$IMG" && rm -f "$IMG/LOCK"
    first=$(cd "$IMG" && ls *.log | sort | tail -n 1)
    "$DMG" "$STORE" wal-batches >/dev/null || fail "fsck_damage wal-batches (2) failed"
    second=$(cd "$STORE" && ls *.log | sort | tail -n 1)
    [ "$first" != "$second" ] || fail "wal cut: the second run wrote to the same WAL $first"
    cp "$STORE/$second" "$IMG/"
    SAVED=$STORE
    STORE=$IMG
    run_fsck 0 "" -n      # two whole WALs: no alarm
    truncate -s $(( $(stat -c %s "$IMG/$first") / 2 )) "$IMG/$first"
    before=$(store_sum)
    run_fsck 4 "write-ahead log was cut short in its middle: .*$first: cut short" -n
    # said once, by fsck's report (the engine's own line goes to its info log: -v only)
    assert_eq 1 "$(grep -c 'cut short:' <<<"$FSCK_OUT")" "wal cut: -n names the cut once"
    [ "$before" = "$(store_sum)" ] || fail "wal cut: fsck -n changed the store"
    run_fsck 4 "RUN fsck MANUALLY" -p
    [ "$before" = "$(store_sum)" ] || fail "wal cut: fsck -p changed the store"
    run_fsck 1 "Recover? yes" -y
    assert_eq 1 "$(grep -c 'cut short:' <<<"$FSCK_OUT")" "wal cut: -y names the cut once"
    run_fsck 0 "" -n
    STORE=$SAVED
fi

# ---- random damage: whatever -y does, a second run must find nothing ----
log "random damage, 20 seeds: -y converges"
for seed in $(seq 1 20); do
    fresh || break
    "$DMG" "$STORE" "random$seed" >/dev/null || { fail "fsck_damage random$seed failed"; continue; }
    "$FSCK" -y "$STORE" >"$TMPROOT/rand.out" 2>&1; rc=$?
    [ $rc -le 1 ] || { fail "seed $seed: fsck -y exited $rc"; tail -n 5 "$TMPROOT/rand.out"; }
    "$FSCK" -n "$STORE" >"$TMPROOT/rand.out" 2>&1; rc=$?
    [ $rc -eq 0 ] || { fail "seed $seed: -n after -y exited $rc"; grep -v '^Pass' "$TMPROOT/rand.out" | head; }
done

# ---- what each repair did, in detail ----
log "details of the repairs"
fresh && "$DMG" "$STORE" unreachable >/dev/null
run_fsck 1 "Unattached inode 9" -y
fresh && "$DMG" "$STORE" cycle >/dev/null
run_fsck 1 "Inode 1 (directory) ref count is 4, should be 3" -y
fresh && "$DMG" "$STORE" beyond >/dev/null
run_fsck 1 "Block 0 of inode 6 holds 300 bytes" -y

# ---- command line and environment ----
log "usage, missing store, store in use, no terminal"
fresh
out=$("$FSCK" 2>&1); assert_eq 16 $? "no STORE"
out=$("$FSCK" -n -y "$STORE" 2>&1); assert_eq 16 $? "-n with -y"
out=$("$FSCK" -Z "$STORE" 2>&1); assert_eq 16 $? "unknown option"
out=$("$FSCK" -n "$TMPROOT/nonexistent" 2>&1); assert_eq 8 $? "missing store"
mkdir -p "$TMPROOT/empty"
out=$("$FSCK" -n "$TMPROOT/empty" 2>&1); assert_eq 8 $? "a directory that is no store"
out=$(flock "$STORE/LOCK" "$FSCK" -y "$STORE" 2>&1); rc=$?
assert_eq 8 $rc "store locked by another process"
grep -q "is in use (mounted?)" <<<"$out" || fail "locked store: no 'in use' message: $out"
run_fsck 0 "" -f -n    # -f is accepted
"$DMG" "$STORE" dangling >/dev/null
before=$(store_sum)
out=$("$FSCK" "$STORE" </dev/null 2>&1); rc=$?
assert_eq 4 $rc "interactive mode without a terminal behaves as -n"
[ "$before" = "$(store_sum)" ] || fail "interactive mode without a terminal changed the store"

if command -v script >/dev/null; then
    log "interactive answers on a terminal (script(1) gives fsck a pty)"
    fresh && "$DMG" "$STORE" nlink >/dev/null
    printf 'n\ny\n' | script -qec "$FSCK $STORE" /dev/null >"$TMPROOT/ask.out" 2>&1; rc=$?
    assert_eq 5 $rc "one fix declined, one made: 1|4"
    grep -q "Fix<y>?" "$TMPROOT/ask.out" || fail "no interactive question"
    run_fsck 4 "ref count is 7, should be 3" -n   # the declined one is still there
    run_fsck 1 "" -y
fi

log "preen"
fresh && "$DMG" "$STORE" orphan >/dev/null
run_fsck 1 "RECLAIMED" -p
run_fsck 0 "" -n
fresh && "$DMG" "$STORE" nlink >/dev/null
run_fsck 1 "FIXED" -a
fresh && "$DMG" "$STORE" badname >/dev/null
run_fsck 4 "UNEXPECTED INCONSISTENCY; RUN fsck MANUALLY" -p
run_fsck 4 "invalid name" -n   # preen stopped before fixing anything unsafe

log "progress"
fresh
"$FSCK" -n -C 3 "$STORE" 3>"$TMPROOT/progress" >/dev/null 2>&1; rc=$?
assert_eq 0 $rc "fsck -C 3"
grep -Eq "^[1-6] [0-9]+ [0-9]+ $STORE\$" "$TMPROOT/progress" ||
    fail "-C 3 wrote no 'pass cur max device' lines: $(head -n 3 "$TMPROOT/progress")"
run_fsck 0 "%" -n -C 0

log "cancel (SIGINT) on a 300,000-file store"
fresh empty && "$MKSTORE" "$STORE" 300000 >/dev/null || fail "fsck_mkstore failed"
"$FSCK" -n "$STORE" >"$TMPROOT/cancel.out" 2>&1 &
pid=$!
# Signal once it is running (its handler is installed before "Pass 1" is printed).
for i in $(seq 1 500); do
    grep -q "^Pass 1" "$TMPROOT/cancel.out" 2>/dev/null && break
    sleep 0.01
done
kill -INT $pid
wait $pid; rc=$?
assert_eq 32 $rc "fsck interrupted by SIGINT"
grep -q "cancelled by user request" "$TMPROOT/cancel.out" || fail "no cancel message"
run_fsck 0 "300302/" -n

# ---- with a real mount ----
if [ $HAVE_FUSE = 0 ]; then
    echo "SKIP (mount part): FUSE is not usable here"
    fs_done
fi

log "clean store filled through FUSE with cp -a /usr/include"
fresh empty
if fs_mount; then
    cp -a /usr/include "$MNT/" || fail "cp -a /usr/include failed"
    out=$("$FSCK" -y "$STORE" 2>&1); rc=$?
    assert_eq 8 $rc "fsck -y of a mounted store"
    grep -q "unmount it to repair" <<<"$out" || fail "mounted store: no 'unmount it to repair' message: $out"
    out=$("$FSCK" -n "$STORE" 2>&1); rc=$?
    assert_eq 0 $rc "fsck -n of a mounted store (online, on a checkpoint): $out"
    fs_unmount || fail "unmount after cp was not clean"
    run_fsck 0 "" -n
    run_fsck 0 "" -f -y
    n=$(find /usr/include | wc -l)
    grep -q "files" <<<"$FSCK_OUT" || fail "no summary line"
    log "$(tail -n 1 <<<"$FSCK_OUT") (/usr/include has $n entries)"
else
    fail "mount failed"
fi

log "orphan left by a daemon killed while a deleted file was open"
if fs_mount; then
    echo "still open" > "$MNT/victim"
    exec 7<"$MNT/victim"
    rm "$MNT/victim"
    kill -9 "$FS_PID"
    wait "$FS_PID" 2>/dev/null
    FS_PID=
    exec 7<&-
    # The kernel keeps a dead daemon's mount ("Transport endpoint is not connected").
    fusermount3 -u "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null
    fs_unmount quiet
    run_fsck 0 "Orphan inode" -n
    run_fsck 1 "Orphan inode" -y
    run_fsck 0 "" -n
else
    fail "mount failed"
fi

log "repaired tree readable through a mount"
fresh && "$DMG" "$STORE" unreachable >/dev/null
run_fsck 1 "" -y
if fs_mount; then
    sz=$(stat -c %s "$MNT/lost+found/#4/f3" 2>/dev/null)
    assert_eq 5000 "$sz" "reconnected directory's file in lost+found"
    sz=$(stat -c %s "$MNT/lost+found/#9" 2>/dev/null)
    assert_eq 3000 "$sz" "reconnected file in lost+found"
    assert_eq 10000 "$(wc -c < "$MNT/d1/f1")" "untouched file still readable"
    fs_unmount || fail "unmount was not clean"
    run_fsck 0 "" -n
else
    fail "mount failed"
fi
fs_done
