// SPDX-License-Identifier: MIT
/*
 * pidfd.c - pidfd-getfd: what CRIU's parasite achieves without injecting
 * code into the target.
 *
 * CRIU's parasite runs inside the dumped task and sends every descriptor to
 * CRIU over a unix socket; CRIU then works on its local copies. Since Linux
 * 5.6 pidfd_getfd(2) gives the same local copies from outside (it needs
 * PTRACE_MODE_ATTACH on the target, as the parasite's injection does; it
 * works on a cgroup-frozen task: no code of the target runs). Per collect:
 *
 *   enumerate  the targets that share a descriptor table, by
 *              kcmp(KCMP_FILES) as CRIU does (tables.h: each table is read
 *              once); per table: pidfd_open, getdents64 of /proc/PID/fd
 *              (the descriptor numbers: nothing else lists them from outside)
 *   metadata   per descriptor: pidfd_getfd, fstat on the copy, readlinkat
 *              of /proc/self/fd/<copy> only for an anonymous inode (its
 *              kind: eventfd, eventpoll, ...), /proc/self/fdinfo/<copy>
 *              (pos, flags; epoll "tfd:" lines and io_uring tables, parsed
 *              by procfs's code: the same records as procfs), close
 *   identity   CRIU's kcmp-tree algorithm (kcmp_tree.c): genid = dev ^ ino
 *              ^ pos, KCMP_FILE ordering inside genid collisions
 *
 * Identity compares the targets' descriptors across tasks (kcmp(pid_a,
 * pid_b, KCMP_FILE, fd_a, fd_b), as CRIU does), and each copy is closed as
 * soon as its metadata is read. kcmp on two copies in this task was
 * measured too: paired in 300 alternating blocks of 400 random pairs of
 * 5000 eventfds it takes 0.85x the time per call (p25-p75 0.83-0.90x; 924
 * vs 1094 ns: kcmp's ptrace checks are trivial for one's own task). But it
 * needs every copy held until the identity stage, one descriptor number of
 * this process per target descriptor, and /proc/self/fd/N and fdinfo/N
 * over thousands of distinct numbers cost 8-11 % more than over the one
 * number a copy closed at once keeps reusing (10000 eventfds: 12.3 vs 11.0
 * us per readlink + fdinfo). Over the whole method, 30 paired rounds on
 * frozen workloads at N = 10000: identity 0.84x, metadata 1.07-1.09x, all
 * together 0.98-1.00x (all, epoll, files) - no gain, for a descriptor table
 * as large as the targets' (RLIMIT_NOFILE) in the checkpointer. So: across.
 *
 * What the copies cannot say: O_CLOEXEC is a flag of the target's
 * descriptor, not of the open file (the copy always has it: it is cleared
 * from the flags reported); an epoll target's open file (fdinfo gives its
 * inode; the tfd may be stale) and a registered file's identity (path
 * only), as for procfs.
 *
 * Receiving a socket this way updates its cgroup classid/netprio data to
 * this task's (as CRIU's SCM_RIGHTS receipt does): a side effect on the
 * target the manifest does not track.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/kcmp.h>
#include "method.h"
#include "kcmp_tree.h"
#include "procfs.h"
#include "procfs_util.h"
#include "tables.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

#define PG_O_CLOEXEC 02000000u

/* one descriptor of one target task */
struct pg_ent {
	int32_t pid;
	int32_t fd;
	uint32_t task;   /* index into pg_state.tasks */
	size_t rec_off;  /* its IB_REC_FD in out->buf, SIZE_MAX: none (vanished) */
	uint64_t genid;
};

struct pg_task {
	int pidfd;
	struct ib_pf_task tk;
};

struct pg_state {
	struct ib_pf_buf dbuf;
	struct ib_pf_fds fds;
	struct ib_procfs_scratch sc;
	struct pg_task *tasks;
	struct pg_ent *e;
	size_t n, cap;
	uint32_t *idx, *reps, *keys;
	size_t arr_cap;
	int selffd;     /* /proc/self/fd */
	int selfinfo;   /* /proc/self/fdinfo */
	struct ib_tables tables; /* which targets share a descriptor table */
};

