// SPDX-License-Identifier: MIT
/*
 * files.c - the "files" scenario and the mix of descriptors every other
 * scenario uses for its private files.
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
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "common.h"

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
		file_new(fd, K_SOCKET, NULL, "TCP listener on 127.0.0.1");
		break;
	case 1:
		fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		if (fd < 0)
			die("udp socket: %s", strerror(errno));
		file_new(fd, K_SOCKET, NULL, "UDP socket");
		break;
	case 2:
		fd = timerfd_create(CLOCK_MONOTONIC, which & 8 ? TFD_NONBLOCK : 0);
		if (fd < 0)
			die("timerfd_create: %s", strerror(errno));
		file_new(fd, K_TIMERFD, NULL, NULL);
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
		file_new(fd, K_INOTIFY, NULL, NULL);
		break;
	case 4:
		fd = open(tmpdir, O_PATH | O_DIRECTORY);
		if (fd < 0)
			die("open O_PATH %s: %s", tmpdir, strerror(errno));
		file_new(fd, K_DIR, tmpdir, "O_PATH descriptor (no position, no I/O)");
		break;
	case 5: {
		sigset_t m;

		sigemptyset(&m);
		sigaddset(&m, SIGUSR1 + (which & 1));
		fd = signalfd(-1, &m, SFD_NONBLOCK);
		if (fd < 0)
			die("signalfd: %s", strerror(errno));
		file_new(fd, K_SIGNALFD, NULL, NULL);
		break;
	}
	default:
		fd = open("/dev/null", chr_flags[which % 3]);
		if (fd < 0)
			die("open /dev/null: %s", strerror(errno));
		file_new(fd, K_CHR, "/dev/null", NULL);
		break;
	}
	return fd;
}

/* Create exactly count descriptors in the calling task. */
void build_mix(long count, int salt)
{
	static int seq, reg_idx;
	int recent[16];
	int nrecent = 0;
	int pair[2];

	add_case("regular files opened several times: same inode, separate open files, distinct positions");
	add_case("varied open flags: O_RDONLY, O_WRONLY, O_RDWR, O_APPEND, O_NONBLOCK, O_DSYNC, O_NOATIME, O_DIRECT pipes, O_PATH");
	add_case("dup'd descriptors: one open file behind two numbers");
	add_case("pipes, unix socket pairs, TCP and UDP sockets, eventfds, timerfds, signalfds, inotify, directories, /dev/null");
	(void)salt;
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
			file_new(fd, K_DIR, tmpdir, NULL);
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
