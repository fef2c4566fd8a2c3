/* SPDX-License-Identifier: MIT */
/*
 * kcmp_tree.h - CRIU's shared-file algorithm, shared by kcmp-tree (kcmp.c)
 * and pidfd-getfd (pidfd.c): a primary key genid = st_dev ^ st_ino ^ pos,
 * and inside a genid collision the open files ordered by kcmp(KCMP_FILE)
 * (0 equal, 1 less, 2 greater): each descriptor is binary-searched into a
 * sorted array of class representatives, O(n log n) kcmp calls in all and
 * none when the genids are unique.
 *
 * The caller says how to compare two entries (which tasks and descriptor
 * numbers kcmp gets is its business) and what a failed comparison means.
 */
#ifndef IB_KCMP_TREE_H
#define IB_KCMP_TREE_H

#include <stddef.h>
#include <stdint.h>

struct ib_kt_ops {
	/* the genid of entry i */
	uint64_t (*genid)(void *arg, uint32_t i);
	/* kcmp(KCMP_FILE) of representative rep and entry x: 0 the same open
	 * file, 1 rep < x, 2 rep > x, or -errno */
	long (*cmp)(void *arg, uint32_t rep, uint32_t x);
	/* cmp failed with err (positive errno): 0 to go on (x then gets a
	 * class of its own, outside the ordered array), or a negative errno
	 * to stop */
	int (*failed)(void *arg, uint32_t rep, uint32_t x, int err);
};

/*
 * key[i] = the index of the first entry of i's identity class (in genid
 * order), for the n entries. idx and reps are scratch arrays of n entries.
 * Counts kcmp calls in *kcalls. Returns 0 or what ops->failed returned.
 */
int ib_kcmp_tree(size_t n, uint32_t *idx, uint32_t *reps, uint32_t *key,
		 const struct ib_kt_ops *ops, void *arg, uint64_t *kcalls);

#endif /* IB_KCMP_TREE_H */
