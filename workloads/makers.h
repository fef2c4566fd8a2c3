/* SPDX-License-Identifier: MIT */
/*
 * makers.h - file makers (each creates one kind of open file and records it
 * in the model), the descriptor mix every scenario uses for private files,
 * and SCM_RIGHTS with the model's labels carried alongside.
 */
#ifndef IB_WL_MAKERS_H
#define IB_WL_MAKERS_H

#include <stdbool.h>
#include <stdint.h>

#define SCM_BATCH 200 /* descriptors per SCM_RIGHTS message (kernel max 253) */

/* Each returns the new descriptor (tracked in the model) or dies. */
int mk_reg(int idx, const char *note);
int mk_eventfd(int idx, const char *note);
void mk_pipe(int fds[2], int idx, const char *note);
void mk_socketpair(int fds[2], int idx, const char *note);

/* Create exactly count descriptors in the calling task (the mix below). */
void build_mix(long count);
extern const char *const mix_cases[];

/* Send n (<= SCM_BATCH) descriptors and their labels in one message: 0 or -errno. */
int scm_send(int sock, const int *fds, int n);
/* Receive one message; the number of descriptors (tracked) or -errno. */
int scm_recv(int sock, int *fds, int max, int32_t *labels);

#endif /* IB_WL_MAKERS_H */
