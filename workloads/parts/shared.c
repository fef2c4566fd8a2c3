// SPDX-License-Identifier: MIT
/*
 * shared.c - the shared part: K tasks (the root and K-1 forked children) holding N
 * descriptors in total, sharing open files by fork inheritance, by dup and by
 * SCM_RIGHTS (task t sends files it opened to task t+1 over a ring of
 * SOCK_SEQPACKET pairs, keeping half of them), plus private files per task.
 *
 * With epoll (scenario all) the root also holds the epoll and io_uring
 * parts with their hard cases, and one epoll item whose target only a ring
 * slot holds (case (f), uring.c). When they do not fit one task (N past
 * RLIMIT_NOFILE), the epoll items and registered files are spread evenly
 * over every task, each with its own epoll instances and ring (the root
 * keeps the hard cases and the buffers).
 *
 * Per task, of its share c = N/K: c/4 inherited (opened by the root before
 * the forks, so every task holds them), c/8 dups of inherited files, c/8 sent
 * to the next task, c/8 received from the previous one, the rest private.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../makers.h"
#include "../model.h"
#include "../tasks.h"
#include "parts.h"

static const char SH_SHARED[] = "open files shared by fork inheritance, by dup and by SCM_RIGHTS between tasks";
static const char SH_RECV_ONLY[] = "files sent by SCM_RIGHTS whose sender closed its descriptor (only the receiver holds them)";
static const char SH_PRIVATE[] = "private files per task";

static const char SH_SPREAD[] = "epoll instances and io_uring rings in every task: "
	"the epoll items and registered files spread over the tasks (N past one task's descriptor limit)";

const char *const shared_cases[] = {
	SH_SHARED,
	SH_RECV_ONLY,
	SH_PRIVATE,
	NULL,
};

const char *const spread_cases[] = {
	SH_SPREAD,
	NULL,
};

/*
 * Every task inherits the whole ring of channels and closes all but two:
 * quadratic in K, so K stays moderate here (scenario tree is for many tasks).
 */
#define SHARED_MAX_TASKS 1024

/* Task t's part of total when spread evenly over k tasks. */
long spread_part(long total, long k, long t)
{
	return total / k + (t < total % k ? 1 : 0);
}

/* Descriptors an epoll part of `items` items and a ring of `slots` slots take in one task. */
static long parts_need(long items, long slots)
{
	long need = 0;

	if (items > 0)
		need += epoll_instances(items) + items + 8;
	if (slots > 0)
		need += 1 + slots / 4 + 1 + URING_TRANSIENT + HIDDEN_NEED;
	return need;
}

/*
 * Sizes for n descriptors over K tasks (--tasks, default 4), K raised until
 * no task holds more than cap; with_epoll adds the epoll and io_uring parts
 * (scenario all): in the root when they fit there, else spread evenly over
 * every task (the root keeping the hard cases), each task with its own
 * epoll instances and ring. Returns the most descriptors one task holds.
 */
long shared_plan(const struct opts *o, long n, long cap, struct plan *p, bool with_epoll)
{
	long root, child, share, limit = cap + FD_MARGIN;

	p->tasks = o->tasks ? o->tasks : 4;
	if (p->tasks < 2)
		p->tasks = 2;
	if (with_epoll) {
		if (p->epoll_items < 0)
			p->epoll_items = n / 2 > EPOLL_MIN_ITEMS ? n / 2 : EPOLL_MIN_ITEMS;
		if (p->uring_files < 0)
			p->uring_files = n / 2 > 1 ? n / 2 : 1;
		if (p->buffers < 0)
			p->buffers = n < 1024 ? n : 1024;
		if (o->criu) /* CRIU cannot dump io_uring */
			p->uring_files = p->buffers = 0;
	} else {
		p->epoll_items = p->uring_files = p->buffers = 0;
	}
	for (;;) {
		long e0 = p->epoll_items, u0 = p->uring_files;

		share = ceil_div(n, p->tasks) + 8;
		child = 3 + 2 + share + 1;
		/* before the forks the root holds every task's channel */
		root = child + 2 * p->tasks;
		p->spread_parts = with_epoll &&
				  (root + parts_need(e0, u0) > cap || u0 > limit);
		if (p->spread_parts) {
			e0 = spread_part(p->epoll_items, p->tasks, 0);
			u0 = spread_part(p->uring_files, p->tasks, 0);
			/* task 1 has the largest part of the other tasks */
			child += parts_need(spread_part(p->epoll_items, p->tasks, 1),
					    spread_part(p->uring_files, p->tasks, 1));
		}
		if (with_epoll) {
			root += parts_need(e0, u0);
			p->epolls = epoll_instances(e0);
			p->ring_files_max = u0;
		}
		if ((root <= cap && child <= cap && p->ring_files_max <= limit) ||
		    p->tasks >= SHARED_MAX_TASKS)
			break;
		p->tasks++;
	}
	p->per_task = share;
	return root > child ? root : child;
}

