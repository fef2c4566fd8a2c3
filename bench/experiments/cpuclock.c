/* SPDX-License-Identifier: MIT */
/*
 * cpuclock - where a collect's wall time goes (issue 15). Opens one or more
 * units (a method on a set of pids), then runs rounds: every unit once per
 * round in a random order (seeded), -k collects per visit, and prints one
 * line per collect:
 *
 *   round unit wall_ns cpu_ns delay_ns slices nvcsw nivcsw prog_ns prog_cnt i
 *
 *   i       the collect's place in its visit (0: the first, on caches the
 *           other units just used)
 *
 *   wall    CLOCK_MONOTONIC around the method's collect (as addon block())
 *   cpu     CLOCK_THREAD_CPUTIME_ID over the same span: the thread's own
 *           run time, user and kernel (the iterator runs in this thread)
 *   delay   run-queue wait over the span (/proc/thread-self/schedstat
 *           field 2, read just outside it: the kernel adds a wait when the
 *           thread gets a CPU back, so it is exact once we run again)
 *   slices  times the thread was put on a CPU in the span (schedstat 3)
 *   nvcsw / nivcsw  voluntary (it slept) / involuntary (preempted) switches
 *           (getrusage RUSAGE_THREAD)
 *   prog_ns / prog_cnt  with -b: the unit's BPF program run time and runs
 *           in the span (run_time_ns / run_cnt of its prog fd's fdinfo;
 *           needs kernel.bpf_stats_enabled=1, which the caller sets)
 * and per round a line "#round R load1 L psi_some_us P": the load average
 * and /proc/pressure/cpu's total at the round's start.
 *
 * -P sets this process's scheduling before it opens anything (only this
 * process, only while it runs):
 *   fifo     SCHED_FIFO priority 1 (no CFS task preempts it; RT throttling
 *            still leaves others 5 %)
 *   ag:N     a session of its own (setsid) whose autogroup gets nice N
 *            (/proc/self/autogroup): CFS weight against other sessions
 *   nice:N   setpriority: weight against tasks of its own session only
 *
 * So wall = cpu + delay + sleep (+ host steal, which this guest reports as
 * ~0): it says whether a slow collect did more work, waited for a CPU, or
 * slept. No Node, no V8: the same walk without the harness around it.
 * Answers are not verified here (the bench and drift.ts verify the same
 * methods on the same kind of instances).
 *
 * Build: make -C bench/experiments     (needs build/native from bench/setup.sh)
 * Run:   build/experiments/cpuclock [-r ROUNDS] [-k PER] [-s SEED] [-b] [-P POLICY] \
 *            METHOD:PID[,PID...] [METHOD:PID,...]...
 * e.g. the four tasks of a frozen `all` workload:
 *        build/experiments/cpuclock -r 20 bpf-all:$P1,$P2,$P3,$P4 floor-walk:$P1,$P2,$P3,$P4
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sched.h>
#include <sys/resource.h>
#include "method.h"

#define MAX_UNITS 64

struct unit {
	int prog_fd; /* its BPF program (-b), or -1 */
	const struct ib_method *m;
	void *state;
	struct ib_target t;
	struct ib_out out;
	char name[64];
};

