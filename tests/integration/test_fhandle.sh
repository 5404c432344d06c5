#!/bin/bash
# test_fhandle.sh - file handles (name_to_handle_at + open_by_handle_at) stay valid for live
# files and directories after the kernel dropped its caches and after a remount, for
# hard-linked files through either name; a removed file's handle gives ESTALE, and a
# handle never opens a later file (inode numbers are not reused).
. "$(dirname "$0")/lib.sh"
fs_setup
fs_require_tool fhandle
FH=$TOOLS/fhandle
H=$TMPROOT/handles; mkdir -p "$H"

echo "plain data" > "$MNT/f"
echo "linked data" > "$MNT/h1"; ln "$MNT/h1" "$MNT/h2"
mkdir -p "$MNT/d/sub"; echo "deep" > "$MNT/d/sub/g"
echo "doomed" > "$MNT/gone"
for n in f h1 h2 d d/sub d/sub/g gone; do
    assert_ok "$FH" save "$MNT/$n" "$H/${n//\//_}"
done
ino() { stat -c %i "$MNT/$1"; }
check_open() { # name expected-first-line(or "") what
    local out
    out=$("$FH" open "$MNT" "$H/${1//\//_}")
    local want="ino $(ino "$1")"
    [ -n "$2" ] && want="$want
$2"
    [ "$out" = "$want" ] || _fail_up "$3: open_by_handle_at($1): '$out', expected '$want'"
}
check_all() { # what
    check_open f "plain data" "$1"; check_open h1 "linked data" "$1"
    check_open h2 "linked data" "$1"; check_open d "" "$1"; check_open d/sub "" "$1"
    check_open d/sub/g "deep" "$1"
}
check_all "with warm caches"
sync; echo 2 > /proc/sys/vm/drop_caches
check_all "after drop_caches"
fs_remount
check_all "after a remount"

# a removed file: ESTALE (also after drop_caches); its number is not reused
gone_ino=$(ino gone)
rm "$MNT/gone"
for i in $(seq 1 20); do echo "new $i" > "$MNT/new$i"; done
sync; echo 2 > /proc/sys/vm/drop_caches
assert_eq ESTALE "$("$FH" open "$MNT" "$H/gone")" "handle of a removed file"
for i in $(seq 1 20); do
    [ "$(ino "new$i")" != "$gone_ino" ] || fail "inode number $gone_ino was reused by new$i"
done
# removing one of two links keeps the handle valid
rm "$MNT/h1"
sync; echo 2 > /proc/sys/vm/drop_caches
check_open h2 "linked data" "after removing the other link"
assert_eq "ino $(ino h2)" "$("$FH" open "$MNT" "$H/h1" | head -n 1)" "h1's handle names the inode h2 still links"
fs_remount
assert_eq ESTALE "$("$FH" open "$MNT" "$H/gone")" "handle of a removed file after a remount"
fs_done
