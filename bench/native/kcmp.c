// SPDX-License-Identifier: MIT
/*
 * kcmp.c - open-file identity and epoll targets with kcmp(2).
 *
 * kcmp-pairwise: KCMP_FILE on every pair of descriptors of all target tasks
 *                (the O(n^2) matching the 2021 series' cover letter
 *                describes). With opts->sample_rows it does a sample of
 *                its work: that many descriptors (rows), chosen with a PRNG
 *                seeded by opts->sample_seed (the same rows every collect),
 *                each compared with all other descriptors. A sampled row's
 *                identity class is then complete (IB_HAVE_ID_CLASS on every
 *                member); descriptors outside the sampled classes get no
 *                identity. out->sample says rows and calls made of the total.
 * kcmp-tree:     CRIU's algorithm: genid = st_dev ^ st_ino ^ pos from fstat
 *                and fdinfo, and KCMP_FILE (0 equal, 1 less, 2 greater) as
 *                an ordering inside a genid collision: binary search in a
 *                sorted array of class representatives, O(n log n) calls.
 * kcmp-epoll:    epoll target identity with KCMP_EPOLL_TFD: for each item,
 *                first the descriptor numbered tfd in the epoll's own task,
 *                then a binary search among the descriptors with the target's
 *                dev/ino, ordered by KCMP_FILE (the kernel compares the
 *                target with the same KCMP_FILE obfuscation, so the order
 *                is shared; CRIU's kid_lookup_epoll_tfd walks its tree the
 *                same way).
 *
 * kcmp(pid1, pid2, KCMP_EPOLL_TFD, fd1, &slot): fd1 is a descriptor of pid1,
 * slot.efd an epoll descriptor of pid2 (kernel/kcmp.c kcmp_epoll_target);
 * the item is the slot.toff-th item with ffd.fd == slot.tfd in the epoll
 * tree's order, which is the order fdinfo prints the items in.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/kcmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "method.h"
#include "kcmp_tree.h"
#include "procfs_util.h"
#include "tables.h"

#ifndef KCMP_EPOLL_TFD
#define KCMP_EPOLL_TFD 7
#endif

/* one descriptor of one target task */
struct kc_ent {
	int32_t pid;
	int32_t fd;
	uint32_t kind;
	uint32_t flags;
	uint32_t have;
	uint32_t path_off, path_len; /* in kc_state.arena */
	uint32_t key;                /* identity class: index of its first member */
	uint32_t gone;               /* kcmp said EBADF: closed since enumeration */
	uint32_t no_id;              /* kcmp-pairwise, sampled: outside every sampled class */
	uint64_t dev, ino, pos;
	uint64_t genid;
};

struct kc_state {
	struct ib_pf_buf dbuf, ibuf, arena;
	size_t arena_len;
	struct ib_pf_fds fds;
	struct kc_ent *e;
	size_t n, cap;
	size_t *plo, *phi; /* entries of target pid p: [plo[p], phi[p]), by fd */
	uint32_t *tfdn;   /* kcmp-epoll: items seen per tfd number */
	size_t tfdn_cap;
	uint32_t *idx;    /* sort order / scratch, n entries */
	uint32_t *aux;    /* union-find parents, class representatives */
	uint32_t *keys;   /* kcmp-tree: identity classes (ib_kcmp_tree) */
	uint8_t *mark;    /* kcmp-pairwise: MARK_* per entry */
	size_t idx_cap, aux_cap, keys_cap, mark_cap;
	struct ib_tables tables; /* which targets share a descriptor table */
	char link[PATH_MAX + 1];
};

enum {
	KC_STAT     = 1 << 0, /* fstatat through the link */
	KC_LINK     = 1 << 1, /* readlinkat for every descriptor */
	KC_LINK_ANON = 1 << 2, /* readlinkat only where st_mode has no file type */
	KC_FDINFO   = 1 << 3, /* pos and flags from fdinfo */
};

static inline long sys_kcmp(int pid1, int pid2, int type, unsigned long idx1, unsigned long idx2)
{
	return syscall(SYS_kcmp, pid1, pid2, type, idx1, idx2);
}

static int oom(struct ib_out *out)
{
	return ib_out_error(out, ENOMEM, "kcmp: %s", strerror(ENOMEM));
}

static void kc_close(void *state)
{
	struct kc_state *s = state;

	if (!s)
		return;
	free(s->dbuf.p);
	free(s->ibuf.p);
	free(s->arena.p);
	free(s->fds.v);
	free(s->e);
	free(s->idx);
	free(s->aux);
	free(s->keys);
	free(s->mark);
	free(s->plo);
	free(s->phi);
	free(s->tfdn);
	ib_tables_free(&s->tables);
	free(s);
}

