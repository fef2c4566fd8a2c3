// SPDX-License-Identifier: MIT
/*
 * lifecycle.c - set-up, serving and clean-up of a workload (lifecycle.h).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lifecycle.h"
#include "model.h"
#include "tasks.h"

char tmpdir[4096];
static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/*
 * Arm the death signal, close everything the harness left open beyond
 * 0/1/2 (so the state is exactly known), block the stop signals (they are
 * taken in serve()'s ppoll only) and take the whole descriptor limit.
 */
void lifecycle_init(void)
{
	struct sigaction sa = { .sa_handler = on_stop };
	struct rlimit rl;
	sigset_t set;

	tasks_init();
	set_deathsig(getppid());
	/*
	 * The tree is a session of its own, led by this root. CRIU dumps a
	 * task only when its session leader is visible in the task's pid
	 * namespace: a harness started by a process that entered its pid
	 * namespace with setns() (a CI runner) sits in a session whose leader
	 * is outside it, and getsid() there says 0 ("A session leader of ... is
	 * outside of its pid namespace"). The root is not a group leader (the
	 * harness forks it), so setsid() succeeds; a shell job that is one
	 * keeps its session, which the dump then reports.
	 */
	if (getsid(0) != getpid())
		(void)setsid();
	close_range(3, ~0u, 0);
	for (int fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) >= 0)
			continue;
		int n = open("/dev/null", O_RDWR);

		if (n >= 0 && n != fd) {
			dup2(n, fd);
			close(n);
		}
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

void remove_tree(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void cleanup_tree(void)
{
	if (getpid() != root_pid)
		return;
	kill_tree();
	if (tmpdir[0]) {
		remove_tree(tmpdir);
		tmpdir[0] = 0;
	}
}

/*
 * Print "ready <pid>", then wait for "exit", EOF on stdin or SIGTERM. With churn, keep
 * changing the root's descriptors (from before ready on, always four
 * descriptors and one position the manifest does not describe) about a
 * thousand times a second.
 */
int serve(bool churn)
{
	struct pollfd pfd = { .fd = 0, .events = POLLIN };
	struct timespec tick = { 0, 1000 * 1000 };
	int churn_fds[4] = { -1, -1, -1, -1 };
	char line[256];
	size_t have = 0;
	int reg_fd = -1;
	sigset_t open_mask;
	unsigned long it = 0;

	sigprocmask(SIG_SETMASK, NULL, &open_mask);
	sigdelset(&open_mask, SIGTERM);
	sigdelset(&open_mask, SIGINT);
	sigdelset(&open_mask, SIGHUP);
	if (churn) {
		for (int fd = 3; fd <= self->table->maxfd && reg_fd < 0; fd++)
			if (fd_known(fd) && A->files[fd_label(fd)].kind == IB_K_REG &&
			    !(A->files[fd_label(fd)].flags & O_PATH))
				reg_fd = fd;
		/* all four before ready: a reader racing one tick (a dup and a
		 * close move one descriptor) still sees the others */
		for (int k = 0; k < 4; k++)
			churn_fds[k] = open("/dev/null", O_RDONLY);
		if (reg_fd >= 0)
			lseek(reg_fd, 1, SEEK_CUR);
	}
	{
		char ready[64];
		int n = snprintf(ready, sizeof(ready), "ready %d\n", (int)getpid());

		if (write(1, ready, n) != n) {
			fprintf(stderr, "%s: write ready: %s\n", prog, strerror(errno));
			return -1;
		}
	}
	while (!stop_requested) {
		int r = ppoll(&pfd, 1, churn ? &tick : NULL, &open_mask);

		if (r < 0 && errno != EINTR)
			return -1;
		if (r > 0) {
			ssize_t n = read(0, line + have, sizeof(line) - 1 - have);

			if (n <= 0)
				break; /* EOF (or error): the harness is gone */
			have += n;
			line[have] = 0;
			char *nl;
			bool exit_seen = false;

			while ((nl = strchr(line, '\n'))) {
				*nl = 0;
				if (!strcmp(line, "exit"))
					exit_seen = true;
				memmove(line, nl + 1, have - (nl + 1 - line) + 1);
				have -= nl + 1 - line;
			}
			if (exit_seen)
				break;
			if (have == sizeof(line) - 1)
				have = 0;
		}
		if (churn) {
			/* 4 descriptor changes and one position change per tick */
			int slot = it % 4, next = (it + 1) % 4;

			if (churn_fds[next] >= 0)
				close(churn_fds[next]);
			churn_fds[next] = open("/dev/null", O_RDONLY);
			if (churn_fds[slot] >= 0) {
				int d = dup(churn_fds[slot]);

				close(churn_fds[slot]);
				churn_fds[slot] = d;
			}
			if (reg_fd >= 0)
				lseek(reg_fd, (off_t)it * 3 + 2, SEEK_SET);
			it++;
		}
	}
	return 0;
}

/* the pid namespace this generator's pids are numbers in (its /proc/self/ns/pid inode) */
static unsigned long pidns_ino(void)
{
	struct stat sb;

	return stat("/proc/self/ns/pid", &sb) == 0 ? (unsigned long)sb.st_ino : 0;
}

#define PROC_PID_INIT_INO 0xEFFFFFFCul /* the initial pid namespace's inode */

/*
 * Remove what generators killed with SIGKILL left behind: directories
 * whose generator (the pid in the name) is gone. A name carries the pid
 * namespace its pid is a number in (iterbench-wl-<pid>-n<ns inode>-XXXXXX):
 * a pid means nothing in another namespace, so a directory of another
 * namespace is left alone. (Without it, a generator in a child pid
 * namespace saw every other generator's pid as gone and removed the
 * directories of live workloads: their registered files turned
 * "(deleted)" mid-run.) Names without a namespace (older generators) are
 * judged from the initial namespace only.
 */
static void remove_stale_dirs(const char *base)
{
	char path[PATH_MAX + 300];
	unsigned long self_ns = pidns_ino();
	struct dirent *de;
	DIR *d = opendir(base);

	if (!d)
		return;
	while ((de = readdir(d))) {
		unsigned long ns = 0;
		int pid = 0, n;

		n = sscanf(de->d_name, "iterbench-wl-%d-n%lu-", &pid, &ns);
		if (n < 1 || pid <= 0)
			continue;
		if (n == 2 ? ns != self_ns : self_ns != PROC_PID_INIT_INO)
			continue; /* another namespace's pid: cannot tell */
		if (kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(path, sizeof(path), "%s/%s", base, de->d_name);
		remove_tree(path);
	}
	closedir(d);
}

int tmpdir_init(void)
{
	const char *tmp = getenv("ITERBENCH_TMPDIR");

	if (!tmp || !tmp[0])
		tmp = access("/dev/shm", W_OK | X_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
	if (!tmp || !tmp[0])
		tmp = "/tmp";
	remove_stale_dirs(tmp);
	snprintf(tmpdir, sizeof(tmpdir), "%s/iterbench-wl-%d-n%lu-XXXXXX", tmp, (int)getpid(),
		 pidns_ino());
	if (!mkdtemp(tmpdir)) {
		fprintf(stderr, "%s: mkdtemp %s: %s\n", prog, tmpdir, strerror(errno));
		tmpdir[0] = 0;
		return 1;
	}
	return 0;
}
