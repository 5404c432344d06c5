#!/bin/bash
# test_sparse.sh - a large sparse file: 4 KiB written at 1 TiB - 4 KiB; the size is 1 TiB,
# SEEK_HOLE/SEEK_DATA find the one data block, du stays small, the data and the hole read
# right; all of it again after a remount; then the file is truncated and removed.
. "$(dirname "$0")/lib.sh"
fs_require_tool posix_ops
fs_setup

mkdir "$MNT/sp"
run_tool 120 "$TOOLS/posix_ops" "$MNT/sp" sparse_tib
F=$MNT/sp/sparse_tib/sparse
TIB=$((1 << 40))
tail_md5() { dd if="$F" bs=4096 skip=$(( (TIB >> 12) - 1 )) count=1 status=none | md5sum | cut -c1-32; }
before=$(tail_md5)
assert_eq "$TIB" "$(stat -c %s "$F")" "size"
du_k=$(du -k "$F" | cut -f1)
[ "$du_k" -le 1024 ] || fail "du of the sparse file is ${du_k} KiB (want <= 1024)"

fs_remount
assert_eq "$TIB" "$(stat -c %s "$F")" "size after remount"
assert_eq "$before" "$(tail_md5)" "last block after remount"
du_k=$(du -k "$F" | cut -f1)
[ "$du_k" -le 1024 ] || fail "du after remount is ${du_k} KiB"
assert_eq "$(head -c 1048576 /dev/zero | md5sum | cut -c1-32)" \
    "$(dd if="$F" bs=1M skip=$((512 * 1024)) count=1 status=none | md5sum | cut -c1-32)" "a hole mid-file reads as zeros"
# a file with data at both ends and SEEK_HOLE at the start
printf 'head' | dd of="$MNT/sp/two" conv=notrunc status=none
printf 'tail' | dd of="$MNT/sp/two" bs=1 seek=$((TIB - 4)) conv=notrunc status=none
assert_eq "$TIB" "$(stat -c %s "$MNT/sp/two")" "size of a file written at both ends"
assert_eq tail "$(tail -c 4 "$MNT/sp/two")" "tail bytes"
assert_ok truncate -s 4096 "$F"
assert_eq 4096 "$(stat -c %s "$F")" "size after truncate"
assert_eq "$(head -c 4096 /dev/zero | md5sum)" "$(md5sum < "$F")" "truncated sparse file reads zeros"
assert_ok rm "$F" "$MNT/sp/two"
fs_done