static int kc_open(void **state, const struct ib_target *t, const struct ib_opts *o,
		   struct ib_out *out)
{
	struct kc_state *s;
	int err;

	err = ib_pf_check_pids(t, out);
	if (err)
		return err;
	s = calloc(1, sizeof(*s));
	if (!s)
		return oom(out);
	s->plo = calloc(t->npids, sizeof(*s->plo));
	s->phi = calloc(t->npids, sizeof(*s->phi));
	if (!s->plo || !s->phi) {
		kc_close(s);
		return oom(out);
	}
	*state = s;
	return 0;
}

static int grow_u32(uint32_t **v, size_t *cap, size_t need)
{
	uint32_t *nv;

	if (need <= *cap)
		return 0;
	nv = realloc(*v, need * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = need;
	return 0;
}

static struct kc_ent *kc_push(struct kc_state *s)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 1024;
		struct kc_ent *ne = realloc(s->e, cap * sizeof(*ne));

		if (!ne)
			return NULL;
		s->e = ne;
		s->cap = cap;
	}
	memset(&s->e[s->n], 0, sizeof(s->e[0]));
	return &s->e[s->n++];
}

static int cmp_fd(const void *pa, const void *pb)
{
	const struct kc_ent *a = pa, *b = pb;

	return (a->fd > b->fd) - (a->fd < b->fd);
}

/*
 * Enumerate the descriptors of every target task into s->e, with what
 * `what` asks for. Syscalls are counted in *calls. A task that exits is an
 * error; a descriptor that vanishes is a note and is left out. A table
 * shared by clone(CLONE_FILES) is enumerated once, under its first target;
 * the others get an ib_rec_table (tables.h).
 */
static int kc_gather(struct kc_state *s, const struct ib_target *t, unsigned int what,
		     uint64_t *calls, struct ib_out *out)
{
	uint32_t p;
	int err = 0;

	s->n = 0;
	s->arena_len = 0;
	err = ib_tables_find(&s->tables, t, calls, out);
	if (!err)
		err = ib_tables_emit(&s->tables, t, out);
	if (err)
		return err;
	for (p = 0; p < t->npids; p++) {
		struct ib_pf_task tk;
		uint64_t t0, t1;
		uint64_t saved = out->calls;
		size_t i;

		s->plo[p] = s->phi[p] = s->n;
		if (ib_tables_dup(&s->tables, p))
			continue;
		err = ib_pf_task_open(&tk, t->pids[p], !!(what & KC_FDINFO), out);
		*calls += out->calls - saved;
		out->calls = saved;
		if (err)
			return err;
		s->fds.n = 0;
		t0 = ib_now_ns();
		err = ib_pf_list_fds(&tk, &s->fds, &s->dbuf, calls, out);
		t1 = ib_now_ns();
		out->stage_ns[IB_STAGE_ENUMERATE] += t1 - t0;
		if (err)
			goto next;
		for (i = 0; i < s->fds.n; i++) {
			char name[IB_PF_NAME_MAX];
			struct kc_ent *e = kc_push(s);
			struct stat st;
			ssize_t n = 0;

			if (!e) {
				err = oom(out);
				goto next;
			}
			e->pid = tk.pid;
			e->fd = s->fds.v[i];
			if (!(what & (KC_STAT | KC_LINK | KC_FDINFO)))
				continue;
			ib_pf_fdname(name, e->fd);
			if (what & KC_LINK) {
				n = readlinkat(tk.fddir, name, s->link, sizeof(s->link) - 1);
				(*calls)++;
				if (n < 0) {
					err = ib_pf_fd_failed(&tk, e->fd, errno, "readlink", out);
					goto vanished;
				}
			}
			if (what & KC_STAT) {
				(*calls)++;
				if (fstatat(tk.fddir, name, &st, 0) < 0) {
					err = ib_pf_fd_failed(&tk, e->fd, errno, "fstat", out);
					goto vanished;
				}
				if ((what & KC_LINK_ANON) && !(st.st_mode & S_IFMT)) {
					n = readlinkat(tk.fddir, name, s->link, sizeof(s->link) - 1);
					(*calls)++;
					if (n < 0) {
						err = ib_pf_fd_failed(&tk, e->fd, errno, "readlink", out);
						goto vanished;
					}
				}
				e->dev = st.st_dev;
				e->ino = st.st_ino;
				e->have = IB_HAVE_DEV | IB_HAVE_INO;
				e->kind = n > 0 ? ib_pf_kind(st.st_mode, s->link, (size_t)n) :
						  ib_pf_kind(st.st_mode, "", 0);
				e->have |= IB_HAVE_KIND;
			}
			e->path_off = (uint32_t)s->arena_len;
			if (n > 0 && (what & KC_LINK)) {
				if (ib_pf_buf_grow(&s->arena, s->arena_len + (size_t)n + 1)) {
					err = oom(out);
					goto next;
				}
				memcpy(s->arena.p + s->arena_len, s->link, (size_t)n);
				s->arena.p[s->arena_len + n] = '\0';
				e->path_len = (uint32_t)n;
				e->have |= IB_HAVE_PATH;
				s->arena_len += (size_t)n + 1;
			}
			if (what & KC_FDINFO) {
				struct ib_pf_fdinfo fi;
				ssize_t len = ib_pf_read_file(tk.fdinfodir, name, &s->ibuf, calls);

				if (len < 0) {
					err = ib_pf_fd_failed(&tk, e->fd, (int)-len, "fdinfo", out);
					goto vanished;
				}
				ib_pf_parse_fdinfo(s->ibuf.p, s->ibuf.p + len, &fi);
				if (fi.have_pos) {
					e->pos = fi.pos;
					e->have |= IB_HAVE_POS;
				}
				if (fi.have_flags) {
					e->flags = fi.flags;
					e->have |= IB_HAVE_FLAGS;
				}
			}
			e->genid = e->dev ^ e->ino ^ e->pos;
			continue;
vanished:
			s->n--; /* leave it out */
			if (err)
				goto next;
		}
		if (what)
			out->stage_ns[IB_STAGE_METADATA] += ib_now_ns() - t1;
next:
		ib_pf_task_close(&tk);
		*calls += 3;
		if (err)
			return err;
		s->phi[p] = s->n;
		/* /proc lists descriptors in ascending order; make sure of it */
		for (i = s->plo[p] + 1; i < s->n && s->e[i - 1].fd < s->e[i].fd; i++)
			;
		if (i < s->n)
			qsort(&s->e[s->plo[p]], s->n - s->plo[p], sizeof(s->e[0]), cmp_fd);
	}
	return 0;
}

