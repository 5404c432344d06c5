#!/bin/sh
# enable-uring.sh - lets the kernel offer FUSE-over-io_uring to new FUSE mounts, by setting
# the fuse module's enable_uring parameter to Y (kernel 6.14+ built with CONFIG_FUSE_IO_URING;
# root only). lsmfs uses the io_uring transport by default when the kernel offers it and
# falls back to /dev/fuse otherwise, so this is an optimisation, never a requirement.
# Prints one line saying what the transport of the next mount will be; always exits 0.
p=/sys/module/fuse/parameters/enable_uring
if [ ! -e "$p" ]; then
    echo "enable-uring: this kernel has no FUSE-over-io_uring; lsmfs will use /dev/fuse"
elif [ "$(cat "$p")" = Y ]; then
    :
elif (echo Y > "$p") 2>/dev/null; then
    echo "enable-uring: set $p to Y (lsmfs will use io_uring)"
else
    echo "enable-uring: cannot set $p (not root?); lsmfs will use /dev/fuse"
fi
exit 0
