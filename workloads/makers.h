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

/*
 * --criu-compatible: make no kind of file CRIU 4.2 refuses to dump. The
 * makers leave out O_DIRECT ("packetized") pipes; scenarios leave out what
 * their descriptor says (criu_left_out) and record it in the manifest.
 */
extern bool criu_compat;
extern const char CRIU_NO_DIRECT_PIPES[]; /* the case recorded for what was left out */
extern const char CRIU_FEW_PIPES[];
extern const char *const criu_pipes_left_out[]; /* { CRIU_NO_DIRECT_PIPES, CRIU_FEW_PIPES, NULL } */
#define CRIU_MAX_PIPES 1000 /* CRIU 4.2: NR_PIPES_WITH_DATA 1024 pipes per dump */

/* Each returns the new descriptor (tracked in the model) or dies. */
int mk_reg(int idx, const char *note);
int mk_eventfd(int idx, const char *note);
void mk_pipe(int fds[2], int idx, const char *note);
void mk_socketpair(int fds[2], int idx, const char *note);

/* Create exactly count descriptors in the calling task (the mix below). */
void build_mix(long count);
extern const char *const mix_cases[];
extern const char MIX_DIRECT_PIPES[];
extern const char *const pipe_cases[]; /* what mk_pipe can make */

/* Send n (<= SCM_BATCH) descriptors and their labels in one message: 0 or -errno. */
int scm_send(int sock, const int *fds, int n);
/* Receive one message; the number of descriptors (tracked) or -errno. */
int scm_recv(int sock, int *fds, int max, int32_t *labels);

#endif /* IB_WL_MAKERS_H */
