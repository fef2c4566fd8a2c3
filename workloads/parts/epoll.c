// SPDX-License-Identifier: MIT
/*
 * epoll.c - the epoll part: epoll instances with E items in total, and the cases that make
 * epoll state hard to recover:
 *  (a) a target dup'd to another number, then the original closed: the item
 *      keeps the stale tfd;
 *  (b) that number then reused by a new open file, also added: two items with
 *      the same tfd and different files;
 *  (c) one open file registered through two descriptors (fd and its dup);
 *  (d) a target that only another task holds (added, inherited by the other
 *      task, then closed here);
 *  (e) a target closed after EPOLL_CTL_ADD whose last reference is gone: the
 *      kernel removes the item, so the manifest does not list it;
 *  plus one file watched by two instances and an epoll instance watching
 *  another one. Every item's data is unique in the whole workload.
 * The CRIU-compatible variant keeps (d)'s target open in the epoll's task
 * and registers (c) in instance 0, away from (a) and (b) (CRIU_EPOLL_C_APART).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "../makers.h"
#include "../model.h"
#include "../tasks.h"
#include "parts.h"

static const char EP_D[] = "(d) an epoll item whose target file only another task holds (inherited, then closed in the epoll's task)";
static const char EP_A[] = "(a) an epoll item whose tfd is stale: the target was dup'd elsewhere and the original number closed";
static const char EP_B[] = "(b) two items of one instance with the same tfd and different open files (the number was reused)";
static const char EP_C[] = "(c) one open file registered in one instance through two descriptors (fd and its dup)";
static const char EP_E[] = "(e) an item whose target was closed after EPOLL_CTL_ADD (last reference): the kernel removed it, so it is not listed";
static const char EP_NESTED[] = "an epoll instance watching another epoll instance";
static const char EP_TWO[] = "one open file watched by two epoll instances (same tfd)";

const char CRIU_NO_EPOLL_D[] =
	"left out for CRIU: (d), the target stays open in the epoll's task too (CRIU 4.2 looks for a "
	"target among that task's descriptors: \"kid_lookup_epoll: no match\", \"Dump eventpoll failed\")";
/*
 * CRIU 4.2 resolves every item of an instance that has a stale or reused
 * tfd ((a), (b)) to the first descriptor holding its file: the two items of
 * (c) then come out on one tfd, and restore fails. The variant keeps (c),
 * in another instance.
 */
const char CRIU_EPOLL_C_APART[] =
	"left out for CRIU: (c) in the instance of (a) and (b); (c) is registered in another "
	"instance (CRIU 4.2 writes both (c) items of an instance with a stale or reused tfd "
	"on one tfd, and restore fails)";
const char *const criu_epoll_left_out[] = {
	CRIU_NO_DIRECT_PIPES, CRIU_FEW_PIPES, CRIU_NO_EPOLL_D, CRIU_EPOLL_C_APART, NULL,
};

const char *const epoll_cases[] = {
	EP_A,
	EP_B,
	EP_C,
	EP_D,
	EP_E,
	EP_NESTED,
	EP_TWO,
	NULL,
};

static int pre_epfd = -1;   /* instance created before fork (case d) */
static int pre_target = -1; /* its target, closed in this task after fork */

/* The kernel adds EPOLLERR | EPOLLHUP to every item (do_epoll_ctl). */
void mepoll_add(struct mepoll *e, int tfd, uint32_t events, const char *note)
{
	struct epoll_event ev = { .events = events };
	struct mitem *it;

	ev.data.u64 = next_data();
	if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, tfd, &ev) < 0)
		die("epoll_ctl(%d, ADD, %d): %s", e->epfd, tfd, strerror(errno));
	it = mepoll_item(e);
	it->tfd = tfd;
	it->events = events | EPOLLERR | EPOLLHUP;
	it->data = ev.data.u64;
	it->target = fd_label(tfd);
	it->note = note;
}

static struct mepoll *new_instance(void)
{
	int fd = epoll_create1(0);

	if (fd < 0)
		die("epoll_create1: %s", strerror(errno));
	file_new(fd, IB_K_EPOLL, NULL, NULL);
	return mepoll_new(fd);
}

/*
 * Case (d), first half: in the root, before the other tasks are forked,
 * create instance 0 and add an eventfd they will inherit. Returns the target.
 */
int epoll_pre_fork(struct plan *p)
{
	struct mepoll *e;

	(void)p;
	e = new_instance();
	pre_epfd = e->epfd;
	pre_target = mk_eventfd(7, "epoll target held only by other tasks");
	mepoll_add(e, pre_target, EPOLLIN, "(d) target held only by another task");
	add_case(EP_D);
	return pre_target;
}

/* In a forked task: it holds the target of case (d), not the instance. */
void epoll_post_fork_child(void)
{
	if (pre_epfd >= 0)
		fd_close(pre_epfd);
}

