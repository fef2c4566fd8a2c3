// SPDX-License-Identifier: MIT
/*
 * procfs_parallel.c - the procfs method on every CPU, and its floor.
 *
 * procfs-parallel:       the best a user-space procfs reader can do on this
 *                        machine: procfs's per-descriptor work (procfs.h:
 *                        the same code, so the same records) on one thread
 *                        per CPU this process may run on. Each thread has
 *                        its own buffers, its own dirfds of the task it
 *                        works on, and its own record buffer per chunk.
 * floor-procfs-parallel: the same threads issuing floor-procfs's syscalls,
 *                        nothing parsed: the cost this method cannot go below.
 *
 * One collect: the targets that share a descriptor table are found first,
 * as procfs finds them (tables.h: each table is read once), then two phases
 * on a pool of threads made at open() (the calling thread is worker 0):
 *   enumerate  the tasks are taken one at a time by whichever worker is
 *              free: /proc/PID/fd listed with getdents64;
 *   metadata   every task's descriptors are cut into chunks (so one big task
 *              is split too: about 8 chunks per worker over all
 *              descriptors, at least 32 descriptors each), taken in turn
 *              by the free workers; a worker keeps the dirfds of the last
 *              task it worked on.
 * The chunks' records are then appended in chunk order: the answer is
 * procfs's, byte for byte (an io_uring fdinfo read that lost the ring's
 * trylock to another worker is done again: see uring_tables_missing). Stage times: the phases' wall time; the epoll and
 * io_uring parsing (summed over the workers, divided by their number) is
 * taken out of metadata.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "method.h"
#include "procfs.h"
#include "procfs_util.h"
#include "tables.h"

#define PP_MAX_THREADS 64
#define PP_CHUNKS_PER_WORKER 8
#define PP_MIN_CHUNK 32

struct pp_pool;

struct pp_worker {
	struct pp_pool *pool;
	pthread_t th;
	int started;
	struct ib_procfs_scratch sc;
	struct ib_pf_buf dbuf;
	struct ib_pf_task tk; /* the task of its last chunk (tk.pid 0: none) */
	uint32_t tk_task;
	struct ib_out scratch_out; /* calls and errors outside a chunk */
	uint64_t ep_ns, ur_ns, nfd, bytes;
};

struct pp_task {
	struct ib_pf_fds fds;
	struct ib_out out; /* enumeration: calls, its error */
	int err;
};

struct pp_chunk {
	uint32_t task;
	size_t lo, hi;
	struct ib_out out;
	int err;
};

enum pp_phase { PP_IDLE, PP_ENUMERATE, PP_WORK, PP_STOP };

struct pp_pool {
	int floor;
	uint32_t nworkers;
	struct pp_worker *w;
	pthread_mutex_t mu;
	pthread_cond_t go, done;
	int mu_ok, go_ok, done_ok;
	uint64_t gen;           /* bumped for each phase */
	enum pp_phase phase;
	uint32_t busy;          /* workers (other than 0) still in the phase */
	atomic_size_t next;     /* the next task or chunk to take */
	atomic_int abort;       /* an error: take no more work */
	/* this collect */
	const struct ib_target *t;
	struct pp_task *tasks;
	uint32_t tasks_cap;
	struct pp_chunk *chunks;
	size_t nchunks, chunks_cap;
	struct ib_tables tables; /* which targets share a descriptor table */
};

static int oom(struct ib_out *out)
{
	return ib_out_error(out, ENOMEM, "procfs-parallel: %s", strerror(ENOMEM));
}

static void worker_drop_task(struct pp_worker *w, struct ib_out *out)
{
	if (w->tk.pid) {
		ib_pf_task_close(&w->tk);
		out->calls += 3;
		w->tk.pid = 0;
	}
}

/*
 * io_uring fdinfo prints the tables only when its trylock of the ring lock
 * succeeds. The target is frozen, so on this method the lock's other holder
 * is another worker reading the same ring through another descriptor: such
 * a read is done again (at most PP_URING_RETRIES times), so the answer
 * stays procfs's.
 */