static uint64_t clk(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* run time, run-queue wait, slices (the first is not used: tick-granular) */
static int schedstat(uint64_t v[3])
{
	char buf[128];
	ssize_t n;
	int fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	return sscanf(buf, "%lu %lu %lu", &v[0], &v[1], &v[2]) == 3 ? 0 : -EPROTO;
}

/* run_time_ns and run_cnt of a BPF program fd (0 when unknown) */
static void prog_stats(int fd, uint64_t v[2])
{
	char path[64], buf[1024], *p;
	ssize_t n;
	int f;

	v[0] = v[1] = 0;
	if (fd < 0)
		return;
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return;
	n = read(f, buf, sizeof(buf) - 1);
	close(f);
	if (n <= 0)
		return;
	buf[n] = '\0';
	if ((p = strstr(buf, "run_time_ns:")))
		v[0] = strtoull(p + 12, NULL, 10);
	if ((p = strstr(buf, "run_cnt:")))
		v[1] = strtoull(p + 8, NULL, 10);
}

/* the highest-numbered bpf-prog fd of this process: the one open() just loaded */
static int newest_prog_fd(void)
{
	char path[64], link[64];
	int best = -1;

	for (int fd = 3; fd < 4096; fd++) {
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (strcmp(link, "anon_inode:bpf-prog") == 0)
			best = fd;
	}
	return best;
}

static void round_probe(int r)
{
	char buf[256];
	double load = 0;
	unsigned long long psi = 0;
	char *p;
	FILE *f;

	if ((f = fopen("/proc/loadavg", "r"))) {
		if (fscanf(f, "%lf", &load) != 1)
			load = 0;
		fclose(f);
	}
	if ((f = fopen("/proc/pressure/cpu", "r"))) {
		if (fgets(buf, sizeof(buf), f) && (p = strstr(buf, "total=")))
			psi = strtoull(p + 6, NULL, 10);
		fclose(f);
	}
	printf("#round %d load1 %.2f psi_some_us %llu\n", r, load, psi);
}

static int set_policy(const char *p)
{
	if (strcmp(p, "fifo") == 0) {
		struct sched_param sp = { .sched_priority = 1 };

		if (sched_setscheduler(0, SCHED_FIFO, &sp) < 0)
			return -errno;
	} else if (strncmp(p, "ag:", 3) == 0) {
		FILE *f;

		if (setsid() < 0)
			return -errno;
		f = fopen("/proc/self/autogroup", "w");
		if (!f)
			return -errno;
		fprintf(f, "%d", atoi(p + 3));
		if (fclose(f) != 0)
			return -errno;
	} else if (strncmp(p, "nice:", 5) == 0) {
		if (setpriority(PRIO_PROCESS, 0, atoi(p + 5)) < 0)
			return -errno;
	} else if (strcmp(p, "normal") != 0) {
		return -EINVAL;
	}
	return 0;
}

static uint64_t rng_state;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 11);
}

