// SPDX-License-Identifier: MIT
/*
 * io_uring.c - the "io_uring" scenario: U = N registered file slots and
 * B = min(1024, N) registered buffers (parts/uring.c) in one ring, and a
 * few of them (8 slots, 2 buffers when U >= 16) in a second ring that no
 * descriptor reaches.
 */
#include "../makers.h"
#include "../scenario.h"
#include "../parts/parts.h"

static const char *const *const cases[] = { uring_cases, pipe_cases, NULL };

static long plan(const struct opts *o, long n, long cap, struct plan *p)
{
	(void)o;
	(void)cap;
	p->epoll_items = 0;
	if (p->uring_files < 0)
		p->uring_files = n;
	if (p->buffers < 0)
		p->buffers = n < 1024 ? n : 1024;
	p->ring_files_max = p->uring_files;
	return 3 + 1 + p->uring_files / 4 + 1 + URING_TRANSIENT + HIDDEN_NEED;
}

static void build(struct plan *p)
{
	long hs = HIDDEN_SLOTS(p->uring_files), hb = HIDDEN_BUFS(p->uring_files, p->buffers);

	uring_build(p->uring_files - hs, p->buffers - hb);
	if (hs)
		uring_hidden(hs, hb);
}

const struct scenario scenario_io_uring = {
	.name = "io_uring",
	.summary = "one io_uring instance with U = N registered file slots and "
		   "B = min(1024, N) registered buffers (8 slots and 2 buffers of them in a ring "
		   "no descriptor reaches)",
	.cases = cases,
	.needs = NEEDS_IO_URING,
	.min_tasks = 1,
	.default_run = true,
	.no_criu = CRIU_NO_URING_WHY,
	.plan = plan,
	.build = build,
};