#define PP_URING_RETRIES 100

/* 1 when the records from mark on hold a ring whose tables fdinfo left out */
static int uring_tables_missing(const struct ib_out *out, size_t mark)
{
	size_t off = mark;

	while (off + sizeof(struct ib_rec_hdr) <= out->len) {
		const struct ib_rec_hdr *h = (const void *)(out->buf + off);

		if (h->type == IB_REC_URING_RING &&
		    (((const struct ib_rec_uring_ring *)h)->status & IB_URING_TABLES_MISSING))
			return 1;
		if (h->size < sizeof(*h))
			return 0;
		off += h->size;
	}
	return 0;
}

static void do_enumerate(struct pp_pool *p, struct pp_worker *w)
{
	size_t i;

	while (!atomic_load(&p->abort) && (i = atomic_fetch_add(&p->next, 1)) < p->t->npids) {
		struct pp_task *pt = &p->tasks[i];
		struct ib_pf_task tk;

		pt->fds.n = 0;
		if (ib_tables_dup(&p->tables, (uint32_t)i))
			continue; /* read under the first target with this table */
		pt->err = ib_pf_task_open(&tk, p->t->pids[i], 0, &pt->out);
		if (!pt->err) {
			pt->err = ib_pf_list_fds(&tk, &pt->fds, &w->dbuf, &pt->out.calls, &pt->out);
			ib_pf_task_close(&tk);
			pt->out.calls += 2;
		}
		if (pt->err)
			atomic_store(&p->abort, 1);
	}
}

static void do_work(struct pp_pool *p, struct pp_worker *w)
{
	size_t i;

	while (!atomic_load(&p->abort) && (i = atomic_fetch_add(&p->next, 1)) < p->nchunks) {
		struct pp_chunk *c = &p->chunks[i];
		const struct pp_task *pt = &p->tasks[c->task];
		size_t k;

		if (!w->tk.pid || w->tk_task != c->task) {
			worker_drop_task(w, &c->out);
			c->err = ib_pf_task_open(&w->tk, p->t->pids[c->task], 1, &c->out);
			if (c->err) {
				w->tk.pid = 0;
				atomic_store(&p->abort, 1);
				break;
			}
			w->tk_task = c->task;
		}
		for (k = c->lo; k < c->hi && !c->err; k++) {
			size_t mark = c->out.len;
			int tries;

			if (p->floor) {
				c->err = ib_procfs_floor_fd(&w->sc, &w->tk, pt->fds.v[k], &c->out, &w->bytes,
							    &w->nfd);
				continue;
			}
			for (tries = 0;; tries++) {
				c->err = ib_procfs_fd(&w->sc, &w->tk, pt->fds.v[k], &c->out, &w->ep_ns,
						      &w->ur_ns);
				if (c->err || tries == PP_URING_RETRIES ||
				    !uring_tables_missing(&c->out, mark))
					break;
				c->out.len = mark; /* another worker held the ring lock: again */
				sched_yield();
			}
		}
		if (c->err)
			atomic_store(&p->abort, 1);
	}
	worker_drop_task(w, &w->scratch_out);
}

static void run_phase(struct pp_pool *p, struct pp_worker *w, enum pp_phase ph)
{
	if (ph == PP_ENUMERATE)
		do_enumerate(p, w);
	else if (ph == PP_WORK)
		do_work(p, w);
}

static void *worker_main(void *arg)
{
	struct pp_worker *w = arg;
	struct pp_pool *p = w->pool;
	uint64_t seen = 0;

	for (;;) {
		enum pp_phase ph;

		pthread_mutex_lock(&p->mu);
		while (p->gen == seen)
			pthread_cond_wait(&p->go, &p->mu);
		seen = p->gen;
		ph = p->phase;
		pthread_mutex_unlock(&p->mu);
		if (ph == PP_STOP)
			return NULL;
		run_phase(p, w, ph);
		pthread_mutex_lock(&p->mu);
		if (--p->busy == 0)
			pthread_cond_signal(&p->done);
		pthread_mutex_unlock(&p->mu);
	}
}