/* the entry of descriptor fd of target pid number p, or NULL */
static const struct kc_ent *kc_find(const struct kc_state *s, uint32_t p, int fd)
{
	size_t lo = s->plo[p], hi = s->phi[p];

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->e[mid].fd < fd)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->phi[p] && s->e[lo].fd == fd ? &s->e[lo] : NULL;
}

/* a KCMP_FILE failure: a task that exited is an error, a closed fd a note */
static int kcmp_failed(const struct kc_ent *a, const struct kc_ent *b, int err,
		       struct ib_out *out)
{
	char text[128];
	struct ib_rec_note *n;
	int len;

	if (err == ESRCH || err == EBADF || err == ENOENT) {
		if (ib_pf_pid_dead(a->pid))
			return ib_out_error(out, ESRCH, "pid %d: no such process (exited during collect)",
					    a->pid);
		if (ib_pf_pid_dead(b->pid))
			return ib_out_error(out, ESRCH, "pid %d: no such process (exited during collect)",
					    b->pid);
	}
	if (err != EBADF)
		return ib_out_error(out, err, "kcmp(%d:%d, %d:%d): %s", a->pid, a->fd, b->pid,
				    b->fd, strerror(err));
	len = snprintf(text, sizeof(text), "kcmp: fd %d of %d or fd %d of %d vanished",
		       a->fd, a->pid, b->fd, b->pid);
	n = ib_out_rec(out, IB_REC_NOTE, a->pid, sizeof(*n), text, (size_t)len);
	if (!n)
		return oom(out);
	n->code = IB_NOTE_FD_VANISHED;
	n->fd = b->fd;
	n->count = 1;
	return 0;
}

static int emit_fds(struct kc_state *s, struct ib_out *out)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		const struct kc_ent *e = &s->e[i];
		int has_path = !!(e->have & IB_HAVE_PATH);
		struct ib_rec_fd *r;

		if (e->gone)
			continue; /* closed since enumeration, noted */
		r = ib_out_rec(out, IB_REC_FD, e->pid, sizeof(*r),
			       has_path ? s->arena.p + e->path_off : NULL, e->path_len);
		if (!r)
			return oom(out);
		r->fd = e->fd;
		r->kind = e->kind;
		r->have = e->have;
		r->flags = e->flags;
		r->dev = e->dev;
		r->ino = e->ino;
		r->pos = e->pos;
		if (!e->no_id) {
			r->id.how = IB_ID_KEY;
			r->id.key = e->key;
		}
	}
	return 0;
}

/* ---- kcmp-pairwise ---------------------------------------------------- */

