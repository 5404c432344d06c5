/*
 * ops_table.c - the daemon's FUSE low-level operations table and the INIT negotiation
 * (fs_init): which capabilities lsmfs asks the kernel for. The table is const: it is
 * built once by the compiler, and nothing changes it at run time (main.c hands the
 * session a copy in which snapview.c wraps the entries the .snapshots view answers).
 */
#include "ops_table.h"

#include "ops_ioctl.h"

static void fs_init(void *userdata, struct fuse_conn_info *conn)
{
    fs_t *fs = userdata;
    unsigned want = FUSE_CAP_DONT_MASK | FUSE_CAP_ATOMIC_O_TRUNC | FUSE_CAP_READDIRPLUS |
                    FUSE_CAP_ASYNC_READ |
                    FUSE_CAP_PARALLEL_DIROPS | FUSE_CAP_CACHE_SYMLINKS |
                    FUSE_CAP_EXPORT_SUPPORT; /* file handles: ops_export.c */
    if (fs->opts->writeback)
        want |= FUSE_CAP_WRITEBACK_CACHE;
    if (!fs->opts->noacl)
        want |= FUSE_CAP_POSIX_ACL;  /* the kernel enforces ACLs; acl.c keeps them */
    conn->want |= want & conn->capable;
    /* the kernel clears suid/sgid for us (it asks with a setattr); READDIRPLUS always, not
     * AUTO: entries listed without attributes cost a LOOKUP each later (docs/FILESYSTEM.md) */
    conn->want &= ~(unsigned)(FUSE_CAP_HANDLE_KILLPRIV | FUSE_CAP_POSIX_LOCKS |
                              FUSE_CAP_FLOCK_LOCKS | FUSE_CAP_AUTO_INVAL_DATA |
                              FUSE_CAP_READDIRPLUS_AUTO);
    if (fs->opts->noacl)
        conn->want &= ~(unsigned)FUSE_CAP_POSIX_ACL;
    if (conn->max_write < (1u << 20))
        conn->max_write = 1u << 20;
    conn->max_readahead = 1u << 20;
    conn->time_gran = 1;
    if (fs->opts->debug)
        fuse_log(FUSE_LOG_DEBUG, "lsmfs: capable 0x%x, want 0x%x, max_write %u\n",
                 conn->capable, conn->want, conn->max_write);
}

const struct fuse_lowlevel_ops fs_ops = {
    .init = fs_init,
    .lookup = fs_op_lookup,
    .forget = fs_op_forget,
    .forget_multi = fs_op_forget_multi,
    .getattr = fs_op_getattr,
    .setattr = fs_op_setattr,
    .readlink = fs_op_readlink,
    .mknod = fs_op_mknod,
    .mkdir = fs_op_mkdir,
    .unlink = fs_op_unlink,
    .rmdir = fs_op_rmdir,
    .symlink = fs_op_symlink,
    .rename = fs_op_rename,
    .link = fs_op_link,
    .open = fs_op_open,
    .read = fs_op_read,
    .write = fs_op_write,
    /* No flush op: the kernel then stops sending FLUSH on close (it still writes back
     * dirty pages first); every write is in the WAL already, so there is nothing to do. */
    .release = fs_op_release,
    .fsync = fs_op_fsync,
    .opendir = fs_op_opendir,
    .readdir = fs_op_readdir,
    .readdirplus = fs_op_readdirplus,
    .releasedir = fs_op_releasedir,
    .fsyncdir = fs_op_fsyncdir,
    .statfs = fs_op_statfs,
    .setxattr = fs_op_setxattr,
    .getxattr = fs_op_getxattr,
    .listxattr = fs_op_listxattr,
    .removexattr = fs_op_removexattr,
    .access = fs_op_access,
    .create = fs_op_create,
    .fallocate = fs_op_fallocate,
    .lseek = fs_op_lseek,
    .copy_file_range = fs_op_copy_file_range,
    .ioctl = fs_op_ioctl, /* the control channel (ops_ioctl.c) */
};
