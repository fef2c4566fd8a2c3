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
 * seq_file: no walk, no ring buffer, no bound on the table size. Empty
 * io_uring slots write nothing; at slot 0 an io_uring program writes the
 * ring record, with the table sizes it reads from the ring (ri_cfg.ring
 * says which program writes it and with which counts). A table without a
 * slot gets no program call but the last: its reader writes that record.
 *
 * The programs keep no state, per call or per reader (real_iter.h): the
 * records carry neither the task nor the instance's descriptor, which the
 * reader writes into them; a pointer becomes a number on the program's own
 * stack (ptr_value.h). So any number of readers may read the iterators of
 * one loaded object at once.
 *
 * ri_task_file, on the mainline task_file iterator (pid-filtered link),
 * finds the instances: an ib_rec_fd per descriptor whose file is of one of
 * the kinds in ri_cfg.want_kinds (epoll instances, io_uring rings), in one
 * pass in the kernel instead of a readlink per descriptor.
 *
 * Build: kernel/build.sh (clang -target bpf -I<kernel cache> -Ibpf)
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "real_iter.h"
#include "ptr_value.h"

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

/* the table sizes: nr_user_files / nr_user_bufs up to 6.12 (both bases of
 * the lane), io_rsrc_data's nr after */
struct io_ring_ctx___nr {
	unsigned int nr_user_files;
	unsigned int nr_user_bufs;
} __attribute__((preserve_access_index));
struct io_rsrc_data___nr {
	unsigned int nr;
} __attribute__((preserve_access_index));
struct io_file_table___nr {
	struct io_rsrc_data___nr data;
} __attribute__((preserve_access_index));
struct io_ring_ctx___data {
	struct io_file_table___nr file_table;
	struct io_rsrc_data___nr buf_table;
} __attribute__((preserve_access_index));

const volatile struct ri_config ri_cfg = {
	.key0 = 0, .key1 = 1, .want_kinds = 1u << IB_K_EPOLL, .ring = RI_RING_FROM_FILES,
};

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

static __always_inline __u32 nr_files(struct io_ring_ctx *ctx)
{
	if (bpf_core_field_exists(struct io_ring_ctx___nr, nr_user_files))
		return ((struct io_ring_ctx___nr *)ctx)->nr_user_files;
	if (bpf_core_field_exists(struct io_ring_ctx___data, file_table.data.nr))
		return ((struct io_ring_ctx___data *)ctx)->file_table.data.nr;
	return 0;
}

static __always_inline __u32 nr_bufs(struct io_ring_ctx *ctx)
{
	if (bpf_core_field_exists(struct io_ring_ctx___nr, nr_user_bufs))
		return ((struct io_ring_ctx___nr *)ctx)->nr_user_bufs;
	if (bpf_core_field_exists(struct io_ring_ctx___data, buf_table.nr))
		return ((struct io_ring_ctx___data *)ctx)->buf_table.nr;
	return 0;
}

/* the ring record, with the sizes of the ring's tables (the reader writes
 * the task and the descriptor, real_iter.h) */
static __always_inline void ring_record(struct seq_file *seq, struct io_ring_ctx *ctx, bool files)
{
	struct ib_rec_uring_ring r = {};

	r.h.type = IB_REC_URING_RING;
	r.h.size = sizeof(r);
	r.ring_fd = -1;
	if (ri_cfg.ring & RI_RING_BOTH) {
		r.nr_files = nr_files(ctx);
		r.nr_bufs = nr_bufs(ctx);
	} else if (files) {
		r.nr_files = nr_files(ctx);
		r.status = IB_URING_NO_BUFS;
	} else {
		r.nr_bufs = nr_bufs(ctx);
		r.status = IB_URING_NO_FILES;
	}
	bpf_seq_write(seq, &r, sizeof(r));
}

SEC("iter/io_uring_file")
int ri_io_uring_file(struct bpf_iter__io_uring_file *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct io_ring_ctx *ring = ctx->ctx;
	struct file *file = ctx->file;
	struct ib_rec_uring_file r = {};
	struct inode *inode;

	if (!ring)
		return 0; /* after the last slot */
	/* (a slot is shown again when the seq_file was full: the records its
	 * first call wrote were dropped with it) */
	if (ctx->index == 0 && (ri_cfg.ring & RI_RING_FROM_FILES))
		ring_record(seq, ring, true);
	if (!file)
		return 0; /* an empty slot */
	inode = file->f_inode;
	r.h.type = IB_REC_URING_FILE;
	r.h.size = sizeof(r);
	r.ring_fd = -1;
	r.index = ctx->index;
	r.have = IB_HAVE_KIND | IB_HAVE_DEV | IB_HAVE_INO;
	r.kind = file_kind(file);
	r.dev = ib_kdev_to_dev(inode->i_sb->s_dev);
	r.ino = inode->i_ino;
	key_ref(&r.file, file);
	bpf_seq_write(seq, &r, sizeof(r));
	return 0;
}

SEC("iter/io_uring_buf")
int ri_io_uring_buf(struct bpf_iter__io_uring_buf *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct io_ring_ctx *ring = ctx->ctx;
	struct io_mapped_ubuf *ubuf = ctx->ubuf;
	struct ib_rec_uring_buf r = {};

	if (!ring)
		return 0;
	/* both counts in one record: the file program wrote it unless the
	 * ring has no file slot (then it never ran with a slot) */
	if (ctx->index == 0 && (ri_cfg.ring & RI_RING_FROM_BUFS) &&
	    (!(ri_cfg.ring & RI_RING_BOTH) || !(ri_cfg.ring & RI_RING_FROM_FILES) ||
	     nr_files(ring) == 0))
		ring_record(seq, ring, false);
	if (!ubuf)
		return 0;
	r.h.type = IB_REC_URING_BUF;
	r.h.size = sizeof(r);
	r.ring_fd = -1;
	r.index = ctx->index;
	r.addr = ubuf->ubuf;
	if (bpf_core_field_exists(struct io_mapped_ubuf___len, len))
		r.len = ((struct io_mapped_ubuf___len *)ubuf)->len;
	else
		r.len = ((struct io_mapped_ubuf___end *)ubuf)->ubuf_end - r.addr;
	bpf_seq_write(seq, &r, sizeof(r));
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
	r.epfd = -1;
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
	if (r.kind >= 32 || !(ri_cfg.want_kinds & (1u << r.kind)))
		return 0;
	r.h.type = IB_REC_FD;
	r.h.size = sizeof(r);
	r.h.pid = task->tgid;
	r.fd = ctx->fd;
	r.have = IB_HAVE_KIND;
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}