static uint32_t uf_find(uint32_t *parent, uint32_t x)
{
	uint32_t r = x;

	while (parent[r] != r)
		r = parent[r];
	while (parent[x] != r) {
		uint32_t nx = parent[x];

		parent[x] = r;
		x = nx;
	}
	return r;
}

/* the row sample's PRNG: splitmix64 (seeded, the same rows every collect) */
static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int cmp_u32(const void *pa, const void *pb)
{
	uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;

	return (a > b) - (a < b);
}

#define MARK_ROW      1u /* a sampled row: compared with every other descriptor */
#define MARK_COMPLETE 2u /* (on a class root) the class holds a sampled row */

/* s->idx[0, rows): the sampled rows, ascending, each marked MARK_ROW */
static void sample_rows(struct kc_state *s, size_t rows, uint64_t seed)
{
	uint64_t x = seed;
	size_t k, n = s->n;

	for (k = 0; k < n; k++)
		s->idx[k] = (uint32_t)k;
	if (rows < n) {
		/* a partial Fisher-Yates shuffle: rows distinct rows, uniformly */
		for (k = 0; k < rows; k++) {
			size_t r = k + (size_t)(splitmix64(&x) % (n - k));
			uint32_t tmp = s->idx[k];

			s->idx[k] = s->idx[r];
			s->idx[r] = tmp;
		}
		qsort(s->idx, rows, sizeof(s->idx[0]), cmp_u32);
	}
	for (k = 0; k < rows; k++)
		s->mark[s->idx[k]] = MARK_ROW;
}

static int pairwise_collect(void *state, const struct ib_target *t, const struct ib_opts *o,
			    struct ib_out *out)
{
	struct kc_state *s = state;
	uint64_t enum_calls = 0, made = 0, total, t0;
	size_t i, j, k, rows, n;
	int err;

	err = kc_gather(s, t, 0, &enum_calls, out);
	if (err)
		return err;
	n = s->n;
	if (grow_u32(&s->aux, &s->aux_cap, n ? n : 1) ||
	    grow_u32(&s->idx, &s->idx_cap, n ? n : 1))
		return oom(out);
	if (s->mark_cap < n) {
		uint8_t *m = realloc(s->mark, n);

		if (!m)
			return oom(out);
		s->mark = m;
		s->mark_cap = n;
	}
	memset(s->mark, 0, n);
	for (i = 0; i < n; i++)
		s->aux[i] = (uint32_t)i;
	total = n ? (uint64_t)n * (n - 1) / 2 : 0;
	rows = o && o->sample_rows && o->sample_rows < n ? o->sample_rows : n;
	sample_rows(s, rows, o ? o->sample_seed : 0);

	t0 = ib_now_ns();
	for (k = 0; k < rows; k++) {
		const struct kc_ent *a;

		i = s->idx[k];
		a = &s->e[i];
		if (a->gone)
			continue;
		/* every other descriptor, but a pair of two sampled rows only
		 * once: row j < i compared it already */
		for (j = 0; j < n; j++) {
			const struct kc_ent *b = &s->e[j];
			long r;

			if (j == i || b->gone || (j < i && (s->mark[j] & MARK_ROW)))
				continue;
			r = sys_kcmp(a->pid, b->pid, KCMP_FILE, (unsigned long)a->fd,
				     (unsigned long)b->fd);
			made++;
			if (r == 0) {
				uint32_t ra = uf_find(s->aux, (uint32_t)i);
				uint32_t rb = uf_find(s->aux, (uint32_t)j);

				if (ra < rb)
					s->aux[rb] = ra;
				else if (rb < ra)
					s->aux[ra] = rb;
			} else if (r < 0) {
				err = kcmp_failed(a, b, errno, out);
				if (err)
					goto out;
				/* which one went away? note it once, skip it from now on */
				if (sys_kcmp(a->pid, a->pid, KCMP_FILE, (unsigned long)a->fd,
					     (unsigned long)a->fd) < 0)
					s->e[i].gone = 1;
				else
					s->e[j].gone = 1;
				if (a->gone)
					break;
			}
		}
	}
	out->stage_ns[IB_STAGE_IDENTITY] += ib_now_ns() - t0;
	/* a class is complete when one of its members was a sampled row
	 * compared with all others (not one that vanished on the way) */
	for (i = 0; i < n; i++)
		if ((s->mark[i] & MARK_ROW) && !s->e[i].gone)
			s->mark[uf_find(s->aux, (uint32_t)i)] |= MARK_COMPLETE;
	for (i = 0; i < n; i++) {
		uint32_t root = uf_find(s->aux, (uint32_t)i);

		s->e[i].key = root;
		s->e[i].no_id = !(s->mark[root] & MARK_COMPLETE);
		s->e[i].have = s->e[i].no_id ? 0 : IB_HAVE_ID_CLASS;
	}
	err = emit_fds(s, out);
out:
	out->sample.rows = rows;
	out->sample.rows_total = n;
	out->sample.made = made;
	out->sample.total = total;
	out->calls += made;
	return err;
}

