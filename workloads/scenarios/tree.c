// SPDX-License-Identifier: MIT
/*
 * tree.c - the "tree" scenario: K tasks (--tasks, default 64, up to 8192) in
 * a fork tree of several levels (each task forks up to BRANCH children),
 * holding N descriptors in all (--files), so a sweep over K at constant N is
 * possible. Most tasks hold few descriptors: ceil(K/100) "heavy" tasks (the
 * root among them) hold half of N, the others share the other half.
 *
 * In every task t with its budget c_t of descriptors (0, 1, 2 not counted):
 *  - inherited: it keeps up to half of what its parent held when it forked
 *    it (the parent's own inherited, private and dup'd descriptors, so a
 *    file can be inherited down several levels) and closes the rest;
 *  - private files (the mix of makers.c) and dups of inherited (or private)
 *    descriptors;
 *  - sent: after forking its children, it opens c_t/4 files (at least one
 *    when c_t >= 2; bounded by what the parent takes: half of the parent's
 *    budget) and passes them to its parent with SCM_RIGHTS, keeping about
 *    half of them (open in both) and closing the others (only the parent
 *    holds those);
 *  - received: what its children sent.
 * The channels (one SOCK_SEQPACKET pair per sending child) are closed before
 * ready: the state is exactly the budgets, N in all.
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
#include "../scenario.h"
#include "../tasks.h"

#define BRANCH 6
#define DEFAULT_TASKS 64

static const char TR_LEVELS[] =
	"a fork tree of several levels: files inherited from parents and grandparents";
static const char TR_FEW[] =
	"many tasks holding few descriptors, a few holding many";
static const char TR_DUP[] = "descriptors dup'd after inheritance";
static const char TR_UP[] =
	"files passed up the tree with SCM_RIGHTS: some still open in the sender, "
	"some held only by the receiver";
static const char *const tree_cases[] = { TR_LEVELS, TR_FEW, TR_DUP, TR_UP, NULL };
static const char *const *const cases[] = { tree_cases, mix_cases, NULL };

struct node {
	long c;     /* descriptors it holds when ready */
	long send;  /* files it passes to its parent */
	long kept;  /* of those, still open here */
	long recv;  /* files its children pass to it */
	long base;  /* inherited + private + dups: what its children inherit */
	long inh;   /* inherited descriptors it keeps */
	long dups;
	long priv;
};

static long tasks_of(const struct opts *o)
{
	return o->tasks ? o->tasks : DEFAULT_TASKS;
}

static long heavy_count(long k)
{
	return (k + 99) / 100;
}

static bool is_heavy(long t, long k)
{
	long h = heavy_count(k), stride = k / h;

	return t % stride == 0 && t / stride < h;
}

/* Budget of task t: heavy tasks share half of n, the others the rest. */
static long budget(long t, long k, long n)
{
	long h = heavy_count(k), light = k - h;
	long heavy_total = light ? n / 2 : n, light_total = n - heavy_total;
	long idx, stride = k / h;

	if (is_heavy(t, k)) {
		idx = t / stride;
		return heavy_total / h + (idx < heavy_total % h ? 1 : 0);
	}
	idx = t - (t / stride + 1 < h ? t / stride + 1 : h); /* heavy tasks before t */
	return light_total / light + (idx < light_total % light ? 1 : 0);
}

/* Every task's numbers; nodes[k]. */
static void layout(long k, long n, struct node *nodes)
{
	for (long t = 0; t < k; t++)
		nodes[t] = (struct node){ .c = budget(t, k, n) };
	/* sends, bounded by what the parent takes (half its budget) */
	for (long pt = 0; pt < k; pt++) {
		long room = nodes[pt].c / 2;

		for (long ch = BRANCH * pt + 1; ch <= BRANCH * pt + BRANCH && ch < k; ch++) {
			/* a quarter, at least one file from a task holding two */
			long s = nodes[ch].c >= 8 ? nodes[ch].c / 4 : nodes[ch].c >= 2;

			if (s > room)
				s = room;
			nodes[ch].send = s;
			nodes[ch].kept = (s + (ch & 1)) / 2; /* one file: kept by odd tasks */
			nodes[pt].recv += s;
			room -= s;
		}
	}
	for (long t = 0; t < k; t++) {
		struct node *d = &nodes[t];

		d->base = d->c - d->recv - d->kept;
		d->inh = t ? nodes[(t - 1) / BRANCH].base : 0;
		if (d->inh > d->base / 2)
			d->inh = d->base / 2;
		d->dups = d->base / 6;
		d->priv = d->base - d->inh - d->dups;
	}
}

static long plan(const struct opts *o, long n, long cap, struct plan *p)
{
	long k = tasks_of(o), most;

	p->tasks = k;
	p->epoll_items = p->uring_files = p->buffers = 0;
	/* the largest budgets: the root (heavy) and task 1 (the first light one) */
	most = budget(0, k, n);
	if (budget(1, k, n) > most)
		most = budget(1, k, n);
	/* while sending, every sent file is still open; plus the channels */
	most = 3 + most + most / 4 + BRANCH + 4;
	return most > cap ? -1 : most;
}