static inline int sys_pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static inline int sys_pidfd_getfd(int pidfd, int fd)
{
	return (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
}

static inline long sys_kcmp(pid_t p1, pid_t p2, int type, unsigned long a, unsigned long b)
{
	return syscall(SYS_kcmp, p1, p2, type, a, b);
}

static int oom(struct ib_out *out)
{
	return ib_out_error(out, ENOMEM, "pidfd-getfd: %s", strerror(ENOMEM));
}

static void pg_close(void *state)
{
	struct pg_state *s = state;

	if (!s)
		return;
	if (s->selfinfo >= 0)
		close(s->selfinfo);
	if (s->selffd >= 0)
		close(s->selffd);
	free(s->dbuf.p);
	free(s->fds.v);
	ib_procfs_scratch_free(&s->sc);
	free(s->tasks);
	free(s->e);
	free(s->idx);
	free(s->reps);
	free(s->keys);
	ib_tables_free(&s->tables);
	free(s);
}

static int pg_open(void **state, const struct ib_target *t, const struct ib_opts *o,
		   struct ib_out *out)
{
	struct pg_state *s = NULL;
	int err, pidfd = -1, lfd;

	err = ib_pf_check_pids(t, out);
	if (err)
		return err;
	/* the kernel has both calls (5.6), and we may take the target's files */
	pidfd = sys_pidfd_open(t->pids[0]);
	if (pidfd < 0) {
		err = errno;
		if (err == ENOSYS)
			return ib_out_skip(out, IB_SKIP_MISSING_FEATURE,
					   "pidfd_open: %s (Linux 5.3 or later)", strerror(err));
		if (err == ESRCH)
			return ib_out_error(out, ESRCH, "pid %d: no such process", t->pids[0]);
		return ib_out_error(out, err, "pid %d: pidfd_open: %s", t->pids[0], strerror(err));
	}
	lfd = sys_pidfd_getfd(pidfd, -1); /* the access check comes before the fd lookup */
	err = lfd < 0 ? errno : 0;
	if (lfd >= 0)
		close(lfd);
	close(pidfd);
	if (err == ENOSYS)
		return ib_out_skip(out, IB_SKIP_MISSING_FEATURE,
				   "pidfd_getfd: %s (Linux 5.6 or later)", strerror(err));
	if (err == EPERM || err == EACCES)
		return ib_out_error(out, err, "pid %d: pidfd_getfd: %s (PTRACE_MODE_ATTACH)",
				    t->pids[0], strerror(err));
	if (err != EBADF && err != 0)
		return ib_out_error(out, err, "pid %d: pidfd_getfd: %s", t->pids[0], strerror(err));

	s = calloc(1, sizeof(*s));
	if (!s)
		return oom(out);
	s->selffd = s->selfinfo = -1;
	s->tasks = calloc(t->npids, sizeof(*s->tasks));
	if (!s->tasks) {
		err = oom(out);
		goto fail;
	}
	s->selffd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (s->selffd < 0) {
		err = ib_out_error(out, errno, "open /proc/self/fd: %s", strerror(errno));
		goto fail;
	}
	s->selfinfo = open("/proc/self/fdinfo", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (s->selfinfo < 0) {
		err = ib_out_error(out, errno, "open /proc/self/fdinfo: %s", strerror(errno));
		goto fail;
	}
	*state = s;
	return 0;
fail:
	pg_close(s);
	return err;
}

static struct pg_ent *pg_push(struct pg_state *s)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 1024;
		struct pg_ent *ne = realloc(s->e, cap * sizeof(*ne));

		if (!ne)
			return NULL;
		s->e = ne;
		s->cap = cap;
	}
	return &s->e[s->n++];
}

static int grow_arrays(struct pg_state *s, size_t need)
{
	uint32_t *a, *b, *c;

	if (need <= s->arr_cap)
		return 0;
	a = realloc(s->idx, need * sizeof(*a));
	if (a)
		s->idx = a;
	b = realloc(s->reps, need * sizeof(*b));
	if (b)
		s->reps = b;
	c = realloc(s->keys, need * sizeof(*c));
	if (c)
		s->keys = c;
	if (!a || !b || !c)
		return -ENOMEM;
	s->arr_cap = need;
	return 0;
}

