#!/bin/bash
# test_snapview.sh - MNT/.snapshots (fs/snapview.c): a snapshot's view equals the tree at
# snapshot time (file contents, directories, symlinks, xattrs, hard links) while the live
# tree changes afterwards; every change inside is EROFS; .snapshots is hidden from readdir
# of the root but can be listed; mkdir/rmdir create/delete snapshots, nobody may not;
# inode numbers differ from the live ones; open files and mmap work, also after the
# snapshot is deleted; snapshots survive a remount; and atomicity: 8 writers appending
# numbered records and renaming a token between directories while snapshots are taken -
# every snapshot shows each writer's log as a prefix and its token exactly once, never
# ahead of the log. Prints the time of `mkdir .snapshots/NAME` (not asserted).
. "$(dirname "$0")/lib.sh"
[ "$LSMFS_TARGET" = lsmfs ] || skip ".snapshots is lsmfs's own"
CTL=$O/lsmfsctl
[ -x "$CTL" ] || { echo "lsmfsctl is not built at $CTL"; exit 1; }
fs_require_root
command -v python3 >/dev/null || skip "python3 is needed for the errno checks"
fs_setup
fs_require_tool fhandle

# The tree's signature: one line per entry (type, mode, size, link count, symlink target),
# the md5 of every regular file, the xattrs, and the hard-link groups (paths sharing an
# inode with an earlier path).
tree_sig() { # dir
    (cd "$1" && find . -mindepth 1 -printf '%P %y %m %s %n %l\n' | sort &&
     find . -type f -printf '%P\n' | sort | while read -r f; do
         echo "$f $(md5sum < "$f" | cut -d' ' -f1)"; done &&
     getfattr -R -h -d -m - . 2>/dev/null | grep -v '^$' &&
     find . -mindepth 1 -printf '%i %P\n' | sort -k2 |
        awk '{ if ($1 in first) print $2, "=", first[$1]; else first[$1] = $2 }')
}
names() { ls "$MNT/.snapshots" | tr '\n' ' ' | sed 's/ $//'; }

mkdir -p "$MNT/d/sub" "$MNT/e"
head -c 300000 /dev/urandom > "$MNT/d/big"
echo small > "$MNT/d/small"
: > "$MNT/d/empty"
printf 'x' | dd of="$MNT/d/sparse" bs=1 seek=200000 2>/dev/null
ln -s ../d/small "$MNT/e/link"
ln "$MNT/d/small" "$MNT/e/hard"
setfattr -n user.color -v blue "$MNT/d/small"
setfattr -n user.k -v v1 "$MNT/d/sub"
command -v setfacl >/dev/null && setfacl -m u:65534:r "$MNT/d/big"
for i in $(seq 1 30); do echo "n$i" > "$MNT/d/sub/f$i"; done
before=$(tree_sig "$MNT")

# ---- create through the view; hidden; listed ----
t0=$(date +%s%N)
mkdir "$MNT/.snapshots/s1" || fail "mkdir .snapshots/s1"
t1=$(date +%s%N)
log "mkdir .snapshots/s1 took $(( (t1 - t0) / 1000000 )) ms"
"$CTL" snapshot create "$MNT" s2 >/dev/null || fail "lsmfsctl snapshot create s2"
ls -a "$MNT" | grep -qx '.snapshots' && fail ".snapshots shows in ls -a of the root"
assert_eq "s1 s2" "$(names)" "ls .snapshots"
"$CTL" snapshot list "$MNT" | grep -q '^s1 ' || fail "lsmfsctl does not list s1"
mkdir "$MNT/.snapshots/s1" 2>/dev/null && fail "mkdir of an existing snapshot succeeded"

# ---- the live tree changes; the view does not ----
head -c 1000 /dev/urandom | dd of="$MNT/d/big" bs=1 seek=5000 conv=notrunc 2>/dev/null
echo more >> "$MNT/d/small"
rm "$MNT/d/sub/f3"
mv "$MNT/d/sub/f4" "$MNT/e/moved"
rm "$MNT/e/link"; ln -s elsewhere "$MNT/e/link"
rm "$MNT/e/hard"
setfattr -n user.color -v red "$MNT/d/small"
setfattr -x user.k "$MNT/d/sub"
command -v setfacl >/dev/null && setfacl -b "$MNT/d/big"
truncate -s 10 "$MNT/d/sparse"
echo new > "$MNT/d/newfile"
chmod 600 "$MNT/d/empty"
assert_eq "$before" "$(tree_sig "$MNT/.snapshots/s1")" "s1 shows the tree as it was"
assert_eq "$before" "$(tree_sig "$MNT/.snapshots/s2")" "s2 shows the tree as it was"
[ "$before" != "$(tree_sig "$MNT")" ] || fail "the live tree did not change (test is void)"

