#!/bin/bash
# test_concurrent.sh - parallel writers: 8 threads writing disjoint (unaligned) regions of one
# file and 8 threads each writing its own 40 files (tests/tools/mtwrite), verified at once
# and again after a remount; then 8 shell jobs creating, renaming and removing names in one
# shared directory, with the final listing checked name by name.
. "$(dirname "$0")/lib.sh"
fs_require_tool mtwrite
fs_setup

mkdir "$MNT/mt"
run_tool 300 "$TOOLS/mtwrite" -t 8 -f 40 -s 4242 "$MNT/mt"
fs_remount
run_tool 300 "$TOOLS/mtwrite" -t 8 -f 40 -s 4242 -V "$MNT/mt"

# metadata from many processes at once in one directory
mkdir "$MNT/meta"
for j in 1 2 3 4 5 6 7 8; do
    (
        cd "$MNT/meta" || exit 1
        for i in $(seq 1 150); do
            echo "$j.$i" > "tmp.$j.$i" || exit 1
            mv "tmp.$j.$i" "f.$j.$i" || exit 1
            if [ $((i % 3)) -eq 0 ]; then rm "f.$j.$i" || exit 1; fi
        done
        mkdir "dir.$j" && mv "f.$j.1" "dir.$j/moved" || exit 1
    ) &
done
rc=0
for j in 1 2 3 4 5 6 7 8; do wait -n || rc=1; done
assert_eq 0 "$rc" "all metadata jobs succeeded"
expected=$(for j in 1 2 3 4 5 6 7 8; do
               echo "dir.$j"
               for i in $(seq 2 150); do [ $((i % 3)) -ne 0 ] && echo "f.$j.$i"; done
           done | sort)
assert_eq "$expected" "$(ls "$MNT/meta" | sort)" "listing after concurrent create/rename/unlink"
bad=0
for j in 1 2 3 4 5 6 7 8; do
    [ "$(cat "$MNT/meta/dir.$j/moved")" = "$j.1" ] || bad=$((bad + 1))
    [ "$(cat "$MNT/meta/f.$j.77")" = "$j.77" ] || bad=$((bad + 1))
done
assert_eq 0 "$bad" "contents after concurrent renames"
assert_eq 8 "$(stat -c %h "$MNT/meta" | awk '{print $1 - 2}')" "link count of a dir with 8 subdirs, minus 2"
fs_done
