// SPDX-License-Identifier: MIT
/*
 * uring.c - the io_uring part: an io_uring instance with U registered file slots and B
 * registered buffers, and the cases that make it hard to recover:
 *  - sparse tables: empty file slots and empty buffer slots;
 *  - descriptorless files: registered, then their descriptor closed, so only
 *    the ring holds them;
 *  - one open file in two slots, and slots whose file also has a descriptor;
 *  - buffers of varied lengths and alignments, some whose mapping was
 *    munmap'ed after registration (the pages stay pinned, the ring still
 *    reports addr/len);
 *  - a second ring reachable by no descriptor (uring_hidden);
 *  - with epoll in the same task (scenario all), case (f): an epoll item
 *    whose target only a registered-file slot holds.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <liburing.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../makers.h"
#include "../model.h"
#include "../tasks.h"
#include "parts.h"

static const char UR_SPARSE[] = "io_uring: sparse file table (empty slots)";
static const char UR_NOFD[] = "io_uring: descriptorless files (registered, then the descriptor closed)";
static const char UR_TWO[] = "io_uring: one open file in two slots; some slot files still have a descriptor";
static const char UR_BUFS[] = "io_uring: sparse buffer table (empty slots), buffers of varied lengths, some not page-aligned";
static const char UR_UNMAPPED[] = "io_uring: buffers whose mapping was munmap'ed after registration";
static const char UR_HIDDEN[] =
	"io_uring: a ring reachable by no descriptor (its fd registered with IORING_REGISTER_RING_FDS, "
	"then closed), with registered files only it holds and buffers";
const char CRIU_NO_URING[] =
	"left out for CRIU: the io_uring part (rings, registered files and buffers, the ring with no "
	"descriptor, case (f)); " CRIU_NO_URING_WHY;
static const char UR_F[] = "(f) an epoll item whose target only an io_uring registered-file slot holds (no descriptor in any task)";

const char *const uring_cases[] = {
	UR_SPARSE,
	UR_NOFD,
	UR_TWO,
	UR_BUFS,
	UR_UNMAPPED,
	UR_HIDDEN,
	NULL,
};

const char *const uring_epoll_cases[] = {
	UR_F,
	NULL,
};

#define URING_BATCH 128

static struct io_uring ring;
static struct mring *model; /* the ring's model, once uring_build() ran */
bool ring_fds_ok;           /* set by uring_probe() */

/*
 * Is io_uring usable here? Creates and destroys a ring, so a kernel without
 * it is reported (exit 77) before anything else exists.
 */
int uring_probe(void)
{
	int ret = io_uring_queue_init(8, &ring, 0);

	if (ret < 0) {
		if (ret == -EPERM || ret == -ENOSYS || ret == -EACCES) {
			fprintf(stderr, "%s: io_uring unavailable: io_uring_setup: %s%s\n", prog,
				strerror(-ret),
				ret == -EPERM ? " (kernel.io_uring_disabled?)" : "");
			return 77;
		}
		fprintf(stderr, "%s: io_uring_queue_init: %s\n", prog, strerror(-ret));
		return 1;
	}
	/* can a ring's fd be registered (IORING_REGISTER_RING_FDS, 5.18)? */
	ret = io_uring_register_ring_fd(&ring);
	ring_fds_ok = ret == 1;
	io_uring_queue_exit(&ring);
	return 0;
}

static const char N_NOFD[] = "descriptorless: only the io_uring file table holds it";
static const char N_TWO[] = "registered in two io_uring slots";

/* One file for slot i; *keep says whether its descriptor stays open. */
static int slot_file(long i, int *extra)
{
	int pair[2];

	*extra = -1;
	switch (i % 5) {
	case 0: case 3:
		return mk_reg(100000 + (int)i, NULL);
	case 1:
		return mk_eventfd((int)i, NULL);
	case 2:
		mk_pipe(pair, (int)i, NULL);
		*extra = pair[1];
		return pair[0];
	default:
		mk_socketpair(pair, (int)i, NULL);
		*extra = pair[1];
		return pair[0];
	}
}

