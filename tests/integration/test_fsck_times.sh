#!/bin/bash
# test_fsck_times.sh - times in the future (or long before 1970) are legal: fsck.lsmfs -n
# calls a store with such files clean (exit 0), -p and -y change nothing, and every time
# reads back to the nanosecond after the checks.
. "$(dirname "$0")/lib.sh"
fs_setup
FSCK=$O/fsck.lsmfs
[ -x "$FSCK" ] || { echo "$FSCK is not built"; exit 1; }

echo a > "$MNT/y2100"; touch -d '2100-01-01 00:00:00.5' "$MNT/y2100"
echo b > "$MNT/y2514"; touch -d '2514-05-06 07:08:09.123456789' "$MNT/y2514"
mkdir "$MNT/dir2514"; touch -d '2514-01-01' "$MNT/dir2514"
ln -s y2100 "$MNT/link"; touch -h -d '2400-02-29 12:00:00' "$MNT/link"
echo c > "$MNT/old"; touch -d '1901-12-14 00:00:00' "$MNT/old"
echo d > "$MNT/mixed"; touch -a -d '2300-01-01' "$MNT/mixed"; touch -m -d '1969-12-31 23:59:59.999999999' "$MNT/mixed"
times() { (cd "$MNT" && stat -c '%n %X.%x %Y.%y %s %h' y2100 y2514 dir2514 link old mixed); }
before=$(times)
fs_unmount || fail "unmount was not clean"

out=$("$FSCK" -n "$STORE" 2>&1); rc=$?
assert_eq 0 "$rc" "fsck -n on a store with future times (output: $out)"
out=$("$FSCK" -f -n "$STORE" 2>&1); rc=$?
assert_eq 0 "$rc" "fsck -f -n on a store with future times (output: $out)"
out=$("$FSCK" -p "$STORE" 2>&1); rc=$?
assert_eq 0 "$rc" "fsck -p on a store with future times (output: $out)"
out=$("$FSCK" -y "$STORE" 2>&1); rc=$?
assert_eq 0 "$rc" "fsck -y on a store with future times (output: $out)"

fs_mount || { fail "mount after fsck failed"; fs_done; }
assert_eq "$before" "$(times)" "times after fsck -n/-p/-y"
fs_done
