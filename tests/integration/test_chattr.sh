#!/bin/bash
# test_chattr.sh - chattr/lsattr (FS_IOC_GETFLAGS/SETFLAGS through the FUSE ioctl): the
# immutable (i) and append-only (a) flags are stored in the inode, shown by lsattr, kept
# across a remount and by fsck, and enforced for root too, as on ext4: an immutable file
# refuses write, truncate, unlink, rename, link, chmod/chown/utimes, xattrs and fallocate;
# an append-only file takes O_APPEND writes only; an immutable directory refuses new and
# removed entries, an append-only one refuses removals. Only root may set or clear them;
# other flags are "Operation not supported".
. "$(dirname "$0")/lib.sh"
fs_setup
command -v chattr >/dev/null && command -v lsattr >/dev/null ||
    skip "LOUD: chattr/lsattr (e2fsprogs) are not installed"

flags_of() { lsattr -d "$1" 2>&1 | awk '{print $1}'; }
has_flag() { # path letter what
    local f
    f=$(flags_of "$1")
    [[ "$f" == *"$2"* ]] || _fail_up "$3: lsattr of $1 is '$f', expected flag '$2'"
}
no_flags() { # path what: neither i nor a (ext4, for LSMFS_TARGET=dir, adds e)
    local f
    f=$(flags_of "$1")
    [[ "$f" =~ ^[-e]+$ ]] || _fail_up "$2: lsattr of $1 is '$f', expected no i or a"
}
eperm() { # what command... : must fail with "Operation not permitted"
    local what=$1 out rc
    shift
    out=$("$@" 2>&1); rc=$?
    if [ $rc -eq 0 ] || [[ "$out" != *"Operation not permitted"* ]]; then
        _fail_up "$what: '$*' should fail with EPERM, got exit $rc: $out"
    fi
}
ok() { # what command...
    local what=$1 out
    shift
    out=$("$@" 2>&1) || _fail_up "$what: '$*' failed: $out"
}
py() { python3 -c "$@"; }

