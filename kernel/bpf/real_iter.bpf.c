// SPDX-License-Identifier: MIT OR GPL-2.0
/*
 * real_iter.bpf.c - programs for the iterator targets the kernel lane's
 * patch series adds (kernel/patches/): io_uring_file, io_uring_buf and
 * epoll. Used by bench/native/bpf_real.c (bpf-iter-io-uring-file,
 * bpf-iter-io-uring-buf, bpf-iter-epoll).
 *
 * It needs the patched kernel's BTF (struct bpf_iter__io_uring_file, ...),
 * so it is built by kernel/build.sh against the vmlinux.h generated from
 * the built vmlinux, into the kernel cache, and loaded with
 * bpf_object__open_file() (no skeleton: the host build must not need the
 * patched vmlinux.h). Each iterator calls its program once per slot or
 * item, with the lock the kernel needs held (uring_lock, ep->mtx), so a
 * program only formats one fixed-size record (bpf_real.h) and writes it
 * to the seq_file: no walk, no ring buffer, no bound on the table size.
 *
 * ri_task_file, on the mainline task_file iterator (pid-filtered link),
 * finds the instances: it reports the descriptors whose file is an epoll
 * instance or an io_uring ring (the anonymous inode's dentry name), in one
 * pass in the kernel instead of a readlink per descriptor.
 *
 * Build: kernel/build.sh (clang -target bpf -I<cache> -Ibench/native)
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "bpf_real.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

#define S_IFMT   00170000
#define S_IFSOCK 0140000
#define S_IFREG  0100000
#define S_IFBLK  0060000
#define S_IFDIR  0040000
#define S_IFCHR  0020000
#define S_IFIFO  0010000

/* the same values as enum ib_kind (bench/native/records.h) */
enum {
	K_REG = 1, K_DIR = 2, K_PIPE = 3, K_SOCKET = 4, K_CHR = 5, K_BLK = 6,
	K_EVENTFD = 7, K_EPOLL = 8, K_IO_URING = 9, K_SIGNALFD = 10, K_TIMERFD = 11,
	K_INOTIFY = 12, K_ANON = 13, K_OTHER = 14,
};

const volatile struct ri_config ri_cfg = { .key0 = 0, .key1 = 1, .want_kind = K_EPOLL };

/* A trusted BTF pointer cannot take part in arithmetic: store it into a
 * map value (allowed to a privileged loader) and read it back as a number. */
__u64 ptr_slot;

static __always_inline __u64 ptr_value(const void *p)
{
	*(volatile __u64 *)&ptr_slot = (__u64)p;
	return *(volatile __u64 *)&ptr_slot;
}

/* identity: the same bijective mix as bpf/task_file.bpf.c (equal keys <=>
 * equal files; the address is not recoverable without the keys) */
static __always_inline __u64 mix(__u64 p)
{
	__u64 x = p ^ ri_cfg.key0;

	x *= 0x9e3779b97f4a7c15ull;
	x ^= x >> 32;
	x *= ri_cfg.key1;
	x ^= x >> 29;
	return x;
}

#define W2(a, b) ((__u64)(a) | (__u64)(b) << 8)
#define W4(a, b, c, d) (W2(a, b) | W2(c, d) << 16)
#define W8(a, b, c, d, e, f, g, h) (W4(a, b, c, d) | W4(e, f, g, h) << 32)

/* an anonymous inode's kind, from its dentry name ("[eventfd]", ...) */
static __always_inline __u32 anon_kind(struct file *f)
{
	const unsigned char *name = BPF_CORE_READ(f, f_path.dentry, d_name.name);
	__u64 w[2] = {};

	if (bpf_probe_read_kernel(w, sizeof(w), name))
		return K_ANON;
	if (w[0] == W8('[', 'e', 'v', 'e', 'n', 't', 'p', 'o') &&
	    (w[1] & 0xffffffff) == W4('l', 'l', ']', 0))
		return K_EPOLL;
	if (w[0] == W8('[', 'e', 'v', 'e', 'n', 't', 'f', 'd') && (w[1] & 0xffff) == ']')
		return K_EVENTFD;
	if (w[0] == W8('[', 'i', 'o', '_', 'u', 'r', 'i', 'n') && (w[1] & 0xffffff) == W2('g', ']'))
		return K_IO_URING;
	if (w[0] == W8('[', 's', 'i', 'g', 'n', 'a', 'l', 'f') && (w[1] & 0xffffff) == W2('d', ']'))
		return K_SIGNALFD;
	if (w[0] == W8('[', 't', 'i', 'm', 'e', 'r', 'f', 'd') && (w[1] & 0xffff) == ']')
		return K_TIMERFD;
	if (w[0] == W8('i', 'n', 'o', 't', 'i', 'f', 'y', 0))
		return K_INOTIFY;
	return K_ANON;
}

static __always_inline __u32 file_kind(struct file *f, __u32 mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:  return K_REG;
	case S_IFDIR:  return K_DIR;
	case S_IFIFO:  return K_PIPE;
	case S_IFSOCK: return K_SOCKET;
	case S_IFCHR:  return K_CHR;
	case S_IFBLK:  return K_BLK;
	case 0:        return anon_kind(f);
	default:       return K_OTHER;
	}
}

SEC("iter/io_uring_file")
int ri_io_uring_file(struct bpf_iter__io_uring_file *ctx)
{
	struct file *file = ctx->file;
	struct ri_uring_file r = {};

	if (!ctx->ctx)
		return 0; /* after the last slot */
	r.index = ctx->index;
	if (file) {
		struct inode *inode = file->f_inode;

		r.flags = RI_OCCUPIED;
		r.kind = file_kind(file, inode->i_mode);
		r.dev = inode->i_sb->s_dev;
		r.ino = inode->i_ino;
		r.key = mix(ptr_value(file));
	}
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}

SEC("iter/io_uring_buf")
int ri_io_uring_buf(struct bpf_iter__io_uring_buf *ctx)
{
	struct io_mapped_ubuf *ubuf = ctx->ubuf;
	struct ri_uring_buf r = {};

	if (!ctx->ctx)
		return 0;
	r.index = ctx->index;
	if (ubuf) {
		r.flags = RI_OCCUPIED;
		r.addr = ubuf->ubuf;
		r.len = ubuf->ubuf_end - ubuf->ubuf;
	}
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}

SEC("iter/epoll")
int ri_epoll(struct bpf_iter__epoll *ctx)
{
	struct epitem *epi = ctx->epi;
	struct ri_epoll_item r = {};
	struct inode *inode;
	struct file *tf;

	if (!epi)
		return 0; /* after the last item */
	tf = epi->ffd.file;
	if (!tf)
		return 0;
	inode = tf->f_inode;
	r.tfd = epi->ffd.fd;
	r.events = epi->event.events;
	/* struct epoll_event is packed on x86_64: data is not 8-byte aligned */
	bpf_probe_read_kernel(&r.data, sizeof(r.data), &epi->event.data);
	r.key = mix(ptr_value(tf));
	r.ino = inode->i_ino;
	r.dev = inode->i_sb->s_dev;
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}

SEC("iter/task_file")
int ri_task_file(struct bpf_iter__task_file *ctx)
{
	struct file *file = ctx->file;
	struct ri_instance r;

	if (!file)
		return 0;
	/* epoll and io_uring files are anonymous inodes (i_mode 0) */
	if (file->f_inode->i_mode & S_IFMT)
		return 0;
	r.kind = anon_kind(file);
	if (r.kind != ri_cfg.want_kind)
		return 0;
	r.fd = ctx->fd;
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}
