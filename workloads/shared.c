// SPDX-License-Identifier: MIT
/*
 * shared.c - K tasks (the root and K-1 forked children) holding N
 * descriptors in total, sharing open files by fork inheritance, by dup and by
 * SCM_RIGHTS (task t sends files it opened to task t+1 over a ring of
 * SOCK_SEQPACKET pairs, keeping half of them), plus private files per task.
 *
 * With epoll (scenario all) the root also holds the io_uring instance and
 * one epoll item whose target only a ring slot holds (case (f), uring.c).
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

#include "common.h"

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
	build_mix(s.priv, (int)t);
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

		build_mix(H, 0);
		for (int fd = 3; fd < A->fd_cap; fd++) {
			if (!self->fdlabel[fd] || self->fdlabel[fd] - 1 < before)
				continue;
			if (first < 0)
				first = fd;
			inh[ninh++] = fd;
			file_note(self->fdlabel[fd] - 1, "inherited by fork: shared by every task");
		}
		if (!ninh) /* tiny N: still inherit one file */
			inh[ninh++] = mk_eventfd(0, "inherited by fork: shared by every task");
	}
	for (long i = 0; i < K; i++) {
		int pair[2];

		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, pair) < 0)
			die("socketpair: %s", strerror(errno));
		file_new(pair[0], K_SOCKET, NULL, "SCM_RIGHTS channel (receiving end)");
		file_new(pair[1], K_SOCKET, NULL, "SCM_RIGHTS channel (sending end)");
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
	add_case("open files shared by fork inheritance, by dup and by SCM_RIGHTS between tasks");
	add_case("files sent by SCM_RIGHTS whose sender closed its descriptor (only the receiver holds them)");
	add_case("private files per task");
	if (with_epoll) {
		/* the ring first: case (f) needs a spare slot and counts as one
		 * of the E items */
		uring_build(p);
		if (uring_has_spare_slot()) {
			epoll_build(p, p->epoll_items - 1);
			uring_epoll_target(&A->epolls[A->nepolls - 1]);
		} else {
			epoll_build(p, p->epoll_items);
		}
	}
	free(chan);
	free(inh);
}
