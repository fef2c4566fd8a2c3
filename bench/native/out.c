/* SPDX-License-Identifier: MIT */
/* out.c - the growable record buffer every collector appends to. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "method.h"

_Static_assert(sizeof(struct ib_rec_hdr) == 8, "hdr layout");
_Static_assert(sizeof(struct ib_ref) == 24, "ref layout");
_Static_assert(sizeof(struct ib_rec_fd) == 72, "fd layout");
_Static_assert(sizeof(struct ib_rec_epoll_item) == 72, "epoll item layout");
_Static_assert(sizeof(struct ib_rec_uring_ring) == 24, "ring layout");
_Static_assert(sizeof(struct ib_rec_uring_file) == 64, "uring file layout");
_Static_assert(sizeof(struct ib_rec_uring_buf) == 32, "uring buf layout");
_Static_assert(sizeof(struct ib_rec_note) == 24, "note layout");

void ib_out_reset(struct ib_out *out)
{
	out->len = 0;
	out->calls = 0;
	out->err[0] = '\0';
	memset(out->stage_ns, 0, sizeof(out->stage_ns));
}

int ib_out_error(struct ib_out *out, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out->err, sizeof(out->err), fmt, ap);
	va_end(ap);
	return err < 0 ? err : -err;
}

void *ib_out_rec(struct ib_out *out, uint16_t type, int32_t pid, size_t size,
		 const char *str, size_t slen)
{
	size_t total = size + (str ? slen + 1 : 0);
	struct ib_rec_hdr *h;

	total = (total + 7) & ~(size_t)7;
	if (total > UINT16_MAX)
		return NULL;
	if (out->len + total > out->cap) {
		size_t cap = out->cap ? out->cap : 1 << 16;
		uint8_t *nb;

		while (cap < out->len + total)
			cap *= 2;
		nb = realloc(out->buf, cap);
		if (!nb)
			return NULL;
		out->buf = nb;
		out->cap = cap;
	}
	h = (struct ib_rec_hdr *)(out->buf + out->len);
	memset(h, 0, total);
	h->type = type;
	h->size = (uint16_t)total;
	h->pid = pid;
	if (str)
		memcpy((char *)h + size, str, slen);
	out->len += total;
	return h;
}

uint64_t ib_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
