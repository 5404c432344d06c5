#!/bin/bash
# test_install.sh - what `make install` adds besides the programs, and `make uninstall`:
#   - the man pages lsmfs(8), mkfs.lsmfs(8), fsck.lsmfs(8) render with groff without a
#     warning, and man -l shows their NAME section;
#   - install into a DESTDIR puts programs, man pages and bash completion in place, the
#     completion script completes flags and -o options, and uninstall removes every file.
# Needs no mount.
. "$(dirname "$0")/lib.sh"
command -v groff >/dev/null || skip "groff is not installed (package groff-base)"
TMPROOT=$(mktemp -d /tmp/lsmfs-inst.XXXXXX) || exit 1
trap 'rm -rf "$TMPROOT"' EXIT
for page in lsmfs mkfs.lsmfs fsck.lsmfs; do
    f=man/$page.8
    [ -f "$f" ] || { fail "$f is missing"; continue; }
    warn=$(groff -man -Tutf8 -ww -z "$f" 2>&1)
    [ -z "$warn" ] || fail "groff warns about $f: $warn"
    if command -v man >/dev/null; then
        out=$(MANWIDTH=80 man -l "$f" 2>&1 | col -b 2>/dev/null)
        echo "$out" | grep -q "^NAME" || fail "man -l $f shows no NAME section"
        echo "$out" | grep -q "$page" || fail "man -l $f does not name $page"
    fi
done

D=$TMPROOT/dest
make -s O="$O" DESTDIR="$D" PREFIX=/usr install >"$TMPROOT/make.log" 2>&1 ||
    { fail "make install: $(tail -n 5 "$TMPROOT/make.log")"; fs_done; }
for f in sbin/lsmfs sbin/mkfs.lsmfs sbin/fsck.lsmfs share/man/man8/lsmfs.8 \
         share/man/man8/mkfs.lsmfs.8 share/man/man8/fsck.lsmfs.8 \
         share/bash-completion/completions/lsmfs share/bash-completion/completions/mkfs.lsmfs \
         share/bash-completion/completions/fsck.lsmfs; do
    [ -e "$D/usr/$f" ] || fail "make install did not install $f"
done

# the completion, in a shell of its own
comp=$(bash -c '
    . "$1"
    COMP_WORDS=(mkfs.lsmfs -); COMP_CWORD=1; _mkfs_lsmfs; echo "${COMPREPLY[*]}"
    COMP_WORDS=(lsmfs -o ro,wr); COMP_CWORD=2; _lsmfs; echo "${COMPREPLY[*]}"
    COMP_WORDS=(fsck.lsmfs -); COMP_CWORD=1; _fsck_lsmfs; echo "${COMPREPLY[*]}"
' _ "$D/usr/share/bash-completion/completions/lsmfs" 2>&1)
echo "$comp" | sed -n 1p | grep -q -- "--version" || fail "mkfs.lsmfs flags not completed: $comp"
echo "$comp" | sed -n 2p | grep -q "ro,write_buffer=" || fail "-o options not completed: $comp"
echo "$comp" | sed -n 3p | grep -q -- "-y" || fail "fsck.lsmfs flags not completed: $comp"

make -s O="$O" DESTDIR="$D" PREFIX=/usr uninstall >"$TMPROOT/make.log" 2>&1 ||
    fail "make uninstall: $(tail -n 5 "$TMPROOT/make.log")"
left=$(find "$D" -type f -o -type l)
[ -z "$left" ] || fail "make uninstall left: $left"
fs_done
