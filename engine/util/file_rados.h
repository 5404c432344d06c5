/*
 * file_rados.h - the RADOS backend of the file layer (used only by util/file.c).
 *
 * A store location "rados://POOL/NAME" names RADOS namespace NAME in pool POOL; the engine's
 * file "rados://POOL/NAME/000012.sst" is object "000012.sst" in that namespace. Nothing above
 * util/ sees this: file.c recognises the prefix and sends the operation here.
 *
 * Semantics (docs/SCALE.md): every object write returns once the OSDs acknowledged it (all
 * replicas), so a flushed write is already durable and a sync adds nothing; whole-object
 * writes (CURRENT, MANIFEST replacement) are atomic; there is no rename (emulated by copy
 * and remove, which the engine uses only for its own temporary files); one object holds at
 * most osd_max_object_size bytes (128 MiB by default), writes past it fail with EFBIG.
 *
 * Connection settings come from the process environment, which the tools fill from their
 * -o conf=,id=,timeout= options: LSMFS_RADOS_CONF (ceph.conf; default: librados' own search,
 * $CEPH_CONF then /etc/ceph/ceph.conf), LSMFS_RADOS_ID (client id, default "admin"),
 * LSMFS_RADOS_TIMEOUT (seconds for connect and each operation, default 30),
 * LSMFS_RADOS_LEASE (lock lease seconds, default 30), LSMFS_RADOS_TAKEOVER=1 (fence the
 * current lock holder and take the store). The connection is one per process, made on first
 * use and kept until exit (a process-wide resource like its file descriptor table).
 *
 * Builds without librados keep every function; robj_get then fails with a clear message.
 */
#ifndef LSM_UTIL_FILE_RADOS_H
#define LSM_UTIL_FILE_RADOS_H

#include <stddef.h>
#include <stdint.h>

#include "util/status.h"

#define RADOS_PREFIX "rados://"

/* 1 if path names a RADOS store or a file in one. */
int robj_is_rados(const char *path);

/* One resolved object: the namespace's I/O context and the object's name ("" for the store
 * itself). Resolving connects to the cluster on first use. */
typedef struct robj {
    void *io;
    char oid[256];
} robj_t;

status_t robj_get(const char *path, robj_t *o);
/* Writes n bytes at off (an acknowledged write). */
status_t robj_write(const robj_t *o, const char *path, const void *data, size_t n, uint64_t off);
/* The same write, started and not waited for: librados applies the writes one client
 * sends to one object in the order they were started. data must stay untouched until
 * robj_aio_finish; n is at most ROBJ_AIO_MAX. On an error nothing was started. */
#define ROBJ_AIO_MAX (16u << 20)
typedef struct robj_aio robj_aio_t;
status_t robj_aio_write(const robj_t *o, const char *path, const void *data, size_t n,
                        uint64_t off, robj_aio_t **out);
/* Waits for a started write (acknowledged or failed), returns how it ended and releases
 * it. Every started write is finished exactly once. */
status_t robj_aio_finish(robj_aio_t *a, const char *path);
/* Replaces the whole object atomically. */
status_t robj_write_full(const robj_t *o, const char *path, const void *data, size_t n);
/* Reads up to n bytes at off; *got < n only at the object's end. */
status_t robj_read(const robj_t *o, const char *path, void *buf, size_t n, uint64_t off,
                   size_t *got);
/* Size of the object; an error with errno ENOENT when it does not exist. */
status_t robj_stat(const robj_t *o, const char *path, uint64_t *size);
status_t robj_trunc(const robj_t *o, const char *path, uint64_t size);
status_t robj_remove(const robj_t *o, const char *path);
/* Calls fn for each object of the store's namespace (not the store's marker). */
status_t robj_list(const robj_t *store, const char *path,
                   int (*fn)(void *arg, const char *name), void *arg);
/* The store's marker object: a store exists once mkfs (file_mkdir) wrote it. */
status_t robj_mark_store(const robj_t *store, const char *path);
int robj_store_exists(const robj_t *store);
/* The largest object the cluster accepts (osd_max_object_size) in bytes; 0 if unknown. */
uint64_t robj_max_object_size(const robj_t *store);
/* The cluster's raw capacity: total, free, available bytes; -1 with errno on error. */
int robj_space(const robj_t *store, uint64_t *total, uint64_t *free_bytes, uint64_t *avail);
/* Exclusive lock with a lease on the object, renewed by a thread until robj_unlock.
 * Busy "store is in use by HOST" when another client holds it (unless takeover is asked,
 * see above). *handle is a positive number for robj_unlock. */
status_t robj_lock(const robj_t *o, const char *path, int *handle);
void robj_unlock(int handle);
/* file_unlock's test: is this lock handle one of ours? */
int robj_is_lock_handle(int handle);

#endif
