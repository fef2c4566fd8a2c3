// SPDX-License-Identifier: MIT OR GPL-2.0
/*
 * task_file.bpf.c - one task_file iterator program behind every bpf-family
 * method of iterbench (bench/native/bpf.c):
 *
 *   bpf-task-file     one record per descriptor through the seq_file
 *   bpf-epoll         walks every epoll instance's item tree (emulates the
 *                     2021 series' epoll iterator on a stock kernel)
 *   bpf-io-uring      walks every io_uring ring's registered files/buffers
 *                     (emulates the series' io_uring_file/io_uring_buf)
 *   bpf-all           all of the above in one pass
 *   floor-empty-iter  returns at once: the cost of visiting the files
 *   floor-walk        visits every epoll item and io_uring slot, emits nothing
 *
 * Switches are const volatile rodata set between __open and __load, so the
 * verifier prunes what a method does not use. Links are pid-filtered
 * (bpf_iter_link_info.task.pid): the program only sees the target tasks.
 *
 * The program writes the common records of bpf/records.h itself, ready for
 * user space to hand over unchanged: kinds by the rules of kinds.h, dev in
 * the userspace encoding, the task's tgid in every header, identity keys
 * mixed with the load's random keys. Per-descriptor records go through the
 * seq_file (bpf_seq_write). Per-item records (epoll items, io_uring slots)
 * cannot: one iterator step may write at most 8 pages, so they are packed
 * into chunks of TF_CHUNK bytes in .bss and each chunk is copied into a BPF
 * ring buffer with one bpf_ringbuf_output (one reserve/commit per chunk
 * instead of per record). A chunk that does not fit is counted in ndropped;
 * user space reports it and fails the collect.
 *
 * Shared descriptor tables: tasks made with clone(CLONE_FILES) use one
 * files_struct. A table is reported once per collect, under the first
 * target task whose iteration shows it (a hash map of files_struct
 * pointers); another task using it gets an ib_rec_table and nothing else
 * (its descriptors, epoll items and rings are the first task's).
 *
 * Rings no descriptor reaches: a ring registered with
 * IORING_REGISTER_RING_FDS lives in a thread's io_uring_task
 * (registered_rings[]) even after its descriptor is closed. The io_uring
 * walks look at every thread's table (task->signal->thread_head) when a
 * task's iteration starts; the rings no descriptor of the task turned out
 * to hold are walked when the iteration stops (the program's last call,
 * without a task), each with an ib_rec_uring_reg and a negative handle in
 * place of a descriptor.
 *
 * Locking: the epoll tree and the io_uring tables are read without ep->mtx
 * or ctx->uring_lock. The benchmark's workloads are frozen while they are
 * inspected, so the structures do not change under the walk; on a live
 * process a walk could see a half-updated tree. Every read of those
 * structures is fault-safe (loads through bpf_rdonly_cast pointers, which
 * the JIT guards with an exception table entry, or bpf_probe_read_kernel),
 * every loop is bounded (a walk stops after TF_MAX_ITEMS and says so), and
 * nothing is written to kernel or user memory.
 *
 * Build: make -C bpf O=<out>  ->  <out>/task_file.bpf.o, <out>/task_file.skel.h
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "task_file.h"
#include "ptr_value.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

#define O_CLOEXEC 02000000

/* io_uring file slots keep flag bits (FFS_NOWAIT 1, FFS_ISREG 2, older
 * kernels also FFS_SCM 4) below the struct file pointer: io_slot_file()
 * masks them off. struct file is at least 8-byte aligned. */
#define FFS_MASK (~7ul)

/* --- settings (rodata, set by user space between __open and __load) --- */
const volatile __u64 key0 = 0;         /* identity mix keys (random per load) */
const volatile __u64 key1 = 1;         /* odd */
const volatile bool empty = false;     /* floor-empty-iter: return at once */
const volatile bool emit_files = false; /* an ib_rec_fd per descriptor */
const volatile bool walk_epoll = false;
const volatile bool walk_uring = false;
const volatile bool emit_items = false; /* false: floor-walk, count only */
/* bpf-task-file-sys, bpf-cgroup-fds: visit only the tasks whose tgid is
 * in the map tgids (the link is not pid-filtered) */
const volatile bool filter_tgids = false;

/* --- state (.bss, read and reset by user space) --- */
__u64 nvisit;   /* program runs with a file */
__u64 nwalked;  /* epoll items + io_uring slots visited */
__u64 ndropped; /* records lost: the ring buffer was full */
__s32 cur_pid;  /* tgid of the task being visited: every record's h.pid */
__u64 nseen;    /* program runs with a file, target or not (filter_tgids) */

/* --- the target filter (filter_tgids) ---
 * The tgids of the targets are the keys of a hash map (user space fills it
 * after load; its size is the number of targets). A value is the collect
 * generation that last saw the task, so ntgid_seen counts each target once
 * per collect without resetting the map. The last task's verdict is cached:
 * task_file visits a task's files one after another. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1); /* user space sets the number of targets before load */
	__type(key, __s32);
	__type(value, __u64);
} tgids SEC(".maps");

__u32 gen;        /* the collect's generation, set by user space (the tables map below uses it too) */
__u64 ntgid_seen; /* targets visited in this collect */
__s32 flt_tgid;   /* the last task's tgid (0: none yet; reset per collect) */
__u32 flt_ok;     /* and whether it is a target */