/* ---- kcmp-tree ---------------------------------------------------------- */

/* the state and the collect's out, for the callbacks of ib_kcmp_tree */
struct tree_arg {
	struct kc_state *s;
	struct ib_out *out;
};

static uint64_t tree_genid(void *arg, uint32_t i)
{
	return ((struct tree_arg *)arg)->s->e[i].genid;
}

static long tree_cmp(void *arg, uint32_t rep, uint32_t x)
{
	const struct kc_state *s = ((struct tree_arg *)arg)->s;
	const struct kc_ent *er = &s->e[rep], *ex = &s->e[x];
	long r = sys_kcmp(er->pid, ex->pid, KCMP_FILE, (unsigned long)er->fd,
			  (unsigned long)ex->fd);

	return r < 0 ? -errno : r;
}

static int tree_failed(void *arg, uint32_t rep, uint32_t x, int err)
{
	struct tree_arg *ta = arg;

	return kcmp_failed(&ta->s->e[rep], &ta->s->e[x], err, ta->out);
}

static const struct ib_kt_ops tree_ops = {
	.genid = tree_genid,
	.cmp = tree_cmp,
	.failed = tree_failed,
};

static int tree_collect(void *state, const struct ib_target *t, const struct ib_opts *o,
			struct ib_out *out)
{
	struct kc_state *s = state;
	struct tree_arg ta = { .s = s, .out = out };
	uint64_t sys_calls = 0, kcalls = 0, t0;
	size_t k;
	int err;

	err = kc_gather(s, t, KC_LINK | KC_STAT | KC_FDINFO, &sys_calls, out);
	if (err)
		return err;
	if (grow_u32(&s->idx, &s->idx_cap, s->n ? s->n : 1) ||
	    grow_u32(&s->aux, &s->aux_cap, s->n ? s->n : 1) ||
	    grow_u32(&s->keys, &s->keys_cap, s->n ? s->n : 1))
		return oom(out);

	t0 = ib_now_ns();
	err = ib_kcmp_tree(s->n, s->idx, s->aux, s->keys, &tree_ops, &ta, &kcalls);
	if (err)
		goto out;
	for (k = 0; k < s->n; k++)
		s->e[k].key = s->keys[k];
	out->stage_ns[IB_STAGE_IDENTITY] += ib_now_ns() - t0;
	err = emit_fds(s, out);
out:
	out->calls += kcalls;
	return err;
}

/* ---- kcmp-epoll --------------------------------------------------------- */

static int cmp_devino(const void *pa, const void *pb, void *arg)
{
	const struct kc_ent *e = arg;
	uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;

	if (e[a].dev != e[b].dev)
		return e[a].dev < e[b].dev ? -1 : 1;
	if (e[a].ino != e[b].ino)
		return e[a].ino < e[b].ino ? -1 : 1;
	return a < b ? -1 : a > b;
}

/* the range [*lo, *hi) of s->idx whose entries have (dev, ino) */
static void devino_range(const struct kc_state *s, uint64_t dev, uint64_t ino, size_t *plo,
			 size_t *phi)
{
	size_t lo = 0, hi = s->n, l2, h2;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct kc_ent *m = &s->e[s->idx[mid]];

		if (m->dev < dev || (m->dev == dev && m->ino < ino))
			lo = mid + 1;
		else
			hi = mid;
	}
	l2 = lo;
	h2 = s->n;
	while (l2 < h2) {
		size_t mid = l2 + (h2 - l2) / 2;
		const struct kc_ent *m = &s->e[s->idx[mid]];

		if (m->dev < dev || (m->dev == dev && m->ino <= ino))
			l2 = mid + 1;
		else
			h2 = mid;
	}
	*plo = lo;
	*phi = l2;
}

/*
 * One group of candidates (equal dev/ino), its distinct open files sorted
 * by KCMP_FILE; built the first time an item needs it.
 */
struct ep_group {
	size_t lo, hi;  /* range in s->idx */
	uint32_t *reps; /* sorted class representatives (entry indices) */
	size_t nreps;
	int built;
};

static int ep_group_build(struct kc_state *s, struct ep_group *g, uint64_t *kcalls,
			  struct ib_out *out)
{
	size_t k;
	int err;

