#!/bin/bash
# test_seek_unwritten.sh - a block fallocate allocated and nothing has written yet reads as
# zeros and is a hole for SEEK_DATA/SEEK_HOLE, as ext4 reports an unwritten extent
# (fs/data.c fs_data_seek). The same steps run on lsmfs and on a folder on the local disk
# (ext4 here) and every lseek result must agree (probed before anything reads the files:
# ext4 counts cached pages over an unwritten extent as data): a fully allocated file, writes into an
# allocated range, KEEP_SIZE inside and past the end, allocation over a sparse file; then
# again after a remount (the allocation is stored, not remembered).
. "$(dirname "$0")/lib.sh"
fs_setup
command -v python3 >/dev/null || { fs_unmount; skip "python3 is missing: the lseek probe is a python3 script"; }
REF=$TMPROOT/ref   # a local disk (the cleanup trap removes it)
mkdir "$REF" || exit 1
reftype=$(stat -f -c %T "$REF")

make_files() { # dir
    python3 - "$1" <<'PY'
import os, sys
d = sys.argv[1]
K, M = 4096, 1 << 20
def f(name):
    return os.open(os.path.join(d, name), os.O_CREAT | os.O_RDWR | os.O_TRUNC, 0o644)
# a: 1 MiB allocated, nothing written
fd = f("a"); os.posix_fallocate(fd, 0, M); os.fsync(fd); os.close(fd)
# b: 1 MiB allocated, one block written at 256 KiB, 100 bytes at 700000
fd = f("b"); os.posix_fallocate(fd, 0, M)
os.pwrite(fd, b"x" * K, 256 * 1024); os.pwrite(fd, b"y" * 100, 700000); os.fsync(fd); os.close(fd)
# c: 8 KiB written, then KEEP_SIZE allocation to 1 MiB (past the end)
fd = f("c"); os.pwrite(fd, b"z" * 8192, 0)
os.system("fallocate -n -o 0 -l %d %s" % (M, os.path.join(d, "c"))); os.fsync(fd); os.close(fd)
# e: sparse 1 MiB, KEEP_SIZE allocation of the first 512 KiB, a block written at 600 KiB
fd = f("e"); os.ftruncate(fd, M)
os.system("fallocate -n -o 0 -l %d %s" % (512 * 1024, os.path.join(d, "e")))
os.pwrite(fd, b"w" * K, 600 * 1024); os.fsync(fd); os.close(fd)
PY
}

probe() { # dir: every file's size, zero check and lseek answers, one line each
    python3 - "$1" <<'PY'
import errno, os, sys
d = sys.argv[1]
for name in ["a", "b", "c", "e"]:
    fd = os.open(os.path.join(d, name), os.O_RDONLY)
    size = os.fstat(fd).st_size
    out = [name, "size=%d" % size]
    for off in [0, 4096, 200 * 1024, 256 * 1024, 260 * 1024, 512 * 1024, 600 * 1024, 700000, size - 1]:
        for w, wn in [(os.SEEK_DATA, "D"), (os.SEEK_HOLE, "H")]:
            try:
                r = str(os.lseek(fd, off, w))
            except OSError as e:
                r = errno.errorcode.get(e.errno, str(e.errno))
            out.append("%s%d=%s" % (wn, off, r))
    # read only after the lseeks: on ext4 reading an unwritten extent caches zero pages,
    # and cached pages count as data for SEEK_DATA from then on
    data = os.pread(fd, size, 0)
    out.append("nonzero=%d" % sum(1 for x in data if x))
    os.close(fd)
    print(" ".join(out))
PY
}

make_files "$MNT" || fail "making the files on lsmfs"
make_files "$REF" || fail "making the files on $reftype"
want=$(probe "$REF")
got=$(probe "$MNT")
if [ "$reftype" = ext2/ext3 ] || [ "$reftype" = ext4 ]; then
    assert_eq "$want" "$got" "lseek SEEK_DATA/SEEK_HOLE over allocated ranges, lsmfs vs $reftype"
else
    log "the local disk is $reftype, not ext4: comparison skipped; lsmfs gave:"
    log "$got"
fi
grep -q '^a size=1048576 D0=ENXIO H0=0 ' <<<"$got" || fail "an allocated, unwritten file has data for SEEK_DATA: $(head -n 1 <<<"$got")"
fs_remount || fail "remount"
got2=$(probe "$MNT")
assert_eq "$got" "$got2" "lseek answers after a remount"
fs_unmount || fail "unmount"
out=$("$O/fsck.lsmfs" -n "$STORE" 2>&1) || fail "fsck after the lseek steps: $out"
fs_done