static __always_inline bool target_tgid(__s32 tgid)
{
	__u64 *v;

	if (tgid == flt_tgid)
		return flt_ok;
	flt_tgid = tgid;
	v = bpf_map_lookup_elem(&tgids, &tgid);
	flt_ok = v != NULL;
	if (v && *v != gen) {
		*v = gen;
		ntgid_seen++;
	}
	return flt_ok;
}

/* descriptor tables seen in this collect: files_struct -> the first tgid
 * that showed it. `gen` (user space bumps it per collect, never 0) voids
 * the entries of earlier collects without clearing the map. */
struct tbl_val {
	__s32 tgid;
	__u32 gen;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024); /* user space sizes it from the number of targets */
	__type(key, __u64);
	__type(value, struct tbl_val);
} tables SEC(".maps");

__u32 gen;       /* this collect's generation (user space) */
__u64 last_task; /* the task of the previous run; 0 at the start of a collect (user space) */
__u32 skip_task; /* that task's table is reported under another task */

/* registered rings of the current task's threads, until its iteration stops */
#define TF_MAX_REG 64
#define TF_MAX_THREADS 4096
#define TF_RING_SLOTS 16 /* IO_RINGFD_REG_MAX: io_uring_task.registered_rings[] */
__u64 reg_file[TF_MAX_REG];
__s32 reg_tid[TF_MAX_REG];
__u32 reg_idx[TF_MAX_REG];
__u32 reg_held[TF_MAX_REG]; /* a descriptor of the task holds it: walked as that descriptor */
__u32 nreg;
__s32 reg_pid;

/* learned f_op -> kind for anonymous inodes, so that the dentry name is
 * read once per file type and load, not once per file */
#define NFOP 8
__u64 fop_ptr[NFOP];
__u32 fop_kind[NFOP];

/* close_on_exec word cache: fdinfo reports O_CLOEXEC from the fd table */
__u64 coe_fdt;
__u64 coe_idx;
__u64 coe_word;

/* the chunk being filled */
__u32 scr_len;
__u32 scr_n;
__u8 scratch[TF_CHUNK];

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20); /* user space may resize before load */
} rb SEC(".maps");

/* --- kernel layouts of older kernels, for CO-RE fallbacks ---
 *
 * preserve_access_index makes every field access of these local flavors a
 * CO-RE relocation (vmlinux.h gives its own types that attribute; these
 * come after its pragma ends): without it a read compiles to the local
 * offset, which is not the kernel's. */
#define CORE_FLAVOR __attribute__((preserve_access_index))

/* up to 6.12: file slots are struct io_fixed_file { file_ptr } */
struct io_fixed_file___old {
	unsigned long file_ptr;
} CORE_FLAVOR;
struct io_file_table___old {
	struct io_fixed_file___old *files;
} CORE_FLAVOR;
/* 6.13-6.14ish: buf_table was struct io_buf_table { struct io_rsrc_data data; } */
struct io_buf_table___v613 {
	struct io_rsrc_data data;
} CORE_FLAVOR;
struct io_ring_ctx___old {
	struct io_file_table___old file_table;
	unsigned int nr_user_files;
	unsigned int nr_user_bufs;
	struct io_mapped_ubuf **user_bufs;
	struct io_mapped_ubuf *dummy_ubuf; /* marks an empty buffer slot (<= 6.9) */
} CORE_FLAVOR;
struct io_ring_ctx___v613 {
	struct io_buf_table___v613 buf_table;
} CORE_FLAVOR;
/* io_mapped_ubuf: { ubuf, ubuf_end } before { ubuf, len } */
struct io_mapped_ubuf___old {
	__u64 ubuf;
	__u64 ubuf_end;
} CORE_FLAVOR;

/* --- reading kernel memory ---
 *
 * The file of the iterator step is a trusted pointer: its fields are read
 * with plain loads. Everything reached through void * (file->private_data)
 * or read out of the epoll tree and io_uring tables is untrusted. Two
 * builds of this source read it differently:
 *  - default: bpf_rdonly_cast() (kernel 6.2+; the verifier turns it into a
 *    register move) gives a typed read-only pointer, then plain loads, which
 *    the JIT guards with an exception table entry: no helper call per field;
 *  - TF_COMPAT (task_file_compat.bpf.c, for kernels without bpf_rdonly_cast):
 *    bpf_probe_read_kernel per field (BPF_CORE_READ).
 * Untrusted pointers travel as __u64 numbers between the two.
 */

/* A BTF pointer cannot take part in arithmetic: ptr_value() (ptr_value.h)
 * turns it into a number through a stack slot of the running program. */

#ifdef TF_COMPAT
#define KPTR(T, v) ((T *)(v))
#define RD(p, a) BPF_CORE_READ(p, a)
#define RDP(p, a) ((__u64)BPF_CORE_READ(p, a))
#else
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;
#define KPTR(T, v) ((T *)bpf_rdonly_cast((void *)(v), bpf_core_type_id_kernel(T)))
#define RD(p, a) ((p)->a)
#define RDP(p, a) ptr_value((p)->a)
#endif

/* identity: bijective mix of the struct file pointer with the load's keys
 * (equal keys <=> equal files; the address is not recoverable without them) */
static __always_inline __u64 mix(__u64 p)
{
	__u64 x = p ^ key0;

	x *= 0x9e3779b97f4a7c15ull;
	x ^= x >> 32;
	x *= key1;
	x ^= x >> 29;
	return x;
}

/* the anon inode's dentry name: "[eventpoll]", "[io_uring]", ... (kinds.h) */
static __always_inline __u32 name_kind(__u64 name)
{
	__u64 w[2] = {};

	if (bpf_probe_read_kernel(w, sizeof(w), (void *)name))
		return IB_K_ANON;
	return ib_kind_of_anon_words(w[0], w[1]);
}