static void end_tasks(struct pg_state *s, uint32_t ntasks, struct ib_out *out)
{
	uint32_t p;

	for (p = 0; p < ntasks; p++) {
		if (s->tasks[p].pidfd >= 0) {
			close(s->tasks[p].pidfd);
			out->calls++;
		}
		s->tasks[p].pidfd = -1;
		if (s->tasks[p].tk.piddir >= 0)
			out->calls += 2; /* /proc/PID and its fd/ */
		ib_pf_task_close(&s->tasks[p].tk);
	}
}

/* enumerate: a pidfd and the descriptor numbers of every task */
static int pg_enumerate(struct pg_state *s, const struct ib_target *t, uint32_t *opened,
			struct ib_out *out)
{
	uint32_t p;
	size_t i;
	int err;

	err = ib_tables_find(&s->tables, t, &out->calls, out);
	if (err)
		return err;
	for (p = 0; p < t->npids; p++) {
		struct pg_task *pt = &s->tasks[p];

		pt->pidfd = -1;
		pt->tk.piddir = pt->tk.fddir = pt->tk.fdinfodir = -1;
		*opened = p + 1;
		if (ib_tables_dup(&s->tables, p))
			continue; /* read under the first target with this table */
		err = ib_pf_task_open(&pt->tk, t->pids[p], 0, out);
		if (err)
			return err;
		pt->pidfd = sys_pidfd_open(t->pids[p]);
		out->calls++;
		if (pt->pidfd < 0) {
			err = errno;
			if (err == ESRCH)
				return ib_out_error(out, ESRCH, "pid %d: no such process", t->pids[p]);
			return ib_out_error(out, err, "pid %d: pidfd_open: %s", t->pids[p],
					    strerror(err));
		}
		s->fds.n = 0;
		err = ib_pf_list_fds(&pt->tk, &s->fds, &s->dbuf, &out->calls, out);
		if (err)
			return err;
		for (i = 0; i < s->fds.n; i++) {
			struct pg_ent *e = pg_push(s);

			if (!e)
				return oom(out);
			e->pid = t->pids[p];
			e->fd = s->fds.v[i];
			e->task = p;
			e->rec_off = SIZE_MAX;
			e->genid = 0;
		}
	}
	return 0;
}

