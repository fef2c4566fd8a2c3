/* SPDX-License-Identifier: MIT */
/*
 * ptr_value.h - a kernel pointer as a number, for the BPF programs
 * (task_file.bpf.c, real_iter.bpf.c): to mix it into an identity key, to
 * compare it, to keep it in a map, or to pass it to bpf_rdonly_cast().
 *
 * The verifier allows no arithmetic on a BTF pointer, and tracks a pointer
 * spilled to the stack as a pointer. But a partial write over a spilled
 * pointer turns its stack slot into plain data for a privileged loader
 * (allow_ptr_leaks, which storing a pointer into a map value needs too), so
 * reading the slot back gives a number. ptr_value() spills p and rewrites
 * the slot's top byte with the byte that is already there: every x86_64
 * kernel address has 0xff in its top byte (the upper canonical half, with
 * 4- and 5-level paging alike), so the value is unchanged; NULL comes back
 * as 0xff << 56 and is mapped to 0.
 *
 * The slot is on the program's stack, private to one run. (It used to be a
 * global: one __u64 in .bss shared by every CPU, where two readers of the
 * same program on two CPUs could read back each other's pointer between
 * the store and the load, and so swap identity keys.)
 *
 * Only for kernel pointers and NULL; x86_64 only (the only architecture
 * the bench runs on).
 */
#ifndef IB_BPF_PTR_VALUE_H
#define IB_BPF_PTR_VALUE_H

#ifndef __x86_64__
#ifndef __TARGET_ARCH_x86
#error "ptr_value.h relies on x86_64 kernel addresses (top byte 0xff)"
#endif
#endif

#define IB_PTR_TOP_BYTE 0xff00000000000000ull

static __always_inline __u64 ptr_value(const void *p)
{
	volatile __u64 v = (__u64)p;
	__u64 x;

	((volatile __u8 *)&v)[7] = 0xff;
	x = v;
	return x == IB_PTR_TOP_BYTE ? 0 : x;
}

#endif /* IB_BPF_PTR_VALUE_H */
