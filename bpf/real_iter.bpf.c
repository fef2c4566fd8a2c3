// SPDX-License-Identifier: MIT OR GPL-2.0
/*
 * real_iter.bpf.c - programs for the iterator targets the kernel lane's
 * patch series adds (kernel/patches/): io_uring_file, io_uring_buf and
 * epoll. Used by bench/native/bpf_real.c (bpf-iter-io-uring-file,
 * bpf-iter-io-uring-buf, bpf-iter-epoll).
 *
 * It needs the patched kernel's BTF (struct bpf_iter__io_uring_file, ...),
 * so kernel/build.sh builds it against the vmlinux.h generated from the
 * built vmlinux, into the kernel cache, and bpf_real.c loads it with
 * bpf_object__open_file() (no skeleton: the host build must not need the
 * patched vmlinux.h). The host build compiles it too, against the host's
 * vmlinux.h with the series' context types declared here
 * (-DRI_DECLARE_CTX): a compile check that keeps it in step with
 * records.h, never loaded.
 *
 * Each iterator calls its program once per slot or item, with the lock the
 * kernel needs held (uring_lock, ep->mtx), and once more at the end with an
 * empty context. A program writes the common records of records.h to the
 * seq_file, ready for user space to hand over unchanged: no walk, no ring
 * buffer, no bound on the table size. Empty io_uring slots write nothing;
 * at the end the io_uring programs write the ring record with the number
 * of slots.
 *
 * ri_task_file, on the mainline task_file iterator (pid-filtered link),
 * finds the instances: an ib_rec_fd per descriptor whose file is of kind
 * ri_cfg.want_kind (an epoll instance or an io_uring ring), in one pass in
 * the kernel instead of a readlink per descriptor.
 *
 * Build: kernel/build.sh (clang -target bpf -I<kernel cache> -Ibpf)
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "real_iter.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

#ifdef RI_DECLARE_CTX
/* the series' context types (kernel/patches), for the host's compile check */
struct bpf_iter__io_uring_file {
	struct bpf_iter_meta *meta;
	struct io_ring_ctx *ctx;
	struct file *file;
	__u64 index;
} __attribute__((preserve_access_index));
struct bpf_iter__io_uring_buf {
	struct bpf_iter_meta *meta;
	struct io_ring_ctx *ctx;
	struct io_mapped_ubuf *ubuf;
	__u64 index;
} __attribute__((preserve_access_index));
struct bpf_iter__epoll {
	struct bpf_iter_meta *meta;
	struct eventpoll *ep;
	struct epitem *epi;
} __attribute__((preserve_access_index));
#endif

/* io_mapped_ubuf: { ubuf, ubuf_end } (6.1, the lane's kernel) before { ubuf, len } */
struct io_mapped_ubuf___end {
	__u64 ubuf;
	__u64 ubuf_end;
} __attribute__((preserve_access_index));
struct io_mapped_ubuf___len {
	__u64 ubuf;
	unsigned int len;
} __attribute__((preserve_access_index));

const volatile struct ri_config ri_cfg = { .key0 = 0, .key1 = 1, .want_kind = IB_K_EPOLL };

/* the instance being read: set by user space before each read */
struct ri_inst ri_cur SEC(".data.inst") = { .pid = 0, .fd = -1 };

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

/* a file's kind by the rules of kinds.h: the inode's mode, else the anon
 * inode's dentry name ("[eventpoll]", ...) */
static __always_inline __u32 file_kind(struct file *f)
{
	__u32 kind = ib_kind_of_mode(f->f_inode->i_mode);
	const unsigned char *name;
	__u64 w[2] = {};

	if (kind != IB_K_ANON)
		return kind;
	name = BPF_CORE_READ(f, f_path.dentry, d_name.name);
	if (bpf_probe_read_kernel(w, sizeof(w), name))
		return IB_K_ANON;
	return ib_kind_of_anon_words(w[0], w[1]);
}

static __always_inline void key_ref(struct ib_ref *r, struct file *f)
{
	r->how = IB_ID_KEY;
	r->key = mix(ptr_value(f));
}