/* metadata of one descriptor through its local copy; records as procfs writes them */
static int pg_one(struct pg_state *s, struct pg_ent *e, struct ib_out *out, uint64_t *ep_ns,
		  uint64_t *ur_ns)
{
	const struct pg_task *pt = &s->tasks[e->task];
	struct ib_pf_fdinfo fi;
	struct ib_rec_fd *r;
	char lname[IB_PF_NAME_MAX];
	struct stat st;
	ssize_t n = 0, len;
	uint32_t kind;
	int lfd, err;

	lfd = sys_pidfd_getfd(pt->pidfd, e->fd);
	out->calls++;
	if (lfd < 0)
		return ib_pf_fd_failed(&pt->tk, e->fd, errno, "pidfd_getfd", out);
	ib_pf_fdname(lname, lfd);
	out->calls++;
	if (fstat(lfd, &st) < 0) {
		err = ib_out_error(out, errno, "pid %d fd %d: fstat of its copy: %s", e->pid, e->fd,
				   strerror(errno));
		goto fail;
	}
	if (!(st.st_mode & S_IFMT)) { /* an anonymous inode: its name says the kind */
		n = readlinkat(s->selffd, lname, s->sc.link, sizeof(s->sc.link) - 1);
		out->calls++;
		if (n < 0) {
			err = ib_out_error(out, errno, "pid %d fd %d: readlink of its copy: %s", e->pid,
					   e->fd, strerror(errno));
			goto fail;
		}
		s->sc.link[n] = '\0';
	}
	len = ib_pf_read_file(s->selfinfo, lname, &s->sc.ibuf, &out->calls);
	if (len < 0) {
		err = ib_out_error(out, (int)-len, "pid %d fd %d: fdinfo of its copy: %s", e->pid,
				   e->fd, strerror((int)-len));
		goto fail;
	}
	ib_pf_parse_fdinfo(s->sc.ibuf.p, s->sc.ibuf.p + len, &fi);
	kind = n > 0 ? ib_pf_kind(st.st_mode, s->sc.link, (size_t)n) : ib_pf_kind(st.st_mode, "", 0);

	r = ib_out_rec(out, IB_REC_FD, e->pid, sizeof(*r), NULL, 0);
	if (!r) {
		err = oom(out);
		goto fail;
	}
	e->rec_off = (uint8_t *)r - out->buf;
	r->fd = e->fd;
	r->kind = kind;
	r->have = IB_HAVE_KIND | IB_HAVE_DEV | IB_HAVE_INO;
	r->dev = st.st_dev;
	r->ino = st.st_ino;
	if (fi.have_pos) {
		r->pos = fi.pos;
		r->have |= IB_HAVE_POS;
	}
	if (fi.have_flags) {
		/* the copy's close-on-exec flag, not the target's */
		r->flags = fi.flags & ~PG_O_CLOEXEC;
		r->have |= IB_HAVE_FLAGS;
	}
	r->id.how = IB_ID_NONE; /* filled after the identity stage */
	e->genid = (uint64_t)st.st_dev ^ (uint64_t)st.st_ino ^ fi.pos;

	if (kind == IB_K_EPOLL) {
		uint64_t a = ib_now_ns();

		err = ib_procfs_emit_epoll(out, e->pid, e->fd, fi.rest, s->sc.ibuf.p + len);
		*ep_ns += ib_now_ns() - a;
		if (err)
			goto fail;
	} else if (kind == IB_K_IO_URING) {
		uint64_t a = ib_now_ns();

		err = ib_procfs_emit_uring(out, &s->sc, e->pid, e->fd, fi.rest, s->sc.ibuf.p + len);
		*ur_ns += ib_now_ns() - a;
		if (err)
			goto fail;
	}
	err = 0;
fail:
	close(lfd);
	out->calls++;
	return err;
}

/* ---- identity: kcmp_tree.c on the targets' descriptors ------------------ */

struct pg_arg {
	struct pg_state *s;
	struct ib_out *out;
};

static uint64_t pg_genid(void *arg, uint32_t i)
{
	return ((struct pg_arg *)arg)->s->e[i].genid;
}

static long pg_cmp(void *arg, uint32_t rep, uint32_t x)
{
	const struct pg_state *s = ((struct pg_arg *)arg)->s;
	const struct pg_ent *a = &s->e[rep], *b = &s->e[x];
	long r = sys_kcmp(a->pid, b->pid, KCMP_FILE, (unsigned long)a->fd, (unsigned long)b->fd);

	return r < 0 ? -errno : r;
}

/* a task that exited is an error; a descriptor closed since it was read, a note */
static int pg_cmp_failed(void *arg, uint32_t rep, uint32_t x, int err)
{
	const struct pg_arg *pa = arg;
	const struct pg_ent *a = &pa->s->e[rep], *b = &pa->s->e[x];
	struct ib_rec_note *n;
	char text[128];
	int len;

	if (ib_pf_pid_dead(a->pid) || ib_pf_pid_dead(b->pid))
		return ib_out_error(pa->out, ESRCH, "pid %d or %d: no such process (exited during collect)",
				    a->pid, b->pid);
	if (err != EBADF)
		return ib_out_error(pa->out, err, "kcmp(%d:%d, %d:%d): %s", a->pid, a->fd, b->pid,
				    b->fd, strerror(err));
	len = snprintf(text, sizeof(text), "kcmp: fd %d of %d or fd %d of %d vanished", a->fd, a->pid,
		       b->fd, b->pid);
	n = ib_out_rec(pa->out, IB_REC_NOTE, a->pid, sizeof(*n), text, (size_t)len);
	if (!n)
		return oom(pa->out);
	n->code = IB_NOTE_FD_VANISHED;
	n->fd = b->fd;
	n->count = 1;
	return 0;
}