# ---- space: what only the snapshots can read ----
# s1 and s2 see the same tree, so all of it is counted at the newer s2; at least the two
# rewritten 4 KiB blocks of d/big and the removed f3, f4, e/hard... differ from live.
u=$("$CTL" snapshot usage "$MNT") || fail "snapshot usage"
assert_eq 0 "$(echo "$u" | awk '$1 == "s1" { print $2 }')" "s1 holds nothing s2 does not"
u2=$(echo "$u" | awk '$1 == "s2" { print $2 }')
[ "${u2:-0}" -gt 8192 ] || fail "s2 holds ${u2:-?} bytes, expected > 8192: $u"
assert_eq "$u2" "$(echo "$u" | awk '$1 == "total" { print $2 }')" "usage total"
assert_eq "$u2" "$("$CTL" stats "$MNT" | sed -n 's/^snapshots.held-bytes: //p')" \
    "stats' snapshots.held-bytes"
assert_eq "$(( $(ls "$MNT/.snapshots" | wc -l) + 2 ))" "$(stat -c %h "$MNT/.snapshots")" \
    ".snapshots' link count"

# ---- inode numbers differ from the live ones (one st_dev: see docs/SNAPSHOTS.md) ----
li=$(stat -c %i "$MNT/d/big"); si=$(stat -c %i "$MNT/.snapshots/s1/d/big")
[ "$li" != "$si" ] || fail "snapshot inode $si equals the live one"
s2i=$(stat -c %i "$MNT/.snapshots/s2/d/big")
[ "$si" != "$s2i" ] || fail "two snapshots share inode number $si"
assert_eq "$si" "$(ls -i "$MNT/.snapshots/s1/d" | awk '$2 == "big" { print $1 }')" \
    "readdir's d_ino equals stat's st_ino"
assert_eq "$(stat -c %i "$MNT/.snapshots/s1/d/small")" \
    "$(stat -c %i "$MNT/.snapshots/s1/e/hard")" "hard links share an inode in the snapshot"

# ---- every change inside: EROFS ----
S=$MNT/.snapshots/s1 L=$MNT python3 - <<'EOF' || fail "EROFS checks (see above)"
import errno, os, sys
S, L = os.environ["S"], os.environ["L"]
bad = 0
def expect(what, fn, err=errno.EROFS):
    global bad
    try:
        fn()
    except OSError as e:
        if e.errno == err:
            return
        print(f"FAIL {what}: {os.strerror(e.errno)}, expected {os.strerror(err)}"); bad += 1
        return
    print(f"FAIL {what}: succeeded"); bad += 1