	g->reps = malloc((g->hi - g->lo) * sizeof(uint32_t));
	if (!g->reps)
		return oom(out);
	g->nreps = 0;
	g->built = 1;
	for (k = g->lo; k < g->hi; k++) {
		uint32_t x = s->idx[k];
		struct kc_ent *ex = &s->e[x];
		size_t lo = 0, hi = g->nreps;
		int skip = 0;

		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			struct kc_ent *er = &s->e[g->reps[mid]];
			long r = sys_kcmp(er->pid, ex->pid, KCMP_FILE, (unsigned long)er->fd,
					  (unsigned long)ex->fd);

			(*kcalls)++;
			if (r == 0) {
				skip = 1;
				break;
			} else if (r == 1) {
				lo = mid + 1;
			} else if (r == 2) {
				hi = mid;
			} else {
				err = kcmp_failed(er, ex, r < 0 ? errno : EINVAL, out);
				if (err)
					return err;
				skip = 1;
				break;
			}
		}
		if (skip)
			continue;
		memmove(&g->reps[lo + 1], &g->reps[lo], (g->nreps - lo) * sizeof(uint32_t));
		g->reps[lo] = x;
		g->nreps++;
	}
	return 0;
}

/* kcmp(cand, epoll item): 0 same file, 1 cand < target, 2 cand > target */
static long ep_cmp(const struct kc_ent *c, int ep_pid, struct kcmp_epoll_slot *slot)
{
	return sys_kcmp(c->pid, ep_pid, KCMP_EPOLL_TFD, (unsigned long)c->fd,
			(unsigned long)slot);
}

/*
 * KCMP_EPOLL_TFD failed: a task that exited or an item that went away is an
 * error; a candidate descriptor that was closed (EBADF) is a note.
 */
static int ep_failed(const struct kc_ent *c, const struct kc_ent *ep,
		     const struct ib_pf_epitem *it, int err, struct ib_out *out)
{
	if (err == EBADF)
		return kcmp_failed(c, ep, err, out);
	if (ib_pf_pid_dead(ep->pid))
		return ib_out_error(out, ESRCH, "pid %d: no such process (exited during collect)",
				    ep->pid);
	if (err == ENOENT)
		return ib_out_error(out, ENOENT, "pid %d epoll fd %d: item tfd %d went away "
				    "between fdinfo and kcmp", ep->pid, ep->fd, it->tfd);
	return ib_out_error(out, err, "kcmp(KCMP_EPOLL_TFD) %d:%d epoll %d:%d tfd %d: %s",
			    c->pid, c->fd, ep->pid, ep->fd, it->tfd, strerror(err));
}

static int epoll_collect(void *state, const struct ib_target *t, const struct ib_opts *o,
			 struct ib_out *out)
{
	struct kc_state *s = state;
	struct ep_group *groups = NULL;
	int32_t *tc = NULL; /* tfd numbers counted in s->tfdn for this epoll */
	size_t ntc = 0, k;
	size_t ngroups = 0, groups_cap = 0, tc_cap = 0;
	uint64_t sys_calls = 0, kcalls = 0, t_parse = 0, t_ident = 0;
	size_t i;
	int err;

	err = kc_gather(s, t, KC_STAT | KC_LINK_ANON, &sys_calls, out);
	if (err)
		return err;
	if (grow_u32(&s->idx, &s->idx_cap, s->n ? s->n : 1))
		return oom(out);
	for (i = 0; i < s->n; i++)
		s->idx[i] = (uint32_t)i;
	qsort_r(s->idx, s->n, sizeof(s->idx[0]), cmp_devino, s->e);