struct share {
	long inherited, dups, send, kept, recv, priv;
};

static long task_count(const struct plan *p, long t)
{
	return p->files / p->tasks + (t < p->files % p->tasks ? 1 : 0);
}

static struct share share_of(const struct plan *p, long t)
{
	long c = task_count(p, t), cmin = p->files / p->tasks;
	long prev = (t + p->tasks - 1) % p->tasks;
	struct share s;

	s.inherited = cmin / 4;
	s.dups = c / 8;
	s.send = c / 8;
	s.kept = s.send / 2;
	s.recv = task_count(p, prev) / 8;
	s.priv = c - s.inherited - s.dups - s.kept - s.recv;
	return s;
}

/* Send this task's files to the next task while receiving the previous one's. */
static void exchange(int tx, const int *out, long nout, int rx, long nin)
{
	long sent = 0, got = 0;

	while (sent < nout || got < nin) {
		struct pollfd pf[2] = {
			{ .fd = sent < nout ? tx : -1, .events = POLLOUT },
			{ .fd = got < nin ? rx : -1, .events = POLLIN },
		};

		if (poll(pf, 2, 30000) <= 0)
			die("SCM_RIGHTS exchange stalled (%ld/%ld sent, %ld/%ld received)",
			    sent, nout, got, nin);
		if (pf[0].revents & (POLLOUT | POLLERR | POLLHUP)) {
			int n = nout - sent > SCM_BATCH ? SCM_BATCH : nout - sent;
			int ret = scm_send(tx, out + sent, n);

			if (ret == 0)
				sent += n;
			else if (ret != -EAGAIN)
				die("sendmsg(SCM_RIGHTS): %s", strerror(-ret));
		}
		if (pf[1].revents & (POLLIN | POLLERR | POLLHUP)) {
			int fds[SCM_BATCH];
			int32_t labels[SCM_BATCH];
			int ret = scm_recv(rx, fds, SCM_BATCH, labels);

			if (ret < 0 && ret != -EAGAIN)
				die("recvmsg(SCM_RIGHTS): %s", strerror(-ret));
			for (int i = 0; i < ret; i++)
				file_note(labels[i], "received by SCM_RIGHTS");
			if (ret > 0)
				got += ret;
		}
	}
}

static void task_body(const struct plan *p, long t, const int *inh, long ninh,
		      int tx, int rx)
{
	struct share s = share_of(p, t);
	int *out = calloc(s.send ? s.send : 1, sizeof(int));

	if (!out)
		die("out of memory");
	for (long i = 0; i < s.dups; i++) {
		int fd = fd_dup(inh[(i * 7 + t) % ninh]);

		file_note(fd_label(fd), "inherited, and dup'd in some task");
	}
	for (long i = 0; i < s.send; i++) {
		out[i] = i % 3 == 0 ? mk_reg(200000 + (int)i, NULL) : mk_eventfd((int)i, NULL);
		file_note(fd_label(out[i]), i < s.kept ? "sent by SCM_RIGHTS; the sender kept it"
							 : "sent by SCM_RIGHTS; only the receiver holds it");
	}
	exchange(tx, out, s.send, rx, s.recv);
	for (long i = s.kept; i < s.send; i++)
		fd_close(out[i]);
	free(out);
	build_mix(s.priv);
}

