#!/bin/bash
# test_lsmfsctl.sh - the control channel (fs/ops_ioctl.c) through build/lsmfsctl: snapshot
# create/list/delete and their errors, only the owner or root may change anything,
# `stats` output parsed (counters move with the work done, --watch prints rates), manual
# compaction, and a checkpoint taken while writers run that passes fsck and mounts in place
# of the store with the data as of the checkpoint. Also measures create/checkpoint times.
. "$(dirname "$0")/lib.sh"
[ "$LSMFS_TARGET" = lsmfs ] || skip "lsmfsctl talks to lsmfs only"
CTL=$O/lsmfsctl
[ -x "$CTL" ] || { echo "lsmfsctl is not built at $CTL"; exit 1; }
fs_require_root
fs_setup

mkdir "$MNT/d"
for i in $(seq 1 50); do echo "file $i" > "$MNT/d/f$i"; done

# ---- snapshots ----
seq1=$("$CTL" snapshot create "$MNT" first) || fail "snapshot create"
[[ "$seq1" =~ ^[0-9]+$ ]] || fail "snapshot create printed '$seq1', not a sequence"
"$CTL" snapshot create "$MNT" first 2>/dev/null; assert_eq 1 $? "creating an existing name"
"$CTL" snapshot create "$MNT" "a/b" 2>/dev/null; assert_eq 1 $? "a name with a slash"
"$CTL" snapshot create "$MNT" second >/dev/null || fail "second snapshot"
list=$("$CTL" snapshot list "$MNT")
assert_eq "first $seq1" "$(echo "$list" | grep '^first ')" "list shows first with its sequence"
assert_eq 2 "$(echo "$list" | wc -l)" "two snapshots listed"
# nobody may look, not change
assert_ok as_user "$CTL" snapshot list "$MNT"
out=$(as_user "$CTL" snapshot create "$MNT" evil 2>&1); rc=$?
assert_eq 1 "$rc" "nobody creating a snapshot"
case "$out" in *"owner or root"*) ;; *) fail "nobody's create said: $out" ;; esac
as_user "$CTL" snapshot delete "$MNT" first 2>/dev/null; assert_eq 1 $? "nobody deleting"
as_user "$CTL" checkpoint "$MNT" "$TMPROOT/evil" 2>/dev/null; assert_eq 1 $? "nobody checkpointing"
[ ! -e "$TMPROOT/evil" ] || fail "nobody's checkpoint was made"
assert_ok "$CTL" snapshot delete "$MNT" second
"$CTL" snapshot delete "$MNT" second 2>/dev/null; assert_eq 1 $? "deleting a missing snapshot"
"$CTL" snapshot list "$MNT/d" 2>/dev/null; assert_eq 2 $? "a directory that is not the root"
"$CTL" snapshot list /tmp 2>/dev/null; assert_eq 2 $? "not an lsmfs mount"

# ---- stats ----
s1=$("$CTL" stats "$MNT")
w1=$(echo "$s1" | sed -n 's/^fs.writes: //p')
for i in $(seq 1 20); do echo more >> "$MNT/d/f1"; done
s2=$("$CTL" stats "$MNT")
w2=$(echo "$s2" | sed -n 's/^fs.writes: //p')
[[ "$w1" =~ ^[0-9]+$ && "$w2" =~ ^[0-9]+$ ]] || fail "fs.writes not a number: '$w1' '$w2'"
[ $((w2 - w1)) -ge 20 ] || fail "fs.writes went from $w1 to $w2 after 20 writes"
assert_eq 1 "$(echo "$s2" | sed -n 's/^lsm.num-persistent-snapshots: //p')" "snapshots counted"
echo "$s2" | grep -q '^L[0-9]*: \|^tables: ' || fail "no engine level lines in stats"
watch=$("$CTL" stats "$MNT" --watch 1 --count 2)
assert_eq 3 "$(echo "$watch" | wc -l)" "--watch 1 --count 2 prints a header and 2 lines"
echo "$watch" | tail -n 1 | grep -Eq '^ *[0-9]+ +[0-9]+ +[0-9]+ +[0-9.]+ +[0-9.]+ +[0-9]+ +[0-9]+$' ||
    fail "a --watch line does not parse: $(echo "$watch" | tail -n 1)"

# ---- compaction ----
out=$("$CTL" compact "$MNT") || fail "compact"
case "$out" in "tables: "*) ;; *) fail "compact said: $out" ;; esac

# ---- checkpoint under writers ----
( for i in $(seq 1 400); do echo "w $i" > "$MNT/d/w$i"; done ) &
writer=$!
t0=$(date +%s%N)
"$CTL" checkpoint "$MNT" "$TMPROOT/ck" >/dev/null || fail "checkpoint"
t1=$(date +%s%N)
wait $writer
"$CTL" checkpoint "$MNT" "$TMPROOT/ck" 2>/dev/null; assert_eq 1 $? "checkpoint into an existing dir"
t2=$(date +%s%N)
"$CTL" snapshot create "$MNT" timed >/dev/null || fail "timed snapshot"
t3=$(date +%s%N)
log "timings: checkpoint $(( (t1 - t0) / 1000000 )) ms (small store), snapshot create $(( (t3 - t2) / 1000000 )) ms"
run_tool 120 "$O/fsck.lsmfs" -n -f "$TMPROOT/ck" >/dev/null || fail "fsck -n of the checkpoint"
# the checkpoint mounts in place of the store
fs_unmount
STORE=$TMPROOT/ck
fs_mount || fail "mounting the checkpoint"
assert_eq "file 50" "$(cat "$MNT/d/f50")" "data before the checkpoint"
n=$(ls "$MNT/d" | grep -c '^w')
# files appear in order: w1..wN all there when wN is (a prefix of the writer's history)
if [ "$n" -gt 0 ]; then
    [ -e "$MNT/d/w$n" ] || fail "checkpoint holds $n writer files but not w$n (not a prefix)"
fi
"$CTL" snapshot list "$MNT" | grep -q '^first ' || fail "the snapshot came along in the checkpoint"
fs_done
