/*
 * schema_reserve.c - the default space-reserve size, shared by lsmfs (which sizes RESERVE
 * at mount) and mkfs.lsmfs (which prints it in its summary). Lives in the schema library
 * because that is the code the three programs share. Pure function of statvfs(2).
 */
#include "reserve.h"

#include <sys/statvfs.h>

uint64_t fs_reserve_default(const char *store, uint64_t cap)
{
    struct statvfs v;
    if (statvfs(store, &v) != 0)
        return cap;
    uint64_t unit = v.f_frsize ? v.f_frsize : v.f_bsize;
    uint64_t one_percent = (uint64_t)v.f_blocks * unit / 100;
    uint64_t r = one_percent < cap ? one_percent : cap;
    return r & ~((uint64_t)(64u << 10) - 1);
}