/* Kind of an anonymous-inode file: by its f_op if already learned, else by
 * its dentry name, then learned. kallsyms has no data symbols, so
 * eventpoll_fops & co. are learned here rather than looked up; the dentry
 * (one cache miss per file) is read once per file type and load instead of
 * once per file. fop_find() returns the learned kind or -1. */
__noinline int fop_find(__u64 fop)
{
	__u32 i;

	if (!fop)
		return -1;
	for (i = 0; i < NFOP; i++) {
		if (fop_ptr[i] == fop)
			return fop_kind[i];
		if (!fop_ptr[i])
			break;
	}
	return -1;
}

__noinline int fop_learn(__u64 fop, __u64 name)
{
	__u32 i, k = name_kind(name);

	if (!fop)
		return k;
	for (i = 0; i < NFOP; i++) {
		if (!fop_ptr[i]) {
			fop_kind[i] = k;
			fop_ptr[i] = fop;
			break;
		}
	}
	return k;
}

struct fmeta {
	__u64 ino;
	__u32 dev;
	__u32 kind;
};

/* --- the chunk: records packed for one bpf_ringbuf_output --- */

static __always_inline void flush(void)
{
	__u32 len = scr_len;

	if (!len)
		return;
	if (len > TF_CHUNK)
		len = TF_CHUNK;
	if (bpf_ringbuf_output(&rb, scratch, len, BPF_RB_NO_WAKEUP))
		ndropped += scr_n;
	scr_len = 0;
	scr_n = 0;
}

/* room for one record of `size` bytes (a multiple of 8) in the chunk, its
 * header filled; the caller writes every other field */
static __always_inline void *reserve(__u32 size, __u16 type)
{
	struct ib_rec_hdr *h;
	__u32 off = scr_len;

	if (off > TF_CHUNK - size) {
		flush();
		off = 0;
	}
	if (off > TF_CHUNK - size)
		return NULL;
	h = (void *)&scratch[off];
	h->type = type;
	h->size = size;
	h->pid = cur_pid;
	scr_len = off + size;
	scr_n++;
	return h;
}

static __always_inline void key_ref(struct ib_ref *r, __u64 key)
{
	r->key = key;
	r->holder_pid = 0;
	r->holder_fd = 0;
	r->how = IB_ID_KEY;
	r->_pad = 0;
}

static __always_inline void note_truncated(__s32 fd, __u64 count)
{
	struct ib_rec_note *n = reserve(sizeof(*n), IB_REC_NOTE);

	if (!n)
		return;
	n->code = IB_NOTE_TRUNCATED;
	n->fd = fd;
	n->count = count;
}

/* --- batches ---
 *
 * Items are handled BATCH at a time in phases: first the item pointers, then
 * every item's target struct file, then every target inode, each phase a
 * plain loop of independent loads. Each of those loads is typically a cache
 * miss (one object per item); in a loop without calls the CPU overlaps them,
 * where item-by-item processing would wait for each miss in turn. Each
 * phase is a global function, verified once for any caller and any n (a
 * loop in a callback would be explored again per iteration and caller).
 */
#define BATCH 16

__u64 b_slot[BATCH];  /* io_uring slot words */
__u64 b_item[BATCH];  /* epitem pointers */
__u64 b_file[BATCH];  /* target struct file pointers */
__u64 b_inode[BATCH]; /* their inodes */

/* kind, dev, ino of files b_file[0..n) (with b_inode loaded): the last
 * phase, one record at a time */
__noinline int load_inodes(__u32 n)
{
	__u32 k;

	for (k = 0; k < BATCH; k++) {
		if (k >= n)
			break;
		b_inode[k] = b_file[k] ? RDP(KPTR(struct file, b_file[k]), f_inode) : 0;
	}
	return 0;
}

static __always_inline void inode_meta(__u64 fp, __u64 ip, struct fmeta *m, bool want_kind)
{
	struct inode *inode = KPTR(struct inode, ip);
	__u64 sb, dentry;

	m->ino = RD(inode, i_ino);
	sb = RDP(inode, i_sb);
	m->dev = RD(KPTR(struct super_block, sb), s_dev);
	if (!want_kind)
		return;
	m->kind = ib_kind_of_mode(RD(inode, i_mode));
	if (m->kind == IB_K_ANON) {
		struct file *f = KPTR(struct file, fp);
		__u64 fop = RDP(f, f_op);
		int k = fop_find(fop);

		if (k < 0) {
			dentry = RDP(f, f_path.dentry);
			k = fop_learn(fop, RDP(KPTR(struct dentry, dentry), d_name.name));
		}
		m->kind = k;
	}
}

/* --- epoll: in-order walk of ep->rbr with parent pointers --- */

struct ep_walk {
	__u64 node;   /* next epitem (rbn is its first member), 0 at the end */
	__s32 epfd;
	__u32 n;
};

/* in-order successor of an rb_node; bounded by the tree height (< 64 for
 * any rbtree in memory). A global function: verified once. */
__noinline __u64 rb_next_node(__u64 node)
{
	struct rb_node *rb = KPTR(struct rb_node, node);
	__u64 n, parent, right;
	int i;

	if (!node)
		return 0;
	right = RDP(rb, rb_right);
	if (right) {
		n = right;
		for (i = 0; i < 64; i++) {
			__u64 l = RDP(KPTR(struct rb_node, n), rb_left);

			if (!l)
				break;
			n = l;
		}
		return n;
	}
	n = node;
	parent = RD(rb, __rb_parent_color) & ~3ul;
	for (i = 0; i < 64 && parent; i++) {
		struct rb_node *p = KPTR(struct rb_node, parent);

		if (RDP(p, rb_right) != n)
			break;
		n = parent;
		parent = RD(p, __rb_parent_color) & ~3ul;
	}
	return parent;
}

