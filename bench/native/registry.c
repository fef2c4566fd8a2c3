/* SPDX-License-Identifier: MIT */
/*
 * registry.c - the one list of recovery methods. Adding a method = one file
 * defining a struct ib_method + one line here.
 *
 * Declarations are weak so that the addon links while a collector file is
 * being written; the test suite checks that every listed method is present.
 */
#include <stddef.h>
#include "method.h"

#define METHOD(sym) extern const struct ib_method sym __attribute__((weak));
#define METHODS(X)                                                        \
	X(ib_method_procfs)         /* procfs.c */                      \
	X(ib_method_kcmp_pairwise)  /* kcmp.c */                        \
	X(ib_method_kcmp_tree)      /* kcmp.c */                        \
	X(ib_method_kcmp_epoll)     /* kcmp.c */                        \
	X(ib_method_bpf_task_file)  /* bpf.c */                         \
	X(ib_method_bpf_epoll)      /* bpf.c */                         \
	X(ib_method_bpf_io_uring)   /* bpf.c */                         \
	X(ib_method_bpf_all)        /* bpf.c */                         \
	X(ib_method_bpf_iter_io_uring_file) /* bpf_real.c (kernel lane) */ \
	X(ib_method_bpf_iter_io_uring_buf)  /* bpf_real.c (kernel lane) */ \
	X(ib_method_bpf_iter_epoll)         /* bpf_real.c (kernel lane) */ \
	X(ib_method_floor_procfs)   /* procfs.c */                      \
	X(ib_method_floor_empty_iter) /* bpf.c */                       \
	X(ib_method_floor_walk)     /* bpf.c */                         \
	X(ib_method_floor_walk_epoll) /* bpf.c */                       \
	X(ib_method_floor_walk_io_uring) /* bpf.c */

METHODS(METHOD)

#define ADDR(sym) &sym,
const struct ib_method *const ib_methods[] = { METHODS(ADDR) };
const size_t ib_nmethods = sizeof(ib_methods) / sizeof(ib_methods[0]);
