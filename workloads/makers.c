// SPDX-License-Identifier: MIT
/*
 * makers.c - file makers, the descriptor mix and SCM_RIGHTS.
 *
 * The mix cycles through regular files (one inode per four opens, distinct
 * positions, varied flags), pipes, socket pairs, eventfds, directories,
 * character devices, dup'd descriptors and, once per cycle, one of: a TCP
 * listener, a UDP socket, a timerfd, an inotify instance, an O_PATH
 * descriptor, a signalfd.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "lifecycle.h"
#include "makers.h"
#include "model.h"
#include "tasks.h"

/*
 * Regular files: one inode for every four opens, so most inodes are open
 * several times (distinct open files, same inode); every open has its own
 * position and a flag set taken from a cycle.
 */
int mk_reg(int idx, const char *note)
{
	static const int flagset[] = {
		O_RDONLY, O_WRONLY, O_RDWR, O_RDWR | O_APPEND,
		O_WRONLY | O_APPEND, O_RDONLY | O_NONBLOCK, O_RDWR | O_DSYNC,
		O_RDONLY | O_NOATIME,
	};
	char path[PATH_MAX + 64];
	int fd;

	snprintf(path, sizeof(path), "%s/reg-%d-%d", tmpdir, (int)getpid(), idx / 4);
	fd = open(path, flagset[idx % 8] | O_CREAT, 0600);
	if (fd < 0)
		die("open %s: %s", path, strerror(errno));
	if (lseek(fd, 1 + (off_t)idx * 7, SEEK_SET) < 0)
		die("lseek %s: %s", path, strerror(errno));
	file_new(fd, IB_K_REG, path, note);
	return fd;
}

int mk_eventfd(int idx, const char *note)
{
	static const int fl[] = { 0, EFD_NONBLOCK, EFD_SEMAPHORE, EFD_NONBLOCK | EFD_SEMAPHORE };
	int fd = eventfd(idx & 0xffff, fl[idx % 4]);

	if (fd < 0)
		die("eventfd: %s", strerror(errno));
	file_new(fd, IB_K_EVENTFD, NULL, note);
	return fd;
}

bool criu_compat;
const char CRIU_NO_DIRECT_PIPES[] =
	"left out for CRIU: O_DIRECT (packetized) pipes (CRIU 4.2: \"The packetized mode for pipes "
	"is not supported yet\"); those pipes are plain";
const char CRIU_FEW_PIPES[] =
	"left out for CRIU: pipes past the first 1000 of the tree, made as unix socket pairs "
	"instead (CRIU 4.2 dumps at most 1024 pipes: \"OOM storing pipe\")";
const char *const criu_pipes_left_out[] = { CRIU_NO_DIRECT_PIPES, CRIU_FEW_PIPES, NULL };
const char MIX_DIRECT_PIPES[] = "O_DIRECT (packetized) pipes";
const char *const pipe_cases[] = { MIX_DIRECT_PIPES, NULL };

/*
 * A pipe (both ends). With criu_compat, never O_DIRECT, and past the
 * CRIU_MAX_PIPES-th pipe of the tree a unix stream socket pair instead.
 */
void mk_pipe(int fds[2], int idx, const char *note)
{
	static const int fl[] = { 0, O_NONBLOCK, O_DIRECT, O_NONBLOCK | O_DIRECT };
	int flags = fl[idx % 4];

	if (criu_compat && __atomic_fetch_add(&A->npipes, 1, __ATOMIC_RELAXED) >= CRIU_MAX_PIPES) {
		add_case(CRIU_FEW_PIPES);
		if (socketpair(AF_UNIX, SOCK_STREAM | (flags & O_NONBLOCK ? SOCK_NONBLOCK : 0), 0, fds) < 0)
			die("socketpair: %s", strerror(errno));
		file_new(fds[0], IB_K_SOCKET, NULL, "a socket pair where a pipe would be (CRIU's pipe limit)");
		file_new(fds[1], IB_K_SOCKET, NULL, "a socket pair where a pipe would be (CRIU's pipe limit)");
		return;
	}

	if (flags & O_DIRECT) {
		if (criu_compat) {
			flags &= ~O_DIRECT;
			add_case(CRIU_NO_DIRECT_PIPES);
		} else {
			add_case(MIX_DIRECT_PIPES);
		}
	}
	if (pipe2(fds, flags) < 0)
		die("pipe2: %s", strerror(errno));
	file_new(fds[0], IB_K_PIPE, NULL, note);
	file_new(fds[1], IB_K_PIPE, NULL, note);
}

