// SPDX-License-Identifier: MIT
/*
 * procfs.c - the procfs baseline and its floor.
 *
 * procfs:       what a careful C programmer gets out of /proc/PID/fd and
 *               /proc/PID/fdinfo: per descriptor readlinkat + fstatat (through
 *               the link) + openat/read/close of fdinfo, dirfd-relative, with
 *               reused buffers and no stdio. Epoll items and io_uring tables
 *               are parsed from the fdinfo text. Targets that share one
 *               descriptor table (clone(CLONE_FILES)) are found with
 *               kcmp(KCMP_FILES), as CRIU does (/proc cannot tell), and the
 *               table is read once (tables.h).
 * floor-procfs: the same syscalls with no parsing and no records: the cost
 *               the procfs method cannot go below.
 *
 * The per-descriptor work and the fdinfo parsers are exported (procfs.h):
 * procfs-parallel runs the same work on several threads, pidfd-getfd parses
 * its local copies' fdinfo with the same code.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "method.h"
#include "procfs.h"
#include "procfs_util.h"
#include "tables.h"

struct procfs_state {
	struct ib_pf_buf dbuf; /* getdents64 */
	struct ib_pf_fds fds;
	struct ib_tables tables; /* which targets share a descriptor table */
	struct ib_procfs_scratch sc;
};

static int procfs_open(void **state, const struct ib_target *t, const struct ib_opts *o,
		       struct ib_out *out)
{
	struct procfs_state *s;
	int err;

	err = ib_pf_check_pids(t, out);
	if (err)
		return err;
	s = calloc(1, sizeof(*s));
	if (!s)
		return ib_out_error(out, ENOMEM, "procfs state: %s", strerror(ENOMEM));
	*state = s;
	return 0;
}

static void procfs_close(void *state)
{
	struct procfs_state *s = state;

	if (!s)
		return;
	free(s->dbuf.p);
	ib_procfs_scratch_free(&s->sc);
	free(s->fds.v);
	ib_tables_free(&s->tables);
	free(s);
}

void ib_procfs_scratch_free(struct ib_procfs_scratch *s)
{
	free(s->ibuf.p);
	free(s->scratch.p);
	s->ibuf.p = s->scratch.p = NULL;
	s->ibuf.cap = s->scratch.cap = 0;
}

static int oom(struct ib_out *out)
{
	return ib_out_error(out, ENOMEM, "record buffer: %s", strerror(ENOMEM));
}

static inline const char *next_line(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', end - p);

	return nl ? nl + 1 : end;
}

int ib_procfs_emit_epoll(struct ib_out *out, int pid, int epfd, const char *p, const char *end)
{
	struct ib_pf_epitem it;
	struct ib_rec_epoll_item *r;

	while (ib_pf_epoll_next(&p, end, &it)) {
		r = ib_out_rec(out, IB_REC_EPOLL_ITEM, pid, sizeof(*r), NULL, 0);
		if (!r)
			return oom(out);
		r->epfd = epfd;
		r->tfd = it.tfd;
		r->events = it.events;
		r->data = it.data;
		r->have = IB_HAVE_DEV | IB_HAVE_INO | IB_HAVE_EVENT;
		r->target_dev = it.dev;
		r->target_ino = it.ino;
		r->target.how = IB_ID_NONE;
	}
	return 0;
}

/*
 * "UserFiles:\t%u" then "%5u: <path>" per occupied slot (path escaped by
 * seq_file_path), "UserBufs:\t%u" then "%5u: 0x%llx/%u" or "%5u: <none>".
 * Both tables are missing when the kernel's trylock of the ring lock failed.
 */
