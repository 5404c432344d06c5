#!/bin/bash
# test_acl.sh - POSIX ACLs (fs/acl.c): setfacl/getfacl on lsmfs give what they give on the
# local disk (ext4 under /tmp), step for step, and the kernel enforces them. The same steps
# run on lsmfs and on a local folder, and every result is compared:
#   - an access ACL lets a named user (uid 65534) read, write, or search a directory the
#     mode alone refuses it, and nothing more; a named group entry works the same way;
#   - the mode follows the ACL (group bits = mask), chmod rewrites the mask, setfacl -b
#     removes the ACL and keeps the mode, an ACL the mode says all of is not kept;
#   - a default ACL on a directory is inherited by new files, fifos and subdirectories
#     (cut by the mode asked for, the umask ignored), and by subdirectories as their own
#     default; symlinks take none;
#   - a default ACL on a file and a malformed ACL value are refused; only the owner may set
#     an ACL, and an owner outside the file's group loses set-group-ID doing so.
# Then, on lsmfs only: every ACL survives a remount and is in a checkpoint (lsmfsctl) that
# mounts with them, fsck.lsmfs finds both stores clean, and -o noacl turns ACLs off
# (setfacl: "Operation not supported").
. "$(dirname "$0")/lib.sh"
command -v setfacl >/dev/null && command -v getfacl >/dev/null ||
    skip "setfacl/getfacl missing: install the Debian package acl (make deps does)"
fs_setup

REF=$TMPROOT/ref
mkdir "$REF" || exit 1
chmod 755 "$REF" "$MNT"

# as_user, printing ok/no instead of failing: tag command...
try() { local t=$1; shift; if as_user "$@" >/dev/null 2>&1; then echo "$t ok"; else echo "$t no"; fi; }
# ACLs without the "# file:" header (the path differs), modes, and which xattrs exist
show() { # dir names...
    local d=$1 n; shift
    for n in "$@"; do
        echo "== $n $(stat -c %A "$d/$n")"
        (cd "$d" && getfacl -cp "$n" 2>&1)
        (cd "$d" && getfattr -h -m - -d --absolute-names "$n" 2>/dev/null | grep -c posix_acl)
    done
}

steps() { # dir
    local d=$1
    # named user read; write stays refused
    echo secret > "$d/f"; chmod 640 "$d/f"
    try "f read before" cat "$d/f"
    setfacl -m u:$NOBODY_UID:r "$d/f"
    try "f read" cat "$d/f"
    try "f write" sh -c "echo x >> '$d/f'"
    # named user write
    echo data > "$d/w"; chmod 644 "$d/w"
    setfacl -m u:$NOBODY_UID:rw "$d/w"
    try "w append" sh -c "echo more >> '$d/w'"
    # named group (nobody's group 65534) read
    echo g > "$d/gf"; chmod 600 "$d/gf"
    try "gf read before" cat "$d/gf"
    setfacl -m g:$NOBODY_GID:r "$d/gf"
    try "gf read" cat "$d/gf"
    # search without read on a directory
    mkdir "$d/sd"; echo in > "$d/sd/x"; chmod 700 "$d/sd"
    try "sd search before" cat "$d/sd/x"
    setfacl -m u:$NOBODY_UID:x "$d/sd"
    try "sd search" cat "$d/sd/x"
    try "sd list" ls "$d/sd"
    # chmod rewrites the mask: 600 takes the named user's read away, 640 gives it back
    chmod 600 "$d/f"
    try "f read after chmod 600" cat "$d/f"
    chmod 640 "$d/f"
    try "f read after chmod 640" cat "$d/f"
    # an ACL the mode says all of is not kept as an ACL; setfacl -b keeps the mode
    : > "$d/m"; setfacl --set u::rwx,g::r,o::- "$d/m"
    : > "$d/b"; setfacl -m u:$NOBODY_UID:rwx "$d/b"; setfacl -b "$d/b"
    # default ACL: inherited by files (umask ignored, cut by the mode asked for),
    # subdirectories (also as their default), fifos; not by symlinks
    mkdir "$d/d"; setfacl -d -m u:$NOBODY_UID:rwx,g::rx "$d/d"
    (umask 077; touch "$d/d/file"; mkdir "$d/d/sub"; mkfifo "$d/d/fifo"; ln -s file "$d/d/link")
    (umask 022; touch "$d/d/sub/deep"; install -m 600 /dev/null "$d/d/narrow")
    try "inherited write" sh -c "echo y >> '$d/d/file'"
    try "inherited narrow" cat "$d/d/narrow"
    # refused: a default ACL on a file; a malformed value (version 3)
    if setfacl -d -m u:$NOBODY_UID:r "$d/f" 2>/dev/null; then echo "default on file ok"
    else echo "default on file no"; fi
    if setfattr -n system.posix_acl_access -v 0x03000000010006000000000004000400000000002000040000000000 "$d/w" 2>/dev/null
    then echo "malformed ok"; else echo "malformed no"; fi
    # as other users: only the owner (or root) may set an ACL; an owner outside the
    # file's group loses set-group-ID by setting one
    try "setfacl by non-owner" setfacl -m u:$NOBODY_UID:rwx "$d/w"
    echo own > "$d/own"; chown $NOBODY_UID:0 "$d/own"; chmod 2775 "$d/own"
    try "setfacl by owner" setfacl -m u:0:r "$d/own"
    try "getfacl by other" getfacl -c "$d/f"
    show "$d" f w gf sd m b d d/file d/sub d/sub/deep d/fifo d/narrow own
    (cd "$d" && stat -c '%n %A' d/link)
}

