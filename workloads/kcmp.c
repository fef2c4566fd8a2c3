// SPDX-License-Identifier: MIT
/*
 * iterbench-kcmp - a test helper: answers kcmp(2) questions read from stdin,
 * one per line, so tests can check that a manifest's labels say which
 * descriptors share an open file and which tasks share a descriptor table.
 * Not used by any recovery method.
 *
 *   F pid1 fd1 pid2 fd2              kcmp(KCMP_FILE)
 *   E pid1 fd1 pid2 epfd tfd toff    kcmp(KCMP_EPOLL_TFD): file fd1 of pid1 vs
 *                                    the target of item (tfd, toff) of epfd
 *   T pid1 pid2                      kcmp(KCMP_FILES): do they use one
 *                                    descriptor table
 * prints one line per question: 0 equal, 1 less, 2 greater, or -errno.
 *
 *   printf 'F 1 0 1 0\n' | build/workloads/iterbench-kcmp
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/kcmp.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
	char line[256];

	while (fgets(line, sizeof(line), stdin)) {
		long p1, f1, p2, f2, tfd, toff;
		long r;

		if (sscanf(line, "F %ld %ld %ld %ld", &p1, &f1, &p2, &f2) == 4) {
			r = syscall(SYS_kcmp, p1, p2, KCMP_FILE, f1, f2);
		} else if (sscanf(line, "E %ld %ld %ld %ld %ld %ld", &p1, &f1, &p2, &f2,
				  &tfd, &toff) == 6) {
			struct kcmp_epoll_slot slot = {
				.efd = (uint32_t)f2, .tfd = (uint32_t)tfd, .toff = (uint32_t)toff,
			};

			r = syscall(SYS_kcmp, p1, p2, KCMP_EPOLL_TFD, f1, (unsigned long)&slot);
		} else if (sscanf(line, "T %ld %ld", &p1, &p2) == 2) {
			r = syscall(SYS_kcmp, p1, p2, KCMP_FILES, 0, 0);
		} else {
			fprintf(stderr, "iterbench-kcmp: bad line: %s", line);
			return 2;
		}
		printf("%ld\n", r < 0 ? -(long)errno : r);
	}
	return 0;
}
