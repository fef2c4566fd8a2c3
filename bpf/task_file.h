/* SPDX-License-Identifier: MIT */
/*
 * task_file.h - records written by task_file.bpf.c, read by
 * bench/native/bpf.c. Shared by the BPF program and user space, so only
 * fixed-width __u types (vmlinux.h in BPF, <linux/types.h> in user space).
 *
 * Two channels:
 *  - the iterator's seq_file: one struct tf_file per descriptor (the fd
 *    records fit one iterator step: 40 bytes each);
 *  - a BPF ring buffer: per-item records of epoll instances and io_uring
 *    rings, which do not fit one iterator step (the seq_file takes at most
 *    8 pages per step). Items are packed into chunks; one ring buffer sample
 *    is a sequence of records, each starting with struct tf_hdr.
 */
#ifndef IB_BPF_TASK_FILE_H
#define IB_BPF_TASK_FILE_H

/* Kinds; the same values as enum ib_kind in bench/native/records.h. */
enum tf_kind {
	TF_K_UNKNOWN  = 0,
	TF_K_REG      = 1,
	TF_K_DIR      = 2,
	TF_K_PIPE     = 3,
	TF_K_SOCKET   = 4,
	TF_K_CHR      = 5,
	TF_K_BLK      = 6,
	TF_K_EVENTFD  = 7,
	TF_K_EPOLL    = 8,
	TF_K_IO_URING = 9,
	TF_K_SIGNALFD = 10,
	TF_K_TIMERFD  = 11,
	TF_K_INOTIFY  = 12,
	TF_K_ANON     = 13,
	TF_K_OTHER    = 14,
};

/* seq_file: one per descriptor */
struct tf_file {
	__s32 fd;
	__u32 kind;    /* enum tf_kind */
	__u32 flags;   /* f_flags, O_CLOEXEC from the fd table added as fdinfo does */
	__u32 dev;     /* i_sb->s_dev, kernel encoding (major << 20 | minor) */
	__u64 ino;
	__u64 pos;
	__u64 key;     /* struct file pointer, mixed with the per-load key */
};

/* ring buffer records */
enum tf_type {
	TF_EPOLL_ITEM = 1,
	TF_URING_RING = 2,
	TF_URING_FILE = 3,
	TF_URING_BUF  = 4,
	TF_NOTE       = 5,
};

struct tf_hdr {
	__u16 type;   /* enum tf_type */
	__u16 size;   /* whole record, bytes */
	__s32 fd;     /* descriptor of the epoll instance / io_uring ring */
};

struct tf_epoll_item {
	struct tf_hdr h;
	__s32 tfd;
	__u32 events;
	__u64 data;
	__u64 key;    /* target struct file, same mix as tf_file.key */
	__u64 ino;
	__u32 dev;
	__u32 _pad;
};

struct tf_uring_ring {
	struct tf_hdr h;
	__u32 nr_files;
	__u32 nr_bufs;
};

struct tf_uring_file {
	struct tf_hdr h;
	__u32 index;
	__u32 kind;
	__u64 key;
	__u64 ino;
	__u32 dev;
	__u32 _pad;
};

struct tf_uring_buf {
	struct tf_hdr h;
	__u32 index;
	__u32 _pad;
	__u64 addr;
	__u64 len;
};

/* codes: the same values as enum ib_note_code in records.h */
#define TF_NOTE_TRUNCATED 4

struct tf_note {
	struct tf_hdr h;
	__u32 code;
	__u32 _pad;
	__u64 count;
};

/* a walk stops after this many items/slots of one instance (TF_NOTE_TRUNCATED) */
#ifndef TF_MAX_ITEMS
#define TF_MAX_ITEMS (1u << 20)
#endif
/* bytes of records packed into one ring buffer sample */
#define TF_CHUNK (16u << 10)

#endif /* IB_BPF_TASK_FILE_H */