int ib_procfs_emit_uring(struct ib_out *out, struct ib_procfs_scratch *s, int pid, int ring_fd,
			 const char *p, const char *end)
{
	struct ib_rec_uring_ring *ring;
	size_t ring_off;
	uint32_t status = 0, nr_files = 0, nr_bufs = 0;
	const char *q;
	uint64_t v;

	ring = ib_out_rec(out, IB_REC_URING_RING, pid, sizeof(*ring), NULL, 0);
	if (!ring)
		return oom(out);
	/* later records may move out->buf: keep the offset, fill at the end */
	ring_off = (uint8_t *)ring - out->buf;

	q = ib_pf_find_line(p, end, "UserFiles:", 10);
	if (!q) {
		status |= IB_URING_TABLES_MISSING;
	} else {
		q += 10;
		if (ib_pf_dec(&q, end, &v))
			nr_files = (uint32_t)v;
		for (q = next_line(q, end); q < end;) {
			const char *l = q, *nl;
			struct ib_rec_uring_file *f;
			uint64_t idx;
			size_t plen;
			int err;

			if (*l != ' ' && (*l < '0' || *l > '9'))
				break; /* "UserBufs:" */
			if (!ib_pf_dec(&l, end, &idx) || l >= end || *l != ':')
				break;
			l++;
			if (l < end && *l == ' ')
				l++;
			nl = memchr(l, '\n', end - l);
			if (!nl)
				nl = end;
			q = nl < end ? nl + 1 : end;
			plen = nl - l;
			if (plen == 6 && !memcmp(l, "<none>", 6))
				continue; /* empty slot, older kernels print it */
			err = ib_pf_buf_grow(&s->scratch, plen + 1);
			if (err)
				return oom(out);
			memcpy(s->scratch.p, l, plen);
			plen = ib_pf_unescape(s->scratch.p, plen);
			f = ib_out_rec(out, IB_REC_URING_FILE, pid, sizeof(*f), s->scratch.p, plen);
			if (!f)
				return oom(out);
			f->ring_fd = ring_fd;
			f->index = (uint32_t)idx;
			f->have = IB_HAVE_PATH;
			f->kind = ib_pf_kind_from_text(s->scratch.p, plen);
			if (f->kind != IB_K_UNKNOWN)
				f->have |= IB_HAVE_KIND;
			f->file.how = IB_ID_NONE;
		}
		p = q;
	}

	q = ib_pf_find_line(p, end, "UserBufs:", 9);
	if (!q) {
		status |= IB_URING_TABLES_MISSING;
	} else {
		q += 9;
		if (ib_pf_dec(&q, end, &v))
			nr_bufs = (uint32_t)v;
		for (q = next_line(q, end); q < end; q = next_line(q, end)) {
			const char *l = q;
			struct ib_rec_uring_buf *b;
			uint64_t idx, addr, len;

			if (*l != ' ' && (*l < '0' || *l > '9'))
				break; /* "PollList:" ... */
			if (!ib_pf_dec(&l, end, &idx) || l >= end || *l != ':')
				break;
			l++;
			if (!ib_pf_hex(&l, end, &addr) || l >= end || *l != '/')
				continue; /* "<none>": empty slot */
			l++;
			if (!ib_pf_dec(&l, end, &len))
				continue;
			/* 6.1 points empty slots at dummy_ubuf {ubuf = -1UL, ubuf_end = 0}:
			 * fdinfo prints it as 0xffffffffffffffff/1. No user buffer can
			 * live at that address: it is the kernel's empty slot. */
			if (addr == UINT64_MAX)
				continue;
			b = ib_out_rec(out, IB_REC_URING_BUF, pid, sizeof(*b), NULL, 0);
			if (!b)
				return oom(out);
			b->ring_fd = ring_fd;
			b->index = (uint32_t)idx;
			b->addr = addr;
			b->len = len;
		}
	}

	ring = (struct ib_rec_uring_ring *)(out->buf + ring_off);
	ring->ring_fd = ring_fd;
	ring->nr_files = nr_files;
	ring->nr_bufs = nr_bufs;
	ring->status = status;
	if (status & IB_URING_TABLES_MISSING) {
		char text[128];
		struct ib_rec_note *n;
		int len;

		len = snprintf(text, sizeof(text),
			       "io_uring fd %d: fdinfo has no UserFiles/UserBufs tables "
			       "(the kernel's trylock of the ring lock failed)", ring_fd);
		n = ib_out_rec(out, IB_REC_NOTE, pid, sizeof(*n), text, (size_t)len);
		if (!n)
			return oom(out);
		n->code = IB_NOTE_URING_TRYLOCK;
		n->fd = ring_fd;
		n->count = 1;
	}
	return 0;
}

int ib_procfs_fd(struct ib_procfs_scratch *s, const struct ib_pf_task *tk, int fd,
		 struct ib_out *out, uint64_t *epoll_ns, uint64_t *uring_ns)
{
	struct ib_pf_fdinfo fi;
	struct ib_rec_fd *r;
	char name[IB_PF_NAME_MAX];
	struct stat st;
	ssize_t n, len;
	uint32_t kind;
	int pid = tk->pid;

	ib_pf_fdname(name, fd);
	n = readlinkat(tk->fddir, name, s->link, sizeof(s->link) - 1);
	out->calls++;
	if (n < 0)
		return ib_pf_fd_failed(tk, fd, errno, "readlink", out);
	s->link[n] = '\0';
	out->calls++;
	if (fstatat(tk->fddir, name, &st, 0) < 0)
		return ib_pf_fd_failed(tk, fd, errno, "fstat", out);
	len = ib_pf_read_file(tk->fdinfodir, name, &s->ibuf, &out->calls);
	if (len < 0)
		return ib_pf_fd_failed(tk, fd, (int)-len, "fdinfo", out);
	ib_pf_parse_fdinfo(s->ibuf.p, s->ibuf.p + len, &fi);
	kind = ib_pf_kind(st.st_mode, s->link, (size_t)n);

