// SPDX-License-Identifier: MIT
/*
 * iterbench-workload - create processes in a known file state, write the
 * ground truth (a JSON manifest, bench/manifest.ts) and wait to be measured.
 *
 * What it is for: iterbench freezes the tree this program builds and asks
 * every recovery method (procfs, kcmp, BPF iterators) for its descriptors,
 * epoll items and io_uring tables; the manifest says what the answer must be.
 * The manifest is built from the program's own actions and from fstat,
 * fcntl(F_GETFL) and lseek on its own descriptors, never from /proc.
 *
 * How to run it:
 *   make -C workloads O=$PWD/build/workloads
 *   build/workloads/iterbench-workload shared --files 1000 --manifest /tmp/m.json
 *   -> prints "ready <rootpid>" once the manifest is written and every task
 *      is in its final state; send "exit" (or EOF, or SIGTERM) to stop it.
 *
 * Sizes: --files N is the one knob; the others default from it:
 *   files     N descriptors in one task
 *   shared    K tasks (default 4, raised when one task would pass
 *             RLIMIT_NOFILE) holding N descriptors in total
 *   epoll     E = N items (at least 8) over 2 + E/2048 instances; the root
 *             plus one task holding the target of case (d)
 *   io_uring  U = N registered file slots, B = min(1024, N) buffers
 *   all       the shared tree with N files, plus in the root E = N/2 epoll
 *             items, U = N/2 registered files and B buffers
 * Regular files go to a private directory under $ITERBENCH_TMPDIR, else
 * /dev/shm (tmpfs), else $TMPDIR or /tmp, removed at exit.
 * Exit: 0 ok, 1 failure, 2 usage or size does not fit RLIMIT_NOFILE,
 * 77 io_uring unavailable.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <dirent.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common.h"

#define URING_TRANSIENT 260 /* a registration batch and its extra ends */
#define EPOLL_MIN_ITEMS 8
#define MAX_REG_BUFFERS 16384

static const char usage_text[] =
	"usage: iterbench-workload <files|shared|epoll|io_uring|all> --manifest PATH\n"
	"         [--files N] [--tasks K] [--buffers B] [--epoll-items E]\n"
	"         [--uring-files U] [--churn] [--check]\n"
	"  --files N        size knob (default 1000); other sizes default from it:\n"
	"  --tasks K        shared/all: tasks incl. the root (default 4; raised so no\n"
	"                   task holds more than RLIMIT_NOFILE - 300 descriptors)\n"
	"  --epoll-items E  epoll: N, all: N/2 (at least 8)\n"
	"  --uring-files U  io_uring: N, all: N/2 (at most RLIMIT_NOFILE)\n"
	"  --buffers B      io_uring/all: min(1024, N) registered buffers (max 16384)\n"
	"  --churn          after ready, keep changing the root's descriptors\n"
	"  --check          only validate the sizes against the limits (exit 0 or 2),\n"
	"                   create nothing; --manifest is not needed\n"
	"prints \"ready <rootpid>\" when the manifest is written; exits on \"exit\",\n"
	"EOF on stdin or SIGTERM. exit codes: 0 ok, 1 failure, 2 usage/limits,\n"
	"77 io_uring unavailable.\n";

static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see --help)\n", stderr);
	exit(2);
}

static long parse_num(const char *opt, const char *s, long min)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || s[0] == '+' || s[0] == ' ')
		usage_error("%s: not a number: '%s'", opt, s);
	if (v < min)
		usage_error("%s must be at least %ld, got %ld", opt, min, v);
	if (v > 100000000)
		usage_error("%s too large: %ld", opt, v);
	return v;
}

static void parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "manifest", required_argument, NULL, 'm' },
		{ "files", required_argument, NULL, 'n' },
		{ "tasks", required_argument, NULL, 'k' },
		{ "buffers", required_argument, NULL, 'b' },
		{ "epoll-items", required_argument, NULL, 'e' },
		{ "uring-files", required_argument, NULL, 'u' },
		{ "churn", no_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static const char *names[] = { "files", "shared", "epoll", "io_uring", "all" };
	int c, i;

	*o = (struct opts){ .files = 1000, .buffers = -1, .epoll_items = -1, .uring_files = -1 };
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(usage_text, stdout);
		exit(0);
	}
	if (argc < 2 || argv[1][0] == '-')
		usage_error("missing scenario (files, shared, epoll, io_uring or all)");
	for (i = 0; i < 5 && strcmp(argv[1], names[i]); i++)
		;
	if (i == 5)
		usage_error("unknown scenario '%s'", argv[1]);
	o->scenario = i;
	opterr = 0;
	optind = 2;
	while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		switch (c) {
		case 'm': o->manifest = optarg; break;
		case 'n': o->files = parse_num("--files", optarg, 1); break;
		case 'k': o->tasks = parse_num("--tasks", optarg, 1); break;
		case 'b': o->buffers = parse_num("--buffers", optarg, 0); break;
		case 'e': o->epoll_items = parse_num("--epoll-items", optarg, EPOLL_MIN_ITEMS); break;
		case 'u': o->uring_files = parse_num("--uring-files", optarg, 1); break;
		case 'c': o->churn = true; break;
		case 'C': o->check = true; break;
		case 'h': fputs(usage_text, stdout); exit(0);
		case ':': usage_error("option %s needs a value", argv[optind - 1]);
		default: usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (!o->check && (!o->manifest || !o->manifest[0]))
		usage_error("--manifest PATH is required");
	if (o->tasks > MAX_TASKS)
		usage_error("--tasks must be at most %d, got %ld", MAX_TASKS, o->tasks);
	if (o->scenario == SC_SHARED && o->tasks == 1)
		usage_error("shared needs at least 2 tasks");
}