got=$(steps "$MNT" 2>&1); want=$(steps "$REF" 2>&1)
[ -n "${ACL_SHOW:-}" ] && echo "$got"   # ACL_SHOW=1: print the results
assert_eq "$want" "$got" "ACL results, lsmfs vs local disk"
if [ "$want" != "$got" ]; then diff <(echo "$want") <(echo "$got") | head -n 40; fi
echo "$got" | grep -q '^f read ok' || fail "the named user could not read through the ACL"
echo "$got" | grep -q '^f read before no' || fail "the named user could read without the ACL"

# remount: every ACL and mode still there; the kernel enforces them from the store
before=$(cd "$MNT" && getfacl -R -p . 2>&1)
fs_remount
after=$(cd "$MNT" && getfacl -R -p . 2>&1)
assert_eq "$before" "$after" "ACLs after a remount"
assert_eq "secret" "$(as_user cat "$MNT/f" 2>&1)" "named user reads after the remount"
assert_fails as_user sh -c "echo x >> '$MNT/f'"
log "$(echo "$after" | grep -c '^user:nobody') named-user entries survived the remount"

if [ "$LSMFS_TARGET" = lsmfs ]; then
    # a checkpoint (lsmfsctl) holds the ACLs too, and mounts with them
    "$O/lsmfsctl" checkpoint "$MNT" "$TMPROOT/ck" >/dev/null || fail "lsmfsctl checkpoint"
    fs_unmount || fail "unmount"
    out=$("$O/fsck.lsmfs" -n "$STORE" 2>&1); rc=$?
    assert_eq 0 "$rc" "fsck -n exit status with ACLs stored ($out)"
    out=$("$O/fsck.lsmfs" -n "$TMPROOT/ck" 2>&1); rc=$?
    assert_eq 0 "$rc" "fsck -n of the checkpoint ($out)"
    main_store=$STORE; STORE=$TMPROOT/ck
    fs_mount || { fail "mounting the checkpoint"; fs_done; }
    assert_eq "$after" "$(cd "$MNT" && getfacl -R -p . 2>&1)" "ACLs in the checkpoint"
    assert_eq "secret" "$(as_user cat "$MNT/f" 2>&1)" "named user reads in the checkpoint"
    fs_unmount || fail "unmount of the checkpoint"
    STORE=$main_store
    # -o noacl: ACLs off
    FS_MOUNT_OPTS=noacl fs_mount || { fail "mount -o noacl"; fs_done; }
    out=$(setfacl -m u:$NOBODY_UID:r "$MNT/w" 2>&1) && fail "setfacl worked with -o noacl"
    case $out in *"not supported"*) ;; *) fail "setfacl with -o noacl said: $out" ;; esac
fi
fs_unmount || fail "unmount"
fs_done
