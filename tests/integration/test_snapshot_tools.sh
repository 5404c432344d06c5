#!/bin/bash
# test_snapshot_tools.sh - what users do with MNT/.snapshots (issue 14), beyond the view's
# own rules (test_snapview.sh):
#   - restore: `cp -a` and `rsync -aHAX` of a snapshot's directory to another file system
#     give a tree identical to the one snapshotted: contents, types, modes, owners, mtimes,
#     symlinks, xattrs and ACLs, hard links;
#   - `find MNT -xdev` and `du -s MNT` never descend into .snapshots (hidden from readdir);
#   - a backup (rsync) of a snapshot made while writers keep changing the tree is one
#     point: the copy equals the snapshot, read again after the copy, writers still running;
#   - a file open and mmapped in a snapshot reads its old contents while the live file is
#     rewritten, truncated and deleted (caches dropped between, so reads reach the daemon);
#   - space: a snapshot of a big file holds 0 bytes at once and about the file's size once
#     the file is rewritten; deleting it and `lsmfsctl compact` give the tables back;
#   - inode numbers in a snapshot and the snapshots themselves survive kill -9 of the
#     daemon (and a remount); snapshots without a slot row (older builds) get one at first
#     sight, kept across remounts.
# Prints snapshot creation times (mkdir and lsmfsctl, 5 each, median) with a big file in
# the store - never asserted. SNAP_BIG_MIB sets the file's size (default 64).
. "$(dirname "$0")/lib.sh"
[ "$LSMFS_TARGET" = lsmfs ] || skip ".snapshots is lsmfs's own"
CTL=$O/lsmfsctl
[ -x "$CTL" ] || { echo "lsmfsctl is not built at $CTL"; exit 1; }
fs_require_root
command -v python3 >/dev/null || skip "python3 is needed for the mmap checks"
command -v rsync >/dev/null || skip "rsync is not installed (tools/install-deps.sh installs it)"
fs_setup
fs_require_tool fsck_damage
BIG_MIB=${SNAP_BIG_MIB:-64}