void mk_socketpair(int fds[2], int idx, const char *note)
{
	static const int ty[] = {
		SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET | SOCK_NONBLOCK, SOCK_STREAM | SOCK_NONBLOCK,
	};

	if (socketpair(AF_UNIX, ty[idx % 4], 0, fds) < 0)
		die("socketpair: %s", strerror(errno));
	file_new(fds[0], IB_K_SOCKET, NULL, note);
	file_new(fds[1], IB_K_SOCKET, NULL, note);
}

static const char N_REG[] = "regular file: its inode is open several times (separate open files)";
static const char N_DUP[] = "dup'd: one open file behind two descriptors";

static int inotify_count;

static int mk_special(int which)
{
	static const int chr_flags[] = { O_RDONLY, O_WRONLY | O_APPEND, O_RDWR | O_NONBLOCK };
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int fd = -1;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	switch (which % 7) { /* 6: /dev/null */
	case 0:
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0 || bind(fd, (void *)&sin, sizeof(sin)) < 0 || listen(fd, 4) < 0)
			die("tcp listener: %s", strerror(errno));
		file_new(fd, IB_K_SOCKET, NULL, "TCP listener on 127.0.0.1");
		break;
	case 1:
		fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		if (fd < 0)
			die("udp socket: %s", strerror(errno));
		file_new(fd, IB_K_SOCKET, NULL, "UDP socket");
		break;
	case 2:
		fd = timerfd_create(CLOCK_MONOTONIC, which & 8 ? TFD_NONBLOCK : 0);
		if (fd < 0)
			die("timerfd_create: %s", strerror(errno));
		file_new(fd, IB_K_TIMERFD, NULL, NULL);
		break;
	case 3:
		/* instances are limited per user (fs.inotify.max_user_instances,
		 * 128 by default): a few per task, eventfds beyond that */
		fd = inotify_count < 4 ? inotify_init1(IN_NONBLOCK) : -1;
		if (fd < 0 && inotify_count < 4 && errno != EMFILE)
			die("inotify_init1: %s", strerror(errno));
		if (fd < 0)
			return mk_eventfd(which, NULL);
		inotify_count++;
		file_new(fd, IB_K_INOTIFY, NULL, NULL);
		break;
	case 4:
		fd = open(tmpdir, O_PATH | O_DIRECTORY);
		if (fd < 0)
			die("open O_PATH %s: %s", tmpdir, strerror(errno));
		file_new(fd, IB_K_DIR, tmpdir, "O_PATH descriptor (no position, no I/O)");
		break;
	case 5: {
		sigset_t m;

		sigemptyset(&m);
		sigaddset(&m, SIGUSR1 + (which & 1));
		fd = signalfd(-1, &m, SFD_NONBLOCK);
		if (fd < 0)
			die("signalfd: %s", strerror(errno));
		file_new(fd, IB_K_SIGNALFD, NULL, NULL);
		break;
	}
	default:
		fd = open("/dev/null", chr_flags[which % 3]);
		if (fd < 0)
			die("open /dev/null: %s", strerror(errno));
		file_new(fd, IB_K_CHR, "/dev/null", NULL);
		break;
	}
	return fd;
}

const char *const mix_cases[] = {
	"regular files opened several times: same inode, separate open files, distinct positions",
	"varied open flags: O_RDONLY, O_WRONLY, O_RDWR, O_APPEND, O_NONBLOCK, O_DSYNC, O_NOATIME, O_PATH",
	MIX_DIRECT_PIPES,
	"dup'd descriptors: one open file behind two numbers",
	"pipes, unix socket pairs, TCP and UDP sockets, eventfds, timerfds, signalfds, inotify, directories, /dev/null",
	NULL,
};