static void register_files(struct io_uring *r, struct mring *m, long U)
{
	int fds[URING_BATCH], closing[URING_BATCH * 2];
	long i = 0;
	int ret;

	ret = io_uring_register_files_sparse(r, U);
	if (ret < 0)
		die("io_uring_register_files_sparse(%ld): %s", U, strerror(-ret));
	m->nfiles = U;
	m->slots = aalloc(sizeof(int32_t) * U);
	while (i < U) {
		long off = i;
		int n = 0, nclose = 0;

		for (; i < U && n < URING_BATCH; i++, n++) {
			int extra, fd;

			if (i % 11 == 5) { /* sparse: an empty slot */
				fds[n] = -1;
				continue;
			}
			if (i % 17 == 9 && n > 0 && fds[n - 1] >= 0) {
				/* the previous slot's open file again */
				fds[n] = fds[n - 1];
				file_note(fd_label(fds[n]), N_TWO);
				m->slots[i] = fd_label(fds[n]) + 1;
				continue;
			}
			fd = slot_file(i, &extra);
			fds[n] = fd;
			m->slots[i] = fd_label(fd) + 1;
			if (extra >= 0)
				closing[nclose++] = extra;
			if (i % 4 != 0) { /* most lose their descriptor */
				file_note(fd_label(fd), N_NOFD);
				closing[nclose++] = fd;
			} else {
				file_note(fd_label(fd), "registered in io_uring and still has a descriptor");
			}
		}
		ret = io_uring_register_files_update(r, off, fds, n);
		if (ret < 0 || ret != n)
			die("io_uring_register_files_update(%ld, %d): %s", off, n,
			    ret < 0 ? strerror(-ret) : "short update");
		for (int k = 0; k < nclose; k++)
			fd_close(closing[k]);
	}
	add_case(UR_SPARSE);
	add_case(UR_NOFD);
	add_case(UR_TWO);
}