/* run one phase on every worker, the calling thread as worker 0 */
static void phase(struct pp_pool *p, enum pp_phase ph)
{
	atomic_store(&p->next, 0);
	pthread_mutex_lock(&p->mu);
	p->phase = ph;
	p->busy = p->nworkers - 1;
	p->gen++;
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->mu);
	run_phase(p, &p->w[0], ph);
	pthread_mutex_lock(&p->mu);
	while (p->busy)
		pthread_cond_wait(&p->done, &p->mu);
	pthread_mutex_unlock(&p->mu);
}

static void pp_close(void *state)
{
	struct pp_pool *p = state;
	uint32_t i;

	if (!p)
		return;
	if (p->w) {
		pthread_mutex_lock(&p->mu);
		p->phase = PP_STOP;
		p->gen++;
		pthread_cond_broadcast(&p->go);
		pthread_mutex_unlock(&p->mu);
		for (i = 1; i < p->nworkers; i++)
			if (p->w[i].started)
				pthread_join(p->w[i].th, NULL);
		for (i = 0; i < p->nworkers; i++) {
			ib_procfs_scratch_free(&p->w[i].sc);
			free(p->w[i].dbuf.p);
			free(p->w[i].scratch_out.buf);
		}
		free(p->w);
	}
	for (i = 0; i < p->tasks_cap; i++) {
		free(p->tasks[i].fds.v);
		free(p->tasks[i].out.buf);
	}
	free(p->tasks);
	for (size_t c = 0; c < p->chunks_cap; c++)
		free(p->chunks[c].out.buf);
	free(p->chunks);
	ib_tables_free(&p->tables);
	if (p->done_ok)
		pthread_cond_destroy(&p->done);
	if (p->go_ok)
		pthread_cond_destroy(&p->go);
	if (p->mu_ok)
		pthread_mutex_destroy(&p->mu);
	free(p);
}

/*
 * The workers take the policy block() (addon.c) times the calling thread
 * under, SCHED_FIFO, and the caller's own after: left at SCHED_OTHER they
 * shared their CPUs with other work while the caller was protected, and a
 * busy loop on one CPU made this method 20-34 % slower (one CPU instead of
 * two). Called outside the timed region; returns the workers that took it.
 */
static int pp_set_sched(void *state, int policy, int priority)
{
	struct pp_pool *p = state;
	struct sched_param sp = { .sched_priority = priority };
	int n = 0;
	uint32_t i;

	for (i = 1; i < p->nworkers; i++)
		if (p->w[i].started && pthread_setschedparam(p->w[i].th, policy, &sp) == 0)
			n++;
	return n;
}

/* the CPUs this process may run on */
static uint32_t cpus(void)
{
	cpu_set_t set;
	int n;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return 1;
	n = CPU_COUNT(&set);
	if (n < 1)
		return 1;
	return n > PP_MAX_THREADS ? PP_MAX_THREADS : (uint32_t)n;
}

static int open_pool(void **state, const struct ib_target *t, struct ib_out *out, int floor)
{
	struct pp_pool *p;
	uint32_t i;
	int err;

	err = ib_pf_check_pids(t, out);
	if (err)
		return err;
	p = calloc(1, sizeof(*p));
	if (!p)
		return oom(out);
	p->floor = floor;
	if ((err = pthread_mutex_init(&p->mu, NULL)) != 0)
		goto fail_err;
	p->mu_ok = 1;
	if ((err = pthread_cond_init(&p->go, NULL)) != 0)
		goto fail_err;
	p->go_ok = 1;
	if ((err = pthread_cond_init(&p->done, NULL)) != 0)
		goto fail_err;
	p->done_ok = 1;
	p->tasks = calloc(t->npids, sizeof(*p->tasks));
	if (!p->tasks) {
		err = ENOMEM;
		goto fail_err;
	}
	p->tasks_cap = t->npids;
	p->nworkers = cpus();
	p->w = calloc(p->nworkers, sizeof(*p->w));
	if (!p->w) {
		p->nworkers = 0;
		err = ENOMEM;
		goto fail_err;
	}
	for (i = 0; i < p->nworkers; i++)
		p->w[i].pool = p;
	for (i = 1; i < p->nworkers; i++) {
		err = pthread_create(&p->w[i].th, NULL, worker_main, &p->w[i]);
		if (err)
			goto fail_err;
		p->w[i].started = 1;
	}
	*state = p;
	return 0;
fail_err:
	err = ib_out_error(out, err, "procfs-parallel: set-up of %u threads: %s", p->nworkers,
			   strerror(err));
	pp_close(p);
	return err;
}

