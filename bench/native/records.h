/* SPDX-License-Identifier: MIT */
/*
 * records.h - the compact record stream every collector writes and the
 * TypeScript side (bench/decode.ts) reads back.
 *
 * One collect() call fills one buffer with a sequence of records. Every
 * record starts with struct ib_rec_hdr; hdr.size is the whole record in
 * bytes (header, fixed part and an optional NUL-terminated string), rounded
 * up to a multiple of 8. All integers are host-endian (x86_64: little).
 *
 * Keep this file, bench/decode.ts and the layout asserts in records.c in
 * step: a change here is a change of the wire format.
 */
#ifndef IB_RECORDS_H
#define IB_RECORDS_H

#include <stdint.h>

enum ib_rec_type {
	IB_REC_FD         = 1, /* one descriptor of one task */
	IB_REC_EPOLL_ITEM = 2, /* one epitem of one epoll instance */
	IB_REC_URING_RING = 3, /* one io_uring instance: slot counts, status */
	IB_REC_URING_FILE = 4, /* one occupied registered-file slot */
	IB_REC_URING_BUF  = 5, /* one occupied registered-buffer slot */
	IB_REC_NOTE       = 6, /* something the method wants the user to know */
};

/* What kind of file a descriptor refers to. */
enum ib_kind {
	IB_K_UNKNOWN  = 0,
	IB_K_REG      = 1,
	IB_K_DIR      = 2,
	IB_K_PIPE     = 3, /* pipe or FIFO */
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
};

/* How a method names an open file (a struct file). */
enum ib_id_how {
	IB_ID_NONE   = 0, /* this interface cannot say which open file it is */
	IB_ID_KEY    = 1, /* opaque key: equal keys in one result = same struct file */
	IB_ID_HOLDER = 2, /* the same open file as descriptor holder_fd of holder_pid */
};

struct ib_ref {
	uint64_t key;        /* IB_ID_KEY */
	int32_t  holder_pid; /* IB_ID_HOLDER */
	int32_t  holder_fd;  /* IB_ID_HOLDER */
	uint32_t how;        /* enum ib_id_how */
	uint32_t _pad;
};

/* "have" bits: which optional fields of a record the method filled. */
#define IB_HAVE_KIND  (1u << 0)
#define IB_HAVE_DEV   (1u << 1) /* dev (userspace dev_t encoding, makedev) */
#define IB_HAVE_INO   (1u << 2)
#define IB_HAVE_POS   (1u << 3)
#define IB_HAVE_FLAGS (1u << 4) /* f_flags, as fdinfo prints them */
#define IB_HAVE_PATH  (1u << 5) /* a trailing string follows the fixed part */
#define IB_HAVE_EVENT (1u << 6) /* epoll: events and data */

struct ib_rec_hdr {
	uint16_t type; /* enum ib_rec_type */
	uint16_t size; /* whole record in bytes, multiple of 8 */
	int32_t  pid;  /* the task (tgid) this record belongs to */
};

struct ib_rec_fd {
	struct ib_rec_hdr h;
	int32_t  fd;
	uint32_t kind;  /* enum ib_kind */
	uint32_t have;  /* IB_HAVE_* */
	uint32_t flags; /* f_flags */
	uint64_t dev;
	uint64_t ino;
	uint64_t pos;
	struct ib_ref id;
	/* char path[] when IB_HAVE_PATH: link text or d_path, NUL-terminated */
};

struct ib_rec_epoll_item {
	struct ib_rec_hdr h;
	int32_t  epfd;       /* descriptor of the epoll instance in task h.pid */
	int32_t  tfd;        /* ffd.fd: the number used at EPOLL_CTL_ADD time */
	uint32_t events;
	uint32_t have;       /* IB_HAVE_*: DEV/INO describe the target inode */
	uint64_t data;
	uint64_t target_dev;
	uint64_t target_ino;
	struct ib_ref target; /* the target open file */
};

#define IB_URING_TABLES_MISSING (1u << 0) /* fdinfo omitted the tables (trylock failed) */
#define IB_URING_NO_FILES       (1u << 1) /* this method does not report file slots */
#define IB_URING_NO_BUFS        (1u << 2) /* this method does not report buffer slots */

struct ib_rec_uring_ring {
	struct ib_rec_hdr h;
	int32_t  ring_fd;
	uint32_t nr_files; /* number of file slots (empty ones included) */
	uint32_t nr_bufs;  /* number of buffer slots (empty ones included) */
	uint32_t status;   /* IB_URING_* */
};

struct ib_rec_uring_file {
	struct ib_rec_hdr h;
	int32_t  ring_fd;
	uint32_t index;
	uint32_t have;  /* IB_HAVE_*: KIND/DEV/INO/PATH */
	uint32_t kind;
	uint64_t dev;
	uint64_t ino;
	struct ib_ref file;
	/* char path[] when IB_HAVE_PATH */
};

struct ib_rec_uring_buf {
	struct ib_rec_hdr h;
	int32_t  ring_fd;
	uint32_t index;
	uint64_t addr;
	uint64_t len;
};

enum ib_note_code {
	IB_NOTE_TEXT            = 0, /* free text */
	IB_NOTE_URING_TRYLOCK   = 1, /* io_uring tables missing from fdinfo */
	IB_NOTE_RINGBUF_DROPPED = 2, /* BPF ring buffer overflowed: records lost */
	IB_NOTE_FD_VANISHED     = 3, /* a descriptor went away between readdir and read */
	IB_NOTE_TRUNCATED       = 4, /* a walk hit its bound */
};

struct ib_rec_note {
	struct ib_rec_hdr h;
	uint32_t code;  /* enum ib_note_code */
	int32_t  fd;    /* the descriptor concerned, or -1 */
	uint64_t count;
	/* char text[]: NUL-terminated */
};

#endif /* IB_RECORDS_H */
