#!/bin/bash
# test_fsck_online.sh - fsck.lsmfs on a mounted store (fsck/online.c): -n checks a
# checkpoint the daemon makes, and the mount goes on working.
#   - `fsck -n MNT` and `fsck -n STORE` exit 0 on a healthy store while a writer keeps
#     writing (its files are all there and whole afterwards), and leave no checkpoint behind;
#   - -p and -y on the mounted store exit 8 and say to unmount; the store is not touched;
#   - a byte flipped in a live table (the daemon's own file) is found online: exit 4, the
#     message names the checksum; the checkpoint is removed also then;
#   - after unmount the store's own fsck agrees (exit 4 there too).
. "$(dirname "$0")/lib.sh"
[ "$LSMFS_TARGET" = lsmfs ] || skip "lsmfs only"
fs_setup
trap '_fs_cleanup' EXIT
FSCK=$O/fsck.lsmfs
CTL=$O/lsmfsctl
[ -x "$CTL" ] || { fail "lsmfsctl is not built at $CTL"; fs_done; }

leftovers() { ls -a "$(dirname "$STORE")" | grep -c "^\.$(basename "$STORE")\.fsck-" ; }

mkdir -p "$MNT/tree"
for i in $(seq 1 300); do echo "file $i" > "$MNT/tree/f$i"; done
head -c 3M /dev/urandom > "$TMPROOT/big.ref"
cp "$TMPROOT/big.ref" "$MNT/big"

# a writer running through the checks
( i=0; while [ ! -e "$TMPROOT/stop" ]; do
      i=$((i + 1)); echo "w $i" > "$MNT/tree/w$i" || exit 1; echo "$i" > "$TMPROOT/wcount"
  done ) &
wpid=$!
sleep 0.3
out=$("$FSCK" -n "$MNT" 2>&1); rc=$?
assert_eq 0 "$rc" "fsck -n MNT on a healthy mounted store (output: $out)"
case "$out" in *"checking a checkpoint"*) ;; *) fail "fsck -n MNT does not say it checks a checkpoint: $out" ;; esac
out=$("$FSCK" -n -f "$STORE" 2>&1); rc=$?
assert_eq 0 "$rc" "fsck -n STORE while mounted (output: $out)"
touch "$TMPROOT/stop"; wait "$wpid" || fail "the writer failed during the online checks"
n=$(cat "$TMPROOT/wcount")
[ "$n" -gt 0 ] || fail "the writer wrote nothing"
for i in 1 $((n / 2 + 1)) "$n"; do
    assert_eq "w $i" "$(cat "$MNT/tree/w$i")" "writer's file w$i after the online checks"
done
assert_eq 0 "$(leftovers)" "checkpoint directories left beside the store"

# repairs need the store unmounted
for m in -p -y; do
    out=$("$FSCK" "$m" "$STORE" 2>&1); rc=$?
    assert_eq 8 "$rc" "fsck $m on the mounted store"
    case "$out" in *"unmount it to repair"*) ;; *) fail "fsck $m: no hint to unmount: $out" ;; esac
done
assert_same_file "$TMPROOT/big.ref" "$MNT/big"

# damage in a live table is seen online
"$CTL" compact "$MNT" > /dev/null || fail "lsmfsctl compact"
sst=$(ls -S "$STORE"/*.sst | head -n 1)
sz=$(stat -c %s "$sst"); off=$((sz / 2))
b=$(od -An -tu1 -j"$off" -N1 "$sst" | tr -d ' ')
printf "\\x$(printf %02x $((b ^ 0x5a)))" | dd of="$sst" bs=1 seek="$off" conv=notrunc status=none
out=$("$FSCK" -n "$MNT" 2>&1); rc=$?
assert_eq 4 "$rc" "fsck -n MNT with a damaged live table (output: $out)"
case "$out" in *checksum*) ;; *) fail "the online report does not name the checksum: $out" ;; esac
assert_eq 0 "$(leftovers)" "checkpoint directories left after the damaged check"
assert_ok stat "$MNT/tree/f1"

fs_unmount
"$FSCK" -n "$STORE" > "$TMPROOT/offline.out" 2>&1
assert_eq 4 "$?" "offline fsck -n of the damaged store"
fs_done
