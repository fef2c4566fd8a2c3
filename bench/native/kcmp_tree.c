// SPDX-License-Identifier: MIT
/* kcmp_tree.c - CRIU's shared-file algorithm, see kcmp_tree.h */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "kcmp_tree.h"

struct kt_sort {
	const struct ib_kt_ops *ops;
	void *arg;
};

static int cmp_genid(const void *pa, const void *pb, void *p)
{
	const struct kt_sort *s = p;
	uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
	uint64_t ga = s->ops->genid(s->arg, a), gb = s->ops->genid(s->arg, b);

	if (ga != gb)
		return ga < gb ? -1 : 1;
	return a < b ? -1 : a > b;
}

int ib_kcmp_tree(size_t n, uint32_t *idx, uint32_t *reps, uint32_t *key,
		 const struct ib_kt_ops *ops, void *arg, uint64_t *kcalls)
{
	struct kt_sort so = { .ops = ops, .arg = arg };
	size_t a, b, k;
	int err;

	for (k = 0; k < n; k++)
		idx[k] = (uint32_t)k;
	qsort_r(idx, n, sizeof(idx[0]), cmp_genid, &so);

	for (a = 0; a < n; a = b) {
		uint64_t g = ops->genid(arg, idx[a]);
		size_t nreps = 0;

		for (b = a + 1; b < n && ops->genid(arg, idx[b]) == g; b++)
			;
		if (b - a == 1) {
			key[idx[a]] = idx[a];
			continue;
		}
		/* a genid collision: classes ordered by KCMP_FILE */
		for (k = a; k < b; k++) {
			uint32_t x = idx[k];
			size_t lo = 0, hi = nreps;
			int found = 0;

			while (lo < hi) {
				size_t mid = lo + (hi - lo) / 2;
				long r = ops->cmp(arg, reps[mid], x);

				(*kcalls)++;
				if (r == 0) {
					key[x] = key[reps[mid]];
					found = 1;
					break;
				} else if (r == 1) { /* rep < x */
					lo = mid + 1;
				} else if (r == 2) {
					hi = mid;
				} else {
					err = ops->failed(arg, reps[mid], x, r < 0 ? (int)-r : EINVAL);
					if (err)
						return err;
					/* a vanished fd: give x a class of its own, unordered */
					break;
				}
			}
			if (found)
				continue;
			key[x] = x;
			if (lo < hi) /* vanished: keep out of the ordered array */
				continue;
			memmove(&reps[lo + 1], &reps[lo], (nreps - lo) * sizeof(reps[0]));
			reps[lo] = x;
			nreps++;
		}
	}
	return 0;
}