	r = ib_out_rec(out, IB_REC_FD, pid, sizeof(*r), s->link, (size_t)n);
	if (!r)
		return oom(out);
	r->fd = fd;
	r->kind = kind;
	r->have = IB_HAVE_KIND | IB_HAVE_DEV | IB_HAVE_INO | IB_HAVE_PATH;
	r->dev = st.st_dev;
	r->ino = st.st_ino;
	if (fi.have_pos) {
		r->pos = fi.pos;
		r->have |= IB_HAVE_POS;
	}
	if (fi.have_flags) {
		r->flags = fi.flags;
		r->have |= IB_HAVE_FLAGS;
	}
	r->id.how = IB_ID_NONE;

	if (kind == IB_K_EPOLL) {
		uint64_t a = ib_now_ns();
		int err = ib_procfs_emit_epoll(out, pid, fd, fi.rest, s->ibuf.p + len);

		*epoll_ns += ib_now_ns() - a;
		return err;
	}
	if (kind == IB_K_IO_URING) {
		uint64_t a = ib_now_ns();
		int err = ib_procfs_emit_uring(out, s, pid, fd, fi.rest, s->ibuf.p + len);

		*uring_ns += ib_now_ns() - a;
		return err;
	}
	return 0;
}

static int procfs_collect_task(struct procfs_state *s, int pid, struct ib_out *out)
{
	struct ib_pf_task tk;
	uint64_t t0, t1, parse_ep = 0, parse_ur = 0;
	size_t i;
	int err;

	err = ib_pf_task_open(&tk, pid, 1, out);
	if (err)
		return err;
	s->fds.n = 0;
	t0 = ib_now_ns();
	err = ib_pf_list_fds(&tk, &s->fds, &s->dbuf, &out->calls, out);
	t1 = ib_now_ns();
	out->stage_ns[IB_STAGE_ENUMERATE] += t1 - t0;
	if (err)
		goto out;

	for (i = 0; i < s->fds.n; i++) {
		err = ib_procfs_fd(&s->sc, &tk, s->fds.v[i], out, &parse_ep, &parse_ur);
		if (err)
			goto out;
	}
	out->stage_ns[IB_STAGE_METADATA] += ib_now_ns() - t1 - parse_ep - parse_ur;
	out->stage_ns[IB_STAGE_EPOLL] += parse_ep;
	out->stage_ns[IB_STAGE_IO_URING] += parse_ur;
	err = 0;
out:
	ib_pf_task_close(&tk);
	out->calls += 3; /* the closes of the three directories */
	return err;
}

static int procfs_collect(void *state, const struct ib_target *t, const struct ib_opts *o,
			  struct ib_out *out)
{
	struct procfs_state *s = state;
	uint64_t t0 = ib_now_ns();
	uint32_t i;
	int err;

	/* a table shared by clone(CLONE_FILES) is read once, under its first target */
	err = ib_tables_find(&s->tables, t, &out->calls, out);
	out->stage_ns[IB_STAGE_ENUMERATE] += ib_now_ns() - t0;
	if (err)
		return err;
	for (i = 0; i < t->npids; i++) {
		if (ib_tables_dup(&s->tables, i))
			continue;
		err = procfs_collect_task(s, t->pids[i], out);
		if (err)
			return err;
	}
	return ib_tables_emit(&s->tables, t, out);
}

int ib_procfs_floor_fd(struct ib_procfs_scratch *s, const struct ib_pf_task *tk, int fd,
		       struct ib_out *out, uint64_t *bytes, uint64_t *nfd)
{
	char name[IB_PF_NAME_MAX];
	struct stat st;
	ssize_t n;

	ib_pf_fdname(name, fd);
	n = readlinkat(tk->fddir, name, s->link, sizeof(s->link) - 1);
	out->calls++;
	if (n < 0)
		return ib_pf_fd_failed(tk, fd, errno, "readlink", out);
	out->calls++;
	if (fstatat(tk->fddir, name, &st, 0) < 0)
		return ib_pf_fd_failed(tk, fd, errno, "fstat", out);
	n = ib_pf_read_file(tk->fdinfodir, name, &s->ibuf, &out->calls);
	if (n < 0)
		return ib_pf_fd_failed(tk, fd, (int)-n, "fdinfo", out);
	*bytes += (uint64_t)n;
	(*nfd)++;
	return 0;
}