	for (i = 0; i < s->n; i++) {
		const struct kc_ent ep = s->e[i];
		struct ib_pf_task tk;
		struct ib_pf_epitem it;
		char name[IB_PF_NAME_MAX];
		const char *p, *end;
		uint64_t a, saved;
		uint32_t ep_p;
		ssize_t len;

		if (ep.kind != IB_K_EPOLL)
			continue;
		for (ep_p = 0; ep_p < t->npids && t->pids[ep_p] != ep.pid; ep_p++)
			;
		a = ib_now_ns();
		saved = out->calls;
		err = ib_pf_task_open(&tk, ep.pid, 1, out);
		sys_calls += out->calls - saved;
		out->calls = saved;
		if (err)
			goto out;
		ib_pf_fdname(name, ep.fd);
		len = ib_pf_read_file(tk.fdinfodir, name, &s->ibuf, &sys_calls);
		if (len < 0) {
			err = ib_pf_fd_failed(&tk, ep.fd, (int)-len, "fdinfo", out);
			ib_pf_task_close(&tk);
			sys_calls += 3;
			if (err)
				goto out;
			continue;
		}
		ib_pf_task_close(&tk);
		sys_calls += 3;
		p = s->ibuf.p;
		end = s->ibuf.p + len;
		t_parse += ib_now_ns() - a;

		while (ib_pf_epoll_next(&p, end, &it)) {
			struct kcmp_epoll_slot slot = { .efd = (uint32_t)ep.fd, .tfd = (uint32_t)it.tfd };
			struct ib_rec_epoll_item *r;
			const struct kc_ent *holder = NULL, *cand;
			struct ep_group *g = NULL;
			size_t lo, hi;
			long rc;

			a = ib_now_ns();
			/* toff: how many earlier items of this epoll share this tfd */
			if ((size_t)(uint32_t)it.tfd >= s->tfdn_cap) {
				size_t cap = s->tfdn_cap ? s->tfdn_cap : 1024;
				uint32_t *nt;

				while (cap <= (size_t)(uint32_t)it.tfd)
					cap *= 2;
				nt = realloc(s->tfdn, cap * sizeof(*nt));
				if (!nt) {
					err = oom(out);
					goto out;
				}
				memset(nt + s->tfdn_cap, 0, (cap - s->tfdn_cap) * sizeof(*nt));
				s->tfdn = nt;
				s->tfdn_cap = cap;
			}
			if (ntc == tc_cap) {
				size_t cap = tc_cap ? tc_cap * 2 : 256;
				int32_t *nt = realloc(tc, cap * sizeof(*nt));

				if (!nt) {
					err = oom(out);
					goto out;
				}
				tc = nt;
				tc_cap = cap;
			}
			if (!s->tfdn[it.tfd])
				tc[ntc++] = it.tfd; /* to reset after this epoll */
			slot.toff = s->tfdn[it.tfd]++;

			/* fast path: the descriptor numbered tfd in the epoll's task */
			devino_range(s, it.dev, it.ino, &lo, &hi);
			cand = kc_find(s, ep_p, it.tfd);
			if (cand && cand->dev == it.dev && cand->ino == it.ino) {
				rc = ep_cmp(cand, ep.pid, &slot);
				kcalls++;
				if (rc == 0)
					holder = cand;
				else if (rc < 0) {
					err = ep_failed(cand, &ep, &it, errno, out);
					if (err)
						goto out;
				}
			}
			if (!holder && hi > lo) {
				size_t gi;

				for (gi = 0; gi < ngroups && groups[gi].lo != lo; gi++)
					;
				if (gi == ngroups) {
					if (ngroups == groups_cap) {
						size_t cap = groups_cap ? groups_cap * 2 : 16;
						struct ep_group *ng = realloc(groups, cap * sizeof(*ng));

						if (!ng) {
							err = oom(out);
							goto out;
						}
						groups = ng;
						groups_cap = cap;
					}
					memset(&groups[ngroups], 0, sizeof(groups[0]));
					groups[ngroups].lo = lo;
					groups[ngroups].hi = hi;
					ngroups++;
				}
				g = &groups[gi];
				if (!g->built) {
					err = ep_group_build(s, g, &kcalls, out);
					if (err)
						goto out;
				}
				lo = 0;
				hi = g->nreps;
				while (lo < hi) {
					size_t mid = lo + (hi - lo) / 2;
					const struct kc_ent *c = &s->e[g->reps[mid]];

					rc = ep_cmp(c, ep.pid, &slot);
					kcalls++;
					if (rc == 0) {
						holder = c;
						break;
					} else if (rc == 1) { /* cand < target */
						lo = mid + 1;
					} else if (rc == 2) {
						hi = mid;
					} else {
						err = ep_failed(c, &ep, &it, rc < 0 ? errno : EINVAL, out);
						if (err)
							goto out;
						break; /* a vanished candidate: no holder */
					}
				}
			}
			t_ident += ib_now_ns() - a;

			r = ib_out_rec(out, IB_REC_EPOLL_ITEM, ep.pid, sizeof(*r), NULL, 0);
			if (!r) {
				err = oom(out);
				goto out;
			}
			r->epfd = ep.fd;
			r->tfd = it.tfd;
			r->events = it.events;
			r->data = it.data;
			r->have = IB_HAVE_DEV | IB_HAVE_INO | IB_HAVE_EVENT;
			r->target_dev = it.dev;
			r->target_ino = it.ino;
			if (holder) {
				r->target.how = IB_ID_HOLDER;
				r->target.holder_pid = holder->pid;
				r->target.holder_fd = holder->fd;
			} else {
				r->target.how = IB_ID_NONE;
			}
		}
		for (k = 0; k < ntc; k++)
			s->tfdn[tc[k]] = 0;
		ntc = 0;
	}
	err = 0;
out:
	for (k = 0; k < ntc; k++)
		s->tfdn[tc[k]] = 0;
	out->stage_ns[IB_STAGE_EPOLL] += t_parse;
	out->stage_ns[IB_STAGE_IDENTITY] += t_ident;
	out->calls += kcalls;
	for (i = 0; i < ngroups; i++)
		free(groups[i].reps);
	free(groups);
	free(tc);
	return err;
}

