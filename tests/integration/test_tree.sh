#!/bin/bash
# test_tree.sh - a real source tree: /usr/include copied in with cp -a and compared with
# diff -r and with a listing of type, mode, owner, size, mtime (ns) and symlink target of
# every entry; unmount, remount, compare again; hard links and renames across directories
# (files and a directory) survive the remount; finally the tree is removed completely.
. "$(dirname "$0")/lib.sh"
SRC=${TREE_SRC:-/usr/include}
[ -d "$SRC" ] || skip "$SRC is missing"
fs_setup

listing() { # dir: one line per entry, sorted; dir sizes are file-system specific
    (cd "$1" && find . -type d -printf 'd %m %U %G %T@ %p\n' &&
                find . ! -type d -printf '%y %m %U %G %s %T@ %l %p\n') | sort
}
listing "$SRC" > "$TMPROOT/src.list"

log "cp -a $SRC ($(du -sh "$SRC" | cut -f1))"
run_tool 400 cp -a "$SRC" "$MNT/inc"
log "diff -r"
run_tool 300 diff -r --no-dereference "$SRC" "$MNT/inc" >"$TMPROOT/diff.out" 2>&1 || head -n 20 "$TMPROOT/diff.out"
listing "$MNT/inc" > "$TMPROOT/mnt.list"
assert_ok diff "$TMPROOT/src.list" "$TMPROOT/mnt.list"

# hard links and renames across directories
mkdir -p "$MNT/hl/a" "$MNT/hl/b" "$MNT/hl/a/sub/deep"
echo linked > "$MNT/hl/a/f"
ln "$MNT/hl/a/f" "$MNT/hl/b/g"
ln "$MNT/hl/a/f" "$MNT/hl/a/sub/h"
echo moved > "$MNT/hl/a/x"
mv "$MNT/hl/a/x" "$MNT/hl/b/y"
echo deep > "$MNT/hl/a/sub/deep/z"
mv "$MNT/hl/a/sub" "$MNT/hl/b/sub"
mv "$MNT/inc/stdio.h" "$MNT/hl/b/stdio.h" 2>/dev/null || cp "$SRC/stdio.h" "$MNT/hl/b/stdio.h"
ino_f=$(stat -c %i "$MNT/hl/a/f")

log "remount"
fs_remount
[ -e "$MNT/hl/b/stdio.h" ] && [ ! -e "$MNT/inc/stdio.h" ] && mv "$MNT/hl/b/stdio.h" "$MNT/inc/stdio.h"
run_tool 300 diff -r --no-dereference "$SRC" "$MNT/inc" >"$TMPROOT/diff2.out" 2>&1 || head -n 20 "$TMPROOT/diff2.out"
listing "$MNT/inc" > "$TMPROOT/mnt2.list"
# the stdio.h round trip changed the parent dir mtime: compare everything but that line
assert_ok diff <(grep -v '^d .* \.$' "$TMPROOT/src.list") <(grep -v '^d .* \.$' "$TMPROOT/mnt2.list")

assert_eq 3 "$(stat -c %h "$MNT/hl/a/f")" "nlink of a file with 3 names after remount"
assert_eq "$ino_f" "$(stat -c %i "$MNT/hl/b/g")" "hard link shares the inode after remount"
assert_eq "$ino_f" "$(stat -c %i "$MNT/hl/b/sub/h")" "hard link in a moved dir shares the inode"
assert_eq linked "$(cat "$MNT/hl/b/g")" "hard link content"
assert_eq moved "$(cat "$MNT/hl/b/y")" "renamed file content"
assert_eq deep "$(cat "$MNT/hl/b/sub/deep/z")" "content under a renamed directory"
assert_fails test -e "$MNT/hl/a/x"
assert_fails test -e "$MNT/hl/a/sub"
assert_eq "$(stat -c %i "$MNT/hl/b")" "$(stat -c %i "$MNT/hl/b/sub/..")" "'..' of a moved dir"
assert_eq 2 "$(stat -c %h "$MNT/hl/a")" "nlink of the dir a subdir left"
assert_eq 3 "$(stat -c %h "$MNT/hl/b")" "nlink of the dir a subdir moved into"

log "rm -rf"
run_tool 300 rm -rf "$MNT/inc"
assert_fails test -e "$MNT/inc"
assert_eq "hl" "$(ls -A "$MNT" | grep -v lost+found)" "root after removing the tree"
fs_remount
assert_fails test -e "$MNT/inc"
fs_done