/* phase 1: up to BATCH items of the walk into b_item; returns how many */
__noinline int ep_items(struct ep_walk *w)
{
	__u32 k, n = 0;

	if (!w)
		return 0;
	for (k = 0; k < BATCH; k++) {
		if (!w->node)
			break;
		b_item[k] = w->node;
		w->node = rb_next_node(w->node);
		n++;
	}
	w->n += n;
	return n;
}

/* phase 2: the items' target files */
__noinline int ep_files(__u32 n)
{
	__u32 k;

	for (k = 0; k < BATCH; k++) {
		if (k >= n)
			break;
		b_file[k] = RDP(KPTR(struct epitem, b_item[k]), ffd.file);
	}
	return 0;
}

/* phase 4 (after load_inodes): the record of item k */
__noinline int ep_emit(struct ep_walk *w, __u32 k)
{
	struct ib_rec_epoll_item *r;
	struct epitem *epi;
	struct fmeta m;

	if (!w || k >= BATCH)
		return 0;
	r = reserve(sizeof(*r), IB_REC_EPOLL_ITEM);
	if (!r)
		return 0;
	epi = KPTR(struct epitem, b_item[k]);
	inode_meta(b_file[k], b_inode[k], &m, false);
	r->epfd = w->epfd;
	r->tfd = RD(epi, ffd.fd);
	r->events = RD(epi, event.events);
	r->have = IB_HAVE_DEV | IB_HAVE_INO | IB_HAVE_EVENT;
	r->data = RD(epi, event.data);
	r->target_dev = ib_kdev_to_dev(m.dev);
	r->target_ino = m.ino;
	key_ref(&r->target, mix(b_file[k]));
	return 0;
}

static long ep_batch(__u32 i, void *data)
{
	struct ep_walk *w = data;
	__u32 k, n = ep_items(w);

	if (emit_items && n) {
		ep_files(n);
		load_inodes(n);
		for (k = 0; k < BATCH; k++) {
			if (k >= n)
				break;
			ep_emit(w, k);
		}
	}
	return w->node ? 0 : 1;
}

static __always_inline void walk_ep(__s32 epfd, __u64 ep)
{
	struct ep_walk w = { .epfd = epfd };

	w.node = RDP(KPTR(struct eventpoll, ep), rbr.rb_leftmost);
	bpf_loop(TF_MAX_ITEMS / BATCH, ep_batch, &w, 0);
	nwalked += w.n;
	if (w.node && emit_items)
		note_truncated(epfd, w.n);
}

/* --- io_uring: registered file and buffer tables --- */

struct ur_walk {
	__u64 slots;    /* array of slot words (node pointers, file_ptr, imu pointers) */
	__u64 dummy;    /* an empty buffer slot's marker (old kernels), else 0 */
	__u32 nr;
	__s32 fd;
	__u32 n;
	__u32 nodes;    /* slots are struct io_rsrc_node * */
};

/* phase 2: the slots' struct file pointers, flag bits masked off */
__noinline int ur_files(struct ur_walk *w, __u32 n)
{
	__u64 fp;
	__u32 k;

	if (!w)
		return 0;
	for (k = 0; k < BATCH; k++) {
		if (k >= n)
			break;
		fp = b_slot[k];
		if (fp && w->nodes && bpf_core_field_exists(struct io_rsrc_node, file_ptr))
			fp = RD(KPTR(struct io_rsrc_node, fp), file_ptr);
		fp &= FFS_MASK;
		b_file[k] = fp;
		if (fp)
			w->n++;
	}
	return 0;
}

/* phase 4 (after load_inodes): the record of slot base + k, if occupied */
__noinline int ur_file_emit(struct ur_walk *w, __u32 base, __u32 k)
{
	struct ib_rec_uring_file *r;
	struct fmeta m;

	if (!w || k >= BATCH || !b_file[k])
		return 0;
	r = reserve(sizeof(*r), IB_REC_URING_FILE);
	if (!r)
		return 0;
	inode_meta(b_file[k], b_inode[k], &m, true);
	r->ring_fd = w->fd;
	r->index = base + k;
	r->have = IB_HAVE_KIND | IB_HAVE_DEV | IB_HAVE_INO;
	r->kind = m.kind;
	r->dev = ib_kdev_to_dev(m.dev);
	r->ino = m.ino;
	key_ref(&r->file, mix(b_file[k]));
	return 0;
}

__noinline int ur_buf(struct ur_walk *w, __u32 idx, __u64 slot)
{
	struct io_mapped_ubuf *imu;
	struct ib_rec_uring_buf *r;
	__u64 p, addr;

	if (!w || !slot)
		return 0;
	p = slot;
	if (w->nodes && bpf_core_field_exists(struct io_rsrc_node, buf))
		p = RDP(KPTR(struct io_rsrc_node, slot), buf);
	if (!p || p == w->dummy)
		return 0;
	imu = KPTR(struct io_mapped_ubuf, p);
	addr = RD(imu, ubuf);
	/* 6.10-6.12: an empty slot points to a static dummy {ubuf = -1UL,
	 * len = UINT_MAX} (io_uring/rsrc.c), no longer to ctx->dummy_ubuf */
	if (addr == ~0ull)
		return 0;
	w->n++;
	if (!emit_items)
		return 0;
	r = reserve(sizeof(*r), IB_REC_URING_BUF);
	if (!r)
		return 0;
	r->ring_fd = w->fd;
	r->index = idx;
	r->addr = addr;
	if (bpf_core_field_exists(imu->len)) {
		r->len = RD(imu, len);
	} else {
		struct io_mapped_ubuf___old *o = KPTR(struct io_mapped_ubuf___old, p);

		r->len = RD(o, ubuf_end) - r->addr;
	}
	return 0;
}

