/* SPDX-License-Identifier: MIT */
/*
 * ibcollect - run one recovery method on some pids and print its records.
 * A debugging aid for collector authors; the bench uses the N-API addon.
 *
 *   ibcollect -l                       list methods: descriptor and coverage
 *   ibcollect [-n ITERS] [-r ROWS] [-s SEED] [-q] METHOD PID...
 *       -n  collect ITERS times and print min/median time (default 1)
 *       -r  sampling methods: compare ROWS random rows with all others
 *       -s  the seed of the row sample (default 1)
 *       -q  do not print the records, only counts and times
 */
#include <errno.h>
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
	int iters = 1, quiet = 0, c, ret = 1;
	void *state = NULL;

	o.sample_seed = 1;
	while ((c = getopt(argc, argv, "ln:r:s:q")) != -1) {
		switch (c) {
		case 'l':
			list_methods();
			return 0;
		case 'n': iters = atoi(optarg); break;
		case 'r': o.sample_rows = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 's': o.sample_seed = strtoull(optarg, NULL, 0); break;
		case 'q': quiet = 1; break;
		default:
			fprintf(stderr, "usage: ibcollect [-l] [-n ITERS] [-r ROWS] [-s SEED] [-q] METHOD PID...\n");
			return 2;
		}
	}
	if (optind + 2 > argc || iters < 1) {
		fprintf(stderr, "usage: ibcollect [-l] [-n ITERS] [-r ROWS] [-s SEED] [-q] METHOD PID...\n");
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
