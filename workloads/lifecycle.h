/* SPDX-License-Identifier: MIT */
/*
 * lifecycle.h - a workload's life: set-up (death signal, a clean descriptor
 * table, the whole RLIMIT_NOFILE, a private directory for regular files),
 * "ready <pid>", serving until told to stop (optionally churning), and
 * clean-up (the tree killed and reaped, the directory removed).
 */
#ifndef IB_WL_LIFECYCLE_H
#define IB_WL_LIFECYCLE_H

#include <stdbool.h>

extern char tmpdir[4096];

void lifecycle_init(void);
/* The private directory for regular files: 0, or 1 with a message. */
int tmpdir_init(void);
/* Print "ready <pid>" and wait for "exit", EOF on stdin or SIGTERM: 0 or -1. */
int serve(bool churn);
void cleanup_tree(void);
void remove_tree(const char *path);

#endif /* IB_WL_LIFECYCLE_H */
