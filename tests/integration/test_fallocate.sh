#!/bin/bash
# test_fallocate.sh - fallocate allocates what it promises (fs/ops_file.c, fs/data.c):
#   - mode 0 counts every block of the range in st_blocks at once; writing the range
#     afterwards (whole blocks, partial blocks, unaligned) does not grow st_blocks, and the
#     data reads back, also after a remount;
#   - over a sparse file it allocates only the holes (existing data stays);
#   - a fallocate larger than the free space fails with ENOSPC up front and changes
#     nothing (size and st_blocks stay 0), while one that fits succeeds;
#   - KEEP_SIZE keeps the size and allocates the blocks below it (ENOSPC too when the
#     whole range would not fit);
#   - fsck.lsmfs finds the store clean afterwards.
. "$(dirname "$0")/lib.sh"
fs_setup

blocks() { stat -c %b "$1"; }   # in 512-byte units
MiB=$((1024 * 1024))

# mode 0: st_blocks counts the range at once, writes into it add nothing
fallocate -l $((8 * MiB)) "$MNT/f" || fail "fallocate 8 MiB"
assert_eq $((8 * MiB / 512)) "$(blocks "$MNT/f")" "st_blocks after fallocate 8 MiB"
assert_eq $((8 * MiB)) "$(stat -c %s "$MNT/f")" "size after fallocate 8 MiB"
head -c $((8 * MiB)) /dev/urandom > "$TMPROOT/ref"
dd if="$TMPROOT/ref" of="$MNT/f" bs=64k count=64 conv=notrunc status=none   # whole blocks
dd if="$TMPROOT/ref" of="$MNT/f" bs=1000 skip=4500 seek=4500 count=3000 conv=notrunc status=none
dd if="$TMPROOT/ref" of="$MNT/f" bs=4096 skip=1024 seek=1024 count=1024 conv=notrunc status=none
assert_eq $((8 * MiB / 512)) "$(blocks "$MNT/f")" "st_blocks after writing the fallocated range"
assert_same_file "$TMPROOT/ref" "$MNT/f"

# over a sparse file: only the holes are allocated, data stays
truncate -s $((1 * MiB)) "$MNT/s"
printf 'middle' | dd of="$MNT/s" bs=1 seek=$((512 * 1024)) conv=notrunc status=none
assert_eq 8 "$(blocks "$MNT/s")" "sparse file: one stored block"
fallocate -l $((1 * MiB)) "$MNT/s" || fail "fallocate over a sparse file"
assert_eq $((MiB / 512)) "$(blocks "$MNT/s")" "sparse file after fallocate"
assert_eq middle "$(dd if="$MNT/s" bs=1 skip=$((512 * 1024)) count=6 status=none)" "data kept"

# larger than the free space: ENOSPC up front, nothing changes
avail=$(df -B1 --output=avail "$MNT" | tail -n 1)
out=$(fallocate -l $((avail + 1024 * MiB)) "$MNT/big" 2>&1) && fail "fallocate past the free space succeeded"
case $out in *"No space left"*) ;; *) fail "fallocate past the free space said: $out" ;; esac
assert_eq "0 0" "$(stat -c '%s %b' "$MNT/big")" "size and st_blocks after the refused fallocate"
fallocate -l $((64 * MiB)) "$MNT/fits" || fail "fallocate 64 MiB (fits) failed"
assert_eq $((64 * MiB / 512)) "$(blocks "$MNT/fits")" "st_blocks of the 64 MiB fallocate"

# KEEP_SIZE: size stays, the blocks below it are allocated
head -c 100000 /dev/urandom > "$TMPROOT/k"
cp "$TMPROOT/k" "$MNT/k"
fallocate -p -o 0 -l 100000 "$MNT/k"      # punch it all: no block stored
assert_eq 0 "$(blocks "$MNT/k")" "punched file"
fallocate -n -o 0 -l 300000 "$MNT/k" || fail "fallocate KEEP_SIZE"
assert_eq 100000 "$(stat -c %s "$MNT/k")" "size after KEEP_SIZE"
want=$(( (100000 + 4095) / 4096 * 8 ))
assert_eq "$want" "$(blocks "$MNT/k")" "st_blocks after KEEP_SIZE (blocks below the size)"
dd if="$TMPROOT/k" of="$MNT/k" bs=777 conv=notrunc status=none
assert_eq "$want" "$(blocks "$MNT/k")" "st_blocks after writing the KEEP_SIZE range"
assert_same_file "$TMPROOT/k" "$MNT/k"
out=$(fallocate -n -l $((avail + 1024 * MiB)) "$MNT/k" 2>&1) && fail "KEEP_SIZE past the free space succeeded"
case $out in *"No space left"*) ;; *) fail "KEEP_SIZE past the free space said: $out" ;; esac
assert_eq "100000 $want" "$(stat -c '%s %b' "$MNT/k")" "size and st_blocks after the refused KEEP_SIZE"

fs_remount
assert_eq $((8 * MiB / 512)) "$(blocks "$MNT/f")" "st_blocks after a remount"
assert_same_file "$TMPROOT/ref" "$MNT/f"
printf 'x' | dd of="$MNT/fits" bs=1 seek=$((32 * MiB)) conv=notrunc status=none
assert_eq $((64 * MiB / 512)) "$(blocks "$MNT/fits")" "writing into the range after a remount"

if [ "$LSMFS_TARGET" = lsmfs ]; then
    fs_unmount || fail "unmount"
    out=$("$O/fsck.lsmfs" -n -f "$STORE" 2>&1); rc=$?
    assert_eq 0 "$rc" "fsck -n after fallocate ($out)"
fi
fs_done