static const struct ib_kt_ops pg_ops = {
	.genid = pg_genid,
	.cmp = pg_cmp,
	.failed = pg_cmp_failed,
};

static int pg_collect(void *state, const struct ib_target *t, const struct ib_opts *o,
		      struct ib_out *out)
{
	struct pg_state *s = state;
	struct pg_arg pa = { .s = s, .out = out };
	uint64_t t0, t1, t2, t3, ep_ns = 0, ur_ns = 0, kcalls = 0;
	uint32_t opened = 0;
	size_t i, live;
	int err;

	s->n = 0;
	t0 = ib_now_ns();
	err = pg_enumerate(s, t, &opened, out);
	t1 = ib_now_ns();
	out->stage_ns[IB_STAGE_ENUMERATE] += t1 - t0;
	if (err)
		goto out;

	for (i = 0; i < s->n; i++) {
		err = pg_one(s, &s->e[i], out, &ep_ns, &ur_ns);
		if (err)
			goto out;
	}
	t2 = ib_now_ns();

	/* the descriptors that vanished have no record: leave them out */
	for (i = 0, live = 0; i < s->n; i++)
		if (s->e[i].rec_off != SIZE_MAX)
			s->e[live++] = s->e[i];
	s->n = live;
	if (grow_arrays(s, s->n ? s->n : 1)) {
		err = oom(out);
		goto out;
	}
	err = ib_kcmp_tree(s->n, s->idx, s->reps, s->keys, &pg_ops, &pa, &kcalls);
	out->calls += kcalls;
	t3 = ib_now_ns();
	out->stage_ns[IB_STAGE_IDENTITY] += t3 - t2;
	if (err)
		goto out;
	for (i = 0; i < s->n; i++) {
		struct ib_rec_fd *r = (struct ib_rec_fd *)(out->buf + s->e[i].rec_off);

		r->id.how = IB_ID_KEY;
		r->id.key = s->keys[i];
	}
	err = ib_tables_emit(&s->tables, t, out);
	if (err)
		goto out;
	out->stage_ns[IB_STAGE_METADATA] += t2 - t1 - ep_ns - ur_ns;
	out->stage_ns[IB_STAGE_EPOLL] += ep_ns;
	out->stage_ns[IB_STAGE_IO_URING] += ur_ns;
	err = 0;
out:
	end_tasks(s, opened, out);
	return err;
}

const struct ib_method ib_method_pidfd_getfd = {
	.sweep = IB_SWEEP_LARGEST,
	.name = "pidfd-getfd",
	.family = IB_FAMILY_PROCFS,
	.role = IB_ROLE_RECOVERY,
	.summary = "pidfd_getfd of every descriptor (CRIU's parasite without injection), fstat and "
		   "/proc/self/fdinfo on the copies, CRIU's kcmp-tree for sharing",
	.speedup_over = IB_LIST(&ib_method_procfs, &ib_method_kcmp_tree),
	.coverage = {
		[IB_COV_FD] = IB_FULL,
		[IB_COV_FD_META] = IB_FULL,
		[IB_COV_FD_POS] = IB_FULL,
		[IB_COV_FD_FLAGS] = IB_FULL,
		[IB_COV_FD_IDENTITY] = IB_FULL,
		[IB_COV_FD_TABLE] = IB_FULL, /* kcmp(KCMP_FILES), as CRIU */
		[IB_COV_EPOLL_ITEM] = IB_FULL,
		[IB_COV_EPOLL_TARGET] = IB_PARTIAL("the target's inode, not its open file; tfd may be stale"),
		[IB_COV_URING_RING] = IB_PARTIAL_UNHELD("a ring no descriptor reaches is not in /proc/PID/fd"),
		[IB_COV_URING_FILE] = IB_PARTIAL("path only, no open-file identity"),
		[IB_COV_URING_BUF] = IB_FULL,
	},
	.open = pg_open,
	.collect = pg_collect,
	.close = pg_close,
};
