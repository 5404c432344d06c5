#!/bin/bash
# test_fs_apps.sh - application write patterns through an lsmfs mount when the daemon is
# killed with SIGKILL: replace by write-temp + fsync + rename (editors, package managers),
# append + fsync (logs), and SQLite transactions (journal_mode WAL and DELETE).
#
#   O=build/check bash tests/crash/test_fs_apps.sh                 short: 8 kill points
#   O=build/check bash tests/crash/test_fs_apps.sh --rounds 200    long
#   ... --seed N [-v]
#
# Each round runs all three patterns at once in a fresh folder of the mount (mount modes
# alternate between `-o nowriteback` and `-o writeback`; SQLite alternates WAL and
# DELETE), kills the daemon after a random delay, detaches the dead mount, runs fsck -n
# (must exit 0; orphans are reported, not errors), remounts and checks:
#   replace: every target is completely the content of its last completed rename or of
#            the rename in doubt (tests/tools/fscrash_apps.c verify-replace);
#   append:  the log is a prefix of what was appended, holds everything fsync'ed (and,
#            without the writeback cache, every completed write);
#   SQLite:  PRAGMA integrity_check is ok; every transaction the sqlite3 CLI reported as
#            committed is there (at most one more: the COMMIT in doubt), and every row holds
#            exactly what the transactions wrote.
# The SQLite part is skipped (said so on the output) when sqlite3 is not installed.
. "$(dirname "$0")/fs_lib.sh"

rounds=8
seed=${FSCRASH_SEED:-$(( (RANDOM << 15 | RANDOM) ))}
verbose=0
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) rounds=$2; shift 2 ;;
        --seed) seed=$2; shift 2 ;;
        -v) verbose=1; shift ;;
        *) echo "usage: $0 [--rounds N] [--seed N] [-v]" >&2; exit 2 ;;
    esac
done
echo "test_fs_apps: seed $seed (reproduce: $0 --seed $seed --rounds $rounds)"
RANDOM=$seed
fs_require_tool fscrash_apps
fsc_setup
APPS=$TOOLS/fscrash_apps
have_sqlite=1
command -v sqlite3 >/dev/null || { have_sqlite=0; echo "SKIP (part): sqlite3 is not installed; the SQLite pattern is not run"; }

NTX=20000
# The SQL script: schema, then NTX transactions, each followed by a marker that the CLI
# prints only after its COMMIT returned (-bail stops at the first error).
make_sql() { # journal_mode
    echo "PRAGMA journal_mode=$1;"
    echo "PRAGMA synchronous=FULL;"
    echo "CREATE TABLE t(id INTEGER PRIMARY KEY, payload TEXT);"
    echo "CREATE TABLE meta(k INTEGER PRIMARY KEY, n INTEGER);"
    echo "INSERT INTO meta VALUES(1, 0);"
    echo "SELECT 'ready';"
    awk -v n=$NTX 'BEGIN { for (i = 1; i <= n; i++) {
        printf "BEGIN; INSERT INTO t VALUES(%d, printf(\x27%%d-\x27, %d) || hex(zeroblob(%d)));", i, i, 50 + (i * 37) % 1500
        printf " UPDATE t SET payload = payload || \x27u\x27 WHERE id = %d;", i - 7
        printf " UPDATE meta SET n = %d WHERE k = 1; COMMIT; SELECT \x27done %d\x27;\n", i, i } }'
}
# What every row must hold after n transactions (row j was updated by transaction j+7).
SQL_CHECK="SELECT (SELECT n FROM meta), (SELECT count(*) FROM t), (SELECT coalesce(max(id),0) FROM t),
  (SELECT count(*) FROM t, meta WHERE payload != printf('%d-', id) || hex(zeroblob(50 + (id * 37) % 1500))
     || CASE WHEN id + 7 <= meta.n THEN 'u' ELSE '' END);"

fails=0
die_round() { # round message
    echo "FAIL round $1 (seed $seed, $mode): $2"
    echo "daemon log (last lines):"; tail -n 15 "$TMPROOT/daemon.log" 2>/dev/null
    if [ -n "${FSCRASH_KEEP:-}" ]; then
        rm -rf "$FSCRASH_KEEP" && cp -a "$STORE" "$FSCRASH_KEEP" && echo "store kept in $FSCRASH_KEEP"
    fi
    exit 1
}

