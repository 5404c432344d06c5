/*
 * merger.h - a merging iterator: n sorted internal-key iterators seen as one.
 *
 * Entries come out in ikey_compare order (user key ascending, newer first); equal
 * internal keys cannot occur (each has its own sequence). Works in both directions and
 * switches direction correctly (as LevelDB's MergingIterator does). The first child
 * error stops the merge: the iterator becomes invalid and status() returns it.
 */
#ifndef LSM_TABLE_MERGER_H
#define LSM_TABLE_MERGER_H

#include "base/iterator.h"

/* Takes ownership of children[0..n) (the array itself is copied). NULL if out of memory
 * (the children are destroyed then). n may be 0 or 1. */
iter_t *merging_iter_new(iter_t **children, int n);

#endif
