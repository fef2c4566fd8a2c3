/* SPDX-License-Identifier: MIT */
/*
 * bpf_real.h - records written by kernel/bpf/real_iter.bpf.c (the programs
 * for the patched kernel's io_uring_file, io_uring_buf and epoll iterator
 * targets, kernel/patches/) and read by bench/native/bpf_real.c.
 *
 * Shared by the BPF program and user space, so only fixed-width __u types
 * (vmlinux.h in BPF, <linux/types.h> in user space). The iterators call
 * their program once per slot or item, so every record is written with
 * one bpf_seq_write into the iterator's seq_file: fixed size, no header.
 * Empty io_uring slots are written too (without RI_OCCUPIED): the number
 * of records is the number of slots of the table.
 */
#ifndef IB_BPF_REAL_H
#define IB_BPF_REAL_H

/* settings in .rodata, set by user space between open and load */
struct ri_config {
	__u64 key0;      /* identity mix keys (random per load) */
	__u64 key1;      /* odd */
	__u32 want_kind; /* ri_task_file: report descriptors of this ib_kind */
	__u32 _pad;
};

/* ri_task_file (mainline task_file iterator): one per descriptor whose
 * file is of kind want_kind: how the methods find the instances */
struct ri_instance {
	__s32 fd;
	__u32 kind;
};

#define RI_OCCUPIED 1u

/* io_uring_file: one per registered-file slot */
struct ri_uring_file {
	__u32 index;
	__u32 flags; /* RI_OCCUPIED */
	__u32 kind;  /* enum ib_kind values */
	__u32 dev;   /* i_sb->s_dev, kernel encoding (major << 20 | minor) */
	__u64 ino;
	__u64 key;   /* struct file pointer, mixed with the load's keys */
};

/* io_uring_buf: one per registered-buffer slot */
struct ri_uring_buf {
	__u32 index;
	__u32 flags; /* RI_OCCUPIED */
	__u64 addr;
	__u64 len;
};

/* epoll: one per epitem */
struct ri_epoll_item {
	__s32 tfd;
	__u32 events;
	__u64 data;
	__u64 key;   /* the target struct file, same mix as ri_uring_file.key */
	__u64 ino;
	__u32 dev;
	__u32 _pad;
};

#endif /* IB_BPF_REAL_H */