check_sqlite() { # round dir outfile
    local r=$1 db=$2/db.sqlite out=$3 last ic res n cnt mx badrows
    if ! grep -q '^ready$' "$out"; then
        # killed while the database was being created: it must still be a sound database
        [ -e "$db" ] || return 0
        ic=$(sqlite3 "$db" 'PRAGMA integrity_check;' 2>&1)
        [ "$ic" = ok ] || die_round "$r" "SQLite ($jm) integrity_check before the schema was done: $ic"
        return 0
    fi
    last=$(grep '^done ' "$out" | tail -n 1 | cut -d' ' -f2); last=${last:-0}
    ic=$(sqlite3 "$db" 'PRAGMA integrity_check;' 2>&1)
    [ "$ic" = ok ] || die_round "$r" "SQLite ($jm): integrity_check says: $ic"
    res=$(sqlite3 -separator ' ' "$db" "$SQL_CHECK" 2>&1) || die_round "$r" "SQLite ($jm): query failed: $res"
    read -r n cnt mx badrows <<< "$res"
    if [ "$n" != "$cnt" ] || [ "$n" != "$mx" ] || [ "$badrows" != 0 ]; then
        die_round "$r" "SQLite ($jm): meta.n=$n, $cnt rows, max id $mx, $badrows rows with wrong contents"
    fi
    if [ "$n" -lt "$last" ] || [ "$n" -gt $((last + 1)) ]; then
        die_round "$r" "SQLite ($jm): $n transactions in the database, but $last were committed (allowed: $last or $((last + 1)))"
    fi
    [ $verbose -eq 1 ] && log "round $r: SQLite ($jm): $n transactions ($last reported committed), integrity ok"
    return 0
}

start=$SECONDS
for ((r = 1; r <= rounds; r++)); do
    wb=$((r % 2))
    jm=$([ $(((r / 2) % 2)) -eq 0 ] && echo WAL || echo DELETE)
    if [ $wb -eq 1 ]; then FS_MOUNT_OPTS="writeback"; wbflag=--wb; mode="writeback"
    else FS_MOUNT_OPTS="nowriteback"; wbflag=; mode="nowriteback"; fi
    mode="$mode, sqlite $jm"
    delay=$(fsc_rand_ms 300 2000)
    aseed=$((seed * 100 + r))
    [ $verbose -eq 1 ] && log "round $r: $mode, kill after $delay ms"
    fs_mount || die_round $r "mount failed"
    D=$MNT/a$r
    mkdir -p "$D/rep" || die_round $r "mkdir"
    "$APPS" replace --dir "$D/rep" --journal "$TMPROOT/rep$r" --seed $aseed 2>"$TMPROOT/rep.err" &
    p1=$!
    "$APPS" append --file "$D/log" --journal "$TMPROOT/app$r" --seed $aseed 2>"$TMPROOT/app.err" &
    p2=$!
    fsc_track $p1 $p2
    if [ $have_sqlite -eq 1 ]; then
        make_sql $jm > "$TMPROOT/tx.sql"
        sqlite3 -bail "$D/db.sqlite" < "$TMPROOT/tx.sql" > "$TMPROOT/sq$r.out" 2>"$TMPROOT/sq.err" &
        p3=$!
        fsc_track $p3
    fi
    fsc_sleep_ms "$delay"
    fsc_kill_daemon
    fsc_wait_pid $p1 30; rc1=$FSC_RC
    fsc_wait_pid $p2 30; rc2=$FSC_RC
    rc3=0
    if [ $have_sqlite -eq 1 ]; then fsc_wait_pid $p3 30; rc3=$FSC_RC; fi
    FSC_PIDS=()
    [ "$rc1" = 3 ] || { cat "$TMPROOT/rep.err"; die_round $r "replace workload ended with '$rc1' (3 = dead mount)"; }
    [ "$rc2" = 3 ] || { cat "$TMPROOT/app.err"; die_round $r "append workload ended with '$rc2' (3 = dead mount)"; }
    [ "$rc3" = hang ] && die_round $r "sqlite3 hung after the daemon died"
    fsc_drop_dead_mount || die_round $r "dead mount"
    fsc_fsck_after_crash || die_round $r "fsck -n after kill -9"
    fs_mount || die_round $r "remount after the crash failed"
    out=$("$APPS" verify-replace --dir "$D/rep" --journal "$TMPROOT/rep$r" --seed $aseed) ||
        { echo "$out"; die_round $r "write-temp + fsync + rename"; }
    [ $verbose -eq 1 ] && log "round $r: $out"
    out=$("$APPS" verify-append --file "$D/log" --journal "$TMPROOT/app$r" --seed $aseed $wbflag) ||
        { echo "$out"; die_round $r "append + fsync"; }
    [ $verbose -eq 1 ] && log "round $r: $out"
    [ $have_sqlite -eq 1 ] && check_sqlite $r "$D" "$TMPROOT/sq$r.out"
    fs_unmount || die_round $r "clean unmount failed"
done
fsc_fsck_clean || die_round $rounds "fsck -n after the last clean unmount"
echo "test_fs_apps: $rounds kill points, all checks passed (seed $seed; fsck found only orphans" \
     "after $FSC_ORPHAN_ONLY of them) in $((SECONDS - start)) s"
exit 0
