// SPDX-License-Identifier: MIT
/* procfs_util.c - /proc/PID/{fd,fdinfo} access and parsing, see procfs_util.h */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "procfs_util.h"

struct ib_linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

int ib_pf_buf_grow(struct ib_pf_buf *b, size_t need)
{
	size_t cap = b->cap ? b->cap : 4096;
	char *np;

	if (need <= b->cap)
		return 0;
	while (cap < need)
		cap *= 2;
	np = realloc(b->p, cap);
	if (!np)
		return -ENOMEM;
	b->p = np;
	b->cap = cap;
	return 0;
}

int ib_pf_fds_push(struct ib_pf_fds *f, int fd)
{
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 1024;
		int *nv = realloc(f->v, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		f->v = nv;
		f->cap = cap;
	}
	f->v[f->n++] = fd;
	return 0;
}

int ib_pf_check_pids(const struct ib_target *t, struct ib_out *out)
{
	char path[32];
	struct stat st;
	uint32_t i;

	if (!t->npids)
		return ib_out_error(out, EINVAL, "no target pids");
	for (i = 0; i < t->npids; i++) {
		if (t->pids[i] <= 0)
			return ib_out_error(out, EINVAL, "pid %d: invalid pid", t->pids[i]);
		snprintf(path, sizeof(path), "/proc/%d", t->pids[i]);
		if (stat(path, &st) < 0) {
			int err = errno;

			if (err == ENOENT)
				return ib_out_error(out, ESRCH, "pid %d: no such process", t->pids[i]);
			return ib_out_error(out, err, "pid %d: stat %s: %s", t->pids[i], path,
					    strerror(err));
		}
	}
	return 0;
}