# One line per entry: type, mode, owner, size, links, mtime (ns), symlink target; the md5
# of every file; every xattr (ACLs included); hard-link groups within the tree.
tree_sig() { # dir
    (cd "$1" && find . -mindepth 1 -printf '%P %y %m %U:%G %s %n %T@ %l\n' |
        awk '$2 == "d" { $5 = "-" } { print }' | sort && # a directory's size is the fs's
     find . -type f -printf '%P\n' | sort | while read -r f; do
         echo "$f $(md5sum < "$f" | cut -d' ' -f1)"; done &&
     getfattr -R -h -d -m - . 2>/dev/null | awk 'BEGIN { RS = ""; FS = "\n" }
        { gsub(/\n/, " | "); print }' | sort &&
     find . -mindepth 1 -printf '%i %P\n' | sort -k2 |
        awk '{ if ($1 in first) print $2, "=", first[$1]; else first[$1] = $2 }')
}
same_tree() { # expected-signature dir what: prints only the differences
    local d
    d=$(diff <(echo "$1") <(tree_sig "$2")) || _fail_up "$3 differs (< expected, > got): $d"
}
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
median() { tr ' ' '\n' | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
held() { "$CTL" snapshot usage "$MNT" | awk -v n="$1" '$1 == n { print $2 }'; }
sst() { "$CTL" stats "$MNT" | sed -n 's/^lsm.total-sst-files-size: //p'; }

# ---- restore with cp -a and rsync ----
T=$MNT/home/u
mkdir -p "$T/docs/deep" "$T/bin"
head -c 200000 /dev/urandom > "$T/docs/big.bin"
echo "hello" > "$T/docs/a.txt"; echo "other" > "$T/docs/deep/b.txt"
ln "$T/docs/a.txt" "$T/docs/deep/a-link"           # a hard link inside the tree
ln -s ../docs/a.txt "$T/bin/sym"; ln -s /nowhere "$T/bin/dangling"
printf '#!/bin/sh\necho hi\n' > "$T/bin/run"; chmod 4755 "$T/bin/run"
: > "$T/docs/empty"; chmod 600 "$T/docs/empty"
truncate -s 1M "$T/docs/sparse"
chown -R 65534:65534 "$T/docs/deep"; chown -h 123:456 "$T/bin/sym"
setfattr -n user.tag -v green "$T/docs/a.txt"; setfattr -n user.dir -v x "$T/docs"
command -v setfacl >/dev/null && setfacl -m u:65534:rw "$T/docs/big.bin"
command -v setfacl >/dev/null && setfacl -d -m u:65534:rx "$T/docs/deep"
# every entry gets a time in the past: rsync may compare an mtime in whole seconds and
# leave it alone when they match, so an entry made in the same second as the restore
# would keep the restore's nanoseconds (a failure of the test, not of the view; CI saw it
# on a directory and on the dangling symlink). Files before directories: touching an
# entry does not change its directory's mtime, but keep the order obvious.
find "$T" -mindepth 1 ! -type d -exec touch -h -d '2001-02-03 04:05:06.123456789' {} +
find "$T" -mindepth 1 -type d -exec touch -h -d '2001-02-03 04:05:06.123456789' {} +
want=$(tree_sig "$T")
mkdir "$MNT/.snapshots/r1" || fail "mkdir .snapshots/r1"
# the live tree moves on and loses things
rm -rf "$T/docs/deep"; echo changed > "$T/docs/a.txt"; chmod 700 "$T/bin/run"
setfattr -x user.dir "$T/docs"
S=$MNT/.snapshots/r1/home/u
same_tree "$want" "$S" "the snapshot's tree"
R=$TMPROOT/restore; mkdir -p "$R"
cp -a "$S" "$R/cp" || fail "cp -a of a snapshot directory"
same_tree "$want" "$R/cp" "the tree restored by cp -a"
rsync -aHAX "$S/" "$R/rsync/" || fail "rsync -aHAX of a snapshot directory"
same_tree "$want" "$R/rsync" "the tree restored by rsync -aHAX"
rsync -aHAX "$S/" "$MNT/restored/" || fail "rsync -aHAX from a snapshot into the live tree"
same_tree "$want" "$MNT/restored" "the tree rsync -aHAX restored into the live tree"
rm -rf "$MNT/restored"

# ---- find -xdev and du -s of MNT stay out of .snapshots ----
head -c $((8 << 20)) /dev/urandom > "$MNT/only-in-snapshot"
mkdir "$MNT/.snapshots/r2" || fail "mkdir .snapshots/r2"
rm "$MNT/only-in-snapshot"
[ -f "$MNT/.snapshots/r2/only-in-snapshot" ] || fail "r2 lost only-in-snapshot"
n=$(find "$MNT" -xdev | grep -c -e '\.snapshots' -e 'only-in-snapshot')
assert_eq 0 "$n" "entries from .snapshots in find MNT -xdev"
assert_eq 0 "$(find "$MNT" -name 'only-in-snapshot' | wc -l)" "find MNT finds a snapshot's file"
du_k=$(du -sk "$MNT" | cut -f1)
[ "$du_k" -lt 4096 ] || fail "du -s MNT is $du_k KiB: it counted the snapshots' 8 MiB file"
tar -C "$MNT" -cf - . | tar -tf - | grep -q snapshots && fail "tar of MNT descends into .snapshots"
assert_ok rmdir "$MNT/.snapshots/r1" "$MNT/.snapshots/r2"

# ---- a backup of a snapshot while writers run: one point ----
mkdir -p "$MNT/w"
stop=$TMPROOT/stop; pids=()
for w in 1 2 3; do
    ( i=0; while [ ! -e "$stop" ]; do
          i=$((i + 1)); echo "$w $i" >> "$MNT/w/log$w"; echo "$i" > "$MNT/w/cur$w.tmp"
          mv "$MNT/w/cur$w.tmp" "$MNT/w/cur$w"; [ $((i % 7)) -eq 0 ] && rm -f "$MNT/w/log$w"
      done ) &
    pids+=($!)
done
sleep 1
"$CTL" snapshot create "$MNT" bk >/dev/null || fail "lsmfsctl snapshot create bk"
rsync -aHAX "$MNT/.snapshots/bk/w/" "$R/bk/" || fail "rsync of snapshot bk while writers run"
sleep 0.5
after=$(tree_sig "$MNT/.snapshots/bk/w")
sleep 0.5
live=$(cat "$MNT"/w/cur1 "$MNT"/w/cur2 "$MNT"/w/cur3 2>/dev/null)
touch "$stop"; for p in "${pids[@]}"; do wait "$p"; done
same_tree "$after" "$R/bk" "the backup (vs the snapshot read after it)"
[ "$(cat "$R"/bk/cur1 "$R"/bk/cur2 "$R"/bk/cur3 2>/dev/null)" != "$live" ] ||
    fail "the writers did not change the live tree after the snapshot (test is void)"
for w in 1 2 3; do # each writer's files as of one instant: cur is the log's last record
    [ -f "$R/bk/cur$w" ] || continue
    c=$(cat "$R/bk/cur$w")
    [ -f "$R/bk/log$w" ] && { l=$(tail -n 1 "$R/bk/log$w" | cut -d' ' -f2)
        [ "$l" = "$c" ] || [ "$l" = $((c + 1)) ] || fail "backup: writer $w cur $c, log ends at $l"; }
done
"$CTL" snapshot delete "$MNT" bk || fail "snapshot delete bk"

# ---- a file open and mmapped in a snapshot while the live file changes ----
head -c 1000000 /dev/urandom > "$MNT/om"
mkdir "$MNT/.snapshots/om" || fail "mkdir .snapshots/om"
L=$MNT/om S=$MNT/.snapshots/om/om python3 - <<'EOF' || fail "open/mmap in a snapshot (above)"
import hashlib, mmap, os, sys
L, S = os.environ["L"], os.environ["S"]
md5 = lambda b: hashlib.md5(b).hexdigest()
fd = os.open(S, os.O_RDONLY)
want = md5(os.pread(fd, 2000000, 0))
m = mmap.mmap(fd, 0, prot=mmap.PROT_READ)
bad = 0
def drop():
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3")
def check(what):
    global bad
    drop()
    got = {"pread": md5(os.pread(fd, 2000000, 0)), "mmap": md5(m[:]),
           "new open": md5(open(S, "rb").read())}
    for how, h in got.items():
        if h != want:
            print(f"FAIL {how} after the live file was {what}"); bad += 1
w = os.open(L, os.O_WRONLY)
os.pwrite(w, os.urandom(1000000), 0); os.fsync(w)
check("rewritten")
os.ftruncate(w, 10); os.fsync(w); os.close(w)
check("truncated")
os.unlink(L)
check("deleted")
if m.size() != 1000000:
    print("FAIL mmap size", m.size()); bad += 1
m.close(); os.close(fd)
sys.exit(1 if bad else 0)
EOF
assert_ok rmdir "$MNT/.snapshots/om"

# ---- space: a snapshot of a big file costs nothing until the file changes ----
dd if=/dev/urandom of="$MNT/big" bs=1M count="$BIG_MIB" status=none || fail "write big"
sync "$MNT/big"
"$CTL" compact "$MNT" >/dev/null || fail "compact"
sst0=$(sst)
tm=() tc=()
for i in 1 2 3 4 5; do
    t=$(date +%s%N); mkdir "$MNT/.snapshots/tm$i" || fail "mkdir tm$i"; tm+=("$(ms_since "$t")")
    t=$(date +%s%N); "$CTL" snapshot create "$MNT" "tc$i" >/dev/null || fail "ctl tc$i"
    tc+=("$(ms_since "$t")")
done
log "snapshot create with a $BIG_MIB MiB file: mkdir ${tm[*]} ms (median $(echo "${tm[*]}" | median))," \
    "lsmfsctl ${tc[*]} ms (median $(echo "${tc[*]}" | median)), including process start"
for i in 1 2 3 4 5; do rmdir "$MNT/.snapshots/tm$i"; "$CTL" snapshot delete "$MNT" "tc$i"; done
mkdir "$MNT/.snapshots/big" || fail "mkdir .snapshots/big"
assert_eq 0 "$(held big)" "bytes held by a snapshot right after it was made"
assert_eq 0 "$("$CTL" stats "$MNT" | sed -n 's/^snapshots.held-bytes: //p')" "stats' held-bytes at once"
dd if=/dev/urandom of="$MNT/big" bs=1M count="$BIG_MIB" conv=notrunc status=none || fail "rewrite"
sync "$MNT/big"
h=$(held big)
[ "${h:-0}" -ge $((BIG_MIB << 20)) ] || fail "snapshot big holds ${h:-?} bytes after a rewrite of $BIG_MIB MiB"
"$CTL" compact "$MNT" >/dev/null || fail "compact"
sst1=$(sst)
[ "$sst1" -gt $((sst0 + (BIG_MIB << 19))) ] ||
    fail "tables $sst0 -> $sst1 bytes: the snapshot's old version of big is not kept"
df1=$(df -k --output=used "$MNT" | tail -n 1)
assert_ok rmdir "$MNT/.snapshots/big"
"$CTL" compact "$MNT" >/dev/null || fail "compact"
sst2=$(sst)
df2=$(df -k --output=used "$MNT" | tail -n 1)
[ "$sst2" -lt $((sst1 - (BIG_MIB << 19))) ] ||
    fail "tables $sst1 -> $sst2 bytes after deleting the snapshot and compacting"
log "space: tables $sst0 B with the file, $sst1 B with the snapshot after a rewrite," \
    "$sst2 B after rmdir + compact; df used $df1 -> $df2 KiB; held $h B"

# ---- kill -9 of the daemon: snapshots and their inode numbers survive ----
mkdir -p "$MNT/k"; echo one > "$MNT/k/f"
mkdir "$MNT/.snapshots/k1" || fail "mkdir k1"
echo two > "$MNT/k/f"
"$CTL" snapshot create "$MNT" k2 >/dev/null || fail "ctl k2"
echo three > "$MNT/k/f"
i1=$(stat -c %i "$MNT/.snapshots/k1/k/f"); i2=$(stat -c %i "$MNT/.snapshots/k2/k/f")
kill -KILL "$FS_PID"; wait "$FS_PID" 2>/dev/null; FS_PID=
fusermount3 -uz "$MNT" 2>/dev/null || umount -l "$MNT"
FS_MOUNTED=0
fs_mount || { fail "mount after kill -9"; fs_done; }
assert_eq "k1 k2" "$(ls "$MNT/.snapshots" | tr '\n' ' ' | sed 's/ $//')" "snapshots after kill -9"
assert_eq "two" "$(cat "$MNT/.snapshots/k2/k/f")" "k2's file after kill -9" # looked up first
assert_eq "one" "$(cat "$MNT/.snapshots/k1/k/f")" "k1's file after kill -9"
assert_eq "$i1 $i2" "$(stat -c %i "$MNT/.snapshots/k1/k/f") $(stat -c %i "$MNT/.snapshots/k2/k/f")" \
    "inode numbers in snapshots after kill -9"
fs_remount
assert_eq "$i2 $i1" "$(stat -c %i "$MNT/.snapshots/k2/k/f") $(stat -c %i "$MNT/.snapshots/k1/k/f")" \
    "inode numbers in snapshots after a remount"

# ---- a store whose snapshots have no slot rows (made by an older build) ----
# each gets a slot at its first lookup, persisted: the same inode numbers after a remount
fs_unmount
"$TOOLS/fsck_damage" "$STORE" snapslots-gone || fail "fsck_damage snapslots-gone"
fs_mount || { fail "mount without slot rows"; fs_done; }
assert_eq "two" "$(cat "$MNT/.snapshots/k2/k/f")" "k2 without a slot row"
j2=$(stat -c %i "$MNT/.snapshots/k2/k/f"); j1=$(stat -c %i "$MNT/.snapshots/k1/k/f")
fs_remount
assert_eq "$j1 $j2" "$(stat -c %i "$MNT/.snapshots/k1/k/f") $(stat -c %i "$MNT/.snapshots/k2/k/f")" \
    "inode numbers given at first sight, after a remount"
fs_unmount
out=$("$O/fsck.lsmfs" -n -f "$STORE" 2>&1) || fail "fsck -n after the test: $out"
fs_done