static const uint32_t evcycle[] = {
	EPOLLIN, EPOLLOUT, EPOLLIN | EPOLLOUT, EPOLLIN | EPOLLET,
	EPOLLIN | EPOLLONESHOT, EPOLLIN | EPOLLRDHUP, EPOLLPRI,
	EPOLLIN | EPOLLEXCLUSIVE,
};

/*
 * Regular items until `items` exist over the nep instances ep[]: eventfds,
 * socket pairs and pipes; every tenth target also watched by a second
 * instance.
 */
static void add_regular(struct mepoll **ep, long nep, long added, long items)
{
	struct mepoll *e;
	int pair[2], t, seq = 0;

	while (added < items) {
		int k = seq++ % 8;

		e = ep[seq % nep];
		if (k == 3 && items - added >= 2) {
			mk_socketpair(pair, seq, NULL);
			mepoll_add(e, pair[0], evcycle[seq % 8], NULL);
			mepoll_add(e, pair[1], EPOLLOUT, NULL);
			added += 2;
			continue;
		}
		if (k == 5 && items - added >= 2) {
			mk_pipe(pair, seq, NULL);
			mepoll_add(e, pair[0], EPOLLIN | EPOLLRDHUP, NULL);
			mepoll_add(e, pair[1], EPOLLOUT | EPOLLET, NULL);
			added += 2;
			continue;
		}
		t = mk_eventfd(seq, NULL);
		mepoll_add(e, t, evcycle[seq % 8], NULL);
		added++;
		if (seq % 10 == 0 && nep >= 2 && added < items) {
			struct mepoll *o = ep[(seq + 1) % nep];

			mepoll_add(o, t, EPOLLIN, "watched by two epoll instances");
			added++;
		}
	}
}

/* Instances for `items` items in one task. */
long epoll_instances(long items)
{
	return 2 + items / 2048;
}

/*
 * In a task other than the root (scenario all spread over tasks): `items`
 * regular items over its own instances, no hard case.
 */
void epoll_bulk(long items)
{
	struct mepoll *ep[MAX_EPOLLS];
	long nep = epoll_instances(items);

	if (items <= 0)
		return;
	for (long i = 0; i < nep; i++)
		ep[i] = new_instance();
	add_regular(ep, nep, 0, items);
}

/*
 * In the root, after the other tasks exist: the hard cases and the regular
 * items, `items` items in total (the item of case (d) included). Returns the
 * last instance it made.
 */
struct mepoll *epoll_build(struct plan *p, long items)
{
	struct mepoll *ep[MAX_EPOLLS];
	long nep = p->epolls, added = 0;
	int t, t2, n, r, d, pair[2], y;
	struct mepoll *h, *c;

	if (pre_target >= 0 && criu_compat) {
		/* CRIU looks for a target among the epoll task's own descriptors */
		add_case(CRIU_NO_EPOLL_D);
	} else if (pre_target >= 0) {
		fd_close(pre_target); /* (d): now only the other tasks hold it */
	}
	pre_target = -1;
	ep[0] = pre_epfd >= 0 ? &A->epolls[0] : new_instance();
	if (pre_epfd >= 0)
		added = 1;
	for (long i = 1; i < nep; i++)
		ep[i] = new_instance();
	h = ep[1 % nep];

	/* (a) stale tfd */
	t = mk_eventfd(1, NULL);
	mepoll_add(h, t, EPOLLIN, "(a) stale tfd: target moved by dup, original closed");
	t2 = fd_dup(t);
	fd_close(t);
	file_note(fd_label(t2), "epoll target registered under a number it no longer has");
	/* (b) the number reused by another open file, also added */
	n = mk_eventfd(2, NULL);
	if (n != t) {
		fd_dup_to(n, t);
		fd_close(n);
	}
	mepoll_add(h, t, EPOLLIN | EPOLLOUT, "(b) tfd reused by another open file");
	add_case(EP_A);
	add_case(EP_B);
	/* (c) one open file through two descriptors; for CRIU in an instance
	 * with no stale or reused tfd (instance 0: regular items and (d)) */
	mk_pipe(pair, 0, NULL);
	r = pair[0];
	d = fd_dup(r);
	c = criu_compat ? ep[0] : h;
	mepoll_add(c, r, EPOLLIN, "(c) one open file registered through two descriptors");
	mepoll_add(c, d, EPOLLIN | EPOLLET, "(c) one open file registered through two descriptors");
	add_case(EP_C);
	if (criu_compat)
		add_case(CRIU_EPOLL_C_APART);
	/* (e) target closed: the kernel removes the item, the model drops it */
	y = mk_eventfd(3, NULL);
	mepoll_add(h, y, EPOLLIN, NULL);
	fd_close(y);
	h->nitems--;
	add_case(EP_E);
	added += 4;
	/* an epoll instance watching another one (never the reverse: no loops) */
	if (nep >= 2 && added < items) {
		mepoll_add(ep[nep - 1], ep[0]->epfd, EPOLLIN, "an epoll instance watching another one");
		add_case(EP_NESTED);
		added++;
	}
	add_case(EP_TWO);
	add_regular(ep, nep, added, items);
	return ep[nep - 1];
}
