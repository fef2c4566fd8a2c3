/* SPDX-License-Identifier: MIT */
/*
 * kinds.h - the one definition of "what kind of file is this", shared by
 * the BPF programs (bpf/, kernel lane), the collectors (bench/native/), the
 * workload generators (workloads/) and, as a checked copy, TypeScript
 * (bench/decode.ts; test/schema.test.ts compares the two).
 *
 * Usable from BPF (vmlinux.h types) and from user space (<stdint.h>): only
 * plain integer types and static inline functions without library calls.
 *
 * Two rules decide a kind:
 *  - the inode's mode (S_IFMT bits): ib_kind_of_mode();
 *  - for an anonymous inode (mode 0), the anon inode's dentry name
 *    ("[eventpoll]", "[io_uring]", ...; "anon_inode:<name>" in a /proc
 *    link): ib_kind_of_anon_name(). kallsyms has no data symbols on the
 *    machines we run on, so file operations cannot be compared instead.
 */
#ifndef IB_KINDS_H
#define IB_KINDS_H

/* Values are part of the record format (records.h): append, never renumber. */
enum ib_kind {
	IB_K_UNKNOWN  = 0,
	IB_K_REG      = 1,
	IB_K_DIR      = 2,
	IB_K_PIPE     = 3,  /* pipe or FIFO */
	IB_K_SOCKET   = 4,
	IB_K_CHR      = 5,
	IB_K_BLK      = 6,
	IB_K_EVENTFD  = 7,  /* anon inode "[eventfd]" */
	IB_K_EPOLL    = 8,  /* anon inode "[eventpoll]" */
	IB_K_IO_URING = 9,  /* anon inode "[io_uring]" */
	IB_K_SIGNALFD = 10, /* anon inode "[signalfd]" */
	IB_K_TIMERFD  = 11, /* anon inode "[timerfd]" */
	IB_K_INOTIFY  = 12, /* anon inode "inotify" */
	IB_K_ANON     = 13, /* any other anonymous inode */
	IB_K_OTHER    = 14,
	IB_K__N,
};

/* Lowercase names, indexed by enum ib_kind (the manifest and TypeScript use them). */
#define IB_KIND_NAMES                                                       \
	{                                                                   \
		"unknown", "reg", "dir", "pipe", "socket", "chr", "blk",    \
		"eventfd", "epoll", "io_uring", "signalfd", "timerfd",      \
		"inotify", "anon", "other",                                 \
	}

#define IB_S_IFMT   0170000
#define IB_S_IFSOCK 0140000
#define IB_S_IFLNK  0120000
#define IB_S_IFREG  0100000
#define IB_S_IFBLK  0060000
#define IB_S_IFDIR  0040000
#define IB_S_IFCHR  0020000
#define IB_S_IFIFO  0010000

/* Kind from an inode's mode; IB_K_ANON for mode 0 (refine it by name). */
static inline __attribute__((always_inline)) unsigned int ib_kind_of_mode(unsigned int mode)
{
	switch (mode & IB_S_IFMT) {
	case IB_S_IFREG:  return IB_K_REG;
	case IB_S_IFDIR:  return IB_K_DIR;
	case IB_S_IFIFO:  return IB_K_PIPE;
	case IB_S_IFSOCK: return IB_K_SOCKET;
	case IB_S_IFCHR:  return IB_K_CHR;
	case IB_S_IFBLK:  return IB_K_BLK;
	case 0:           return IB_K_ANON;
	default:          return IB_K_OTHER;
	}
}

/*
 * Kind of an anonymous inode from its dentry name. `name` holds at least 16
 * bytes (NUL-padded after the name), which lets a BPF program pass a fixed
 * buffer it read with one bpf_probe_read_kernel; user space passes the text
 * after "anon_inode:" copied into such a buffer.
 */
#define IB__W2(a, b) ((unsigned long long)(a) | (unsigned long long)(b) << 8)
#define IB__W4(a, b, c, d) (IB__W2(a, b) | IB__W2(c, d) << 16)
#define IB__W8(a, b, c, d, e, f, g, h) (IB__W4(a, b, c, d) | IB__W4(e, f, g, h) << 32)

static inline __attribute__((always_inline)) unsigned int
ib_kind_of_anon_words(unsigned long long w0, unsigned long long w1)
{
	if (w0 == IB__W8('[', 'e', 'v', 'e', 'n', 't', 'p', 'o') &&
	    (w1 & 0xffffffffull) == IB__W4('l', 'l', ']', 0))
		return IB_K_EPOLL;
	if (w0 == IB__W8('[', 'e', 'v', 'e', 'n', 't', 'f', 'd') && (w1 & 0xffff) == ']')
		return IB_K_EVENTFD;
	if (w0 == IB__W8('[', 'i', 'o', '_', 'u', 'r', 'i', 'n') &&
	    (w1 & 0xffffff) == IB__W2('g', ']'))
		return IB_K_IO_URING;
	if (w0 == IB__W8('[', 's', 'i', 'g', 'n', 'a', 'l', 'f') &&
	    (w1 & 0xffffff) == IB__W2('d', ']'))
		return IB_K_SIGNALFD;
	if (w0 == IB__W8('[', 't', 'i', 'm', 'e', 'r', 'f', 'd') && (w1 & 0xffff) == ']')
		return IB_K_TIMERFD;
	if (w0 == IB__W8('i', 'n', 'o', 't', 'i', 'f', 'y', 0))
		return IB_K_INOTIFY;
	return IB_K_ANON;
}

#endif /* IB_KINDS_H */