int ib_pf_task_open(struct ib_pf_task *tk, int pid, int want_fdinfo, struct ib_out *out)
{
	char path[32];
	int err;

	tk->pid = pid;
	tk->piddir = tk->fddir = tk->fdinfodir = -1;
	snprintf(path, sizeof(path), "/proc/%d", pid);
	tk->piddir = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	out->calls++;
	if (tk->piddir < 0) {
		err = errno;
		goto fail;
	}
	tk->fddir = openat(tk->piddir, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	out->calls++;
	if (tk->fddir < 0) {
		err = errno;
		goto fail;
	}
	if (want_fdinfo) {
		tk->fdinfodir = openat(tk->piddir, "fdinfo", O_PATH | O_DIRECTORY | O_CLOEXEC);
		out->calls++;
		if (tk->fdinfodir < 0) {
			err = errno;
			goto fail;
		}
	}
	return 0;
fail:
	ib_pf_task_close(tk);
	if (err == ENOENT || err == ESRCH)
		return ib_out_error(out, ESRCH, "pid %d: no such process", pid);
	return ib_out_error(out, err, "pid %d: open %s: %s", pid, path, strerror(err));
}

void ib_pf_task_close(struct ib_pf_task *tk)
{
	if (tk->fdinfodir >= 0)
		close(tk->fdinfodir);
	if (tk->fddir >= 0)
		close(tk->fddir);
	if (tk->piddir >= 0)
		close(tk->piddir);
	tk->piddir = tk->fddir = tk->fdinfodir = -1;
}

static int stat_says_dead(int fd)
{
	char buf[512];
	const char *s;
	ssize_t n;

	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 1;
	buf[n] = '\0';
	s = strrchr(buf, ')');
	if (!s || s[1] != ' ')
		return 0;
	return s[2] == 'Z' || s[2] == 'X' || s[2] == 'x';
}

int ib_pf_task_dead(const struct ib_pf_task *tk)
{
	int fd = openat(tk->piddir, "stat", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT || errno == ESRCH;
	return stat_says_dead(fd);
}

int ib_pf_pid_dead(int pid)
{
	char path[40];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ESRCH;
	return stat_says_dead(fd);
}

/*
 * A per-descriptor call failed with err. ENOENT is either a descriptor
 * closed since readdir (a note, skip it) or a task that exited (an error).
 * Returns 0 to skip the descriptor, or a negative errno.
 */
int ib_pf_fd_failed(const struct ib_pf_task *tk, int fd, int err, const char *what,
		     struct ib_out *out)
{
	char text[96];
	struct ib_rec_note *n;
	int len;

	if (err != ENOENT && err != EBADF && err != ESRCH)
		return ib_out_error(out, err, "pid %d: %s fd %d: %s", tk->pid, what, fd,
				    strerror(err));
	if (ib_pf_task_dead(tk))
		return ib_out_error(out, ESRCH, "pid %d: no such process (exited during collect)",
				    tk->pid);
	len = snprintf(text, sizeof(text), "fd %d vanished between readdir and %s", fd, what);
	n = ib_out_rec(out, IB_REC_NOTE, tk->pid, sizeof(*n), text, (size_t)len);
	if (!n)
		return ib_out_error(out, ENOMEM, "record buffer: %s", strerror(ENOMEM));
	n->code = IB_NOTE_FD_VANISHED;
	n->fd = fd;
	n->count = 1;
	return 0;
}

int ib_pf_list_fds(struct ib_pf_task *tk, struct ib_pf_fds *fds, struct ib_pf_buf *dbuf,
		   uint64_t *calls, struct ib_out *out)
{
	size_t start = fds->n;
	long n, off;
	int err;

	err = ib_pf_buf_grow(dbuf, 1 << 17);
	if (err)
		return ib_out_error(out, err, "pid %d: getdents buffer: %s", tk->pid, strerror(-err));
	for (;;) {
		n = syscall(SYS_getdents64, tk->fddir, dbuf->p, dbuf->cap);
		(*calls)++;
		if (n < 0) {
			err = errno;
			if (err == ENOENT || err == ESRCH)
				return ib_out_error(out, ESRCH, "pid %d: no such process (while reading fd/)",
						    tk->pid);
			return ib_out_error(out, err, "pid %d: getdents64 fd/: %s", tk->pid, strerror(err));
		}
		if (n == 0)
			break;
		for (off = 0; off < n;) {
			struct ib_linux_dirent64 *d = (void *)(dbuf->p + off);
			const char *s = d->d_name;
			int v = 0;

			off += d->d_reclen;
			if (*s < '0' || *s > '9')
				continue; /* "." and ".." */
			while (*s >= '0' && *s <= '9')
				v = v * 10 + (*s++ - '0');
			err = ib_pf_fds_push(fds, v);
			if (err)
				return ib_out_error(out, err, "pid %d: fd list: %s", tk->pid, strerror(-err));
		}
	}
	/* a zombie lists no descriptors: that is not an empty table */
	if (fds->n == start && ib_pf_task_dead(tk))
		return ib_out_error(out, ESRCH, "pid %d: no such process (exited)", tk->pid);
	return 0;
}

ssize_t ib_pf_read_file(int dirfd, const char *name, struct ib_pf_buf *b, uint64_t *calls)
{
	size_t len = 0;
	ssize_t n;
	int fd, err;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	(*calls)++;
	if (fd < 0)
		return -errno;
	for (;;) {
		size_t avail;

		if (b->cap - len < 2) {
			err = ib_pf_buf_grow(b, b->cap < 4096 ? 4096 : b->cap * 2);
			if (err)
				goto out;
		}
		avail = b->cap - len - 1;
		n = read(fd, b->p + len, avail);
		(*calls)++;
		if (n < 0) {
			err = -errno;
			goto out;
		}
		len += n;
		/*
		 * fdinfo files are single_open seq_files: the first read
		 * formats everything, a short read means the end.
		 */
		if ((size_t)n < avail)
			break;
	}
	b->p[len] = '\0';
	err = 0;
out:
	close(fd);
	(*calls)++;
	return err ? err : (ssize_t)len;
}

size_t ib_pf_fdname(char *buf, int fd)
{
	char tmp[IB_PF_NAME_MAX];
	size_t n = 0, i;
	unsigned int v = (unsigned int)fd;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	buf[n] = '\0';
	return n;
}

static inline const char *skip_blank(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

int ib_pf_dec(const char **pp, const char *end, uint64_t *v)
{
	const char *p = skip_blank(*pp, end), *s;
	uint64_t x = 0;
	int neg = 0;

	if (p < end && *p == '-') {
		neg = 1;
		p++;
	}
	s = p;
	while (p < end && (unsigned)(*p - '0') < 10)
		x = x * 10 + (uint64_t)(*p++ - '0');
	if (p == s)
		return 0;
	*v = neg ? (uint64_t)(-(int64_t)x) : x;
	*pp = p;
	return 1;
}

int ib_pf_hex(const char **pp, const char *end, uint64_t *v)
{
	const char *p = skip_blank(*pp, end), *s;
	uint64_t x = 0;

	if (end - p >= 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	s = p;
	for (; p < end; p++) {
		unsigned c = (unsigned char)*p;

		if (c - '0' < 10)
			x = x << 4 | (c - '0');
		else if ((c | 0x20) - 'a' < 6)
			x = x << 4 | ((c | 0x20) - 'a' + 10);
		else
			break;
	}
	if (p == s)
		return 0;
	*v = x;
	*pp = p;
	return 1;
}

int ib_pf_oct(const char **pp, const char *end, uint64_t *v)
{
	const char *p = skip_blank(*pp, end), *s = p;
	uint64_t x = 0;

	while (p < end && (unsigned)(*p - '0') < 8)
		x = x << 3 | (uint64_t)(*p++ - '0');
	if (p == s)
		return 0;
	*v = x;
	*pp = p;
	return 1;
}

static inline const char *next_line(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', end - p);

	return nl ? nl + 1 : end;
}

void ib_pf_parse_fdinfo(const char *s, const char *end, struct ib_pf_fdinfo *fi)
{
	const char *p = s;
	uint64_t v;

	fi->have_pos = fi->have_flags = 0;
	fi->pos = 0;
	fi->flags = 0;
	/* pos:, flags:, mnt_id:, ino: come first, in this order, on 6.x */
	while (p < end) {
		const char *q = p;

		if (end - p > 4 && !memcmp(p, "pos:", 4)) {
			q = p + 4;
			if (ib_pf_dec(&q, end, &v)) {
				fi->pos = v;
				fi->have_pos = 1;
			}
		} else if (end - p > 6 && !memcmp(p, "flags:", 6)) {
			q = p + 6;
			if (ib_pf_oct(&q, end, &v)) {
				fi->flags = (uint32_t)v;
				fi->have_flags = 1;
			}
		} else if (!(end - p > 7 && !memcmp(p, "mnt_id:", 7)) &&
			   !(end - p > 4 && !memcmp(p, "ino:", 4))) {
			break;
		}
		p = next_line(q, end);
	}
	fi->rest = p;
}

const char *ib_pf_find_line(const char *p, const char *end, const char *key, size_t klen)
{
	while (p < end) {
		if ((size_t)(end - p) >= klen && !memcmp(p, key, klen))
			return p;
		p = next_line(p, end);
	}
	return NULL;
}

static int expect_key(const char **pp, const char *end, const char *key, size_t klen)
{
	const char *p = skip_blank(*pp, end);

	if ((size_t)(end - p) < klen || memcmp(p, key, klen))
		return 0;
	*pp = p + klen;
	return 1;
}

int ib_pf_epoll_next(const char **pp, const char *end, struct ib_pf_epitem *it)
{
	const char *p = *pp;
	uint64_t v;

	for (; p < end; p = next_line(p, end)) {
		const char *q;

		if (end - p < 4 || memcmp(p, "tfd:", 4))
			continue;
		q = p + 4;
		if (!ib_pf_dec(&q, end, &v))
			continue;
		it->tfd = (int32_t)v;
		if (!expect_key(&q, end, "events:", 7) || !ib_pf_hex(&q, end, &v))
			continue;
		it->events = (uint32_t)v;
		if (!expect_key(&q, end, "data:", 5) || !ib_pf_hex(&q, end, &it->data))
			continue;
		if (!expect_key(&q, end, "pos:", 4) || !ib_pf_dec(&q, end, &it->pos))
			continue;
		if (!expect_key(&q, end, "ino:", 4) || !ib_pf_hex(&q, end, &it->ino))
			continue;
		if (!expect_key(&q, end, "sdev:", 5) || !ib_pf_hex(&q, end, &v))
			continue;
		it->dev = ib_kdev_to_dev(v);
		*pp = next_line(q, end);
		return 1;
	}
	*pp = end;
	return 0;
}

uint32_t ib_pf_kind_from_text(const char *link, size_t len)
{
	if (len > 11 && !memcmp(link, "anon_inode:", 11)) {
		/* the name after "anon_inode:", NUL-padded, by the rule of kinds.h */
		uint64_t w[2] = { 0, 0 };
		size_t nl = len - 11;

		if (nl >= sizeof(w))
			return IB_K_ANON; /* longer than every name kinds.h knows */
		memcpy(w, link + 11, nl);
		return ib_kind_of_anon_words(w[0], w[1]);
	}
	if (len > 6 && !memcmp(link, "pipe:[", 6))
		return IB_K_PIPE;
	if (len > 8 && !memcmp(link, "socket:[", 8))
		return IB_K_SOCKET;
	return IB_K_UNKNOWN;
}

uint32_t ib_pf_kind(mode_t mode, const char *link, size_t len)
{
	if (link[0] == 'a' && len > 11 && !memcmp(link, "anon_inode:", 11))
		return ib_pf_kind_from_text(link, len);
	return ib_kind_of_mode(mode);
}

size_t ib_pf_unescape(char *s, size_t len)
{
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		if (s[i] == '\\' && i + 3 < len &&
		    (unsigned)(s[i + 1] - '0') < 4 && (unsigned)(s[i + 2] - '0') < 8 &&
		    (unsigned)(s[i + 3] - '0') < 8) {
			s[o++] = (char)((s[i + 1] - '0') << 6 | (s[i + 2] - '0') << 3 | (s[i + 3] - '0'));
			i += 3;
		} else {
			s[o++] = s[i];
		}
	}
	s[o] = '\0';
	return o;
}
