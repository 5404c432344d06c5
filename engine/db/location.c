/*
 * location.c - what the engine can tell about the place a store lives, without opening it
 * (lsm.h: lsm_location_space). The file layer answers for either backend.
 */
#include "lsm.h"
#include "util/file.h"

int lsm_location_space(const char *name, uint64_t *total, uint64_t *free_bytes, uint64_t *avail)
{
    return file_space(name, total, free_bytes, avail);
}
