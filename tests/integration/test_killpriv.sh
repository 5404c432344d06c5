#!/bin/bash
# test_killpriv.sh - lsmfs claims FUSE_HANDLE_KILLPRIV_V2 (fs/devio.c): the kernel then stops
# asking for security.capability before every write(2), and lsmfs drops set-user-ID and
# set-group-ID itself. Checks, on a mount run with -d (the request trace):
#   - when the kernel offers the feature, 50 writes to one file cost at most 2 GETXATTR
#     requests (without it: one per write);
#   - the privilege drops still match ext4 (checked against a folder on the local disk with
#     the same steps): write, truncate, O_TRUNC and chown(-1,-1) by the unprivileged owner
#     drop them; write and truncate by root keep them; chown(-1,-1) by root drops them;
#     set-group-ID without group-execute is kept for a member of the group.
. "$(dirname "$0")/lib.sh"
fs_setup
fs_unmount || { fail "first unmount"; fs_done; }
# the same mount, with the request trace
"$O/lsmfs" -d -o "allow_other${LSMFS_TRANSPORT:+,$LSMFS_TRANSPORT}" "$STORE" "$MNT" >>"$TMPROOT/daemon.log" 2>&1 &
FS_PID=$!
for _ in $(seq 1 200); do mountpoint -q "$MNT" && break; sleep 0.05; done
mountpoint -q "$MNT" || { fail "lsmfs -d did not mount"; fs_done; }
FS_MOUNTED=1

kflags=$(grep -a -m1 '^flags=0x' "$TMPROOT/daemon.log" | sed 's/flags=//')
if [ -n "$kflags" ] && [ $(( kflags & (1 << 28) )) -ne 0 ]; then
    : > "$MNT/w"
    before=$(grep -a -c 'opcode: GETXATTR' "$TMPROOT/daemon.log")
    for i in $(seq 1 50); do echo "$i" >> "$MNT/w"; done
    after=$(grep -a -c 'opcode: GETXATTR' "$TMPROOT/daemon.log")
    n=$((after - before))
    log "50 writes: $n GETXATTR request(s)"
    [ "$n" -le 2 ] || fail "50 writes cost $n GETXATTR requests (KILLPRIV_V2 not in effect?)"
    assert_eq "$(seq 1 50 | md5sum)" "$(md5sum < "$MNT/w")" "appended data"
else
    log "the kernel does not offer FUSE_HANDLE_KILLPRIV_V2 (flags $kflags): request count not checked"
fi

# The same steps on lsmfs and on a local folder; the resulting modes must agree.
# under $TMPROOT (a local disk), so the cleanup trap removes it even when a check fails
REF=$TMPROOT/ref
mkdir "$REF" || exit 1
chmod 777 "$REF" "$MNT"
steps() { # dir
    local d=$1 f
    for f in w t o c rw rt rc g; do
        echo x > "$d/$f"; chown "$NOBODY_UID:$NOBODY_GID" "$d/$f"; chmod 6755 "$d/$f"
    done
    chmod 2745 "$d/g"   # set-group-ID without group-execute, group = nobody's group
    as_user sh -c "echo y >> '$d/w'; truncate -s 0 '$d/t'; : > '$d/o'; echo y >> '$d/g'"
    as_user perl -e 'chown(-1, -1, $ARGV[0]) or die "chown: $!\n"' "$d/c"
    echo z >> "$d/rw"; truncate -s 0 "$d/rt"
    perl -e 'chown(-1, -1, $ARGV[0]) or die "chown: $!\n"' "$d/rc"
    (cd "$d" && stat -c '%n %a %s' w t o c rw rt rc g)
}
if command -v perl >/dev/null; then
    got=$(steps "$MNT"); want=$(steps "$REF")
    assert_eq "$want" "$got" "modes after writes, truncates and chown(-1,-1), lsmfs vs local disk"
    log "modes: $(echo "$got" | tr '\n' ' ')"
else
    log "perl missing: chown(-1,-1) comparison skipped"
fi
fs_unmount || fail "unmount"
fs_done
