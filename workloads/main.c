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
 *   build/workloads/iterbench-workload --list        (the scenarios, as JSON)
 *   build/workloads/iterbench-workload shared --files 1000 --manifest /tmp/m.json
 *   -> prints "ready <rootpid>" once the manifest is written and every task
 *      is in its final state; send "exit" (or EOF, or SIGTERM) to stop it.
 *
 * This file is generic: options, the limits check, --list and the life
 * cycle. What a scenario builds is in scenarios/<name>.c (one descriptor
 * each, listed in scenarios/list.h).
 * Exit: 0 ok, 1 failure, 2 usage, a size that does not fit RLIMIT_NOFILE or
 * a scenario with no --criu-compatible variant, 77 a kernel feature is
 * missing (io_uring).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "lifecycle.h"
#include "manifest.h"
#include "model.h"
#include "scenario.h"
#include "tasks.h"
#include "makers.h"
#include "parts/parts.h"

#define MAX_SIZE 100000000L /* the largest value any size option takes */

static const char usage_head[] =
	"usage: iterbench-workload <scenario> --manifest PATH\n"
	"         [--files N] [--tasks K] [--buffers B] [--epoll-items E]\n"
	"         [--uring-files U] [--criu-compatible] [--churn] [--check]\n"
	"       iterbench-workload --list [size options]\n";
static const char usage_opts[] =
	"  --files N        size knob (default 1000); other sizes default from it:\n"
	"  --tasks K        scenarios that spread over tasks: tasks incl. the root\n"
	"                   (shared/all: default 4, raised so no task holds more than\n"
	"                   RLIMIT_NOFILE - 300 descriptors)\n"
	"  --epoll-items E  epoll: N, all: N/2 (at least 8)\n"
	"  --uring-files U  io_uring: N, all: N/2 (at most RLIMIT_NOFILE per ring)\n"
	"  --buffers B      io_uring/all: min(1024, N) registered buffers (max 16384)\n"
	"  --criu-compatible  make nothing CRIU 4.2 refuses to dump (no O_DIRECT pipes,\n"
	"                   no io_uring); the manifest's cases say what was left out\n"
	"  --churn          after ready, keep changing the root's descriptors\n"
	"  --check          only validate the sizes against the limits (exit 0 or 2),\n"
	"                   create nothing; --manifest is not needed\n"
	"  --list           print the scenarios as JSON (name, summary, hard cases,\n"
	"                   needs, largest N that fits here) and exit\n"
	"prints \"ready <rootpid>\" when the manifest is written; exits on \"exit\",\n"
	"EOF on stdin or SIGTERM. exit codes: 0 ok, 1 failure, 2 usage/limits,\n"
	"77 a kernel feature is missing (io_uring).\n";

static void print_usage(FILE *f)
{
	fputs(usage_head, f);
	fputs("scenarios:\n", f);
	for (int i = 0; scenarios[i]; i++)
		fprintf(f, "  %-14s %s\n", scenarios[i]->name, scenarios[i]->summary);
	fputs(usage_opts, f);
}

/* "files, shared, epoll, io_uring or all" */
static const char *scenario_names(void)
{
	static char buf[1024];
	size_t len = 0;

	for (int i = 0; scenarios[i] && len < sizeof(buf); i++)
		len += snprintf(buf + len, sizeof(buf) - len, "%s%s", scenarios[i]->name,
				!scenarios[i + 1] ? "" : !scenarios[i + 2] ? " or " : ", ");
	return buf;
}

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
	if (v > MAX_SIZE)
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
		{ "criu-compatible", no_argument, NULL, 'R' },
		{ "check", no_argument, NULL, 'C' },
		{ "list", no_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const struct scenario *sc;
	int c;

	*o = (struct opts){ .files = 1000, .buffers = -1, .epoll_items = -1, .uring_files = -1 };
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		print_usage(stdout);
		exit(0);
	}
	optind = 1;
	if (argc >= 2 && argv[1][0] != '-') {
		o->sc = scenario_find(argv[1]);
		if (!o->sc)
			usage_error("unknown scenario '%s' (%s)", argv[1], scenario_names());
		optind = 2;
	}
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		switch (c) {
		case 'm': o->manifest = optarg; break;
		case 'n': o->files = parse_num("--files", optarg, 1); break;
		case 'k': o->tasks = parse_num("--tasks", optarg, 1); break;
		case 'b': o->buffers = parse_num("--buffers", optarg, 0); break;
		case 'e': o->epoll_items = parse_num("--epoll-items", optarg, EPOLL_MIN_ITEMS); break;
		case 'u': o->uring_files = parse_num("--uring-files", optarg, 1); break;
		case 'c': o->churn = true; break;
		case 'R': o->criu = true; break;
		case 'C': o->check = true; break;
		case 'L': o->list = true; break;
		case 'h': print_usage(stdout); exit(0);
		case ':': usage_error("option %s needs a value", argv[optind - 1]);
		default: usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (o->list)
		return;
	if (!o->sc)
		usage_error("missing scenario (%s)", scenario_names());
	sc = o->sc;
	if (!o->check && (!o->manifest || !o->manifest[0]))
		usage_error("--manifest PATH is required");
	if (o->tasks > MAX_TASKS)
		usage_error("--tasks must be at most %d, got %ld", MAX_TASKS, o->tasks);
	if (o->tasks && sc->max_tasks && o->tasks > sc->max_tasks)
		usage_error("%s takes at most %ld tasks, got %ld", sc->name, sc->max_tasks, o->tasks);
	if (o->tasks && o->tasks < sc->min_tasks)
		usage_error("%s needs at least %ld tasks", sc->name, sc->min_tasks);
	if (o->criu && sc->no_criu)
		usage_error("%s has no CRIU-compatible variant: %s", sc->name, sc->no_criu);
	if (sc->check) {
		const char *why = sc->check(o);

		if (why)
			usage_error("%s", why);
	}
}