static int pp_open(void **state, const struct ib_target *t, const struct ib_opts *o,
		   struct ib_out *out)
{
	return open_pool(state, t, out, 0);
}

static int floor_open(void **state, const struct ib_target *t, const struct ib_opts *o,
		      struct ib_out *out)
{
	return open_pool(state, t, out, 1);
}

/* cut every task's descriptors into chunks, in task and descriptor order */
static int make_chunks(struct pp_pool *p, struct ib_out *out)
{
	size_t total = 0, size, need = 0, c = 0;
	uint32_t i;

	for (i = 0; i < p->t->npids; i++)
		total += p->tasks[i].fds.n;
	size = total / ((size_t)p->nworkers * PP_CHUNKS_PER_WORKER);
	if (size < PP_MIN_CHUNK)
		size = PP_MIN_CHUNK;
	for (i = 0; i < p->t->npids; i++)
		need += (p->tasks[i].fds.n + size - 1) / size;
	if (need > p->chunks_cap) {
		struct pp_chunk *nc = realloc(p->chunks, need * sizeof(*nc));

		if (!nc)
			return oom(out);
		memset(nc + p->chunks_cap, 0, (need - p->chunks_cap) * sizeof(*nc));
		p->chunks = nc;
		p->chunks_cap = need;
	}
	for (i = 0; i < p->t->npids; i++) {
		size_t lo;

		for (lo = 0; lo < p->tasks[i].fds.n; lo += size) {
			struct pp_chunk *ch = &p->chunks[c++];

			ch->task = i;
			ch->lo = lo;
			ch->hi = lo + size < p->tasks[i].fds.n ? lo + size : p->tasks[i].fds.n;
			ch->err = 0;
			ib_out_reset(&ch->out);
		}
	}
	p->nchunks = c;
	return 0;
}

/* the first error, in task then chunk order, into out */
static int take_error(struct ib_out *out, const struct ib_out *from, int err)
{
	snprintf(out->err, sizeof(out->err), "%s", from->err);
	return err;
}

static int pp_collect(void *state, const struct ib_target *t, const struct ib_opts *o,
		      struct ib_out *out)
{
	struct pp_pool *p = state;
	uint64_t t0, t1, ep = 0, ur = 0, nfd = 0, bytes = 0;
	uint32_t i;
	size_t c;
	int err = 0;

	if (t->npids != p->tasks_cap)
		return ib_out_error(out, EINVAL, "procfs-parallel: opened for %u tasks, asked for %u",
				    p->tasks_cap, t->npids);
	p->t = t;
	atomic_store(&p->abort, 0);
	for (i = 0; i < t->npids; i++) {
		ib_out_reset(&p->tasks[i].out);
		p->tasks[i].err = 0;
		p->tasks[i].fds.n = 0;
	}
	for (i = 0; i < p->nworkers; i++) {
		struct pp_worker *w = &p->w[i];

		w->ep_ns = w->ur_ns = w->nfd = w->bytes = 0;
		ib_out_reset(&w->scratch_out);
	}

