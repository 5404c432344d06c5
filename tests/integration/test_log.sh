#!/bin/bash
# test_log.sh - a running lsmfs tells someone about damage (fs/log.c):
#   - detached with -o log=FILE, a checksum failure met while reading a file is appended to
#     FILE as a time-stamped "lsmfs[pid]" line that names the store, the inode (and how to
#     find its path), the byte range and the damaged .sst;
#   - in the foreground (-f) the same message goes to stderr.
# (Syslog, the default of a detached daemon, is not checked here: this machine has no
# /dev/log. The engine's background failures reach the same hook: unit/test_faults.)
. "$(dirname "$0")/lib.sh"
fs_setup
head -c 2M /dev/urandom > "$MNT/victim"
echo fine > "$MNT/other"
ino=$(stat -c %i "$MNT/victim")
fs_unmount || { fail "unmount"; fs_done; }

# flip one byte in the middle of the biggest table (the one holding the file's blocks)
sst=$(ls -S "$STORE"/*.sst | head -n 1)
sz=$(stat -c %s "$sst"); off=$((sz / 2))
b=$(od -An -tu1 -j"$off" -N1 "$sst" | tr -d ' ')
printf "\\x$(printf %02x $((b ^ 0x5a)))" | dd of="$sst" bs=1 seek="$off" conv=notrunc status=none

# detached, with log=FILE
LOGF=$TMPROOT/lsmfs.log
assert_ok "$O/lsmfs" -o "allow_other,log=$LOGF" "$STORE" "$MNT"
mountpoint -q "$MNT" || { fail "detached mount did not come up"; fs_done; }
FS_MOUNTED=1
dpid=
for p in /proc/[0-9]*; do
    if { tr '\0' ' ' < "$p/cmdline"; } 2>/dev/null | grep -q -- " $STORE $MNT"; then dpid=${p#/proc/}; fi
done
assert_fails dd if="$MNT/victim" of=/dev/null bs=1M status=none
assert_eq "fine" "$(cat "$MNT/other")" "an undamaged file still reads"
for _ in $(seq 1 20); do grep -q "inode $ino" "$LOGF" 2>/dev/null && break; sleep 0.1; done
line=$(grep -m1 "inode $ino " "$LOGF")
log "log line: $line"
[ -n "$line" ] || fail "no line naming inode $ino in $LOGF: $(cat "$LOGF" 2>/dev/null)"
case "$line" in *"lsmfs[$dpid]: $STORE: error: "*) ;; *) fail "line lacks lsmfs[$dpid] and the store: $line" ;; esac
case "$line" in *"find $MNT -inum $ino"*) ;; *) fail "line does not say how to find the path: $line" ;; esac
case "$line" in *"$(basename "$sst")"*checksum*) ;; *) fail "line does not name the .sst and the checksum: $line" ;; esac
case "$line" in *"bytes "*) ;; *) fail "line does not give the byte range: $line" ;; esac
fusermount3 -u "$MNT" || fail "unmount of the detached daemon"
for _ in $(seq 1 200); do [ -n "$dpid" ] && kill -0 "$dpid" 2>/dev/null || break; sleep 0.05; done
FS_MOUNTED=0

# foreground: stderr (lib.sh keeps it in daemon.log)
fs_mount || { fail "foreground mount"; fs_done; }
assert_fails dd if="$MNT/victim" of=/dev/null bs=1M status=none
for _ in $(seq 1 20); do grep -q "inode $ino " "$TMPROOT/daemon.log" && break; sleep 0.1; done
grep -q "^lsmfs: $STORE: inode $ino .*checksum" "$TMPROOT/daemon.log" ||
    fail "-f: no checksum message for inode $ino on stderr"
fs_unmount quiet
fs_done
