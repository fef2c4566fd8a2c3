// SPDX-License-Identifier: MIT
/*
 * io_uring.c - the "io_uring" scenario: one ring with U = N registered file
 * slots and B = min(1024, N) registered buffers (parts/uring.c).
 */
#include "../scenario.h"
#include "../parts/parts.h"

static const char *const *const cases[] = { uring_cases, NULL };

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
	return 3 + 1 + p->uring_files / 4 + 1 + URING_TRANSIENT;
}

static void build(struct plan *p)
{
	uring_build(p->uring_files, p->buffers);
}

const struct scenario scenario_io_uring = {
	.name = "io_uring",
	.summary = "one io_uring instance with U = N registered file slots and "
		   "B = min(1024, N) registered buffers",
	.cases = cases,
	.needs = NEEDS_IO_URING,
	.min_tasks = 1,
	.default_run = true,
	.plan = plan,
	.build = build,
};
