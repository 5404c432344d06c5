#!/bin/bash
# test_fsck_snapshots.sh - fsck.lsmfs checks the tree of every persistent snapshot
# (lsmfsctl snapshot create) after the live one, read-only:
#   - a healthy snapshot of a tree that has changed since is checked at its own point: its
#     summary line (STORE@NAME) counts the files it holds, not the live ones (also online);
#   - damage that a snapshot holds (a wrong link count written before the snapshot) stays
#     in it after `fsck -y` repaired the live tree: -y exits with 4 set, saying the snapshot
#     cannot be repaired and how to delete it; -n then exits 4; once the snapshot is deleted,
#     fsck -n exits 0;
#   - the snapshots' slot rows: a malformed one and a duplicated slot are found and fixed.
. "$(dirname "$0")/lib.sh"
[ "$LSMFS_TARGET" = lsmfs ] || skip "lsmfs only"
fs_require_tool fsck_damage
fs_setup
trap '_fs_cleanup' EXIT
FSCK=$O/fsck.lsmfs
CTL=$O/lsmfsctl

# a healthy snapshot, then the live tree moves on
mkdir "$MNT/d"
for i in $(seq 1 40); do echo "$i" > "$MNT/d/f$i"; done
"$CTL" snapshot create "$MNT" before > /dev/null || fail "snapshot create"
rm -rf "$MNT/d"
echo now > "$MNT/now"
out=$("$FSCK" -n "$MNT" 2>&1); rc=$?
assert_eq 0 "$rc" "online fsck -n with a healthy snapshot (output: $out)"
live=$(echo "$out" | grep -a "^$STORE: " | tail -n 1 | sed 's#^[^:]*: \([0-9]*\)/.*#\1#')
snap=$(echo "$out" | grep -a "^$STORE@before: " | sed 's#^[^:]*: \([0-9]*\)/.*#\1#')
[ -n "$snap" ] || fail "no summary line for snapshot 'before': $out"
assert_eq 3 "$live" "files in the live tree (root, lost+found, now)"
assert_eq 43 "$snap" "files in the snapshot (root, lost+found, d and its 40 files)"
"$CTL" snapshot delete "$MNT" before || fail "snapshot delete"
fs_unmount

# damage kept by a snapshot (fsck_damage needs a fresh store)
rm -rf "$STORE"
fs_mkfs || fail "mkfs"
"$TOOLS/fsck_damage" "$STORE" populate || fail "populate"
"$TOOLS/fsck_damage" "$STORE" nlink || fail "damage nlink"
fs_mount || fail "mount of the damaged store"
"$CTL" snapshot create "$MNT" old > /dev/null || fail "snapshot create on the damaged store"
fs_unmount
out=$("$FSCK" -y "$STORE" 2>&1); rc=$?
[ $((rc & 1)) -eq 1 ] || fail "fsck -y did not repair the live tree (exit $rc): $out"
[ $((rc & 4)) -eq 4 ] || fail "fsck -y: the snapshot's damage is not left uncorrected (exit $rc): $out"
echo "$out" | grep -q "snapshot old: .* cannot be repaired" || fail "no 'cannot be repaired' line: $out"
out=$("$FSCK" -n "$STORE" 2>&1); rc=$?
assert_eq 4 "$rc" "fsck -n: the live tree is repaired, the snapshot still damaged"
echo "$out" | grep -q "ref count is 5, should be 2" || fail "the snapshot's problem is not named: $out"
fs_mount || fail "mount"
"$CTL" snapshot delete "$MNT" old || fail "snapshot delete"
fs_unmount
out=$("$FSCK" -n "$STORE" 2>&1); rc=$?
assert_eq 0 "$rc" "fsck -n once the damaged snapshot is deleted (output: $out)"

# the snapshots' slot rows (their inode numbers in MNT/.snapshots): a malformed row and a
# slot two snapshots claim are found (-n: exit 4) and deleted (-y); the daemon then gives
# those snapshots free slots at their first lookup, and the store checks clean again
fs_mount || fail "mount"
for s in bad dup-a dup-b; do "$CTL" snapshot create "$MNT" "$s" >/dev/null || fail "create $s"; done
fs_unmount
"$TOOLS/fsck_damage" "$STORE" snapslot-bad || fail "damage snapslot-bad"
out=$("$FSCK" -n "$STORE" 2>&1); rc=$?
assert_eq 4 "$rc" "fsck -n with a malformed and a duplicate slot row (output: $out)"
echo "$out" | grep -q "bad.*slot row (1 bytes) does not decode" || fail "malformed slot row not named: $out"
echo "$out" | grep -q "dup-b.* has slot 1, which another snapshot has" || fail "duplicate slot not named: $out"
out=$("$FSCK" -y "$STORE" 2>&1); rc=$?
assert_eq 1 "$rc" "fsck -y fixes the slot rows (output: $out)"
out=$("$FSCK" -n "$STORE" 2>&1); rc=$?
assert_eq 0 "$rc" "fsck -n after fsck -y fixed the slot rows (output: $out)"
fs_mount || fail "mount"
slots=$(for s in bad dup-a dup-b; do echo $(( ($(stat -c %i "$MNT/.snapshots/$s") >> 48) & 0x7fff )); done |
        sort -u | wc -l)
assert_eq 3 "$slots" "distinct slots of bad, dup-a, dup-b after the repair"
fs_unmount
out=$("$FSCK" -n "$STORE" 2>&1); rc=$?
assert_eq 0 "$rc" "fsck -n once the daemon gave them new slots (output: $out)"
fs_done
