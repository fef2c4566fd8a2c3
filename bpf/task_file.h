/* SPDX-License-Identifier: MIT */
/*
 * task_file.h - what task_file.bpf.c and its user, bench/native/bpf.c,
 * share besides the record format (records.h).
 *
 * The program writes the common records itself, through two channels:
 *  - the iterator's seq_file: one struct ib_rec_fd per descriptor (one
 *    record per program run: far below the 8 pages one iterator step may
 *    write);
 *  - a BPF ring buffer: the per-item records of epoll instances and
 *    io_uring rings (ib_rec_epoll_item, ib_rec_uring_ring, _file, _buf,
 *    ib_rec_note), which do not fit one iterator step for a big instance.
 *    They are packed into chunks of at most TF_CHUNK bytes; one ring buffer
 *    sample is a sequence of whole records.
 */
#ifndef IB_BPF_TASK_FILE_H
#define IB_BPF_TASK_FILE_H

#include "records.h"

/* a walk stops after this many items/slots of one instance (IB_NOTE_TRUNCATED) */
#ifndef TF_MAX_ITEMS
#define TF_MAX_ITEMS (1u << 20)
#endif
/* bytes of records packed into one ring buffer sample */
#define TF_CHUNK (16u << 10)

#endif /* IB_BPF_TASK_FILE_H */
