#!/bin/sh
# install-deps.sh - installs the Debian packages lsmfs needs to build, test and benchmark,
# skipping the work when they are all present already. Needs root (or sudo) and apt-get.
set -e
PKGS="build-essential pkg-config libfuse3-dev fuse3 liburing-dev libcmocka-dev zlib1g-dev \
      librocksdb-dev libleveldb-dev clang libclang-rt-14-dev sqlite3 attr psmisc fio e2fsprogs"
# setfacl/getfacl for the POSIX ACL test (tests/integration/test_acl.sh)
PKGS="$PKGS acl"
# rsync: restoring a tree from MNT/.snapshots (tests/integration/test_snapshot_tools.sh)
PKGS="$PKGS rsync"
# Stores on Ceph RADOS (rados://POOL/NAME): librados to build the backend, and the Ceph
# daemons for the test that starts a one-node cluster (tests/rados/cluster.sh). About two
# minutes of apt-get on a fresh machine; RADOS=0 leaves them out (the RADOS test then skips).
[ "${RADOS:-1}" != 0 ] && PKGS="$PKGS librados-dev ceph-mon ceph-osd ceph-common"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
echo "install-deps: installing$missing"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