cd "$MNT" || exit 1
# ---- immutable file ----
printf 'frozen' > fi; setfattr -n user.k -v 1 fi
ok "chattr +i" chattr +i fi
has_flag fi i "immutable file"
eperm "write to immutable" sh -c 'echo x >> fi'
eperm "overwrite immutable" sh -c 'echo x > fi'
eperm "open O_RDWR" py "import os; os.open('fi', os.O_RDWR)"
eperm "truncate immutable" truncate -s 0 fi
eperm "unlink immutable" rm -f fi
eperm "rename immutable" mv fi fi2
eperm "link to immutable" ln fi fi3
eperm "chmod immutable" chmod 600 fi
eperm "chown immutable" chown 1:1 fi
eperm "touch immutable" touch fi
eperm "touch -d immutable" touch -d @1000 fi
eperm "setxattr immutable" setfattr -n user.k -v 2 fi
eperm "removexattr immutable" setfattr -x user.k fi
eperm "fallocate immutable" fallocate -l 1M fi
assert_eq frozen "$(cat fi)" "immutable file still reads"
assert_eq 1 "$(getfattr --only-values -n user.k fi 2>/dev/null)" "immutable file's xattr"
[ -e fi2 ] || [ -e fi3 ] && fail "a name was made for an immutable file"
# an fd opened before chattr +i: write, ftruncate and fallocate through it are refused too
printf 'early' > fe
out=$(python3 - "$MNT/fe" <<'PY'
import errno, os, subprocess, sys
fd = os.open(sys.argv[1], os.O_RDWR)
subprocess.run(["chattr", "+i", sys.argv[1]], check=True)
for name, op in (("write", lambda: os.pwrite(fd, b"x", 0)),
                 ("ftruncate", lambda: os.ftruncate(fd, 1)),
                 ("fallocate", lambda: os.posix_fallocate(fd, 0, 4096))):
    try:
        op()
        print(name, "ok")
    except OSError as x:
        print(name, errno.errorcode[x.errno])
PY
)
assert_eq "write EPERM
ftruncate EPERM
fallocate EPERM" "$out" "operations through an fd opened before chattr +i"
assert_eq early "$(cat fe)" "file behind that fd"
ok "chattr -i fe" chattr -i fe
# ---- append-only file ----
printf 'log1\n' > fa
ok "chattr +a" chattr +a fa
has_flag fa a "append-only file"
ok "append to append-only" sh -c 'echo log2 >> fa'
eperm "overwrite append-only" sh -c 'echo x > fa'
eperm "open O_RDWR without O_APPEND" py "import os; os.open('fa', os.O_RDWR)"
eperm "open O_APPEND|O_TRUNC" py "import os; os.open('fa', os.O_WRONLY | os.O_APPEND | os.O_TRUNC)"
eperm "truncate append-only" truncate -s 2 fa
eperm "unlink append-only" rm -f fa
eperm "rename append-only" mv fa fa2
eperm "link to append-only" ln fa fa3
eperm "chmod append-only" chmod 600 fa
eperm "touch -d append-only" touch -d @1000 fa
eperm "setxattr append-only" setfattr -n user.k -v 2 fa
eperm "punch hole in append-only" fallocate -p -o 0 -l 2 fa
ok "touch (now) append-only" touch fa
ok "posix_fallocate inside an append-only file" py "import os
fd = os.open('fa', os.O_WRONLY | os.O_APPEND); os.posix_fallocate(fd, 0, 5); os.close(fd)"
ok "O_APPEND write through pwrite" py "import os
fd = os.open('fa', os.O_WRONLY | os.O_APPEND); os.pwrite(fd, b'log3\n', 0); os.close(fd)"
assert_eq "log1
log2
log3" "$(cat fa)" "append-only file after appends"
# ---- immutable directory ----
mkdir di; echo inner > di/in
ok "chattr +i dir" chattr +i di
has_flag di i "immutable directory"
eperm "create in immutable dir" touch di/new
eperm "mkdir in immutable dir" mkdir di/sub
eperm "unlink in immutable dir" rm -f di/in
eperm "rename out of immutable dir" mv di/in in2
echo other > other
eperm "rename into immutable dir" mv other di/other
eperm "link into immutable dir" ln other di/other
eperm "symlink in immutable dir" ln -s x di/sl
eperm "rmdir immutable dir" rmdir di
ok "write to a file in an immutable dir" sh -c 'echo more >> di/in'
assert_eq "inner
more" "$(cat di/in)" "file in an immutable directory"
# ---- append-only directory ----
mkdir da; echo keep > da/keep
ok "chattr +a dir" chattr +a da
ok "create in append-only dir" touch da/new
eperm "unlink in append-only dir" rm -f da/keep
eperm "rename out of append-only dir" mv da/keep keep2
eperm "rename within append-only dir" mv da/keep da/keep2
# ---- who may set them; other flags ----
echo mine > fu; chown $NOBODY_UID:$NOBODY_GID fu
eperm "non-root chattr +i" as_user chattr +i fu
eperm "non-root chattr +a" as_user chattr +a fu
no_flags fu "after non-root attempts"
ok "root sets +i on another user's file" chattr +i fu
eperm "non-root chattr -i" as_user chattr -i fu
eperm "owner writes immutable file" as_user sh -c "echo x >> '$MNT/fu'"
if [ "$LSMFS_TARGET" = lsmfs ]; then  # ext4 has nodump
    out=$(chattr +d other 2>&1) && fail "chattr +d (nodump) succeeded"
    [[ "$out" == *"not supported"* ]] || fail "chattr +d: expected 'not supported', got '$out'"
    no_flags other "after refused chattr +d"
fi
# ---- flags survive a remount; fsck finds them legal (and the superblock feature bit set) ----
cd /
fs_unmount || fail "unmount was not clean"
[ "$LSMFS_TARGET" = lsmfs ] && { out=$("$O/fsck.lsmfs" -f -n "$STORE" 2>&1) || fail "fsck.lsmfs -f -n with chattr flags: $out"; }
fs_mount || { fail "remount failed"; fs_done; }
cd "$MNT" || exit 1
has_flag fi i "immutable after remount"; has_flag fa a "append-only after remount"
has_flag di i "immutable dir after remount"; has_flag da a "append-only dir after remount"
eperm "unlink immutable after remount" rm -f fi
ok "append after remount" sh -c 'echo log4 >> fa'
# ---- clearing restores everything ----
ok "chattr -i" chattr -i fi fu di
ok "chattr -a" chattr -a fa da
no_flags fi "after chattr -i"; no_flags fa "after chattr -a"
ok "write after -i" sh -c 'echo x > fi'
ok "truncate after -a" truncate -s 0 fa
ok "unlink after -i/-a" rm fi fa fu di/in da/keep
ok "rmdir after -i/-a" rm -r di da
cd /
fs_done
