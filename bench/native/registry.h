/* SPDX-License-Identifier: MIT */
/*
 * registry.h - the one list of recovery methods, in the order the harness
 * runs and reports them. Adding a method = one file defining a struct
 * ib_method (or one more descriptor in its mechanism's file) + one line
 * here. Descriptors name each other (floor, speedup_over, subset_of) by
 * these declarations, so a misspelt method fails the build.
 */
#ifndef IB_REGISTRY_H
#define IB_REGISTRY_H

#define IB_METHODS(X)                                                   \
	X(ib_method_procfs)                 /* procfs.c */              \
	X(ib_method_procfs_parallel)        /* procfs_parallel.c */     \
	X(ib_method_kcmp_pairwise)          /* kcmp.c */                \
	X(ib_method_kcmp_tree)              /* kcmp.c */                \
	X(ib_method_kcmp_epoll)             /* kcmp.c */                \
	X(ib_method_pidfd_getfd)            /* pidfd.c */               \
	X(ib_method_bpf_task_file)          /* bpf.c */                 \
	X(ib_method_bpf_task_file_sys)      /* bpf.c */                 \
	X(ib_method_bpf_cgroup_fds)         /* bpf.c */                 \
	X(ib_method_bpf_epoll)              /* bpf.c */                 \
	X(ib_method_bpf_io_uring)           /* bpf.c */                 \
	X(ib_method_bpf_all)                /* bpf.c */                 \
	X(ib_method_bpf_iter_io_uring_file) /* bpf_real.c (kernel lane) */ \
	X(ib_method_bpf_iter_io_uring_buf)  /* bpf_real.c (kernel lane) */ \
	X(ib_method_bpf_iter_epoll)         /* bpf_real.c (kernel lane) */ \
	X(ib_method_bpf_iter_all)           /* bpf_real.c (kernel lane) */ \
	X(ib_method_floor_procfs)           /* procfs.c */              \
	X(ib_method_floor_procfs_parallel)  /* procfs_parallel.c */     \
	X(ib_method_floor_empty_iter)       /* bpf.c */                 \
	X(ib_method_floor_sys_iter)         /* bpf.c */                 \
	X(ib_method_floor_cgroup_walk)      /* bpf.c */                 \
	X(ib_method_floor_walk)             /* bpf.c */                 \
	X(ib_method_floor_walk_epoll)       /* bpf.c */                 \
	X(ib_method_floor_walk_io_uring)    /* bpf.c */

#define IB_DECLARE_METHOD(sym) extern const struct ib_method sym;
IB_METHODS(IB_DECLARE_METHOD)

#endif /* IB_REGISTRY_H */