/* Channels of this process (not in the model: closed before ready). */
static int chans[BRANCH + 1];
static int nchans;

static void chan_close_all(void)
{
	for (int i = 0; i < nchans; i++)
		close(chans[i]);
	nchans = 0;
}

static void wait_fd(int fd, short events, const char *what)
{
	struct pollfd pf = { .fd = fd, .events = events };

	if (poll(&pf, 1, 30000) <= 0)
		die("SCM_RIGHTS %s stalled", what);
}

static void send_up(int tx, const struct node *d, long t)
{
	int *out = calloc(d->send ? d->send : 1, sizeof(int));

	if (!out)
		die("out of memory");
	for (long i = 0; i < d->send; i++) {
		out[i] = i % 3 == 0 ? mk_reg(300000 + (int)i, NULL) : mk_eventfd((int)(i + t), NULL);
		file_note(fd_label(out[i]), i < d->kept ? "sent to the parent by SCM_RIGHTS; the sender kept it"
							 : "sent to the parent by SCM_RIGHTS; only the parent holds it");
	}
	for (long i = 0; i < d->send;) {
		int n = d->send - i > SCM_BATCH ? SCM_BATCH : (int)(d->send - i);
		int ret;

		wait_fd(tx, POLLOUT, "send");
		ret = scm_send(tx, out + i, n);
		if (ret < 0 && ret != -EAGAIN)
			die("sendmsg(SCM_RIGHTS): %s", strerror(-ret));
		if (ret == 0)
			i += n;
	}
	for (long i = d->kept; i < d->send; i++)
		fd_close(out[i]);
	free(out);
}

static void recv_from(int rx, long count)
{
	long got = 0;

	while (got < count) {
		int fds[SCM_BATCH];
		int32_t labels[SCM_BATCH];
		int ret;

		wait_fd(rx, POLLIN, "receive");
		ret = scm_recv(rx, fds, SCM_BATCH, labels);
		if (ret < 0 && ret != -EAGAIN)
			die("recvmsg(SCM_RIGHTS): %s", strerror(-ret));
		for (int i = 0; i < ret; i++)
			file_note(labels[i], "received from a child by SCM_RIGHTS");
		if (ret > 0)
			got += ret;
	}
}

/* Task t's life, from its start (after fork) to its state being complete. */
static void task_body(const struct node *nodes, long k, long t, int tx)
{
	const struct node *d = &nodes[t];
	int rx[BRANCH];
	long kids = 0, have = 0;
	int *own;

	/* inherited: keep the first d->inh, close the rest */
	own = calloc(d->base ? d->base : 1, sizeof(int));
	if (!own)
		die("out of memory");
	for (int fd = 3; fd <= self->table->maxfd; fd++) {
		if (!fd_known(fd))
			continue;
		if (have < d->inh) {
			own[have++] = fd;
			file_note(fd_label(fd), "inherited down the fork tree");
		} else {
			fd_close(fd);
		}
	}
	build_mix(d->priv);
	if (!d->inh) { /* dups of its own files instead */
		for (int fd = 3; fd <= self->table->maxfd && have < d->base - d->dups; fd++)
			if (fd_known(fd))
				own[have++] = fd;
	}
	for (long i = 0; i < d->dups && have; i++) {
		int fd = fd_dup(own[(i * 7) % have]);

		file_note(fd_label(fd), "dup'd in a task of the fork tree");
	}
	free(own);
	/* the children, each with a channel when it sends */
	for (long ch = BRANCH * t + 1; ch <= BRANCH * t + BRANCH && ch < k; ch++) {
		int pair[2] = { -1, -1 };
		char role[24];

		if (nodes[ch].send &&
		    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, pair) < 0)
			die("socketpair: %s", strerror(errno));
		snprintf(role, sizeof(role), "tree-%d", (int)ch);
		if (fork_task(role, NULL) == 0) {
			chan_close_all();
			if (pair[0] >= 0) {
				close(pair[0]);
				chans[nchans++] = pair[1];
			}
			task_body(nodes, k, ch, pair[1]);
			child_done();
		}
		if (pair[0] >= 0) {
			close(pair[1]);
			chans[nchans++] = pair[0];
		}
		rx[kids++] = pair[0];
	}
	if (d->send)
		send_up(tx, d, t);
	for (long i = 0; i < kids; i++)
		if (rx[i] >= 0)
			recv_from(rx[i], nodes[BRANCH * t + 1 + i].send);
	chan_close_all();
}

static void build(struct plan *p)
{
	long k = p->tasks;
	struct node *nodes = calloc(k, sizeof(*nodes));

	if (!nodes)
		die("out of memory");
	layout(k, p->files, nodes);
	add_cases(tree_cases);
	task_body(nodes, k, 0, -1);
	free(nodes);
}

const struct scenario scenario_tree = {
	.name = "tree",
	.summary = "K tasks (default 64) in a fork tree of several levels holding N descriptors "
		   "in all, most of them few: inherited, dup'd and passed up with SCM_RIGHTS",
	.cases = cases,
	.spreads = true,
	.min_tasks = 2,
	.default_run = false,
	.criu_left_out = criu_pipes_left_out,
	.plan = plan,
	.build = build,
};
