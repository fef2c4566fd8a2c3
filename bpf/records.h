/* SPDX-License-Identifier: MIT */
/*
 * records.h - the one record format: what every method hands back. The BPF
 * programs (task_file.bpf.c, real_iter.bpf.c) write these records
 * themselves, the collectors (bench/native/) write them in C, and
 * TypeScript (bench/decode.ts) reads them; test/schema.test.ts checks
 * decode.ts's constants against this file (the enums, the IB_HAVE_* bits
 * and the IB_LAYOUT lines below).
 *
 * One collect() fills one buffer with a sequence of records. Every record
 * starts with struct ib_rec_hdr; hdr.size is the whole record in bytes
 * (header, fixed part and an optional NUL-terminated string), a multiple of
 * 8. All integers are host-endian (x86_64: little).
 *
 * Usable from BPF (vmlinux.h types) and from user space (<linux/types.h>):
 * fixed-width __u/__s types and static inline arithmetic only. A change
 * here is a change of the wire format: the IB_LAYOUT asserts make the
 * compiler check it on both sides, the schema test checks TypeScript.
 */
#ifndef IB_RECORDS_H
#define IB_RECORDS_H

#ifndef __bpf__
#include <linux/types.h>
#include <stddef.h>
#endif
#include "kinds.h"

enum ib_rec_type {
	IB_REC_FD         = 1, /* one descriptor of one task */
	IB_REC_EPOLL_ITEM = 2, /* one epitem of one epoll instance */
	IB_REC_URING_RING = 3, /* one io_uring instance: slot counts, status */
	IB_REC_URING_FILE = 4, /* one occupied registered-file slot */
	IB_REC_URING_BUF  = 5, /* one occupied registered-buffer slot */
	IB_REC_NOTE       = 6, /* something the method wants the user to know */
	IB_REC_TABLE      = 7, /* this task uses another target task's descriptor table */
	IB_REC_URING_REG  = 8, /* an io_uring ring in a thread's registered-ring table */
};

/* How a method names an open file (a struct file). */
enum ib_id_how {
	IB_ID_NONE   = 0, /* this interface cannot say which open file it is */
	IB_ID_KEY    = 1, /* opaque key: equal keys in one result = same struct file */
	IB_ID_HOLDER = 2, /* the same open file as descriptor holder_fd of holder_pid */
};

struct ib_ref {
	__u64 key;        /* IB_ID_KEY */
	__s32 holder_pid; /* IB_ID_HOLDER */
	__s32 holder_fd;  /* IB_ID_HOLDER */
	__u32 how;        /* enum ib_id_how */
	__u32 _pad;
};

/* "have" bits: which optional fields of a record the method filled. */
#define IB_HAVE_KIND  (1u << 0)
#define IB_HAVE_DEV   (1u << 1) /* dev (userspace dev_t encoding, makedev) */
#define IB_HAVE_INO   (1u << 2)
#define IB_HAVE_POS   (1u << 3)
#define IB_HAVE_FLAGS (1u << 4) /* f_flags, as fdinfo prints them */
#define IB_HAVE_PATH  (1u << 5) /* a trailing string follows the fixed part */
#define IB_HAVE_EVENT (1u << 6) /* epoll: events and data */
/*
 * fd: this descriptor's identity class is complete: every descriptor of
 * the target tasks that shares its open file carries the same key. A
 * sampling method (kcmp-pairwise with sampled rows) sets it on the classes
 * of the rows it compared with all others and gives the rest no identity.
 */
#define IB_HAVE_ID_CLASS (1u << 7)

struct ib_rec_hdr {
	__u16 type; /* enum ib_rec_type */
	__u16 size; /* whole record in bytes, multiple of 8 */
	__s32 pid;  /* the task (tgid) this record belongs to */
};

struct ib_rec_fd {
	struct ib_rec_hdr h;
	__s32 fd;
	__u32 kind;  /* enum ib_kind */
	__u32 have;  /* IB_HAVE_* */
	__u32 flags; /* f_flags */
	__u64 dev;
	__u64 ino;
	__u64 pos;
	struct ib_ref id;
	/* char path[] when IB_HAVE_PATH: link text or d_path, NUL-terminated */
};

