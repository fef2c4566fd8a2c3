/* SPDX-License-Identifier: MIT */
/*
 * procfs_util.h - /proc/PID/{fd,fdinfo} access and fdinfo parsing shared by
 * the procfs and kcmp collectors (procfs.c, kcmp.c).
 *
 * Everything here is dirfd-relative, uses raw syscalls and reused buffers,
 * and counts the syscalls it issues in *calls, so the methods built on it
 * can be compared with the floor that issues the same calls.
 */
#ifndef IB_PROCFS_UTIL_H
#define IB_PROCFS_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "method.h"

/* a reused, growable byte buffer */
struct ib_pf_buf {
	char *p;
	size_t cap;
};

/* a reused, growable array of descriptor numbers */
struct ib_pf_fds {
	int *v;
	size_t n, cap;
};

/* the directories of one target task, opened per collect() */
struct ib_pf_task {
	int pid;
	int piddir;    /* /proc/PID, O_PATH */
	int fddir;     /* /proc/PID/fd */
	int fdinfodir; /* /proc/PID/fdinfo, or -1 when not asked for */
};

/* what the first lines of an fdinfo file say */
struct ib_pf_fdinfo {
	uint64_t pos;
	uint32_t flags;
	int have_pos, have_flags;
	const char *rest; /* first byte after the common lines */
};

/* one "tfd:" line of an epoll fdinfo */
struct ib_pf_epitem {
	int32_t tfd;
	uint32_t events;
	uint64_t data;
	uint64_t pos;
	uint64_t ino;
	uint64_t dev; /* userspace encoding (makedev) */
};

#define IB_PF_NAME_MAX 16

/* validate that every pid exists (open() of all methods) */
int ib_pf_check_pids(const struct ib_target *t, struct ib_out *out);

/*
 * Open /proc/PID (O_PATH), its fd/ and, when want_fdinfo, fdinfo/.
 * Returns 0, or a negative errno with out->err set ("pid N: no such process").
 */
int ib_pf_task_open(struct ib_pf_task *tk, int pid, int want_fdinfo, struct ib_out *out);
void ib_pf_task_close(struct ib_pf_task *tk);

/* 1 when the task is gone or a zombie (its descriptors are gone) */
int ib_pf_task_dead(const struct ib_pf_task *tk);
int ib_pf_pid_dead(int pid);

/*
 * A per-descriptor call on fd failed with errno err (what = "readlink", ...).
 * ENOENT/EBADF: a descriptor closed since readdir (an IB_NOTE_FD_VANISHED
 * note, returns 0: skip it) or a task that exited (error). Else an error.
 */
int ib_pf_fd_failed(const struct ib_pf_task *tk, int fd, int err, const char *what,
		    struct ib_out *out);

/* getdents64 on tk->fddir: append the descriptor numbers to fds */
int ib_pf_list_fds(struct ib_pf_task *tk, struct ib_pf_fds *fds, struct ib_pf_buf *dbuf,
		   uint64_t *calls, struct ib_out *out);

/*
 * openat(dirfd, name) + read until a short read + close, into b (grown as
 * needed, NUL-terminated). Returns the length or a negative errno.
 */
ssize_t ib_pf_read_file(int dirfd, const char *name, struct ib_pf_buf *b, uint64_t *calls);

/* decimal fd number into buf (IB_PF_NAME_MAX), returns the length */
size_t ib_pf_fdname(char *buf, int fd);

/* parse "pos:", "flags:" (and skip "mnt_id:" / "ino:") at the start of fdinfo */
void ib_pf_parse_fdinfo(const char *s, const char *end, struct ib_pf_fdinfo *fi);

/*
 * Next "tfd:" line at or after *p (a line start). Returns 1 with *it filled
 * and *p moved past the line, 0 at the end.
 */
int ib_pf_epoll_next(const char **p, const char *end, struct ib_pf_epitem *it);

/* the kind of a descriptor from its st_mode and its link text */
uint32_t ib_pf_kind(mode_t mode, const char *link, size_t len);
/* the kind said by a link text alone (pipe:, socket:, anon_inode:), else UNKNOWN */
uint32_t ib_pf_kind_from_text(const char *link, size_t len);

/* kernel-internal dev_t (MAJOR << 20 | MINOR, as fdinfo prints sdev) to makedev */

/* undo seq_file escaping ("\\040" for ' ' etc.) in place, returns the new length */
size_t ib_pf_unescape(char *s, size_t len);

/* find the line starting with key (length klen) at or after p, or NULL */
const char *ib_pf_find_line(const char *p, const char *end, const char *key, size_t klen);

/* small number parsers: skip blanks, parse, advance *p; return 0 when no digit */
int ib_pf_dec(const char **p, const char *end, uint64_t *v);
int ib_pf_hex(const char **p, const char *end, uint64_t *v);
int ib_pf_oct(const char **p, const char *end, uint64_t *v);

int ib_pf_buf_grow(struct ib_pf_buf *b, size_t need);
int ib_pf_fds_push(struct ib_pf_fds *f, int fd);

#endif /* IB_PROCFS_UTIL_H */