const struct ib_method ib_method_kcmp_pairwise = {
	.name = "kcmp-pairwise",
	.family = IB_FAMILY_KCMP,
	.role = IB_ROLE_RECOVERY,
	.summary = "KCMP_FILE on every pair of descriptors of all target tasks (O(n^2))",
	.sampling = { .how = IB_SAMPLING_ROWS, .scales = IB_STAGE_IDENTITY },
	.coverage = {
		[IB_COV_FD] = IB_FULL,
		[IB_COV_FD_META] = IB_NONE("kcmp only compares"),
		[IB_COV_FD_POS] = IB_NONE("kcmp only compares"),
		[IB_COV_FD_FLAGS] = IB_NONE("kcmp only compares"),
		[IB_COV_FD_IDENTITY] = IB_FULL,
		[IB_COV_FD_TABLE] = IB_FULL,
		[IB_COV_EPOLL_ITEM] = IB_NONE("kcmp only compares"),
		[IB_COV_EPOLL_TARGET] = IB_NONE("kcmp only compares"),
		[IB_COV_URING_RING] = IB_NONE("kcmp only compares"),
		[IB_COV_URING_FILE] = IB_NONE("kcmp only compares"),
		[IB_COV_URING_BUF] = IB_NONE("kcmp only compares"),
	},
	.open = kc_open,
	.collect = pairwise_collect,
	.close = kc_close,
};

const struct ib_method ib_method_kcmp_tree = {
	.name = "kcmp-tree",
	.family = IB_FAMILY_KCMP,
	.role = IB_ROLE_RECOVERY,
	.summary = "CRIU's algorithm: genid from fstat and fdinfo, KCMP_FILE ordering inside "
		   "genid collisions (O(n log n) calls)",
	.coverage = {
		[IB_COV_FD] = IB_FULL,
		[IB_COV_FD_META] = IB_FULL,
		[IB_COV_FD_POS] = IB_FULL,
		[IB_COV_FD_FLAGS] = IB_FULL,
		[IB_COV_FD_IDENTITY] = IB_FULL,
		[IB_COV_FD_TABLE] = IB_FULL,
		[IB_COV_EPOLL_ITEM] = IB_NONE("descriptors only"),
		[IB_COV_EPOLL_TARGET] = IB_NONE("descriptors only"),
		[IB_COV_URING_RING] = IB_NONE("kcmp cannot name io_uring rings"),
		[IB_COV_URING_FILE] = IB_NONE("kcmp cannot name io_uring slots"),
		[IB_COV_URING_BUF] = IB_NONE("kcmp cannot name io_uring slots"),
	},
	.open = kc_open,
	.collect = tree_collect,
	.close = kc_close,
};

const struct ib_method ib_method_kcmp_epoll = {
	.name = "kcmp-epoll",
	.family = IB_FAMILY_KCMP,
	.role = IB_ROLE_RECOVERY,
	.needs = IB_NEEDS_EPOLL,
	.summary = "epoll items from fdinfo, each target found with KCMP_EPOLL_TFD among the "
		   "descriptors with its dev/ino",
	.coverage = {
		[IB_COV_FD] = IB_NONE("enumerates descriptors to find candidates, reports epoll items only"),
		[IB_COV_FD_META] = IB_NONE("epoll items only"),
		[IB_COV_FD_POS] = IB_NONE("epoll items only"),
		[IB_COV_FD_FLAGS] = IB_NONE("epoll items only"),
		[IB_COV_FD_IDENTITY] = IB_NONE("epoll items only"),
		[IB_COV_FD_TABLE] = IB_FULL,
		[IB_COV_EPOLL_ITEM] = IB_FULL,
		[IB_COV_EPOLL_TARGET] = IB_PARTIAL_UNHELD("only targets some descriptor still holds"),
		[IB_COV_URING_RING] = IB_NONE("epoll items only"),
		[IB_COV_URING_FILE] = IB_NONE("epoll items only"),
		[IB_COV_URING_BUF] = IB_NONE("epoll items only"),
	},
	.open = kc_open,
	.collect = epoll_collect,
	.close = kc_close,
};
