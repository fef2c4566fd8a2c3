/* SPDX-License-Identifier: MIT */
/*
 * ibcollect - run one recovery method on some pids and print its records.
 * A debugging aid for collector authors; the bench uses the N-API addon.
 *
 *   ibcollect -l                       list methods: descriptor and coverage
 *   ibcollect [-n ITERS] [-r ROWS] [-s SEED] [-q] [-R READERS] [-w PREFIX] METHOD PID...
 *       -n  collect ITERS times and print min/median time (default 1)
 *       -r  sampling methods: compare ROWS random rows with all others
 *       -s  the seed of the row sample (default 1)
 *       -q  do not print the records, only counts and times
 *       -R  READERS threads, each pinned to its own CPU, collect at once on
 *           the one opened method (ITERS times each, started together): for
 *           methods whose collect() is reentrant (the kernel lane's,
 *           bench/native/bpf_real.c). Every answer must equal reader 0's
 *           first byte for byte, else exit 1
 *       -w  write the last answer (the raw records) to PREFIX.0; with -R, each
 *           reader's first answer to PREFIX.<reader>
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "method.h"

static const char *const kinds[IB_K__N] = IB_KIND_NAMES;
static const char *const cov_names[IB_COV__N] = IB_COV_NAMES;
static const char *const families[] = { "?", "procfs", "kcmp", "bpf", "floor" };
static const char *const levels[] = { "undeclared", "full", "partial", "none" };

/* record types are 1 .. IB_REC_URING_REG; counts[0] is the quiet flag */
#define IB_NREC (IB_REC_URING_REG + 1)

#define NAME(tab, v) ((unsigned int)(v) < sizeof(tab) / sizeof(tab[0]) ? tab[v] : "?")

static void print_list(const char *what, const struct ib_method *const *l)
{
	if (!l || !l[0])
		return;
	printf("    %s:", what);
	for (; *l; l++)
		printf(" %s", (*l)->name);
	printf("\n");
}

static void list_methods(void)
{
	for (size_t i = 0; i < ib_nmethods; i++) {
		const struct ib_method *m = ib_methods[i];

		printf("%-24s %-7s %s%s\n", m->name, NAME(families, m->family),
		       m->role == IB_ROLE_FLOOR ? "(floor) " : "",
		       m->summary ? m->summary : "");
		if (m->lane == IB_LANE_PATCHED_KERNEL)
			printf("    lane: patched kernel\n");
		if (m->floor)
			printf("    floor: %s (limit %.2fx)\n", m->floor->name, m->floor_limit);
		print_list("speedup over", m->speedup_over);
		if (m->emulation.method) {
			printf("    vs emulation: (%s", m->name);
			for (const struct ib_method *const *w = m->emulation.with; w && *w; w++)
				printf(" + %s", (*w)->name);
			printf(") / (%s - %s)\n", m->emulation.method->name,
			       m->emulation.floor ? m->emulation.floor->name : "0");
		}
		print_list("subset of", m->subset_of);
		if (m->sampling.how == IB_SAMPLING_ROWS)
			printf("    sampling: rows\n");
		for (int k = 0; k < IB_COV__N; k++)
			printf("    %-13s %s%s%s%s\n", cov_names[k], NAME(levels, m->coverage[k].level),
			       m->coverage[k].unheld_only ? " (items no descriptor holds only)" : "",
			       m->coverage[k].why ? ": " : "",
			       m->coverage[k].why ? m->coverage[k].why : "");
	}
}

static const char *kname(uint32_t k)
{
	return k < sizeof(kinds) / sizeof(kinds[0]) ? kinds[k] : "?";
}

static void ref(const struct ib_ref *r, char *buf, size_t n)
{
	switch (r->how) {
	case IB_ID_KEY: snprintf(buf, n, "key:%016llx", (unsigned long long)r->key); break;
	case IB_ID_HOLDER: snprintf(buf, n, "holder:%d/%d", r->holder_pid, r->holder_fd); break;
	default: snprintf(buf, n, "-"); break;
	}
}