static long ceil_div(long a, long b)
{
	return (a + b - 1) / b;
}

/*
 * Fill the plan for size n and return the most descriptors one task will
 * hold (margin excluded), or -1 when no number of tasks fits.
 */
static long fill(const struct opts *o, long n, long limit, struct plan *p)
{
	long cap = limit - FD_MARGIN, root = 0, child = 0, share;

	*p = (struct plan){ .scenario = o->scenario, .files = n, .tasks = 1 };
	p->epoll_items = o->epoll_items;
	p->uring_files = o->uring_files;
	p->buffers = o->buffers;
	/* sizes that do not apply to a scenario are 0 in the manifest */
	if (o->scenario == SC_FILES || o->scenario == SC_SHARED)
		p->epoll_items = p->uring_files = p->buffers = 0;
	else if (o->scenario == SC_EPOLL)
		p->uring_files = p->buffers = 0;
	else if (o->scenario == SC_URING)
		p->epoll_items = 0;
	switch (o->scenario) {
	case SC_FILES:
		return 3 + n;
	case SC_EPOLL:
		p->tasks = 2;
		if (p->epoll_items < 0)
			p->epoll_items = n > EPOLL_MIN_ITEMS ? n : EPOLL_MIN_ITEMS;
		p->epolls = 2 + p->epoll_items / 2048;
		return 3 + p->epolls + p->epoll_items + 8;
	case SC_URING:
		if (p->uring_files < 0)
			p->uring_files = n;
		if (p->buffers < 0)
			p->buffers = n < 1024 ? n : 1024;
		return 3 + 1 + p->uring_files / 4 + 1 + URING_TRANSIENT;
	case SC_SHARED:
	case SC_ALL:
		p->tasks = o->tasks ? o->tasks : 4;
		if (p->tasks < 2)
			p->tasks = 2;
		if (o->scenario == SC_ALL) {
			if (p->epoll_items < 0)
				p->epoll_items = n / 2 > EPOLL_MIN_ITEMS ? n / 2 : EPOLL_MIN_ITEMS;
			if (p->uring_files < 0)
				p->uring_files = n / 2 > 1 ? n / 2 : 1;
			if (p->buffers < 0)
				p->buffers = n < 1024 ? n : 1024;
			p->epolls = 2 + p->epoll_items / 2048;
		} else {
			p->epoll_items = p->uring_files = p->buffers = 0;
		}
		for (;;) {
			share = ceil_div(n, p->tasks) + 8;
			child = 3 + 2 + share + 1;
			root = child;
			if (o->scenario == SC_ALL)
				root += p->epolls + p->epoll_items + 8 +
					1 + p->uring_files / 4 + 1 + URING_TRANSIENT;
			if (child <= cap || p->tasks >= MAX_TASKS)
				break;
			p->tasks++;
		}
		p->per_task = share;
		return root > child ? root : child;
	}
	return -1;
}

static bool fits(const struct opts *o, long n, long limit, struct plan *p)
{
	long need = fill(o, n, limit, p);

	if (need < 0 || need + FD_MARGIN > limit)
		return false;
	if (p->uring_files > limit || p->buffers > MAX_REG_BUFFERS)
		return false;
	return true;
}

int plan_make(const struct opts *o, struct plan *p, long limit)
{
	struct plan q;
	long lo = 0, hi = 100000000;

	if (fits(o, o->files, limit, p))
		return 0;
	if (p->buffers > MAX_REG_BUFFERS) {
		fprintf(stderr, "%s: %ld registered buffers requested, io_uring takes at most %d\n",
			prog, p->buffers, MAX_REG_BUFFERS);
		return 2;
	}
	while (lo < hi) { /* largest n that fits (fits() is monotonic in n) */
		long mid = lo + (hi - lo + 1) / 2;

		if (fits(o, mid, limit, &q))
			lo = mid;
		else
			hi = mid - 1;
	}
	if (lo > 0)
		fprintf(stderr, "%s: --files %ld does not fit RLIMIT_NOFILE %ld (one task holds < %ld "
			"descriptors%s): the largest N that fits is %ld\n", prog, o->files, limit,
			limit - FD_MARGIN,
			p->uring_files > limit ? "; io_uring_register_files is bounded by it too" : "",
			lo);
	else
		fprintf(stderr, "%s: these sizes do not fit RLIMIT_NOFILE %ld for any N (one task holds "
			"< %ld descriptors; io_uring_register_files is bounded by it too)\n",
			prog, limit, limit - FD_MARGIN);
	return 2;
}