struct ib_rec_epoll_item {
	struct ib_rec_hdr h;
	__s32 epfd;     /* descriptor of the epoll instance in task h.pid */
	__s32 tfd;      /* ffd.fd: the number used at EPOLL_CTL_ADD time */
	__u32 events;
	__u32 have;     /* IB_HAVE_*: DEV/INO describe the target inode, EVENT */
	__u64 data;
	__u64 target_dev;
	__u64 target_ino;
	struct ib_ref target; /* the target open file */
};

#define IB_URING_TABLES_MISSING (1u << 0) /* fdinfo omitted the tables (trylock failed) */
#define IB_URING_NO_FILES       (1u << 1) /* this method does not report file slots */
#define IB_URING_NO_BUFS        (1u << 2) /* this method does not report buffer slots */

struct ib_rec_uring_ring {
	struct ib_rec_hdr h;
	__s32 ring_fd;  /* the ring's descriptor, or an ib_rec_uring_reg handle (< 0) */
	__u32 nr_files; /* number of file slots (empty ones included) */
	__u32 nr_bufs;  /* number of buffer slots (empty ones included) */
	__u32 status;   /* IB_URING_* */
};

struct ib_rec_uring_file {
	struct ib_rec_hdr h;
	__s32 ring_fd;
	__u32 index;
	__u32 have;  /* IB_HAVE_*: KIND/DEV/INO/PATH */
	__u32 kind;
	__u64 dev;
	__u64 ino;
	struct ib_ref file;
	/* char path[] when IB_HAVE_PATH */
};

struct ib_rec_uring_buf {
	struct ib_rec_hdr h;
	__s32 ring_fd;
	__u32 index;
	__u64 addr;
	__u64 len;
};

/*
 * Shared descriptor tables. Tasks made with clone(CLONE_FILES) (threads, or
 * separate processes) use one table. A method reports each table once:
 * under the first target task that uses it, and for every other target
 * task that uses it one ib_rec_table naming that task (same_as), with no
 * records of its own for that table (descriptors, epoll items, rings).
 * same_as never names h.pid itself, nor a task that has a table record.
 */
struct ib_rec_table {
	struct ib_rec_hdr h;
	__s32 same_as; /* the target task (tgid) whose records stand for this task's table */
	__u32 _pad;
};

/*
 * A ring registered with IORING_REGISTER_RING_FDS in the registered-ring
 * table of thread `tid` (of task h.pid), at `index`, that no descriptor of
 * the task holds. Its ring, file and buffer records carry ring_fd, a
 * negative handle (not a descriptor) unique within the task.
 */
struct ib_rec_uring_reg {
	struct ib_rec_hdr h;
	__s32 ring_fd;  /* the handle: < 0 */
	__s32 tid;
	__u32 index;    /* in the thread's registered-ring table */
	__u32 _pad;
	struct ib_ref ring; /* the ring's own open file */
};

enum ib_note_code {
	IB_NOTE_TEXT            = 0, /* free text */
	IB_NOTE_URING_TRYLOCK   = 1, /* io_uring tables missing (ring lock contended) */
	IB_NOTE_RINGBUF_DROPPED = 2, /* BPF ring buffer overflowed: records lost */
	IB_NOTE_FD_VANISHED     = 3, /* a descriptor went away between readdir and read */
	IB_NOTE_TRUNCATED       = 4, /* a walk hit its bound: items missing */
};

struct ib_rec_note {
	struct ib_rec_hdr h;
	__u32 code;  /* enum ib_note_code */
	__s32 fd;    /* the descriptor concerned, or -1 */
	__u64 count;
	/* char text[]: NUL-terminated, optional (size > sizeof(struct ib_rec_note)) */
};

/*
 * The layout, checked by the compiler on every side that includes this file
 * and read by test/schema.test.ts (one IB_LAYOUT or IB_SIZE per line).
 */