static int open_unit(struct unit *u, const char *spec)
{
	char buf[1024], *colon, *tok, *save = NULL;
	int32_t *pids;
	uint32_t n = 0;
	int ret;

	snprintf(buf, sizeof(buf), "%s", spec);
	colon = strchr(buf, ':');
	if (!colon)
		return -EINVAL;
	*colon = '\0';
	for (size_t i = 0; i < ib_nmethods; i++)
		if (ib_methods[i] && strcmp(ib_methods[i]->name, buf) == 0)
			u->m = ib_methods[i];
	if (!u->m) {
		fprintf(stderr, "cpuclock: unknown method '%s'\n", buf);
		return -EINVAL;
	}
	pids = calloc(64, sizeof(*pids));
	if (!pids)
		return -ENOMEM;
	for (tok = strtok_r(colon + 1, ",", &save); tok && n < 64; tok = strtok_r(NULL, ",", &save))
		pids[n++] = atoi(tok);
	u->t.pids = pids;
	u->t.npids = n;
	snprintf(u->name, sizeof(u->name), "%s", spec);
	if (u->m->open && (ret = u->m->open(&u->state, &u->t, NULL, &u->out)) < 0) {
		fprintf(stderr, "cpuclock: %s: open: %s\n", u->m->name,
			u->out.err[0] ? u->out.err : strerror(-ret));
		return ret;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct unit units[MAX_UNITS];
	int rounds = 20, per = 5, nunits = 0, order[MAX_UNITS], opt, ret = 1, stats = 0;
	unsigned long seed = 1;

	memset(units, 0, sizeof(units));
	while ((opt = getopt(argc, argv, "r:k:s:bP:")) != -1) {
		switch (opt) {
		case 'P':
			if ((ret = set_policy(optarg)) < 0) {
				fprintf(stderr, "cpuclock: -P %s: %s\n", optarg, strerror(-ret));
				return 1;
			}
			ret = 1;
			break;
		case 'b': stats = 1; break;
		case 'r': rounds = atoi(optarg); break;
		case 'k': per = atoi(optarg); break;
		case 's': seed = strtoul(optarg, NULL, 0); break;
		default:
			fprintf(stderr, "usage: cpuclock [-r ROUNDS] [-k PER] [-s SEED] [-b] [-P fifo|ag:N|nice:N] METHOD:PID[,PID...]...\n");
			return 2;
		}
	}
	if (optind >= argc || argc - optind > MAX_UNITS) {
		fprintf(stderr, "usage: cpuclock [-r ROUNDS] [-k PER] [-s SEED] [-b] [-P fifo|ag:N|nice:N] METHOD:PID[,PID...]...\n");
		return 2;
	}
	rng_state = seed * 0x9e3779b97f4a7c15ull | 1;
	for (int i = optind; i < argc; i++) {
		int before = stats ? newest_prog_fd() : -1;

		units[nunits].prog_fd = -1;
		if (open_unit(&units[nunits], argv[i]) < 0)
			goto out;
		if (stats && newest_prog_fd() != before)
			units[nunits].prog_fd = newest_prog_fd();
		nunits++;
	}
	printf("round\tunit\twall_ns\tcpu_ns\tdelay_ns\tslices\tnvcsw\tnivcsw\tprog_ns\tprog_cnt\ti\n");
	for (int r = 0; r < rounds; r++) {
		round_probe(r);
		for (int i = 0; i < nunits; i++)
			order[i] = i;
		for (int i = nunits - 1; i > 0; i--) {
			int j = rnd() % (i + 1), t = order[i];

			order[i] = order[j];
			order[j] = t;
		}
		for (int i = 0; i < nunits; i++) {
			struct unit *u = &units[order[i]];

			for (int k = 0; k < per; k++) {
				uint64_t s0[3], s1[3], p0[2], p1[2], w0, w1, c0, c1;
				struct rusage r0, r1;

				prog_stats(u->prog_fd, p0);
				if (schedstat(s0) < 0 || getrusage(RUSAGE_THREAD, &r0) < 0)
					goto out;
				ib_out_reset(&u->out);
				c0 = clk(CLOCK_THREAD_CPUTIME_ID);
				w0 = clk(CLOCK_MONOTONIC);
				ret = u->m->collect(u->state, &u->t, NULL, &u->out);
				w1 = clk(CLOCK_MONOTONIC);
				c1 = clk(CLOCK_THREAD_CPUTIME_ID);
				if (schedstat(s1) < 0 || getrusage(RUSAGE_THREAD, &r1) < 0)
					goto out;
				prog_stats(u->prog_fd, p1);
				if (ret < 0) {
					fprintf(stderr, "cpuclock: %s: collect: %s\n", u->name,
						u->out.err[0] ? u->out.err : strerror(-ret));
					ret = 1;
					goto out;
				}
				printf("%d\t%s\t%lu\t%lu\t%lu\t%lu\t%ld\t%ld\t%lu\t%lu\t%d\n", r, u->name, w1 - w0,
				       c1 - c0, s1[1] - s0[1], s1[2] - s0[2], r1.ru_nvcsw - r0.ru_nvcsw,
				       r1.ru_nivcsw - r0.ru_nivcsw, p1[0] - p0[0], p1[1] - p0[1], k);
			}
		}
		fflush(stdout);
	}
	ret = 0;
out:
	for (int i = 0; i < nunits; i++) {
		if (units[i].m && units[i].m->close && units[i].state)
			units[i].m->close(units[i].state);
		free(units[i].out.buf);
		free((void *)units[i].t.pids);
	}
	return ret;
}