/* Create exactly count descriptors in the calling task. */
void build_mix(long count)
{
	static int seq, reg_idx;
	int recent[16];
	int nrecent = 0;
	int pair[2];

	for (int i = 0; mix_cases[i]; i++)
		if (mix_cases[i] != MIX_DIRECT_PIPES) /* recorded by mk_pipe when made */
			add_case(mix_cases[i]);
	while (count > 0) {
		int u = seq++ % 16;
		int fd = -1;

		if ((u == 2 || u == 4 || u == 14) && count < 2)
			u = 3;
		if ((u == 6 || u == 13) && !nrecent)
			u = 3;
		switch (u) {
		case 0: case 1: case 5: case 8: case 12: case 15:
			fd = mk_reg(reg_idx++, N_REG);
			break;
		case 2: case 14:
			mk_pipe(pair, seq, NULL);
			recent[nrecent++ % 16] = pair[0];
			fd = pair[1];
			count--;
			break;
		case 3: case 11:
			fd = mk_eventfd(seq, NULL);
			break;
		case 4:
			mk_socketpair(pair, seq / 16, NULL);
			recent[nrecent++ % 16] = pair[0];
			fd = pair[1];
			count--;
			break;
		case 6: case 13: {
			int src = recent[(seq * 7) % (nrecent < 16 ? nrecent : 16)];

			fd = fd_dup(src);
			file_note(fd_label(fd), N_DUP);
			break;
		}
		case 7:
			fd = open(tmpdir, O_RDONLY | O_DIRECTORY);
			if (fd < 0)
				die("open %s: %s", tmpdir, strerror(errno));
			file_new(fd, IB_K_DIR, tmpdir, NULL);
			break;
		case 9:
			fd = mk_special(6 + 7 * (seq / 16));
			break;
		case 10:
			fd = mk_special((seq / 16) % 6);
			break;
		}
		recent[nrecent++ % 16] = fd;
		count--;
	}
}

/* Send n (<= SCM_BATCH) descriptors and their labels in one message. */
int scm_send(int sock, const int *fds, int n)
{
	char cbuf[CMSG_SPACE(sizeof(int) * SCM_BATCH)];
	int32_t labels[SCM_BATCH];
	struct iovec iov = { labels, sizeof(int32_t) * n };
	struct msghdr msg = { 0 };
	struct cmsghdr *c;

	for (int i = 0; i < n; i++)
		labels[i] = fd_label(fds[i]);
	memset(cbuf, 0, sizeof(cbuf));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf;
	msg.msg_controllen = CMSG_SPACE(sizeof(int) * n);
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * n);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	return sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

/* Receive one message; returns the number of descriptors (tracked) or -errno. */
int scm_recv(int sock, int *fds, int max, int32_t *labels)
{
	char cbuf[CMSG_SPACE(sizeof(int) * SCM_BATCH)];
	int32_t lab[SCM_BATCH];
	struct iovec iov = { lab, sizeof(lab) };
	struct msghdr msg = { 0 };
	struct cmsghdr *c;
	ssize_t r;
	int n = 0;

	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf;
	msg.msg_controllen = sizeof(cbuf);
	r = recvmsg(sock, &msg, 0);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -EPIPE;
	if (msg.msg_flags & (MSG_CTRUNC | MSG_TRUNC))
		die("SCM_RIGHTS message truncated");
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		if (n > max || (size_t)n * sizeof(int32_t) != (size_t)r)
			die("SCM_RIGHTS message malformed (%d fds, %zd bytes)", n, r);
		memcpy(fds, CMSG_DATA(c), sizeof(int) * n);
	}
	for (int i = 0; i < n; i++) {
		labels[i] = lab[i];
		fd_bind(fds[i], lab[i]);
	}
	return n;
}

