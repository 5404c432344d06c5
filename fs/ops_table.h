/*
 * ops_table.h - the daemon's FUSE operations table (ops_table.c), handed to
 * fuse_session_new by main.c. Read-only.
 */
#ifndef LSMFS_OPS_TABLE_H
#define LSMFS_OPS_TABLE_H

#include "fs.h"

extern const struct fuse_lowlevel_ops fs_ops;

#endif