/* the end of an io_uring table: the ring record with the number of slots */
static __always_inline void ring_record(struct seq_file *seq, __u32 status, bool files)
{
	struct ib_rec_uring_ring r = {};

	r.h.type = IB_REC_URING_RING;
	r.h.size = sizeof(r);
	r.h.pid = ri_cur.pid;
	r.ring_fd = ri_cur.fd;
	if (files)
		r.nr_files = ri_cur.nslots;
	else
		r.nr_bufs = ri_cur.nslots;
	r.status = status;
	bpf_seq_write(seq, &r, sizeof(r));
}

SEC("iter/io_uring_file")
int ri_io_uring_file(struct bpf_iter__io_uring_file *ctx)
{
	struct file *file = ctx->file;
	struct ib_rec_uring_file r = {};
	struct inode *inode;

	if (!ctx->ctx) {
		/* after the last slot: this ring's file table, no buffers */
		ring_record(ctx->meta->seq, IB_URING_NO_BUFS, true);
		return 0;
	}
	/* a slot may be shown twice (a full seq_file shows it again): count by index */
	ri_cur.nslots = ctx->index + 1;
	if (!file)
		return 0; /* an empty slot */
	inode = file->f_inode;
	r.h.type = IB_REC_URING_FILE;
	r.h.size = sizeof(r);
	r.h.pid = ri_cur.pid;
	r.ring_fd = ri_cur.fd;
	r.index = ctx->index;
	r.have = IB_HAVE_KIND | IB_HAVE_DEV | IB_HAVE_INO;
	r.kind = file_kind(file);
	r.dev = ib_kdev_to_dev(inode->i_sb->s_dev);
	r.ino = inode->i_ino;
	key_ref(&r.file, file);
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}

SEC("iter/io_uring_buf")
int ri_io_uring_buf(struct bpf_iter__io_uring_buf *ctx)
{
	struct io_mapped_ubuf *ubuf = ctx->ubuf;
	struct ib_rec_uring_buf r = {};

	if (!ctx->ctx) {
		ring_record(ctx->meta->seq, IB_URING_NO_FILES, false);
		return 0;
	}
	ri_cur.nslots = ctx->index + 1;
	if (!ubuf)
		return 0;
	r.h.type = IB_REC_URING_BUF;
	r.h.size = sizeof(r);
	r.h.pid = ri_cur.pid;
	r.ring_fd = ri_cur.fd;
	r.index = ctx->index;
	r.addr = ubuf->ubuf;
	if (bpf_core_field_exists(struct io_mapped_ubuf___len, len))
		r.len = ((struct io_mapped_ubuf___len *)ubuf)->len;
	else
		r.len = ((struct io_mapped_ubuf___end *)ubuf)->ubuf_end - r.addr;
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}

SEC("iter/epoll")
int ri_epoll(struct bpf_iter__epoll *ctx)
{
	struct epitem *epi = ctx->epi;
	struct ib_rec_epoll_item r = {};
	struct inode *inode;
	struct file *tf;

	if (!epi)
		return 0; /* after the last item */
	tf = epi->ffd.file;
	if (!tf)
		return 0;
	inode = tf->f_inode;
	r.h.type = IB_REC_EPOLL_ITEM;
	r.h.size = sizeof(r);
	r.h.pid = ri_cur.pid;
	r.epfd = ri_cur.fd;
	r.tfd = epi->ffd.fd;
	r.events = epi->event.events;
	r.have = IB_HAVE_DEV | IB_HAVE_INO | IB_HAVE_EVENT;
	/* struct epoll_event is packed on x86_64: data is not 8-byte aligned */
	bpf_probe_read_kernel(&r.data, sizeof(r.data), &epi->event.data);
	r.target_dev = ib_kdev_to_dev(inode->i_sb->s_dev);
	r.target_ino = inode->i_ino;
	key_ref(&r.target, tf);
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}

SEC("iter/task_file")
int ri_task_file(struct bpf_iter__task_file *ctx)
{
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct ib_rec_fd r = {};

	if (!file || !task)
		return 0;
	/* epoll and io_uring files are anonymous inodes (no file type in i_mode) */
	if (ib_kind_of_mode(file->f_inode->i_mode) != IB_K_ANON)
		return 0;
	r.kind = file_kind(file);
	if (r.kind != ri_cfg.want_kind)
		return 0;
	r.h.type = IB_REC_FD;
	r.h.size = sizeof(r);
	r.h.pid = task->tgid;
	r.fd = ctx->fd;
	r.have = IB_HAVE_KIND;
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}