/*
 * In the root: open the inherited files and the SCM ring, fork the other
 * tasks and build every task's share. with_epoll: also the epoll part (its
 * case (d) target is inherited by the children) and, in the root, the
 * io_uring part (scenario "all").
 */
void shared_build(struct plan *p, bool with_epoll)
{
	long K = p->tasks, H = share_of(p, 0).inherited;
	int (*chan)[2] = calloc(K, sizeof(*chan));
	int *inh = calloc(H ? H : 1, sizeof(int));
	long ninh;

	if (!chan || !inh)
		die("out of memory");
	/* inherited files: created before the forks, held by every task */
	ninh = 0;
	{
		long before = A->nfiles;
		int first = -1;

		build_mix(H);
		for (int fd = 3; fd <= self->table->maxfd; fd++) {
			if (!fd_known(fd) || fd_label(fd) < before)
				continue;
			if (first < 0)
				first = fd;
			inh[ninh++] = fd;
			file_note(fd_label(fd), "inherited by fork: shared by every task");
		}
		if (!ninh) /* tiny N: still inherit one file */
			inh[ninh++] = mk_eventfd(0, "inherited by fork: shared by every task");
	}
	for (long i = 0; i < K; i++) {
		int pair[2];

		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, pair) < 0)
			die("socketpair: %s", strerror(errno));
		file_new(pair[0], IB_K_SOCKET, NULL, "SCM_RIGHTS channel (receiving end)");
		file_new(pair[1], IB_K_SOCKET, NULL, "SCM_RIGHTS channel (sending end)");
		chan[i][0] = pair[0];
		chan[i][1] = pair[1];
	}
	if (with_epoll)
		epoll_pre_fork(p);
	for (long t = 1; t < K; t++) {
		char role[24];

		snprintf(role, sizeof(role), "child-%d", (int)t);
		if (fork_task(role, NULL) == 0) {
			for (long i = 0; i < K; i++) {
				if (i != t)
					fd_close(chan[i][0]);
				if (i != (t + 1) % K)
					fd_close(chan[i][1]);
			}
			if (with_epoll)
				epoll_post_fork_child();
			task_body(p, t, inh, ninh, chan[(t + 1) % K][1], chan[t][0]);
			if (p->spread_parts) {
				epoll_bulk(spread_part(p->epoll_items, K, t));
				uring_bulk(spread_part(p->uring_files, K, t)); /* 0: none */
			}
			child_done();
		}
	}
	for (long i = 0; i < K; i++) {
		if (i != 0)
			fd_close(chan[i][0]);
		if (i != 1 % K)
			fd_close(chan[i][1]);
	}
	task_body(p, 0, inh, ninh, chan[1 % K][1], chan[0][0]);
	add_case(SH_SHARED);
	add_case(SH_RECV_ONLY);
	add_case(SH_PRIVATE);
	if (with_epoll) {
		/* the ring first: case (f) needs a spare slot and counts as one
		 * of the E items */
		long items = p->epoll_items, slots = p->uring_files;

		if (p->spread_parts) {
			items = spread_part(items, K, 0);
			slots = spread_part(slots, K, 0);
		}
		if (p->spread_parts)
			add_cases(spread_cases);
		long hs = HIDDEN_SLOTS(slots), hb = HIDDEN_BUFS(slots, p->buffers);

		if (slots > 0)
			uring_build(slots - hs, p->buffers - hb);
		if (hs)
			uring_hidden(hs, hb);
		if (uring_has_spare_slot()) {
			uring_epoll_target(epoll_build(p, items - 1));
		} else {
			epoll_build(p, items);
		}
	}
	free(chan);
	free(inh);
}