/*
 * Why size n does not fit a task limit of `limit` descriptors (a static
 * string), or NULL when it fits; p is filled either way.
 */
static const char *misfit(const struct opts *o, long n, long limit, struct plan *p)
{
	long need;

	*p = (struct plan){
		.sc = o->sc, .files = n, .tasks = 1, .buffers = o->buffers,
		.epoll_items = o->epoll_items, .uring_files = o->uring_files, .criu = o->criu,
	};
	need = o->sc->plan(o, n, limit - FD_MARGIN, p);
	if (p->buffers > MAX_REG_BUFFERS)
		return "too many registered buffers";
	if (p->ring_files_max > limit)
		return "one io_uring instance would register more files than RLIMIT_NOFILE";
	if (need < 0)
		return o->sc->spreads ? "one of its tasks would hold too many descriptors (--tasks spreads them)"
				      : "the scenario cannot hold it";
	if (need + FD_MARGIN > limit)
		return "one task would hold too many descriptors";
	return NULL;
}

/* The largest n that fits (misfit() is monotonic in n), 0 when none does. */
static long largest_fit(const struct opts *o, long limit)
{
	struct plan q;
	long lo = 0, hi = MAX_SIZE;

	while (lo < hi) {
		long mid = lo + (hi - lo + 1) / 2;

		if (!misfit(o, mid, limit, &q))
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

static int plan_make(const struct opts *o, struct plan *p, long limit)
{
	long lo;

	if (!misfit(o, o->files, limit, p))
		return 0;
	if (p->buffers > MAX_REG_BUFFERS) {
		fprintf(stderr, "%s: %ld registered buffers requested, io_uring takes at most %d\n",
			prog, p->buffers, MAX_REG_BUFFERS);
		return 2;
	}
	lo = largest_fit(o, limit);
	if (lo > 0)
		fprintf(stderr, "%s: --files %ld does not fit RLIMIT_NOFILE %ld (one task holds < %ld "
			"descriptors%s): the largest N that fits is %ld\n", prog, o->files, limit,
			limit - FD_MARGIN,
			p->ring_files_max > limit ? "; io_uring_register_files is bounded by it too" : "",
			lo);
	else
		fprintf(stderr, "%s: these sizes do not fit RLIMIT_NOFILE %ld for any N (one task holds "
			"< %ld descriptors; io_uring_register_files is bounded by it too)\n",
			prog, limit, limit - FD_MARGIN);
	return 2;
}

/*
 * The descriptor limit a run gets: lifecycle_init() raises the soft limit
 * to the hard one, --check and --list assume the same.
 */
static long fd_limit(bool raise)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
		fprintf(stderr, "%s: getrlimit: %s\n", prog, strerror(errno));
		exit(1);
	}
	if (raise && rl.rlim_cur < rl.rlim_max) {
		struct rlimit up = { rl.rlim_max, rl.rlim_max };

		if (setrlimit(RLIMIT_NOFILE, &up) == 0)
			rl = up;
	}
	if (rl.rlim_cur > 1 << 20)
		rl.rlim_cur = 1 << 20;
	return (long)rl.rlim_cur;
}

