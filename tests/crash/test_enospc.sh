#!/bin/bash
# test_enospc.sh - the engine on a full file system: an 8 MiB tmpfs, a 2 MiB filler file,
# then tests/tools/enospc_fill.c (fill until ENOSPC, read on the full disk, free the filler,
# write again, reopen). Needs permission to mount (root, or an unprivileged user and mount
# namespace through unshare); skips (77) otherwise. The tmpfs is always unmounted.
set -u
O=${O:-build/check}
bin="$O/tools/enospc_fill"
if [ ! -x "$bin" ]; then
    echo "skip: $bin not built"
    exit 77
fi
if [ "${1:-}" != "--inside" ] && [ "$(id -u)" -ne 0 ]; then
    # Not root: try a private user + mount namespace, where we may mount a tmpfs.
    if unshare -rm true 2>/dev/null; then
        exec unshare -rm env O="$O" bash "$0" --inside
    fi
    echo "skip: mounting a tmpfs is not permitted here"
    exit 77
fi
mnt=$(mktemp -d /tmp/lsm-enospc.XXXXXX)
cleanup() {
    umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null
    rmdir "$mnt" 2>/dev/null
}
trap cleanup EXIT
if ! mount -t tmpfs -o size=8m tmpfs "$mnt" 2>/dev/null; then
    echo "skip: mount -t tmpfs is not permitted here"
    exit 77
fi
dd if=/dev/zero of="$mnt/filler" bs=1M count=2 status=none || exit 1
"$bin" "$mnt/store" "$mnt/filler"
rc=$?
df -h "$mnt" | tail -1
exit $rc