/* phase 1: the slot words [b * BATCH, + n) into b_slot, with one read;
 * returns n (<= BATCH), 0 past the end */
__noinline int read_slots(struct ur_walk *w, __u32 b)
{
	__u64 base = (__u64)b * BATCH, nr, cnt, sz;

	if (!w)
		return 0;
	nr = w->nr;
	if (base >= nr)
		return 0;
	cnt = nr - base;
	if (cnt > BATCH)
		cnt = BATCH;
	sz = cnt * sizeof(__u64);
	barrier_var(sz);
	if (sz > sizeof(b_slot))
		return 0;
	if (bpf_probe_read_kernel(b_slot, sz, (void *)(w->slots + base * sizeof(__u64))))
		return 0;
	return cnt;
}

static long ur_file_step(__u32 b, void *data)
{
	struct ur_walk *w = data;
	__u32 k, n = read_slots(w, b);

	if (!n)
		return 1;
	ur_files(w, n);
	if (emit_items) {
		load_inodes(n);
		for (k = 0; k < BATCH; k++) {
			if (k >= n)
				break;
			ur_file_emit(w, b * BATCH, k);
		}
	}
	return 0;
}

static long ur_buf_step(__u32 b, void *data)
{
	struct ur_walk *w = data;
	__u32 k, n = read_slots(w, b);

	if (!n)
		return 1;
	for (k = 0; k < BATCH; k++) {
		if (k >= n)
			break;
		ur_buf(w, b * BATCH + k, b_slot[k]);
	}
	return 0;
}

static __always_inline void walk_ring(__s32 fd, __u64 ctxp)
{
	struct io_ring_ctx *ctx = KPTR(struct io_ring_ctx, ctxp);
	struct ur_walk w = { .fd = fd };
	__u32 nr_files = 0, nr_bufs = 0;
	__u64 files = 0, bufs = 0, dummy = 0;
	bool nodes = false;

	if (bpf_core_field_exists(ctx->file_table.data)) {
		/* 6.13+: io_rsrc_data { nr, nodes }; empty slots are NULL */
		nodes = true;
		nr_files = RD(ctx, file_table.data.nr);
		files = RDP(ctx, file_table.data.nodes);
		if (bpf_core_field_exists(ctx->buf_table.nodes)) {
			nr_bufs = RD(ctx, buf_table.nr);
			bufs = RDP(ctx, buf_table.nodes);
		} else {
			struct io_ring_ctx___v613 *c = KPTR(struct io_ring_ctx___v613, ctxp);

			nr_bufs = RD(c, buf_table.data.nr);
			bufs = RDP(c, buf_table.data.nodes);
		}
	} else {
		/* up to 6.12: io_fixed_file array, io_mapped_ubuf pointer array */
		struct io_ring_ctx___old *c = KPTR(struct io_ring_ctx___old, ctxp);

		nr_files = RD(c, nr_user_files);
		files = RDP(c, file_table.files);
		nr_bufs = RD(c, nr_user_bufs);
		bufs = RDP(c, user_bufs);
		if (bpf_core_field_exists(c->dummy_ubuf))
			dummy = RDP(c, dummy_ubuf);
	}
	if (!files)
		nr_files = 0;
	if (!bufs)
		nr_bufs = 0;

	if (emit_items) {
		struct ib_rec_uring_ring *r = reserve(sizeof(*r), IB_REC_URING_RING);

		if (r) {
			r->ring_fd = fd;
			r->nr_files = nr_files;
			r->nr_bufs = nr_bufs;
			r->status = 0;
		}
	}

	w.nodes = nodes;
	w.slots = files;
	w.nr = nr_files < TF_MAX_ITEMS ? nr_files : TF_MAX_ITEMS;
	bpf_loop((w.nr + BATCH - 1) / BATCH, ur_file_step, &w, 0);

	w.slots = bufs;
	w.dummy = dummy;
	w.nr = nr_bufs < TF_MAX_ITEMS ? nr_bufs : TF_MAX_ITEMS;
	bpf_loop((w.nr + BATCH - 1) / BATCH, ur_buf_step, &w, 0);

	nwalked += w.n;
	if (emit_items && (nr_files > TF_MAX_ITEMS || nr_bufs > TF_MAX_ITEMS))
		note_truncated(fd, w.n);
}

/* --- rings in the threads' registered-ring tables --- */

struct thr_walk {
	__u64 head; /* &signal->thread_head */
	__u64 node; /* the next thread's thread_node */
};

