#!/bin/bash
# test_remount_meta.sh - metadata persists across unmount/remount: modes (incl. suid, sgid,
# sticky), owners, atime/mtime/ctime to the nanosecond, sizes, link counts, inode numbers,
# xattrs (text, binary, empty, trusted.*), symlinks, fifos, sockets, char and block devices,
# awkward names; then a second round of changes (chmod, chown, xattr removal, rename,
# truncate, times) that must persist too, and a third remount with no changes.
. "$(dirname "$0")/lib.sh"
fs_setup

R=$MNT/meta
# meta_snap reads no file data (so atimes stay put); data_snap hashes the files and reads
# the links.
meta_snap() { # everything stat, getfattr and readlink say about every entry under $R
    (cd "$R" && find . -print0 | sort -z | while IFS= read -r -d '' p; do
        stat -c '%n|%F|%a|%u|%g|%s|%h|%t|%T|%i|%x|%y|%z' -- "$p"
        getfattr -h -d -m - -e hex -- "$p" 2>/dev/null | grep -v '^#' | grep -v '^$' | sort
    done)
}
data_snap() { # file hashes and symlink targets (readlink moves a link's atime, like a read)
    (cd "$R" && find . -type f -print0 | sort -z | xargs -0 -r md5sum &&
                find . -type l -print0 | sort -z | xargs -0 -r -n1 readlink -- )
}
# Takes both snapshots into $TMPROOT/<tag>.{data,meta}: data first, since reads move atimes.
snapshot() { data_snap > "$TMPROOT/$1.data"; meta_snap > "$TMPROOT/$1.meta"; }
same_snapshots() { # tag1 tag2 what
    local k
    for k in meta data; do
        if ! diff "$TMPROOT/$1.$k" "$TMPROOT/$2.$k" > "$TMPROOT/diff.$k"; then
            _fail_up "$3 ($k):"; head -n 40 "$TMPROOT/diff.$k"
        fi
    done
}
mkdir "$R"
cd "$R" || exit 1
echo "data" > plain; chmod 0741 plain; chown 1000:2000 plain
touch -d '2001-02-03 04:05:06.123456789' plain
setfattr -n user.text -v hello plain
setfattr -n user.bin -v 0x00ff10ee plain
setfattr -n user.empty plain
setfattr -n trusted.root -v secret plain
: > empty; chmod 0600 empty
printf 'x' | dd of=sparse bs=1 seek=5000000 status=none
mkdir -p dir/sub; chmod 02750 dir; chown 3:4 dir; chmod 1777 dir/sub
setfattr -n user.ondir -v D dir
ln -s plain link; chown -h 5:6 link; touch -h -d '1999-12-31 23:59:59.5' link
ln -s "$(printf 'p%.0s' $(seq 1 300))/long/target" longlink
ln -s ../nowhere dir/dangling
mkfifo fifo; chmod 0620 fifo
mknod chr c 1 3; mknod blk b 8 17; chmod 0640 blk
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' sock 2>/dev/null \
    || log "no python3: socket node not made"
echo s > suid; chmod 6755 suid
echo l > links; ln links dir/links2; ln links dir/sub/links3
name255=$(printf 'n%.0s' $(seq 1 255)); echo long > "$name255"
echo u > 'ünïcödé ✓'; echo sp > 'with space'; echo nl > "$(printf 'new\nline')"
touch -a -d '2010-01-01 00:00:00.000000001' empty
cd / || exit 1
snapshot s1
fs_remount
meta_snap > "$TMPROOT/s1b.meta"; data_snap > "$TMPROOT/s1b.data"
same_snapshots s1 s1b "metadata or data changed across remount"

# second round: changes to existing inodes must persist too
cd "$R" || exit 1
chmod 0604 plain; chown 77:88 plain
setfattr -x user.text plain; setfattr -n user.bin -v 0x01 plain
mv links dir/sub/renamed; rm dir/links2
truncate -s 100 sparse; truncate -s 2 plain
touch -m -d '2003-06-07 08:09:10.987654321' dir/sub
chmod 0755 suid
rm -f fifo; mkfifo fifo2
cd / || exit 1
snapshot s2
fs_remount
meta_snap > "$TMPROOT/s2b.meta"; data_snap > "$TMPROOT/s2b.data"
same_snapshots s2 s2b "changed metadata or data not persisted"
fs_remount
meta_snap > "$TMPROOT/s3.meta"; data_snap > "$TMPROOT/s3.data"
same_snapshots s2 s3 "a remount with no changes changed something"

# spot checks, so a snapshot bug cannot hide everything
assert_eq "604 77 88 2" "$(stat -c '%a %u %g %s' "$R/plain")" "plain after changes"
assert_eq "0x01" "$(getfattr -h -n user.bin -e hex "$R/plain" 2>/dev/null | sed -n 's/^user.bin=//p')" "user.bin"
assert_eq "character special file 1 3" "$(stat -c '%F %t %T' "$R/chr")" "char device"
assert_eq "block special file 8 11" "$(stat -c '%F %t %T' "$R/blk")" "block device (hex)"
assert_eq "2750" "$(stat -c %a "$R/dir")" "setgid dir mode"
assert_eq "2 l" "$(stat -c %h "$R/dir/sub/renamed") $(cat "$R/dir/sub/renamed")" "renamed hard link"
fs_done
