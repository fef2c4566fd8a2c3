/* SPDX-License-Identifier: MIT */
/*
 * parts.h - building blocks several scenarios share: the shared tree
 * (shared.c), the epoll part (epoll.c) and the io_uring part (uring.c).
 * Each part names the hard cases it can make (NULL-terminated lists: the
 * same strings it records in the manifest when it makes them).
 */
#ifndef IB_WL_PARTS_H
#define IB_WL_PARTS_H

#include <stdbool.h>
#include <stdint.h>

#include "../model.h"
#include "../scenario.h"

/* shared.c: K tasks sharing N descriptors by fork, dup and SCM_RIGHTS */
extern const char *const shared_cases[];
extern const char *const spread_cases[]; /* all, past one task's limit */
long spread_part(long total, long k, long t);
long shared_plan(const struct opts *o, long n, long cap, struct plan *p, bool with_epoll);
void shared_build(struct plan *p, bool with_epoll);

/* epoll.c */
extern const char *const epoll_cases[];
extern const char CRIU_NO_EPOLL_D[];
extern const char CRIU_EPOLL_C_APART[];
extern const char *const criu_epoll_left_out[]; /* pipes, case (d), where (c) goes */
int epoll_pre_fork(struct plan *p);
void epoll_post_fork_child(void);
struct mepoll *epoll_build(struct plan *p, long items);
long epoll_instances(long items);
void epoll_bulk(long items);
void mepoll_add(struct mepoll *e, int tfd, uint32_t events, const char *note);

/* uring.c */
extern const char *const uring_cases[];
extern const char *const uring_epoll_cases[]; /* case (f): epoll and io_uring in one task */
int uring_probe(void);
void uring_build(long slots, long buffers);
void uring_bulk(long slots);
void uring_hidden(long slots, long buffers);
extern bool ring_fds_ok; /* the kernel registers ring fds (uring_probe) */
/* CRIU 4.2 and io_uring: why it cannot dump one, and the case all records without it */
#define CRIU_NO_URING_WHY \
	"CRIU 4.2 cannot dump io_uring: it stops at the ring's mappings " \
	"(\"Unknown shit 600 (anon_inode:[io_uring])\", then \"Can't open ...'s mapfile link\")"
extern const char CRIU_NO_URING[];
/* file slots and buffers of the hidden ring, taken from the scenario's U and B */
#define HIDDEN_SLOTS(u) (ring_fds_ok && (u) >= 16 ? 8L : 0L)
#define HIDDEN_BUFS(u, b) (HIDDEN_SLOTS(u) && (b) >= 4 ? 2L : 0L)
#define HIDDEN_NEED 12 /* descriptors it takes while it is made */
bool uring_has_spare_slot(void);
void uring_epoll_target(struct mepoll *e);

#endif /* IB_WL_PARTS_H */
