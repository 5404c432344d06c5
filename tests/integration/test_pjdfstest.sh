#!/bin/bash
# test_pjdfstest.sh - runs the pjdfstest POSIX suite on lsmfs when it is installed; skips
# otherwise. Debian 12 has no pjdfstest package (apt-cache search pjdfstest finds nothing),
# so point PJDFSTEST_DIR at a built checkout (the folder holding the pjdfstest binary and
# tests/) to use it. PJDFSTEST_TESTS narrows the run (e.g. "rename chmod").
. "$(dirname "$0")/lib.sh"
PJD=${PJDFSTEST_DIR:-}
if [ -z "$PJD" ]; then
    for d in /usr/share/pjdfstest /usr/lib/pjdfstest /opt/pjdfstest; do
        [ -x "$d/pjdfstest" ] && PJD=$d && break
    done
fi
[ -n "$PJD" ] && [ -x "$PJD/pjdfstest" ] && [ -d "$PJD/tests" ] ||
    skip "pjdfstest is not installed (not packaged in Debian 12; set PJDFSTEST_DIR to a built checkout)"
command -v prove >/dev/null || skip "prove (perl) is not installed"
fs_setup
mkdir "$MNT/pjd" && chmod 755 "$MNT/pjd"
tests=()
if [ -n "${PJDFSTEST_TESTS:-}" ]; then
    for t in $PJDFSTEST_TESTS; do tests+=("$PJD/tests/$t"); done
else
    tests=("$PJD/tests")
fi
(cd "$MNT/pjd" && timeout -k 10 900 prove -r "${tests[@]}") > "$TMPROOT/pjd.out" 2>&1
rc=$?
grep -E '^(Failed|Files=|Result:)|Failed tests:' "$TMPROOT/pjd.out" | head -n 60
[ $rc -eq 0 ] || fail "pjdfstest reported failures (exit $rc)"
fs_done