#define IB_SIZE(type, size) _Static_assert(sizeof(struct type) == (size), #type " size")
#define IB_LAYOUT(type, field, off) \
	_Static_assert(__builtin_offsetof(struct type, field) == (off), #type "." #field)

IB_SIZE(ib_rec_hdr, 8);
IB_LAYOUT(ib_rec_hdr, type, 0);
IB_LAYOUT(ib_rec_hdr, size, 2);
IB_LAYOUT(ib_rec_hdr, pid, 4);

IB_SIZE(ib_ref, 24);
IB_LAYOUT(ib_ref, key, 0);
IB_LAYOUT(ib_ref, holder_pid, 8);
IB_LAYOUT(ib_ref, holder_fd, 12);
IB_LAYOUT(ib_ref, how, 16);

IB_SIZE(ib_rec_fd, 72);
IB_LAYOUT(ib_rec_fd, fd, 8);
IB_LAYOUT(ib_rec_fd, kind, 12);
IB_LAYOUT(ib_rec_fd, have, 16);
IB_LAYOUT(ib_rec_fd, flags, 20);
IB_LAYOUT(ib_rec_fd, dev, 24);
IB_LAYOUT(ib_rec_fd, ino, 32);
IB_LAYOUT(ib_rec_fd, pos, 40);
IB_LAYOUT(ib_rec_fd, id, 48);

IB_SIZE(ib_rec_epoll_item, 72);
IB_LAYOUT(ib_rec_epoll_item, epfd, 8);
IB_LAYOUT(ib_rec_epoll_item, tfd, 12);
IB_LAYOUT(ib_rec_epoll_item, events, 16);
IB_LAYOUT(ib_rec_epoll_item, have, 20);
IB_LAYOUT(ib_rec_epoll_item, data, 24);
IB_LAYOUT(ib_rec_epoll_item, target_dev, 32);
IB_LAYOUT(ib_rec_epoll_item, target_ino, 40);
IB_LAYOUT(ib_rec_epoll_item, target, 48);

IB_SIZE(ib_rec_uring_ring, 24);
IB_LAYOUT(ib_rec_uring_ring, ring_fd, 8);
IB_LAYOUT(ib_rec_uring_ring, nr_files, 12);
IB_LAYOUT(ib_rec_uring_ring, nr_bufs, 16);
IB_LAYOUT(ib_rec_uring_ring, status, 20);

IB_SIZE(ib_rec_uring_file, 64);
IB_LAYOUT(ib_rec_uring_file, ring_fd, 8);
IB_LAYOUT(ib_rec_uring_file, index, 12);
IB_LAYOUT(ib_rec_uring_file, have, 16);
IB_LAYOUT(ib_rec_uring_file, kind, 20);
IB_LAYOUT(ib_rec_uring_file, dev, 24);
IB_LAYOUT(ib_rec_uring_file, ino, 32);
IB_LAYOUT(ib_rec_uring_file, file, 40);

IB_SIZE(ib_rec_uring_buf, 32);
IB_LAYOUT(ib_rec_uring_buf, ring_fd, 8);
IB_LAYOUT(ib_rec_uring_buf, index, 12);
IB_LAYOUT(ib_rec_uring_buf, addr, 16);
IB_LAYOUT(ib_rec_uring_buf, len, 24);

IB_SIZE(ib_rec_table, 16);
IB_LAYOUT(ib_rec_table, same_as, 8);

IB_SIZE(ib_rec_uring_reg, 48);
IB_LAYOUT(ib_rec_uring_reg, ring_fd, 8);
IB_LAYOUT(ib_rec_uring_reg, tid, 12);
IB_LAYOUT(ib_rec_uring_reg, index, 16);
IB_LAYOUT(ib_rec_uring_reg, ring, 24);

IB_SIZE(ib_rec_note, 24);
IB_LAYOUT(ib_rec_note, code, 8);
IB_LAYOUT(ib_rec_note, fd, 12);
IB_LAYOUT(ib_rec_note, count, 16);

/*
 * The kernel's dev_t encoding (MAJOR << 20 | MINOR: i_sb->s_dev, fdinfo's
 * sdev) to the userspace one (glibc's makedev), which fstat and the
 * manifest use. Pure arithmetic: the BPF programs convert before writing.
 */
static inline __attribute__((always_inline)) __u64 ib_kdev_to_dev(__u64 kdev)
{
	__u64 major = kdev >> 20, minor = kdev & 0xfffff;

	return ((major & 0xfffff000ull) << 32) | ((major & 0xfffull) << 8) |
	       ((minor & 0xffffff00ull) << 12) | (minor & 0xffull);
}

#endif /* IB_RECORDS_H */