int ib_procfs_floor_note(struct ib_out *out, int pid, uint64_t nfd, uint64_t bytes)
{
	struct ib_rec_note *note;
	char text[96];
	int len;

	len = snprintf(text, sizeof(text), "fds=%llu fdinfo_bytes=%llu",
		       (unsigned long long)nfd, (unsigned long long)bytes);
	note = ib_out_rec(out, IB_REC_NOTE, pid, sizeof(*note), text, (size_t)len);
	if (!note)
		return oom(out);
	note->code = IB_NOTE_TEXT;
	note->fd = -1;
	note->count = nfd;
	return 0;
}

/* floor-procfs: the same syscalls, nothing parsed, one note */
static int floor_collect(void *state, const struct ib_target *t, const struct ib_opts *o,
			 struct ib_out *out)
{
	struct procfs_state *s = state;
	uint64_t nfd = 0, bytes = 0, t0, t1;
	uint32_t p;
	int err = 0;

	t0 = ib_now_ns();
	err = ib_tables_find(&s->tables, t, &out->calls, out);
	out->stage_ns[IB_STAGE_ENUMERATE] += ib_now_ns() - t0;
	if (err)
		return err;
	for (p = 0; p < t->npids; p++) {
		struct ib_pf_task tk;
		size_t i;

		if (ib_tables_dup(&s->tables, p))
			continue;
		err = ib_pf_task_open(&tk, t->pids[p], 1, out);
		if (err)
			return err;
		s->fds.n = 0;
		t0 = ib_now_ns();
		err = ib_pf_list_fds(&tk, &s->fds, &s->dbuf, &out->calls, out);
		t1 = ib_now_ns();
		out->stage_ns[IB_STAGE_ENUMERATE] += t1 - t0;
		for (i = 0; !err && i < s->fds.n; i++)
			err = ib_procfs_floor_fd(&s->sc, &tk, s->fds.v[i], out, &bytes, &nfd);
		out->stage_ns[IB_STAGE_METADATA] += ib_now_ns() - t1;
		ib_pf_task_close(&tk);
		out->calls += 3;
		if (err)
			return err;
	}
	return ib_procfs_floor_note(out, t->pids[0], nfd, bytes);
}

const struct ib_method ib_method_procfs = {
	.name = "procfs",
	.family = IB_FAMILY_PROCFS,
	.role = IB_ROLE_RECOVERY,
	.summary = "readlinkat + fstatat + fdinfo per descriptor of /proc/PID, epoll and io_uring "
		   "tables parsed from fdinfo",
	.floor = &ib_method_floor_procfs,
	.floor_limit = 1.2, /* parsing and records cost at most 20 % over the syscalls */
	.coverage = {
		[IB_COV_FD] = IB_FULL,
		[IB_COV_FD_META] = IB_FULL,
		[IB_COV_FD_POS] = IB_FULL,
		[IB_COV_FD_FLAGS] = IB_FULL,
		[IB_COV_FD_IDENTITY] = IB_NONE("procfs shows inode and position, not which open file"),
		[IB_COV_FD_TABLE] = IB_FULL, /* kcmp(KCMP_FILES), as CRIU: /proc cannot tell */
		[IB_COV_EPOLL_ITEM] = IB_FULL,
		[IB_COV_EPOLL_TARGET] = IB_PARTIAL("the target's inode, not its open file; tfd may be stale"),
		[IB_COV_URING_RING] = IB_PARTIAL_UNHELD("a ring no descriptor reaches is not in /proc/PID/fd"),
		[IB_COV_URING_FILE] = IB_PARTIAL("path only, no open-file identity"),
		[IB_COV_URING_BUF] = IB_FULL,
	},
	.open = procfs_open,
	.collect = procfs_collect,
	.close = procfs_close,
};

const struct ib_method ib_method_floor_procfs = {
	.name = "floor-procfs",
	.family = IB_FAMILY_FLOOR,
	.role = IB_ROLE_FLOOR,
	.summary = "the procfs method's syscalls (getdents64, readlinkat, fstatat, fdinfo "
		   "openat+read+close) with no parsing and no records",
	.coverage = IB_COVERAGE_FLOOR("issues the procfs syscalls, parses and reports nothing"),
	/* it costs what procfs costs (the ratio is 1.0-1.05 at every size):
	 * checked where the targets are, not at every size of the sweep */
	.sweep = IB_SWEEP_LARGEST,
	.open = procfs_open,
	.collect = floor_collect,
	.close = procfs_close,
};