/* one thread of the group: its registered rings into reg_* */
static long reg_thread(__u32 i, void *data)
{
	struct thr_walk *w = data;
	__u64 node = w->node, t, tctx, rings[TF_RING_SLOTS] = {};
	__s32 tid;
	__u32 k, n;

	if (!node || node == w->head)
		return 1;
	t = node - bpf_core_field_offset(struct task_struct, thread_node);
	w->node = RDP(KPTR(struct list_head, node), next);
	tctx = RDP(KPTR(struct task_struct, t), io_uring);
	if (!tctx)
		return 0;
	if (bpf_probe_read_kernel(rings, sizeof(rings),
				  (void *)(tctx + bpf_core_field_offset(struct io_uring_task,
									registered_rings))))
		return 0;
	tid = RD(KPTR(struct task_struct, t), pid);
	for (k = 0; k < TF_RING_SLOTS; k++) {
		if (!rings[k])
			continue;
		n = nreg;
		if (n >= TF_MAX_REG)
			break;
		reg_file[n] = rings[k];
		reg_tid[n] = tid;
		reg_idx[n] = k;
		reg_held[n] = 0;
		nreg = n + 1;
	}
	return 0;
}

static __always_inline void find_registered(struct task_struct *task)
{
	struct thr_walk w = {};
	__u64 head;

	nreg = 0;
	reg_pid = task->tgid;
	if (!bpf_core_field_exists(struct io_uring_task, registered_rings) ||
	    bpf_core_field_size(struct io_uring_task, registered_rings) != sizeof(__u64) * TF_RING_SLOTS)
		return;
	head = ptr_value(&task->signal->thread_head);
	/* (a local: inside BPF_CORE_READ a field of w would be relocated too) */
	w.head = head;
	w.node = RDP(KPTR(struct list_head, head), next);
	bpf_loop(TF_MAX_THREADS, reg_thread, &w, 0);
}

/* an io_uring descriptor of the task: a registered ring it holds is walked as that descriptor */
__noinline int reg_mark(__u64 file)
{
	__u32 i;

	for (i = 0; i < TF_MAX_REG; i++) {
		if (i >= nreg)
			break;
		if (reg_file[i] == file)
			reg_held[i] = 1;
	}
	return 0;
}

/* the end of a task's iteration: the registered rings no descriptor held */
static long reg_walk_one(__u32 i, void *data)
{
	struct ib_rec_uring_reg *r;
	__s32 handle = -1 - (__s32)i;
	__u64 f;

	if (i >= TF_MAX_REG || i >= nreg)
		return 1;
	if (reg_held[i])
		return 0;
	f = reg_file[i];
	cur_pid = reg_pid;
	if (emit_items) {
		r = reserve(sizeof(*r), IB_REC_URING_REG);
		if (r) {
			r->ring_fd = handle;
			r->tid = reg_tid[i];
			r->index = reg_idx[i];
			r->_pad = 0;
			key_ref(&r->ring, mix(f));
		}
	}
	walk_ring(handle, RDP(KPTR(struct file, f), private_data));
	flush();
	return 0;
}

/* --- shared descriptor tables --- */

/* the first run with a new task: its threads' registered rings, then its
 * table; returns 1 when the table is reported under another task */
static __always_inline __u32 new_task(struct task_struct *task)
{
	__u64 files = ptr_value(task->files);
	struct tbl_val *v, nv = {};
	struct ib_rec_table *r;

	v = bpf_map_lookup_elem(&tables, &files);
	/* Another thread of the process, on the table the process showed:
	 * nothing of its own. The kernel's task_file walk skips such threads
	 * since 6.x, but 6.1's tests the previous thread's table instead of the
	 * next one's (task_group_seq_get_next) and shows the threads. Before
	 * find_registered: it would forget which registered rings the
	 * process's descriptors hold. */
	if (v && v->gen == gen && v->tgid == cur_pid)
		return 1;
	if (walk_uring)
		find_registered(task);
	if (v && v->gen == gen) {
		if (emit_files || emit_items) {
			r = reserve(sizeof(*r), IB_REC_TABLE);
			if (r) {
				r->same_as = v->tgid;
				r->_pad = 0;
			}
			flush();
		}
		return 1;
	}
	nv.tgid = cur_pid;
	nv.gen = gen;
	/* a full map: the table is not remembered, a later task that shares
	 * it reports it again, and verification calls it double-counted */
	bpf_map_update_elem(&tables, &files, &nv, BPF_ANY);
	return 0;
}

/* --- the program --- */

/* O_CLOEXEC as fdinfo reports it: from the fd table's close_on_exec bits,
 * read one 64-bit word per 64 descriptors (fds come in increasing order) */
static __always_inline __u32 cloexec(struct task_struct *task, int fd, __u64 seq_num)
{
	struct fdtable *fdt = task->files->fdt;
	__u64 idx = (__u32)fd / 64, f = ptr_value(fdt);

	if (seq_num == 0 || coe_fdt != f || coe_idx != idx) {
		__u64 word = 0;

		bpf_probe_read_kernel(&word, sizeof(word),
				      (void *)(ptr_value(fdt->close_on_exec) + idx * 8));
		coe_fdt = f;
		coe_idx = idx;
		coe_word = word;
	}
	return (coe_word >> ((__u32)fd % 64)) & 1 ? O_CLOEXEC : 0;
}