static void register_buffers(struct io_uring *r, struct mring *m, long B)
{
	static const size_t lens[] = { 1, 100, 512, 4096, 4097, 8192, 12345, 3 * 4096, 65536 };
	long page = sysconf(_SC_PAGESIZE);
	struct iovec iov[URING_BATCH];
	void *maps[URING_BATCH];
	size_t mlen[URING_BATCH];
	long i = 0;
	int ret;

	if (B <= 0)
		return;
	ret = io_uring_register_buffers_sparse(r, B);
	if (ret < 0)
		die("io_uring_register_buffers_sparse(%ld): %s", B, strerror(-ret));
	m->nbufs = B;
	m->bufs = aalloc(sizeof(struct mbuf) * B);
	while (i < B) {
		long off = i;
		int n = 0;

		for (; i < B && n < URING_BATCH; i++, n++) {
			size_t len = lens[i % 9], skew = i % 3 == 1 ? 100 : 0;
			struct mbuf *b = &m->bufs[i];

			maps[n] = NULL;
			if (i % 13 == 7) { /* sparse: an empty slot */
				iov[n].iov_base = NULL;
				iov[n].iov_len = 0;
				continue;
			}
			mlen[n] = (len + skew + page - 1) / page * page;
			maps[n] = mmap(NULL, mlen[n], PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
			if (maps[n] == MAP_FAILED)
				die("mmap buffer: %s", strerror(errno));
			iov[n].iov_base = (char *)maps[n] + skew;
			iov[n].iov_len = len;
			b->present = 1;
			b->addr = (uintptr_t)iov[n].iov_base;
			b->len = len;
			if (i % 5 == 2)
				b->note = "mapping munmap'ed after registration (pages stay pinned)";
			else if (skew)
				b->note = "not page-aligned";
		}
		ret = io_uring_register_buffers_update_tag(r, off, iov, NULL, n);
		if (ret < 0 || ret != n)
			die("io_uring_register_buffers_update_tag(%ld, %d): %s", off, n,
			    ret < 0 ? strerror(-ret) : "short update");
		for (int k = 0; k < n; k++)
			if (maps[k] && (off + k) % 5 == 2 && munmap(maps[k], mlen[k]) < 0)
				die("munmap: %s", strerror(errno));
	}
	add_case(UR_BUFS);
	add_case(UR_UNMAPPED);
}

static struct mring *ring_new(struct io_uring *r, const char *note)
{
	int ret = io_uring_queue_init(8, r, 0);

	if (ret < 0)
		die("io_uring_queue_init: %s", strerror(-ret));
	file_new(r->ring_fd, IB_K_IO_URING, NULL, note);
	return mring_new(r->ring_fd);
}

/* The ring of the scenario's hard cases: `slots` file slots, `buffers` buffers. */
void uring_build(long slots, long buffers)
{
	struct mring *m = ring_new(&ring, NULL);

	register_files(&ring, m, slots);
	register_buffers(&ring, m, buffers);
	model = m;
}

/* In a task other than the root (scenario all spread over tasks): a ring of `slots` file slots. */
void uring_bulk(long slots)
{
	if (slots > 0)
		register_files(&ring, ring_new(&ring, NULL), slots);
}

/* Submit a NOP and wait for it: through the registered ring index once the fd is gone. */
static int ring_nop(struct io_uring *r)
{
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe = io_uring_get_sqe(r);
	int ret;

	if (!sqe)
		return -EBUSY;
	io_uring_prep_nop(sqe);
	sqe->user_data = 0x1b;
	ret = io_uring_submit(r);
	if (ret < 0)
		return ret;
	if (ret != 1)
		return -EIO;
	ret = io_uring_wait_cqe(r, &cqe);
	if (ret < 0)
		return ret;
	ret = cqe->user_data == 0x1b ? cqe->res : -EIO;
	io_uring_cqe_seen(r, cqe);
	return ret;
}

/*
 * A ring reachable by no descriptor: its fd registered in the task's
 * registered-ring table (IORING_REGISTER_RING_FDS, liburing's
 * io_uring_register_ring_fd), files and buffers registered, then the fd
 * closed. The ring lives on through that table (and its SQ/CQ mappings,
 * kept as a program using it keeps them); a NOP submitted through the
 * registered index proves it. Its slots hold files only it holds.
 * Only when uring_probe() found registered ring fds (HIDDEN_SLOTS is 0 otherwise).
 */
void uring_hidden(long slots, long buffers)
{
	static struct io_uring hidden;
	struct mring *m;
	int ret, index, fd;

	ret = io_uring_queue_init(8, &hidden, 0);
	if (ret < 0)
		die("io_uring_queue_init: %s", strerror(-ret));
	ret = io_uring_register_ring_fd(&hidden);
	if (ret != 1)
		die("io_uring_register_ring_fd: %s", ret < 0 ? strerror(-ret) : "nothing registered");
	index = hidden.enter_ring_fd;
	fd = hidden.ring_fd;
	file_new(fd, IB_K_IO_URING, NULL,
		 "io_uring instance with no descriptor: its fd was registered with "
		 "IORING_REGISTER_RING_FDS, then closed");
	m = mring_new(fd);
	m->note = "no descriptor: reachable through the task's registered-ring table (and its mappings) only";
	register_files(&hidden, m, slots);
	register_buffers(&hidden, m, buffers);
	fd_close(fd);
	hidden.ring_fd = -1; /* liburing goes through enter_ring_fd from now on */
	m->fd = -1;
	m->reg_index = index;
	ret = ring_nop(&hidden);
	if (ret < 0)
		die("a NOP through the registered ring %d: %s", index, strerror(-ret));
	add_case(UR_HIDDEN);
}

/* The last empty file slot, when at least two are empty (one stays sparse). */
static long spare_slot(void)
{
	long slot = -1, empty = 0;

	if (!model)
		return -1;
	for (long i = (long)model->nfiles - 1; i >= 0; i--) {
		if (model->slots[i])
			continue;
		if (slot < 0)
			slot = i;
		empty++;
	}
	return empty >= 2 ? slot : -1;
}

bool uring_has_spare_slot(void)
{
	return spare_slot() >= 0;
}

/*
 * Case (f), with epoll in the ring's task: an eventfd added to the epoll
 * instance e, registered in a spare file slot, then its descriptor closed.
 * The slot's reference keeps the file open, so the kernel keeps the item;
 * no task has a descriptor for the target (procfs shows the item's tfd and
 * inode only, kcmp has no descriptor to compare it with).
 */
void uring_epoll_target(struct mepoll *e)
{
	long slot = spare_slot();
	int fd, ret;

	if (slot < 0)
		return;
	fd = mk_eventfd(11, NULL);
	mepoll_add(e, fd, EPOLLIN, "(f) target held only by an io_uring registered-file slot");
	ret = io_uring_register_files_update(&ring, slot, &fd, 1);
	if (ret != 1)
		die("io_uring_register_files_update(%ld, 1): %s", slot,
		    ret < 0 ? strerror(-ret) : "short update");
	model->slots[slot] = fd_label(fd) + 1;
	file_note(fd_label(fd), "(f) held only by an io_uring slot; an epoll item watches it");
	fd_close(fd);
	add_case(UR_F);
}
