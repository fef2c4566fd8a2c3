// SPDX-License-Identifier: MIT
/*
 * iterbench-idle - M idle processes that have nothing to do with any
 * workload: the "other tasks of the machine" a whole-system pass
 * (bpf-task-file-sys) walks and a pid- or cgroup-scoped one does not.
 * The harness starts it for `npm run bench -- --idle-tasks M`.
 *
 *   build/workloads/iterbench-idle M [F]
 *
 * Forks M children; each holds descriptors 0, 1, 2 (/dev/null) and F more
 * (dups of /dev/null, default 0), and waits in pause(). Prints
 * "ready <pid> <pid>..." (the children) when all are up; on EOF or "exit"
 * on stdin, SIGTERM or its parent's death, it kills and reaps them and
 * exits. Every child dies with this process (parent-death signal), so no
 * idle task outlives the harness. Exit codes: 0 ok, 1 failure, 2 usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_IDLE 32768
#define MAX_EXTRA 1024

static pid_t *kids;
static long nkids;

static void kill_all(void)
{
	for (long i = 0; i < nkids; i++)
		kill(kids[i], SIGKILL);
	for (long i = 0; i < nkids; i++)
		while (waitpid(kids[i], NULL, 0) < 0 && errno == EINTR)
			;
	nkids = 0;
}

static void on_term(int sig)
{
	(void)sig;
	for (long i = 0; i < nkids; i++)
		kill(kids[i], SIGKILL);
	_exit(1);
}

static long arg(const char *s, long max, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 0 || v > max) {
		fprintf(stderr, "iterbench-idle: %s must be a whole number from 0 to %ld, not '%s'\n",
			what, max, s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	long m, extra = 0, i;
	char line[64];
	int null = -1, done[2] = { -1, -1 };
	pid_t self = getpid();

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: iterbench-idle M [F]\n");
		return 2;
	}
	m = arg(argv[1], MAX_IDLE, "M");
	if (argc == 3)
		extra = arg(argv[2], MAX_EXTRA, "F");
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0) {
		fprintf(stderr, "iterbench-idle: prctl(PR_SET_PDEATHSIG): %s\n", strerror(errno));
		return 1;
	}
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	kids = calloc(m ? m : 1, sizeof(*kids));
	if (!kids) {
		fprintf(stderr, "iterbench-idle: out of memory\n");
		return 1;
	}
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0) {
		fprintf(stderr, "iterbench-idle: open /dev/null: %s\n", strerror(errno));
		return 1;
	}
	/* every child closes its copy of done[1] when its descriptors are
	 * set: EOF on done[0] says all are */
	if (pipe2(done, O_CLOEXEC) < 0) {
		fprintf(stderr, "iterbench-idle: pipe: %s\n", strerror(errno));
		return 1;
	}
	fflush(stdout);
	for (i = 0; i < m; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			fprintf(stderr, "iterbench-idle: fork (child %ld of %ld): %s\n", i + 1, m,
				strerror(errno));
			kill_all();
			return 1;
		}
		if (pid == 0) {
			if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != self)
				_exit(1);
			signal(SIGTERM, SIG_DFL);
			signal(SIGINT, SIG_DFL);
			/* exactly 0, 1, 2 and F more */
			if (dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
				_exit(1);
			/* nothing else the parent had but done[1] (closed last) */
			if ((done[1] > 3 && syscall(SYS_close_range, 3, done[1] - 1, 0) < 0) ||
			    syscall(SYS_close_range, done[1] + 1, ~0u, 0) < 0)
				_exit(1);
			for (long f = 0; f < extra; f++)
				if (fcntl(0, F_DUPFD, 3) < 0)
					_exit(1);
			close(done[1]);
			for (;;)
				pause();
		}
		kids[nkids++] = pid;
	}
	close(done[1]);
	while (read(done[0], line, sizeof(line)) < 0 && errno == EINTR)
		;
	close(done[0]);
	printf("ready");
	for (i = 0; i < nkids; i++)
		printf(" %d", (int)kids[i]);
	printf("\n");
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin))
		if (strncmp(line, "exit", 4) == 0)
			break;
	kill_all();
	return 0;
}