SEC("iter/task_file")
int task_file(struct bpf_iter__task_file *ctx)
{
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct inode *inode;
	__u32 kind;

	if (!task) {
		/* the iteration stopped: the rings only a thread's table holds */
		if (walk_uring && !empty && nreg)
			bpf_loop(TF_MAX_REG, reg_walk_one, NULL, 0);
		nreg = 0;
		return 0;
	}
	if (!file)
		return 0;
	nseen++;
	if (filter_tgids && !target_tgid(task->tgid))
		return 0;
	nvisit++;
	if (empty)
		return 0;

	cur_pid = task->tgid;
	if (ptr_value(task) != last_task) {
		last_task = ptr_value(task);
		skip_task = new_task(task);
	}
	if (skip_task)
		return 0;
	inode = file->f_inode;
	kind = ib_kind_of_mode(inode->i_mode);
	if (kind == IB_K_ANON) {
		__u64 fop = ptr_value(file->f_op);
		int k = fop_find(fop);

		kind = k >= 0 ? k : fop_learn(fop, ptr_value(file->f_path.dentry->d_name.name));
	}

	if (emit_files) {
		struct ib_rec_fd r = {};

		r.h.type = IB_REC_FD;
		r.h.size = sizeof(r);
		r.h.pid = cur_pid;
		r.fd = ctx->fd;
		r.kind = kind;
		r.have = IB_HAVE_KIND | IB_HAVE_DEV | IB_HAVE_INO | IB_HAVE_POS | IB_HAVE_FLAGS;
		r.flags = file->f_flags | cloexec(task, ctx->fd, ctx->meta->seq_num);
		r.dev = ib_kdev_to_dev(inode->i_sb->s_dev);
		r.ino = inode->i_ino;
		r.pos = file->f_pos;
		r.id.how = IB_ID_KEY;
		r.id.key = mix(ptr_value(file));
		/* The only record this program writes to the seq_file: user
		 * space finds record boundaries in the stream by its size
		 * (bench/native/bpf.c read_link). The seq_file is full: this
		 * file is shown again at the start of the next read(); walking
		 * its items now would emit them twice. */
		if (bpf_seq_write(ctx->meta->seq, &r, sizeof(r)))
			return 0;
	}
	if (walk_epoll && kind == IB_K_EPOLL) {
		walk_ep(ctx->fd, ptr_value(file->private_data));
		flush();
	}
	if (walk_uring && kind == IB_K_IO_URING) {
		reg_mark(ptr_value(file));
		walk_ring(ctx->fd, ptr_value(file->private_data));
		flush();
	}
	return 0;
}

/* --- bpf-cgroup-fds: one cgroup iterator step over the targets' cgroup ---
 *
 * A cgroup iterator link (order SELF_ONLY) on the cgroup the targets were
 * frozen in runs this program once; it walks the cgroup's tasks with the
 * css_task open-coded iterator (kfuncs of 6.7+, allowed in iterator, LSM
 * and sleepable programs) and, in each target task (filter_tgids), the
 * descriptor table: the open_fds bitmap one word at a time, the file
 * pointers of a non-empty word with one read. One record per descriptor,
 * the same ib_rec_fd as the task_file program writes, and the same rules
 * for shared tables: a thread using its leader's table is skipped, a table
 * another target task showed is one ib_rec_table (the tables map).
 *
 * All of it is one iterator step, far more than the 8 pages a step may
 * write to the seq_file: the records go through the ring buffer in chunks.
 * When the ring is full the walk stops and says where (cg_more, the resume
 * point = the first record of the chunk that did not fit); user space
 * drains the ring and reads the iterator again, and the next pass skips
 * what was delivered. The cgroup is frozen, so every pass sees the same
 * tasks in the same order.
 *
 * Built only into cgroup_files.bpf.o (TF_CGROUP): the kfuncs are not on
 * every kernel the other objects load on. The globals are in every build
 * (user space reaches them through pointers, bench/native/bpf.c).
 */
__u32 cg_resume_task; /* this pass starts at task #cg_resume_task of the walk */
__u32 cg_resume_fd;   /* at this descriptor of it */
__u32 cg_more;        /* the ring was full: drain it and read again */
__u32 cg_task;        /* the process being walked (position in the css walk) */
__u32 cg_chunk_task;  /* where the chunk being filled started */
__u32 cg_chunk_fd;
__u32 cg_stop;
__u64 cg_fps[64];     /* the file pointers of one bitmap word */
__u64 cg_sink;        /* floor-cgroup-walk: what it read of each file (so the load stays) */

#ifdef TF_CGROUP
extern int bpf_iter_css_task_new(struct bpf_iter_css_task *it, struct cgroup_subsys_state *css,
				 unsigned int flags) __ksym;
extern struct task_struct *bpf_iter_css_task_next(struct bpf_iter_css_task *it) __ksym;
extern void bpf_iter_css_task_destroy(struct bpf_iter_css_task *it) __ksym;

struct cg_walk {
	__u64 fds;   /* fdt->fd: struct file *[max_fds] */
	__u64 open;  /* fdt->open_fds */
	__u64 coe;   /* fdt->close_on_exec */
	__u32 words; /* max_fds / 64 */
	__u32 first; /* the first descriptor to visit (resume point) */
};

/* the chunk into the ring; -1 when the ring is full (the chunk is dropped
 * and will be made again by the next pass) */
static __always_inline int cg_flush(void)
{
	__u32 len = scr_len;
	int err = 0;

	if (len > TF_CHUNK)
		len = TF_CHUNK;
	if (len && bpf_ringbuf_output(&rb, scratch, len, BPF_RB_NO_WAKEUP))
		err = -1;
	scr_len = 0;
	scr_n = 0;
	return err;
}

/* room for a record in the chunk (the chunk full: into the ring first),
 * its header filled; NULL when the ring is full (the walk stops) */
static __always_inline void *cg_reserve(__u32 size, __u16 type, __u32 fd)
{
	if (scr_len > TF_CHUNK - size && cg_flush()) {
		cg_stop = 1;
		return NULL;
	}
	if (!scr_len) {
		cg_chunk_task = cg_task;
		cg_chunk_fd = fd;
	}
	return reserve(size, type);
}

