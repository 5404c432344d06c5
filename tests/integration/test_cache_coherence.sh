#!/bin/bash
# test_cache_coherence.sh - what the kernel caches for lsmfs stays true: a missing name
# (negative dentry, cached for entry_timeout) appears once it is created, made a directory,
# linked, symlinked or renamed onto, and disappears again on unlink/rename away; a file's
# pages (kept across opens, keep_cache) follow writes, truncation, O_TRUNC, hole punching
# and copy_file_range done through other descriptors; st_blocks follows writes at once.
. "$(dirname "$0")/lib.sh"
fs_setup

D=$MNT/neg; mkdir "$D"
miss() { # name: the name is looked up and missing (the miss is cached by the kernel)
    [ ! -e "$D/$1" ] || fail "$1 exists before it was made"
    [ ! -e "$D/$1" ] || fail "$1 exists on the second look"
}
miss a; echo A > "$D/a"
assert_eq A "$(cat "$D/a" 2>&1)" "a file created over a cached miss"
miss dir; mkdir "$D/dir"
[ -d "$D/dir" ] || fail "a directory made over a cached miss is not there"
miss hl; ln "$D/a" "$D/hl"
assert_eq A "$(cat "$D/hl" 2>&1)" "a hard link made over a cached miss"
miss sl; ln -s a "$D/sl"
assert_eq a "$(readlink "$D/sl" 2>&1)" "a symlink made over a cached miss"
miss b; echo B > "$D/src"; mv "$D/src" "$D/b"
assert_eq B "$(cat "$D/b" 2>&1)" "a rename onto a cached miss"
[ ! -e "$D/src" ] || fail "the rename's source name is still there"
rm "$D/b"
[ ! -e "$D/b" ] || fail "an unlinked name is still there"
echo B2 > "$D/b"
assert_eq B2 "$(cat "$D/b" 2>&1)" "a name made again after unlink"
rmdir "$D/dir"
[ ! -e "$D/dir" ] || fail "a removed directory is still there"
mkdir "$D/dir" && [ -d "$D/dir" ] || fail "a directory made again after rmdir"

# page cache across opens: each change below is made through a new descriptor, then the
# file is opened again and read (from the kept pages when they are still valid)
F=$MNT/pages
printf '0123456789' > "$F"; assert_eq 0123456789 "$(cat "$F")" "first content"
printf 'AB' | dd of="$F" bs=1 seek=3 conv=notrunc status=none
assert_eq 012AB56789 "$(cat "$F")" "after an overwrite through another fd"
truncate -s 4 "$F"; assert_eq 012A "$(cat "$F")" "after truncate(2)"
printf 'xy' > "$F"; assert_eq xy "$(cat "$F")" "after O_TRUNC"
head -c 8192 /dev/zero | tr '\0' 'z' > "$F"; cat "$F" > /dev/null
if fallocate -p -o 0 -l 4096 "$F" 2>/dev/null; then
    assert_eq 0 "$(head -c 4096 "$F" | tr -d '\0' | wc -c)" "a punched hole reads as zeros"
    assert_eq 4096 "$(tail -c 4096 "$F" | tr -d '\0' | wc -c)" "data after the hole kept"
else
    fail "fallocate -p refused"
fi
printf 'copied!' > "$MNT/src2"
python3 - "$MNT/src2" "$F" <<'PY' || fail "copy_file_range failed"
import os, sys
s = os.open(sys.argv[1], os.O_RDONLY); d = os.open(sys.argv[2], os.O_WRONLY)
assert os.copy_file_range(s, d, 7, 0, 0) == 7
PY
assert_eq copied! "$(head -c 7 "$F")" "after copy_file_range into the cached file"

# st_blocks (cached with the other attributes for attr_timeout) follows block-allocating
# writes through write(2), O_DIRECT and mmap+msync, and a punched hole, at once
python3 - "$MNT" <<'PY' || fail "st_blocks did not follow the writes"
import mmap, os, sys
d = sys.argv[1]
def blocks(p, want, what):
    got = os.stat(p).st_blocks
    assert got == want, f"{what}: st_blocks {got}, expected {want}"
p = d + "/blk"
fd = os.open(p, os.O_CREAT | os.O_WRONLY, 0o644)
blocks(p, 0, "new file")
os.write(fd, b"x" * 4096); blocks(p, 8, "after a 4 KiB write")
os.write(fd, b"y" * 65536); blocks(p, 136, "after 64 KiB more")
os.close(fd)
q = d + "/blkmap"
fd = os.open(q, os.O_CREAT | os.O_RDWR, 0o644)
os.ftruncate(fd, 1 << 20); blocks(q, 0, "sparse 1 MiB")
m = mmap.mmap(fd, 1 << 20); m[0:8192] = b"z" * 8192; m.flush()
blocks(q, 16, "after mmap write + msync")
m.close(); os.close(fd)
r = d + "/blkdirect"
fd = os.open(r, os.O_CREAT | os.O_WRONLY | os.O_DIRECT, 0o644)
buf = mmap.mmap(-1, 4096); buf.write(b"q" * 4096)
os.write(fd, buf); blocks(r, 8, "after an O_DIRECT 4 KiB write")
os.close(fd)
fd = os.open(p, os.O_RDWR)
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
assert libc.fallocate(fd, 3, ctypes.c_long(0), ctypes.c_long(4096)) == 0  # PUNCH_HOLE|KEEP_SIZE
blocks(p, 128, "after punching the first 4 KiB")
os.close(fd)
PY
fs_remount
assert_eq copied! "$(head -c 7 "$F")" "after remount"
assert_eq A "$(cat "$D/a" 2>&1)" "created-over-miss file after remount"
fs_done
