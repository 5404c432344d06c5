#!/bin/bash
# test_df_inodes.sh - df -i (statfs f_files/f_ffree, fs/inode_count.c): IUsed is the number
# of inodes in the store, so it follows creates (files, directories, symlinks, fifos),
# hard links (no change), unlinks, rmdir, a rename that replaces a file, and the reclaim of
# a file unlinked while open (at its close); it is the same after a remount (counted again
# from the store) and agrees with fsck's count; IFree is the free space divided by the
# documented minimum cost of one inode (256 bytes), and Inodes = IUsed + IFree.
. "$(dirname "$0")/lib.sh"
fs_setup

iused() { df -i "$MNT" | awk 'NR == 2 { print $3 }'; }   # IUsed column of df -i
base=$(iused)
assert_eq 2 "$base" "IUsed of a new store (root and lost+found)"

mkdir "$MNT/d"
for i in $(seq 1 100); do : > "$MNT/d/f$i"; done
ln -s f1 "$MNT/d/link"; mkfifo "$MNT/d/fifo"; mkdir "$MNT/d/sub"
assert_eq $((base + 104)) "$(iused)" "after 100 files, a symlink, a fifo, two directories"
ln "$MNT/d/f1" "$MNT/d/hard"
assert_eq $((base + 104)) "$(iused)" "a hard link adds no inode"
rm "$MNT/d/f1"
assert_eq $((base + 104)) "$(iused)" "one of two links gone: the inode stays"
for i in $(seq 2 51); do rm "$MNT/d/f$i"; done
assert_eq $((base + 54)) "$(iused)" "after 50 unlinks"
mv "$MNT/d/f52" "$MNT/d/f53"
assert_eq $((base + 53)) "$(iused)" "a rename that replaces a file"
rmdir "$MNT/d/sub"
assert_eq $((base + 52)) "$(iused)" "after rmdir"
# unlinked while open: counted until the last close
exec 7<"$MNT/d/f60"
rm "$MNT/d/f60"
assert_eq $((base + 52)) "$(iused)" "unlinked but open"
exec 7<&-
for _ in $(seq 1 50); do [ "$(iused)" = $((base + 51)) ] && break; sleep 0.1; done
assert_eq $((base + 51)) "$(iused)" "after the last close"

# IFree = free space / 256, Inodes = IUsed + IFree
read -r files ifree iused_now < <(df --output=itotal,iavail,iused "$MNT" | tail -n 1)
avail=$(df -B1 --output=avail "$MNT" | tail -n 1)
assert_eq "$files" $((iused_now + ifree)) "Inodes = IUsed + IFree"
want=$((avail / 256))
diff=$((ifree - want)); diff=${diff#-}
# the free space moves a little between the two df calls
[ "$diff" -le $((want / 1000 + 4096)) ] || fail "IFree $ifree, free space/256 is $want"
log "df -i: $files inodes, $iused_now used, $ifree free ($avail bytes free)"

fs_remount
assert_eq $((base + 51)) "$(iused)" "IUsed after a remount"
if [ "$LSMFS_TARGET" = lsmfs ]; then
    fs_unmount || fail "unmount"
    out=$("$O/fsck.lsmfs" -n -f "$STORE" 2>&1)
    assert_eq 0 $? "fsck -n"
    n=$(echo "$out" | sed -n 's|.*: \([0-9]*\)/[0-9]* files.*|\1|p')
    assert_eq $((base + 51)) "$n" "fsck's count of files"
fi
fs_done
