#!/bin/bash
# testlib.sh - shared start of the tests that run lsmfs against a throw-away Ceph cluster
# (sourced by tests/integration/test_rados*.sh; not a test itself).
#
# Defines skip (exit 77 with the reason), fail (counts into FAILS, keeps going),
# rados_test_prereqs (skips without the build, librados in it, or FUSE) and
# rados_test_cluster DIR (starts tests/rados/cluster.sh in DIR, sets CONF; skips when Ceph
# is not installed, exits 1 with the cluster's logs when it does not come up). The caller
# sets O (build folder) and installs its own trap that runs `cluster.sh stop DIR`.
skip() { echo "SKIP: $*"; exit 77; }
FAILS=0
fail() { FAILS=$((FAILS + 1)); echo "FAIL line ${BASH_LINENO[0]}: $*"; }

rados_test_prereqs() {
    [ -x "$O/lsmfs" ] || skip "no $O/lsmfs (build first)"
    nm "$O/lsmfs" 2>/dev/null | grep -q rados_connect || ldd "$O/lsmfs" | grep -q librados ||
        skip "this build has no RADOS support (librados-dev missing at build time)"
    [ -e /dev/fuse ] && command -v fusermount3 >/dev/null || skip "FUSE is not usable here"
}

rados_test_cluster() {
    local t0=$SECONDS rc
    CONF=$(bash "$(dirname "${BASH_SOURCE[0]}")/cluster.sh" start "$1")
    rc=$?
    [ $rc -eq 77 ] && skip "the Ceph daemons are not installed (make deps installs them)"
    [ $rc -eq 0 ] || { echo "FAIL: the test cluster did not start"; tail -20 "$1"/log/*.log; exit 1; }
    echo "cluster up in $((SECONDS - t0))s"
}
