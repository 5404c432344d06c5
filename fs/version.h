/*
 * version.h - the release version of lsmfs, mkfs.lsmfs and fsck.lsmfs (one number for all
 * three; the store formats have their own numbers in lsm.h and schema.h).
 */
#ifndef LSMFS_VERSION_H
#define LSMFS_VERSION_H
#define LSMFS_VERSION_STRING "0.1"
#endif