/*
 * A generator killed by SIGKILL cannot remove its directory: remove those
 * whose generator (the pid in the name) is gone.
 */
static void remove_stale_dirs(const char *base)
{
	char path[PATH_MAX + 300];
	struct dirent *de;
	DIR *d = opendir(base);

	if (!d)
		return;
	while ((de = readdir(d))) {
		int pid;

		if (sscanf(de->d_name, "iterbench-wl-%d-", &pid) != 1 || pid <= 0)
			continue;
		if (kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(path, sizeof(path), "%s/%s", base, de->d_name);
		remove_tree(path);
	}
	closedir(d);
}

/*
 * The manifest is written after the whole tree is built: check at once that
 * its directory takes a new file, so a bad path costs nothing.
 */
static int manifest_dir_check(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int len;

	if (!slash)
		len = snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		len = snprintf(dir, sizeof(dir), "/");
	else
		len = snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if (len < 0 || len >= (int)sizeof(dir) || access(dir, W_OK | X_OK) < 0) {
		fprintf(stderr, "%s: cannot write the manifest %s: %s\n", prog, path,
			len < 0 || len >= (int)sizeof(dir) ? strerror(ENAMETOOLONG) : strerror(errno));
		return 2;
	}
	return 0;
}

/*
 * --check: the same plan as a real run (the same raised descriptor limit),
 * nothing created. Lets a harness reject a size before it starts anything.
 */
static int check_only(const struct opts *o)
{
	struct rlimit rl;
	struct plan p;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
		fprintf(stderr, "%s: getrlimit: %s\n", prog, strerror(errno));
		return 1;
	}
	if (rl.rlim_cur < rl.rlim_max) { /* lifecycle_init() raises it like this */
		struct rlimit up = { rl.rlim_max, rl.rlim_max };

		if (setrlimit(RLIMIT_NOFILE, &up) == 0)
			rl = up;
	}
	if (rl.rlim_cur > 1 << 20)
		rl.rlim_cur = 1 << 20;
	return plan_make(o, &p, (long)rl.rlim_cur);
}

int main(int argc, char **argv)
{
	struct rlimit rl;
	struct opts o;
	struct plan p;
	const char *tmp;
	int ret;

	parse(argc, argv, &o);
	if (o.check)
		return check_only(&o);
	ret = manifest_dir_check(o.manifest);
	if (ret)
		return ret;
	lifecycle_init();
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
		fprintf(stderr, "%s: getrlimit: %s\n", prog, strerror(errno));
		return 1;
	}
	if (rl.rlim_cur > 1 << 20)
		rl.rlim_cur = 1 << 20;
	ret = plan_make(&o, &p, (long)rl.rlim_cur);
	if (ret)
		return ret;
	if (o.scenario == SC_URING || o.scenario == SC_ALL) {
		ret = uring_probe();
		if (ret)
			return ret;
	}
	ret = arena_init(p.tasks * (long)rl.rlim_cur + p.uring_files + 2 * p.epoll_items + 1024,
			 (long)rl.rlim_cur);
	if (ret) {
		fprintf(stderr, "%s: model arena: %s\n", prog, strerror(-ret));
		return 1;
	}
	/* regular files live in memory when possible: creating thousands of
	 * inodes on a disk filesystem costs seconds */
	tmp = getenv("ITERBENCH_TMPDIR");
	if (!tmp || !tmp[0])
		tmp = access("/dev/shm", W_OK | X_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
	if (!tmp || !tmp[0])
		tmp = "/tmp";
	remove_stale_dirs(tmp);
	snprintf(tmpdir, sizeof(tmpdir), "%s/iterbench-wl-%d-XXXXXX", tmp, (int)getpid());
	if (!mkdtemp(tmpdir)) {
		fprintf(stderr, "%s: mkdtemp %s: %s\n", prog, tmpdir, strerror(errno));
		tmpdir[0] = 0;
		return 1;
	}
	self = task_new("root", NULL);
	self->pid = getpid();
	for (int fd = 0; fd < 3; fd++)
		file_new(fd, -1, NULL, "inherited from the harness");

	switch (o.scenario) {
	case SC_FILES:
		build_mix(p.files, 0);
		break;
	case SC_SHARED:
		shared_build(&p, false);
		break;
	case SC_EPOLL:
		epoll_pre_fork(&p);
		if (fork_task("holder", NULL) == 0) {
			epoll_post_fork_child();
			child_done();
		}
		epoll_build(&p, p.epoll_items);
		break;
	case SC_URING:
		uring_build(&p);
		break;
	case SC_ALL:
		shared_build(&p, true);
		break;
	}
	if (wait_children(60) < 0) {
		cleanup_tree();
		return 1;
	}
	ret = manifest_write(&p, o.manifest);
	if (ret < 0) {
		fprintf(stderr, "%s: write manifest %s: %s\n", prog, o.manifest, strerror(-ret));
		cleanup_tree();
		return 1;
	}
	ret = serve(&p, o.churn);
	cleanup_tree();
	return ret < 0 ? 1 : 0;
}