/* --list: every scenario as JSON, with the largest N that fits this limit. */
static int list_json(const struct opts *given)
{
	long limit = fd_limit(true);
	int shown = 0;

	printf("{\"rlimitNofile\":%ld,\"fdMargin\":%d,\"maxTasks\":%d,\"maxSize\":%ld,\"scenarios\":[",
	       limit, FD_MARGIN, MAX_TASKS, MAX_SIZE);
	for (int i = 0; scenarios[i]; i++) {
		const struct scenario *sc = scenarios[i];
		struct opts o = *given;
		struct plan q;
		const char *why;
		bool first = true;
		long max;

		o.sc = sc;
		if (given->sc && given->sc != sc)
			continue;
		printf("%s{\"name\":", shown++ ? "," : "");
		json_str(stdout, sc->name);
		fputs(",\"summary\":", stdout);
		json_str(stdout, sc->summary);
		fputs(",\"hardCases\":[", stdout);
		for (int l = 0; sc->cases && sc->cases[l]; l++)
			for (int k = 0; sc->cases[l][k]; k++) {
				bool dup = false;

				/* a case listed by two parts is printed once */
				for (int l2 = 0; l2 <= l && !dup; l2++)
					for (int k2 = 0; sc->cases[l2][k2] && !(l2 == l && k2 >= k); k2++)
						dup |= !strcmp(sc->cases[l2][k2], sc->cases[l][k]);
				if (dup)
					continue;
				if (!first)
					putchar(',');
				json_str(stdout, sc->cases[l][k]);
				first = false;
			}
		printf("],\"spreadsOverTasks\":%s,\"minTasks\":%ld,\"maxTasks\":%ld,\"needs\":[%s],"
		       "\"defaultRun\":%s,\"reference\":%s,", sc->spreads ? "true" : "false", sc->min_tasks,
		       sc->max_tasks ? sc->max_tasks : (long)MAX_TASKS,
		       sc->needs & NEEDS_IO_URING ? "\"io_uring\"" : "",
		       sc->default_run ? "true" : "false", sc->reference ? "true" : "false");
		fputs("\"criu\":{", stdout);
		if (sc->no_criu) {
			fputs("\"compatible\":false,\"reason\":", stdout);
			json_str(stdout, sc->no_criu);
		} else {
			fputs("\"compatible\":true,\"leftOut\":[", stdout);
			for (int k = 0; sc->criu_left_out && sc->criu_left_out[k]; k++) {
				if (k)
					putchar(',');
				json_str(stdout, sc->criu_left_out[k]);
			}
			putchar(']');
		}
		fputs("},", stdout);
		max = largest_fit(&o, limit);
		why = max < MAX_SIZE ? misfit(&o, max + 1, limit, &q) : NULL;
		printf("\"maxFiles\":%ld,\"maxFilesReason\":", max);
		if (why) {
			char buf[512];

			snprintf(buf, sizeof(buf), "%s at --files %ld (RLIMIT_NOFILE %ld: one task "
				 "holds < %ld descriptors)", why, max + 1, limit, limit - FD_MARGIN);
			json_str(stdout, buf);
		} else {
			fputs("\"every size --files takes fits\"", stdout);
		}
		putchar('}');
	}
	puts("]}");
	return fflush(stdout) ? 1 : 0;
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

int main(int argc, char **argv)
{
	struct opts o;
	struct plan p;
	long limit;
	int ret;

	parse(argc, argv, &o);
	if (o.list)
		return list_json(&o);
	if (o.check) /* the same plan as a real run, nothing created */
		return plan_make(&o, &p, fd_limit(true));
	ret = manifest_dir_check(o.manifest);
	if (ret)
		return ret;
	lifecycle_init();
	limit = fd_limit(false);
	ret = plan_make(&o, &p, limit);
	if (ret)
		return ret;
	criu_compat = o.criu;
	if ((o.sc->needs & NEEDS_IO_URING) && p.uring_files > 0) {
		ret = uring_probe();
		if (ret)
			return ret;
	}
	ret = arena_init(2 * p.files + 2 * p.epoll_items + 3 * p.uring_files + 8 * p.tasks + 4096,
			 p.tasks + 16, limit);
	if (ret) {
		fprintf(stderr, "%s: model arena: %s\n", prog, strerror(-ret));
		return 1;
	}
	if (tmpdir_init())
		return 1;
	self = task_new("root", NULL, false);
	self->pid = getpid();
	self->table->owner = self->pid;
	for (int fd = 0; fd < 3; fd++)
		file_new(fd, -1, NULL, "inherited from the harness");

	o.sc->build(&p);

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
	ret = serve(o.churn);
	cleanup_tree();
	return ret < 0 ? 1 : 0;
}
