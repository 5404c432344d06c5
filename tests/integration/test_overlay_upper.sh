#!/bin/bash
# test_overlay_upper.sh - lsmfs as overlayfs's upper layer (what container runtimes do):
# the kernel refuses a FUSE upper layer without RENAME_WHITEOUT and trusted.* xattrs
# ("upper fs missing required features"). With a lower directory on the scratch fs and
# upperdir+workdir on lsmfs, checks copy-up, delete (a whiteout, char device 0/0, appears in
# upper), rmdir + mkdir (an opaque directory), rename of a copied-up file, rename of a lower
# directory (redirect_dir=on: trusted.overlay.redirect and a whiteout made by RENAME_WHITEOUT;
# redirect_dir=off: EXDEV, mv copies), then umount, an lsmfs unmount + fsck + mount and a new
# overlay mount that shows the same tree. The overlay is always unmounted first, also on
# failure.
. "$(dirname "$0")/lib.sh"
fs_setup
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null
grep -qw overlay /proc/filesystems || skip "LOUD: the kernel has no overlayfs (modprobe overlay failed)"

OV=$TMPROOT/ov
ov_umount() { mountpoint -q "$OV" 2>/dev/null && { umount "$OV" 2>/dev/null || umount -l "$OV"; }; }
ov_cleanup() { local rc=$?; ov_umount; (exit $rc); _fs_cleanup; }
trap ov_cleanup EXIT

ftype() { stat -c '%F %t:%T' "$1" 2>/dev/null; } # "character special file 0:0" for a whiteout
xattr() { getfattr --absolute-names -h --only-values -n "$2" "$1" 2>/dev/null; }
tree() { # listing with types, sizes and content hashes of everything under $1
    (cd "$1" && find . -printf '%p %y %s\n' | sort && find . -type f -print0 | sort -z |
        xargs -0 -r md5sum)
}

round() { # redirect_dir value
    local rd=$1 L=$TMPROOT/lower-$1 U=$MNT/upper-$1 W=$MNT/work-$1 out
    mkdir -p "$L/d" "$L/e/sub" "$OV" "$U" "$W"
    echo "lower a" > "$L/a"; echo "lower del" > "$L/del"; echo "lower f" > "$L/d/f"
    echo "lower g" > "$L/e/sub/g"; echo "lower mv" > "$L/mv"
    if ! mount -t overlay overlay -o "lowerdir=$L,upperdir=$U,workdir=$W,redirect_dir=$rd" "$OV"
    then
        fail "redirect_dir=$rd: overlay mount with upper on lsmfs failed: $(dmesg | grep overlayfs | tail -n 3)"
        return
    fi
    # copy-up: the lower file stays as it was
    echo "appended" >> "$OV/a"
    assert_eq "lower a
appended" "$(cat "$OV/a")" "$rd: copied-up file through the overlay"
    assert_eq "lower a
appended" "$(cat "$U/a")" "$rd: copied-up file in upper"
    assert_eq "lower a" "$(cat "$L/a")" "$rd: lower file after copy-up"
    # delete: a whiteout in upper hides the lower file
    assert_ok rm "$OV/del"
    [ -e "$OV/del" ] && fail "$rd: deleted lower file still visible"
    assert_eq "character special file 0:0" "$(ftype "$U/del")" "$rd: whiteout for a deleted file"
    assert_eq "lower del" "$(cat "$L/del")" "$rd: lower file after delete"
    # rmdir of a lower directory, then mkdir: opaque directory
    assert_ok rm -r "$OV/d"
    assert_eq "character special file 0:0" "$(ftype "$U/d")" "$rd: whiteout for a removed directory"
    assert_ok mkdir "$OV/d"
    assert_eq "" "$(ls -A "$OV/d")" "$rd: recreated directory hides the lower one"
    assert_eq y "$(xattr "$U/d" trusted.overlay.opaque)" "$rd: trusted.overlay.opaque on the new directory"
    # rename of a lower file (copy-up, then the source name must stay hidden)
    assert_ok mv "$OV/mv" "$OV/mv2"
    [ -e "$OV/mv" ] && fail "$rd: renamed lower file still visible under its old name"
    assert_eq "lower mv" "$(cat "$OV/mv2")" "$rd: renamed lower file"
    assert_eq "character special file 0:0" "$(ftype "$U/mv")" "$rd: whiteout at a renamed lower file's name"
    # rename of a lower directory
    if [ "$rd" = on ]; then
        assert_ok python3 -c "import os, sys; os.rename(sys.argv[1], sys.argv[2])" "$OV/e" "$OV/e2"
        assert_eq e "$(xattr "$U/e2" trusted.overlay.redirect)" "$rd: trusted.overlay.redirect"
    else

        out=$(python3 -c "import os, sys
try: os.rename(sys.argv[1], sys.argv[2]); print('ok')
except OSError as x: print(x.errno)" "$OV/e" "$OV/e2")
        assert_eq 18 "$out" "$rd: rename(2) of a lower directory without redirect_dir (EXDEV)"
        assert_ok mv "$OV/e" "$OV/e2"  # mv copies and removes
    fi
    [ -e "$OV/e" ] && fail "$rd: renamed lower directory still visible under its old name"
    assert_eq "character special file 0:0" "$(ftype "$U/e")" "$rd: whiteout at a renamed lower directory's name"
    assert_eq "lower g" "$(cat "$OV/e2/sub/g")" "$rd: file in a renamed lower directory"
    echo "new" > "$OV/e2/new"
    tree "$OV" > "$TMPROOT/before-$rd"
    ov_umount
    # the layers survive an lsmfs unmount, a check of the store and a new mount
    fs_unmount || fail "$rd: lsmfs unmount was not clean"
    out=$("$O/fsck.lsmfs" -f -n "$STORE" 2>&1) || fail "$rd: fsck.lsmfs -f -n: $out"
    fs_mount || { fail "$rd: lsmfs remount failed"; return; }
    assert_eq "character special file 0:0" "$(ftype "$U/del")" "$rd: whiteout after remount"
    assert_eq y "$(xattr "$U/d" trusted.overlay.opaque)" "$rd: trusted.overlay.opaque after remount"
    if ! mount -t overlay overlay -o "lowerdir=$L,upperdir=$U,workdir=$W,redirect_dir=$rd" "$OV"
    then
        fail "$rd: second overlay mount failed: $(dmesg | grep overlayfs | tail -n 3)"
        return
    fi
    tree "$OV" > "$TMPROOT/after-$rd"
    diff "$TMPROOT/before-$rd" "$TMPROOT/after-$rd" || fail "$rd: overlay tree changed across remount"
    assert_eq "lower a
appended" "$(cat "$OV/a")" "$rd: copied-up file after remount"
    ov_umount
}

round off
round on
fs_done