static void print_records(const struct ib_out *out, size_t *counts)
{
	size_t off = 0;
	char rb[64];

	while (off + sizeof(struct ib_rec_hdr) <= out->len) {
		const struct ib_rec_hdr *h = (const void *)(out->buf + off);

		if (h->size < sizeof(*h) || off + h->size > out->len) {
			printf("corrupt record at %zu (size %u)\n", off, h->size);
			return;
		}
		if (h->type < IB_NREC)
			counts[h->type]++;
		if (!counts[0]) {
			switch (h->type) {
			case IB_REC_FD: {
				const struct ib_rec_fd *r = (const void *)h;
				ref(&r->id, rb, sizeof(rb));
				printf("fd    pid %d fd %d %s dev %llu ino %llu pos %llu flags 0%o have %#x id %s %s\n",
				       h->pid, r->fd, kname(r->kind), (unsigned long long)r->dev,
				       (unsigned long long)r->ino, (unsigned long long)r->pos, r->flags,
				       r->have, rb, (r->have & IB_HAVE_PATH) ? (const char *)(r + 1) : "");
				break;
			}
			case IB_REC_EPOLL_ITEM: {
				const struct ib_rec_epoll_item *r = (const void *)h;
				ref(&r->target, rb, sizeof(rb));
				printf("epi   pid %d epfd %d tfd %d events %#x data %#llx tdev %llu tino %llu target %s\n",
				       h->pid, r->epfd, r->tfd, r->events, (unsigned long long)r->data,
				       (unsigned long long)r->target_dev, (unsigned long long)r->target_ino, rb);
				break;
			}
			case IB_REC_URING_RING: {
				const struct ib_rec_uring_ring *r = (const void *)h;
				printf("ring  pid %d fd %d files %u bufs %u status %#x\n", h->pid, r->ring_fd,
				       r->nr_files, r->nr_bufs, r->status);
				break;
			}
			case IB_REC_URING_FILE: {
				const struct ib_rec_uring_file *r = (const void *)h;
				ref(&r->file, rb, sizeof(rb));
				printf("ufile pid %d fd %d slot %u %s dev %llu ino %llu file %s %s\n", h->pid,
				       r->ring_fd, r->index, kname(r->kind), (unsigned long long)r->dev,
				       (unsigned long long)r->ino, rb,
				       (r->have & IB_HAVE_PATH) ? (const char *)(r + 1) : "");
				break;
			}
			case IB_REC_URING_BUF: {
				const struct ib_rec_uring_buf *r = (const void *)h;
				printf("ubuf  pid %d fd %d slot %u addr %#llx len %llu\n", h->pid, r->ring_fd,
				       r->index, (unsigned long long)r->addr, (unsigned long long)r->len);
				break;
			}
			case IB_REC_TABLE: {
				const struct ib_rec_table *r = (const void *)h;
				printf("table pid %d same as %d\n", h->pid, r->same_as);
				break;
			}
			case IB_REC_URING_REG: {
				const struct ib_rec_uring_reg *r = (const void *)h;
				ref(&r->ring, rb, sizeof(rb));
				printf("ureg  pid %d fd %d tid %d index %u ring %s\n", h->pid, r->ring_fd,
				       r->tid, r->index, rb);
				break;
			}
			case IB_REC_NOTE: {
				const struct ib_rec_note *r = (const void *)h;
				printf("note  pid %d code %u fd %d count %llu %s\n", h->pid, r->code, r->fd,
				       (unsigned long long)r->count,
				       h->size > sizeof(*r) ? (const char *)(r + 1) : "");
				break;
			}
			default:
				printf("record type %u size %u\n", h->type, h->size);
			}
		}
		off += h->size;
	}
}

/* -R: readers collecting at once on one state */
struct reader {
	pthread_t thread;
	int index, cpu, iters, ret, failed_at;
	const struct ib_method *m;
	void *state;
	const struct ib_target *t;
	const struct ib_opts *o;
	pthread_barrier_t *start;
	struct ib_out out;
	uint8_t *first; /* the first answer */
	size_t first_len;
	int differing;  /* answers unlike the first */
};

static void *reader_main(void *p)
{
	struct reader *r = p;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(r->cpu, &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set)) {
		r->ret = -EINVAL;
		snprintf(r->out.err, sizeof(r->out.err), "cannot pin reader %d to cpu %d", r->index, r->cpu);
		return NULL;
	}
	for (int i = 0; i < r->iters; i++) {
		pthread_barrier_wait(r->start);
		ib_out_reset(&r->out);
		r->ret = r->m->collect(r->state, r->t, r->o, &r->out);
		if (r->ret < 0) {
			r->failed_at = i;
			return NULL;
		}
		if (!r->first) {
			r->first = malloc(r->out.len + 1);
			if (!r->first) {
				r->ret = -ENOMEM;
				return NULL;
			}
			memcpy(r->first, r->out.buf, r->out.len);
			r->first_len = r->out.len;
		} else if (r->out.len != r->first_len || memcmp(r->out.buf, r->first, r->first_len)) {
			r->differing++;
		}
	}
	return NULL;
}

