/* SPDX-License-Identifier: MIT */
/* out.c - the growable record buffer every collector appends to. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "method.h"

/* (the record layouts are asserted in bpf/records.h itself) */
#define NNAMES(list) (sizeof((const char *[])list) / sizeof(const char *))
_Static_assert(NNAMES(IB_KIND_NAMES) == IB_K__N, "IB_KIND_NAMES: one name per enum ib_kind");
_Static_assert(NNAMES(IB_COV_NAMES) == IB_COV__N, "IB_COV_NAMES: one name per enum ib_cov");
_Static_assert(NNAMES(IB_STAGE_NAMES) == IB_STAGE__N, "IB_STAGE_NAMES: one name per enum ib_stage");

void ib_out_reset(struct ib_out *out)
{
	out->len = 0;
	out->calls = 0;
	out->err[0] = '\0';
	out->note[0] = '\0';
	out->cold_shared_ns = 0;
	out->skip = IB_SKIP_NONE;
	memset(&out->sample, 0, sizeof(out->sample));
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

int ib_out_skip(struct ib_out *out, enum ib_skip why, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out->err, sizeof(out->err), fmt, ap);
	va_end(ap);
	out->skip = why;
	return -EOPNOTSUPP;
}

void ib_out_note(struct ib_out *out, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out->note, sizeof(out->note), fmt, ap);
	va_end(ap);
}

int ib_out_room(struct ib_out *out, size_t need)
{
	size_t cap;
	uint8_t *nb;

	if (out->cap - out->len >= need)
		return 0;
	cap = out->cap ? out->cap : 1 << 16;
	while (cap - out->len < need)
		cap *= 2;
	nb = realloc(out->buf, cap);
	if (!nb)
		return -ENOMEM;
	out->buf = nb;
	out->cap = cap;
	return 0;
}

int ib_out_append(struct ib_out *out, const void *p, size_t n)
{
	if (ib_out_room(out, n))
		return -ENOMEM;
	memcpy(out->buf + out->len, p, n);
	out->len += n;
	return 0;
}

void *ib_out_rec(struct ib_out *out, uint16_t type, int32_t pid, size_t size,
		 const char *str, size_t slen)
{
	size_t total = size + (str ? slen + 1 : 0);
	struct ib_rec_hdr *h;

	total = (total + 7) & ~(size_t)7;
	if (total > UINT16_MAX)
		return NULL;
	if (ib_out_room(out, total))
		return NULL;
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

ssize_t ib_whole_records(const uint8_t *p, size_t n)
{
	size_t off = 0;

	while (off + sizeof(struct ib_rec_hdr) <= n) {
		const struct ib_rec_hdr *h = (const void *)(p + off);

		if (h->size < sizeof(*h) || h->size % 8)
			return -EPROTO;
		if (off + h->size > n)
			break;
		off += h->size;
	}
	return off;
}

uint64_t ib_clock_ns(clockid_t clock)
{
	struct timespec ts;

	if (clock_gettime(clock, &ts) < 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t ib_now_ns(void)
{
	return ib_clock_ns(CLOCK_MONOTONIC);
}