	t0 = ib_now_ns();
	err = ib_tables_find(&p->tables, t, &out->calls, out);
	if (err)
		return err;
	phase(p, PP_ENUMERATE);
	t1 = ib_now_ns();
	out->stage_ns[IB_STAGE_ENUMERATE] += t1 - t0;
	for (i = 0; i < t->npids; i++) {
		out->calls += p->tasks[i].out.calls;
		if (p->tasks[i].err && !err)
			err = take_error(out, &p->tasks[i].out, p->tasks[i].err);
	}
	if (err)
		return err;

	err = make_chunks(p, out);
	if (err)
		return err;
	phase(p, PP_WORK);
	for (c = 0; c < p->nchunks; c++) {
		struct pp_chunk *ch = &p->chunks[c];

		out->calls += ch->out.calls;
		if (err)
			continue;
		if (ch->err) {
			err = take_error(out, &ch->out, ch->err);
			continue;
		}
		if (ch->out.len && ib_out_append(out, ch->out.buf, ch->out.len))
			err = oom(out);
	}
	for (i = 0; i < p->nworkers; i++) {
		out->calls += p->w[i].scratch_out.calls;
		ep += p->w[i].ep_ns;
		ur += p->w[i].ur_ns;
		nfd += p->w[i].nfd;
		bytes += p->w[i].bytes;
	}
	if (!err && p->floor)
		err = ib_procfs_floor_note(out, t->pids[0], nfd, bytes);
	else if (!err)
		err = ib_tables_emit(&p->tables, t, out);
	ep /= p->nworkers;
	ur /= p->nworkers;
	out->stage_ns[IB_STAGE_METADATA] += ib_now_ns() - t1 - ep - ur;
	out->stage_ns[IB_STAGE_EPOLL] += ep;
	out->stage_ns[IB_STAGE_IO_URING] += ur;
	return err;
}

const struct ib_method ib_method_procfs_parallel = {
	.sweep = IB_SWEEP_LARGEST,
	.name = "procfs-parallel",
	.family = IB_FAMILY_PROCFS,
	.role = IB_ROLE_RECOVERY,
	.summary = "the procfs method on one thread per CPU, tasks and descriptor ranges split "
		   "among them (own buffers and dirfds per thread)",
	.floor = &ib_method_floor_procfs_parallel,
	.floor_limit = 1.2, /* as procfs: parsing, records and the merge at most 20 % over the syscalls */
	.speedup_over = IB_LIST(&ib_method_procfs),
	.coverage = {
		[IB_COV_FD] = IB_FULL,
		[IB_COV_FD_META] = IB_FULL,
		[IB_COV_FD_POS] = IB_FULL,
		[IB_COV_FD_FLAGS] = IB_FULL,
		[IB_COV_FD_IDENTITY] = IB_NONE("procfs shows inode and position, not which open file"),
		[IB_COV_FD_TABLE] = IB_FULL, /* kcmp(KCMP_FILES), as procfs */
		[IB_COV_EPOLL_ITEM] = IB_FULL,
		[IB_COV_EPOLL_TARGET] = IB_PARTIAL("the target's inode, not its open file; tfd may be stale"),
		[IB_COV_URING_RING] = IB_PARTIAL_UNHELD("a ring no descriptor reaches is not in /proc/PID/fd"),
		[IB_COV_URING_FILE] = IB_PARTIAL("path only, no open-file identity"),
		[IB_COV_URING_BUF] = IB_FULL,
	},
	.open = pp_open,
	.collect = pp_collect,
	.close = pp_close,
	.set_sched = pp_set_sched,
};

const struct ib_method ib_method_floor_procfs_parallel = {
	.sweep = IB_SWEEP_LARGEST,
	.name = "floor-procfs-parallel",
	.family = IB_FAMILY_FLOOR,
	.role = IB_ROLE_FLOOR,
	.summary = "floor-procfs's syscalls on procfs-parallel's threads and chunks, no parsing "
		   "and no records",
	.coverage = IB_COVERAGE_FLOOR("issues the procfs syscalls on every CPU, parses and reports nothing"),
	.open = floor_open,
	.collect = pp_collect,
	.close = pp_close,
	.set_sched = pp_set_sched,
};