f = S + "/d/small"
expect("create", lambda: os.open(S + "/d/nf", os.O_CREAT | os.O_WRONLY, 0o644))
expect("write-open", lambda: os.open(f, os.O_WRONLY))
expect("rdwr-open", lambda: os.open(f, os.O_RDWR))
expect("O_TRUNC open", lambda: os.open(f, os.O_RDONLY | os.O_TRUNC))
expect("truncate", lambda: os.truncate(f, 0))
expect("chmod", lambda: os.chmod(f, 0o600))
expect("chown", lambda: os.chown(f, 1, 1))
expect("utime", lambda: os.utime(f, (1, 1)))
expect("setxattr", lambda: os.setxattr(f, "user.x", b"1"))
expect("removexattr", lambda: os.removexattr(f, "user.color"))
expect("unlink", lambda: os.unlink(f))
expect("rmdir", lambda: os.rmdir(S + "/d/sub"))
expect("mkdir", lambda: os.mkdir(S + "/d/nd"))
expect("symlink", lambda: os.symlink("x", S + "/d/ns"))
expect("mknod", lambda: os.mkfifo(S + "/d/fifo"))
expect("link into", lambda: os.link(L + "/d/newfile", S + "/d/nl"))
expect("link out", lambda: os.link(f, L + "/d/nl"), errno.EXDEV)
expect("rename inside", lambda: os.rename(f, S + "/d/r"))
expect("rename out", lambda: os.rename(f, L + "/d/r"))
expect("rename in", lambda: os.rename(L + "/d/newfile", S + "/d/r"))
expect("rename .snapshots", lambda: os.rename(L + "/.snapshots", L + "/x"))
expect("rmdir .snapshots", lambda: os.rmdir(L + "/.snapshots"))
sys.exit(1 if bad else 0)
EOF
[ -e "$MNT/d/nl" ] && fail "a link out of the snapshot was made"
[ -e "$MNT/d/newfile" ] || fail "rename into the snapshot lost the live file"
mm=$(S=$MNT/.snapshots/s1 python3 -c '
import mmap, os, hashlib
fd = os.open(os.environ["S"] + "/d/big", os.O_RDONLY)
print(hashlib.md5(mmap.mmap(fd, 0, prot=mmap.PROT_READ)[:]).hexdigest())')
assert_eq "$(echo "$before" | awk '$1 == "d/big" && NF == 2 { print $2 }')" "$mm" \
    "mmap read of a snapshot file"

# ---- permissions: nobody may neither create nor delete, but may read ----
as_user mkdir "$MNT/.snapshots/evil" 2>/dev/null && fail "nobody created a snapshot"
as_user rmdir "$MNT/.snapshots/s2" 2>/dev/null && fail "nobody deleted a snapshot"
[ -d "$MNT/.snapshots/s2" ] || fail "s2 is gone after nobody's rmdir"
assert_ok as_user cat "$MNT/.snapshots/s2/d/sub/f1"

# ---- deleting a snapshot with a file open in it: the open file stays readable ----
# (a file never read before, so the read reaches the daemon, after its live copy is gone
# and compacted away: only the deleted snapshot's kept engine snapshot still has it)
head -c 100000 /dev/urandom > "$MNT/d/only3"
want=$(md5sum < "$MNT/d/only3" | cut -d' ' -f1)
mkdir "$MNT/.snapshots/s3" || fail "mkdir s3"
exec 3< "$MNT/.snapshots/s3/d/only3"
rm "$MNT/d/only3"
assert_ok rmdir "$MNT/.snapshots/s3"
"$CTL" compact "$MNT" >/dev/null || fail "compact"
[ -e "$MNT/.snapshots/s3" ] && fail "s3 still resolves after rmdir"
"$CTL" snapshot list "$MNT" | grep -q '^s3 ' && fail "lsmfsctl still lists s3"
assert_eq "$want" "$(md5sum <&3 | cut -d' ' -f1)" "reading a file open in a deleted snapshot"
exec 3<&-

# ---- delete and re-create a name; delete through lsmfsctl ----
assert_ok rmdir "$MNT/.snapshots/s2"
rmdir "$MNT/.snapshots/s2" 2>/dev/null && fail "rmdir of a deleted snapshot succeeded"
mkdir "$MNT/.snapshots/s2" || fail "mkdir s2 again"
assert_eq "$(tree_sig "$MNT")" "$(tree_sig "$MNT/.snapshots/s2")" "re-created s2 shows the tree of now"
"$CTL" snapshot delete "$MNT" s2 || fail "lsmfsctl snapshot delete s2"
[ -e "$MNT/.snapshots/s2" ] && fail "s2 still resolves after lsmfsctl delete"

# ---- remount keeps them ----
fs_remount
assert_eq "s1" "$(names)" "snapshots after remount"
assert_eq "$before" "$(tree_sig "$MNT/.snapshots/s1")" "s1 after remount"

# ---- file handles and inode numbers of snapshot files, across remounts ----
# A snapshot's slot (the node id's snapshot part) is persisted when the snapshot is made,
# so after a remount the same file has the same inode number and its handle opens it -
# also when the snapshots are looked up in another order than before (hB first). Once
# the snapshot is deleted its handle is ESTALE, also after another remount.
echo A > "$MNT/fh"; mkdir "$MNT/.snapshots/hA"
echo B > "$MNT/fh"; mkdir "$MNT/.snapshots/hB"
H=$TMPROOT/handles; mkdir -p "$H"
"$TOOLS/fhandle" save "$MNT/.snapshots/hA/fh" "$H/a" || fail "fhandle save"
"$TOOLS/fhandle" save "$MNT/.snapshots/hB/fh" "$H/b" || fail "fhandle save"
ia=$(stat -c %i "$MNT/.snapshots/hA/fh"); ib=$(stat -c %i "$MNT/.snapshots/hB/fh")
sync; echo 2 > /proc/sys/vm/drop_caches
assert_eq "ino $ia
A" "$("$TOOLS/fhandle" open "$MNT" "$H/a")" "a snapshot file's handle after drop_caches"
fs_remount
assert_eq "ino $ia
A" "$("$TOOLS/fhandle" open "$MNT" "$H/a")" "hA's handle after a remount, before any lookup"
stat "$MNT/.snapshots/hB/fh" >/dev/null
assert_eq "$ib" "$(stat -c %i "$MNT/.snapshots/hB/fh")" "hB/fh's inode number after a remount"
assert_eq "$ia" "$(stat -c %i "$MNT/.snapshots/hA/fh")" "hA/fh's inode number after a remount"
assert_eq "ino $ib
B" "$("$TOOLS/fhandle" open "$MNT" "$H/b")" "hB's handle after a remount"
assert_ok rmdir "$MNT/.snapshots/hA"
sync; echo 2 > /proc/sys/vm/drop_caches
assert_eq ESTALE "$("$TOOLS/fhandle" open "$MNT" "$H/a")" "a deleted snapshot's file handle"
fs_remount # hA's slot is free now (nothing of hA is in use any more): hC may take it
mkdir "$MNT/.snapshots/hC" || fail "mkdir hC"
slot() { echo $(( ($1 >> 48) & 0x7fff )); }
[ "$(slot "$(stat -c %i "$MNT/.snapshots/hC")")" = "$(slot "$ia")" ] &&
    log "hC took hA's slot $(slot "$ia"): the generation has to tell them apart"
assert_eq ESTALE "$("$TOOLS/fhandle" open "$MNT" "$H/a")" \
    "a deleted snapshot's file handle after a remount and a new snapshot"
assert_eq "ino $ib
B" "$("$TOOLS/fhandle" open "$MNT" "$H/b")" "hB's handle after a second remount"

# ---- atomicity under 8 writers ----
# Writer w, step i: append line i to logs/w, then rename its token tA/w.(i-1) or
# tB/w.(i-1) to the other directory as w.i. In any consistent snapshot each writer has
# exactly one token w.k, its log is exactly lines 1..n, and n-1 <= k <= n.
mkdir -p "$MNT/logs" "$MNT/tA" "$MNT/tB"
stop=$TMPROOT/stop
pids=()
for w in 1 2 3 4 5 6 7 8; do
    : > "$MNT/logs/$w"; : > "$MNT/tA/$w.0"
    ( i=0; src=tA; dst=tB
      while [ ! -e "$stop" ]; do
          i=$((i + 1))
          echo "$i" >> "$MNT/logs/$w"
          mv "$MNT/$src/$w.$((i - 1))" "$MNT/$dst/$w.$i"
          t=$src; src=$dst; dst=$t
      done ) &
    pids+=($!)
done
for n in $(seq 1 12); do
    sleep 0.3
    if [ $((n % 3)) -eq 0 ]; then "$CTL" snapshot create "$MNT" "at$n" >/dev/null || fail "ctl at$n"
    else mkdir "$MNT/.snapshots/at$n" || fail "mkdir at$n"; fi
done
touch "$stop"
for p in "${pids[@]}"; do wait "$p"; done
checked=0 maxn=0
for n in $(seq 1 12); do
    V=$MNT/.snapshots/at$n
    [ -d "$V" ] || { fail "at$n missing"; continue; }
    for w in 1 2 3 4 5 6 7 8; do
        nl=$(wc -l < "$V/logs/$w")
        awk 'NR != $1 { bad = 1 } END { exit bad }' "$V/logs/$w" || fail "at$n: log $w is not 1..$nl"
        toks=$(cd "$V" && ls tA tB | grep -E "^$w\.[0-9]+$")
        [ "$(echo "$toks" | grep -c .)" = 1 ] || { fail "at$n: writer $w tokens: $(echo $toks)"; continue; }
        k=${toks#*.}
        { [ "$k" -le "$nl" ] && [ "$k" -ge $((nl - 1)) ]; } ||
            fail "at$n: writer $w token $k with $nl log lines"
        [ "$nl" -gt "$maxn" ] && maxn=$nl
        checked=$((checked + 1))
    done
done
assert_eq 96 "$checked" "writer states checked (12 snapshots x 8 writers)"
[ "$maxn" -ge 2 ] || fail "the writers made no progress (max $maxn records): test is void"
log "atomicity: 12 snapshots, up to $maxn records per writer"

fs_unmount
fs_done