/* one descriptor: its record into the chunk */
__noinline int cg_file(__u64 fp, __u32 fd, __u32 coe)
{
	struct ib_rec_fd *r;
	struct file *f;
	struct fmeta m;
	__u64 ip;

	if (!fp || cg_stop)
		return 0;
	nvisit++;
	if (empty) {
		/* the floor reads what a record is made of (the file, its
		 * inode and super block), writes nothing: the walk's
		 * unavoidable work; the method adds the kind and the record */
		f = KPTR(struct file, fp);
		ip = RDP(f, f_inode);
		inode_meta(fp, ip, &m, false);
		cg_sink += m.ino + m.dev + RD(f, f_pos) + RD(f, f_flags);
		return 0;
	}
	r = cg_reserve(sizeof(*r), IB_REC_FD, fd);
	if (!r)
		return 0;
	f = KPTR(struct file, fp);
	ip = RDP(f, f_inode);
	inode_meta(fp, ip, &m, true);
	r->fd = fd;
	r->kind = m.kind;
	r->have = IB_HAVE_KIND | IB_HAVE_DEV | IB_HAVE_INO | IB_HAVE_POS | IB_HAVE_FLAGS;
	r->flags = RD(f, f_flags) | (coe ? O_CLOEXEC : 0);
	r->dev = ib_kdev_to_dev(m.dev);
	r->ino = m.ino;
	r->pos = RD(f, f_pos);
	r->id.how = IB_ID_KEY;
	r->id.key = mix(fp);
	r->id.holder_pid = 0;
	r->id.holder_fd = 0;
	r->id._pad = 0;
	return 0;
}

/* the descriptors of bitmap word w */
static long cg_word(__u32 w, void *data)
{
	struct cg_walk *cw = data;
	__u64 open = 0, coe = 0, base = (__u64)w * 64;
	__u32 b;

	if (cg_stop)
		return 1;
	if (base + 64 <= cw->first)
		return 0;
	if (bpf_probe_read_kernel(&open, sizeof(open), (void *)(cw->open + w * 8)))
		return 0;
	if (base < cw->first)
		open &= ~0ull << (cw->first - base);
	if (!open)
		return 0;
	bpf_probe_read_kernel(&coe, sizeof(coe), (void *)(cw->coe + w * 8));
	if (bpf_probe_read_kernel(cg_fps, sizeof(cg_fps), (void *)(cw->fds + base * 8)))
		return 0;
	for (b = 0; b < 64; b++) {
		if (!((open >> b) & 1))
			continue;
		cg_file(cg_fps[b], base + b, (coe >> b) & 1);
		if (cg_stop)
			return 1;
	}
	return 0;
}

/*
 * A table another target task showed in this collect (tables map, as the
 * task_file program keeps it): one ib_rec_table naming that task, and none
 * of this task's descriptors. Returns 1 when the table is reported so.
 */
static __always_inline int cg_shared_table(__u64 files)
{
	struct tbl_val *v, nv = {};
	struct ib_rec_table *r;

	v = bpf_map_lookup_elem(&tables, &files);
	if (v && v->gen == gen) {
		if (v->tgid == cur_pid)
			return 0; /* its own, seen again (a pass resumed inside it) */
		if (!empty) {
			r = cg_reserve(sizeof(*r), IB_REC_TABLE, 0);
			if (r) {
				r->same_as = v->tgid;
				r->_pad = 0;
			}
		}
		return 1;
	}
	nv.tgid = cur_pid;
	nv.gen = gen;
	bpf_map_update_elem(&tables, &files, &nv, BPF_ANY);
	return 0;
}

/* one task's descriptor table (a process's, or a thread's own) */
static __always_inline void cg_task_files(struct task_struct *task)
{
	struct cg_walk cw = {};
	struct files_struct *files;
	struct fdtable *fdt;

	cur_pid = task->tgid;
	files = task->files;
	if (!files)
		return;
	/* a thread using its leader's table: the leader shows it (as the
	 * task_file iterator skips such threads) */
	if (task->pid != task->tgid && files == task->group_leader->files)
		return;
	if (cg_shared_table(ptr_value(files)))
		return;
	fdt = KPTR(struct fdtable, RDP(KPTR(struct files_struct, ptr_value(files)), fdt));
	cw.fds = RDP(fdt, fd);
	cw.open = RDP(fdt, open_fds);
	cw.coe = RDP(fdt, close_on_exec);
	cw.words = RD(fdt, max_fds) / 64;
	cw.first = cg_task == cg_resume_task ? cg_resume_fd : 0;
	bpf_loop(cw.words, cg_word, &cw, 0);
}

SEC("iter/cgroup")
int cgroup_files(struct bpf_iter__cgroup *ctx)
{
	struct cgroup *cgrp = ctx->cgroup;
	struct bpf_iter_css_task it;
	struct task_struct *task;

	if (!cgrp)
		return 0;
	cg_more = 0;
	cg_stop = 0;
	cg_task = 0;
	/* every task (threads too: one may have a table of its own) */
	bpf_iter_css_task_new(&it, &cgrp->self, 0);
	while ((task = bpf_iter_css_task_next(&it))) {
		if (cg_task >= cg_resume_task && (!filter_tgids || target_tgid(task->tgid)))
			cg_task_files(task);
		if (cg_stop)
			break;
		cg_task++;
	}
	bpf_iter_css_task_destroy(&it);
	if (!empty && !cg_stop && cg_flush())
		cg_stop = 1;
	if (cg_stop) {
		cg_resume_task = cg_chunk_task;
		cg_resume_fd = cg_chunk_fd;
		cg_more = 1;
	}
	return 0;
}
#endif /* TF_CGROUP */