static int write_answer(const char *prefix, int index, const uint8_t *buf, size_t len)
{
	char path[4096];
	FILE *f;
	int err = 0;

	snprintf(path, sizeof(path), "%s.%d", prefix, index);
	f = fopen(path, "we");
	if (!f) {
		fprintf(stderr, "ibcollect: %s: %s\n", path, strerror(errno));
		return -errno;
	}
	if (len && fwrite(buf, len, 1, f) != 1)
		err = -EIO;
	if (fclose(f) && !err)
		err = -errno;
	if (err)
		fprintf(stderr, "ibcollect: write %s: %s\n", path, strerror(-err));
	return err;
}

/* -R: READERS threads on CPUs 0, 1, ... collect ITERS times at once; 0 when all agree */
static int run_readers(const struct ib_method *m, void *state, const struct ib_target *t,
		       const struct ib_opts *o, int nreaders, int iters, const char *prefix)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	pthread_barrier_t start;
	struct reader *rd;
	int i, started = 0, bad = 0, differing = 0;

	rd = calloc(nreaders, sizeof(*rd));
	if (!rd || pthread_barrier_init(&start, NULL, nreaders)) {
		free(rd);
		fprintf(stderr, "ibcollect: readers: out of memory\n");
		return 1;
	}
	if (ncpu < nreaders)
		fprintf(stderr, "ibcollect: %d readers on %ld cpus: some share one\n", nreaders, ncpu);
	for (i = 0; i < nreaders; i++) {
		rd[i] = (struct reader){ .index = i, .cpu = (int)(i % (ncpu > 0 ? ncpu : 1)),
					 .iters = iters, .m = m, .state = state, .t = t, .o = o,
					 .start = &start, .failed_at = -1 };
		if (pthread_create(&rd[i].thread, NULL, reader_main, &rd[i])) {
			fprintf(stderr, "ibcollect: cannot start reader %d\n", i);
			break;
		}
		started++;
	}
	if (started < nreaders) {
		/* the started ones wait at the barrier for ever: give up */
		fprintf(stderr, "ibcollect: readers: %d of %d started\n", started, nreaders);
		exit(1);
	}
	for (i = 0; i < nreaders; i++)
		pthread_join(rd[i].thread, NULL);
	for (i = 0; i < nreaders; i++) {
		if (rd[i].ret < 0) {
			fprintf(stderr, "ibcollect: %s: reader %d (cpu %d), collect %d: %s\n", m->name, i,
				rd[i].cpu, rd[i].failed_at, rd[i].out.err[0] ? rd[i].out.err
									   : strerror(-rd[i].ret));
			bad = 1;
			continue;
		}
		differing += rd[i].differing;
		if (i > 0 && (rd[i].first_len != rd[0].first_len ||
			      memcmp(rd[i].first, rd[0].first, rd[0].first_len)))
			differing += 1;
		if (prefix && write_answer(prefix, i, rd[i].first, rd[i].first_len))
			bad = 1;
	}
	printf("# %s: %d readers on cpus", m->name, nreaders);
	for (i = 0; i < nreaders; i++)
		printf(" %d", rd[i].cpu);
	printf(", %d collects each, started together; answers unlike reader 0's first: %d; "
	       "bytes %zu\n", iters, differing, rd[0].first_len);
	for (i = 0; i < nreaders; i++) {
		free(rd[i].out.buf);
		free(rd[i].first);
	}
	pthread_barrier_destroy(&start);
	free(rd);
	return bad || differing ? 1 : 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	const struct ib_method *m = NULL;
	struct ib_opts o = { 0 };
	struct ib_out out = { 0 };
	struct ib_target t;
	int32_t *pids = NULL;
	uint64_t *times = NULL, t0, cold;
	int iters = 1, quiet = 0, readers = 0, c, ret = 1;
	const char *prefix = NULL;
	void *state = NULL;

	o.sample_seed = 1;
	while ((c = getopt(argc, argv, "ln:r:s:qR:w:")) != -1) {
		switch (c) {
		case 'l':
			list_methods();
			return 0;
		case 'n': iters = atoi(optarg); break;
		case 'r': o.sample_rows = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 's': o.sample_seed = strtoull(optarg, NULL, 0); break;
		case 'q': quiet = 1; break;
		case 'R': readers = atoi(optarg); break;
		case 'w': prefix = optarg; break;
		default:
			fprintf(stderr, "usage: ibcollect [-l] [-n ITERS] [-r ROWS] [-s SEED] [-q] [-R READERS] [-w PREFIX] METHOD PID...\n");
			return 2;
		}
	}
	if (optind + 2 > argc || iters < 1 || readers < 0 || readers > 64) {
		fprintf(stderr, "usage: ibcollect [-l] [-n ITERS] [-r ROWS] [-s SEED] [-q] [-R READERS] [-w PREFIX] METHOD PID...\n");
		return 2;
	}
	for (size_t i = 0; i < ib_nmethods; i++)
		if (ib_methods[i] && strcmp(ib_methods[i]->name, argv[optind]) == 0)
			m = ib_methods[i];
	if (!m) {
		fprintf(stderr, "ibcollect: unknown method '%s' (ibcollect -l lists them)\n", argv[optind]);
		return 2;
	}
	if (o.sample_rows && m->sampling.how == IB_SAMPLING_NONE) {
		fprintf(stderr, "ibcollect: %s does not sample rows (-r)\n", m->name);
		return 2;
	}
	t.npids = argc - optind - 1;
	pids = calloc(t.npids, sizeof(*pids));
	times = calloc(iters, sizeof(*times));
	if (!pids || !times)
		goto out;
	for (uint32_t i = 0; i < t.npids; i++)
		pids[i] = atoi(argv[optind + 1 + i]);
	t.pids = pids;

	t0 = ib_now_ns();
	if (m->open && (ret = m->open(&state, &t, &o, &out)) < 0) {
		fprintf(stderr, "ibcollect: %s: open: %s%s\n", m->name,
			out.skip ? "skipped: " : "", out.err[0] ? out.err : strerror(-ret));
		ret = ret == -EOPNOTSUPP ? 77 : 1;
		goto out;
	}
	cold = ib_now_ns() - t0;
	if (readers > 0) {
		ret = run_readers(m, state, &t, &o, readers, iters, prefix);
		goto close;
	}
	for (int i = 0; i < iters; i++) {
		ib_out_reset(&out);
		t0 = ib_now_ns();
		ret = m->collect(state, &t, &o, &out);
		times[i] = ib_now_ns() - t0;
		if (ret < 0) {
			fprintf(stderr, "ibcollect: %s: collect: %s\n", m->name, out.err[0] ? out.err : strerror(-ret));
			ret = 1;
			goto close;
		}
	}
	{
		size_t counts[IB_NREC] = { 0 };

		counts[0] = quiet;
		print_records(&out, counts);
		if (prefix && write_answer(prefix, 0, out.buf, out.len)) {
			ret = 1;
			goto close;
		}
		qsort(times, iters, sizeof(*times), cmp_u64);
		printf("# %s: fd %zu epoll-items %zu rings %zu uring-files %zu uring-bufs %zu notes %zu "
		       "tables %zu registered-rings %zu\n",
		       m->name, counts[1], counts[2], counts[3], counts[4], counts[5], counts[6],
		       counts[IB_REC_TABLE], counts[IB_REC_URING_REG]);
		printf("# cold %.3f ms, collect min %.3f ms median %.3f ms (%d iters), calls %llu, bytes %zu\n",
		       cold / 1e6, times[0] / 1e6, times[iters / 2] / 1e6, iters,
		       (unsigned long long)out.calls, out.len);
		if (m->sampling.how != IB_SAMPLING_NONE)
			printf("# sample: rows %llu of %llu, calls %llu of %llu\n",
			       (unsigned long long)out.sample.rows, (unsigned long long)out.sample.rows_total,
			       (unsigned long long)out.sample.made, (unsigned long long)out.sample.total);
		printf("# stages ns: enumerate %llu metadata %llu identity %llu epoll %llu io_uring %llu\n",
		       (unsigned long long)out.stage_ns[0], (unsigned long long)out.stage_ns[1],
		       (unsigned long long)out.stage_ns[2], (unsigned long long)out.stage_ns[3],
		       (unsigned long long)out.stage_ns[4]);
	}
	ret = 0;
close:
	if (m->close)
		m->close(state);
out:
	free(out.buf);
	free(pids);
	free(times);
	return ret;
}
