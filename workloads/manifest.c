// SPDX-License-Identifier: MIT
/*
 * manifest.c - the model as JSON, written once by the root when every task
 * is ready. Only open files that some descriptor, epoll item or ring slot
 * refers to are listed. Format: bench/manifest.ts.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "manifest.h"
#include "model.h"
#include "tasks.h"

static const char *const kind_names[] = IB_KIND_NAMES;

void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = *s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

int manifest_write(const struct plan *p, const char *path)
{
	uint32_t nfiles = A->nfiles, ntasks = A->ntasks;
	char tmp[PATH_MAX];
	uint8_t *used;
	bool first;
	FILE *f;

	used = calloc(nfiles ? nfiles : 1, 1);
	if (!used)
		return -ENOMEM;
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	f = fopen(tmp, "w");
	if (!f) {
		free(used);
		return -errno;
	}
	setvbuf(f, NULL, _IOFBF, 1 << 20);
	fprintf(f, "{\"schema\":%d,", MANIFEST_SCHEMA);
	fprintf(f, "\"scenario\":\"%s\",", p->sc->name);
	fprintf(f, "\"params\":{\"files\":%ld,\"tasks\":%u,\"buffers\":%ld,"
		"\"epollItems\":%ld,\"uringFiles\":%ld,\"criuCompatible\":%s},",
		p->files, ntasks, p->buffers, p->epoll_items, p->uring_files,
		p->criu ? "true" : "false");
	fprintf(f, "\"rootPid\":%d,\"tasks\":[", (int)root_pid);
	for (uint32_t t = 0; t < ntasks; t++) {
		struct mtask *tk = &A->tasks[t];

		fprintf(f, "%s{\"pid\":%d,\"role\":", t ? "," : "", (int)tk->pid);
		json_str(f, tk->role);
		fprintf(f, ",\"table\":%d,\"threads\":[%d", (int)tk->table->owner, (int)tk->pid);
		for (int i = 0; i < tk->nthreads && i < MAX_THREADS; i++)
			fprintf(f, ",%d", (int)tk->threads[i]);
		fputs("],\"fds\":[", f);
		first = true;
		for (int fd = 0; fd <= tk->table->maxfd; fd++) {
			int32_t l = tk->table->label[fd];

			if (!l)
				continue;
			used[l - 1] = 1;
			fprintf(f, "%s{\"fd\":%d,\"file\":\"f%d\"}", first ? "" : ",", fd, l - 1);
			first = false;
		}
		fputs("]}", f);
	}
	fputs("],\"epoll\":[", f);
	for (uint32_t i = 0; i < A->nepolls; i++) {
		struct mepoll *e = &A->epolls[i];

		fprintf(f, "%s{\"pid\":%d,\"epfd\":%d,\"file\":\"f%d\",\"items\":[",
			i ? "," : "", (int)e->pid, e->epfd, e->label);
		for (uint32_t j = 0; j < e->nitems; j++) {
			struct mitem *it = &e->items[j];

			used[it->target] = 1;
			fprintf(f, "%s{\"tfd\":%d,\"events\":%u,\"data\":\"0x%llx\",\"target\":\"f%d\"",
				j ? "," : "", it->tfd, it->events,
				(unsigned long long)it->data, it->target);
			if (it->note) {
				fputs(",\"note\":", f);
				json_str(f, it->note);
			}
			fputc('}', f);
		}
		fputs("]}", f);
	}
	fputs("],\"io_uring\":[", f);
	for (uint32_t i = 0; i < A->nrings; i++) {
		struct mring *r = &A->rings[i];

		fprintf(f, "%s{\"pid\":%d,", i ? "," : "", (int)r->pid);
		if (r->fd >= 0)
			fprintf(f, "\"fd\":%d,", r->fd);
		else
			fputs("\"fd\":null,", f);
		if (r->reg_index >= 0)
			fprintf(f, "\"registeredIndex\":%d,\"tid\":%d,", r->reg_index, (int)r->pid);
		if (r->note) {
			fputs("\"note\":", f);
			json_str(f, r->note);
			fputc(',', f);
		}
		used[r->label] = 1;
		fprintf(f, "\"file\":\"f%d\",\"files\":[", r->label);
		for (uint32_t j = 0; j < r->nfiles; j++) {
			if (r->slots[j]) {
				used[r->slots[j] - 1] = 1;
				fprintf(f, "%s\"f%d\"", j ? "," : "", r->slots[j] - 1);
			} else {
				fprintf(f, "%snull", j ? "," : "");
			}
		}
		fputs("],\"buffers\":[", f);
		for (uint32_t j = 0; j < r->nbufs; j++) {
			struct mbuf *b = &r->bufs[j];

			if (j)
				fputc(',', f);
			if (!b->present) {
				fputs("null", f);
				continue;
			}
			fprintf(f, "{\"addr\":\"0x%llx\",\"len\":%llu",
				(unsigned long long)b->addr, (unsigned long long)b->len);
			if (b->note) {
				fputs(",\"note\":", f);
				json_str(f, b->note);
			}
			fputc('}', f);
		}
		fputs("]}", f);
	}
	fputs("],\"files\":{", f);
	first = true;
	for (uint32_t i = 0; i < nfiles; i++) {
		struct mfile *m = &A->files[i];

		if (!used[i])
			continue;
		fprintf(f, "%s\"f%u\":{\"kind\":\"%s\",\"dev\":%llu,\"ino\":%llu,"
			"\"pos\":%lld,\"flags\":%d",
			first ? "" : ",", i, kind_names[m->kind],
			(unsigned long long)m->dev, (unsigned long long)m->ino,
			(long long)m->pos, m->flags);
		if (m->path) {
			fputs(",\"path\":", f);
			json_str(f, m->path);
		}
		if (m->note) {
			fputs(",\"note\":", f);
			json_str(f, m->note);
		}
		fputc('}', f);
		first = false;
	}
	fputs("},\"cases\":[", f);
	first = true;
	for (uint32_t i = 0; i < A->ncases && i < MAX_CASES; i++) {
		bool dup = false;

		for (uint32_t j = 0; j < i; j++)
			dup |= !strcmp(A->cases[j], A->cases[i]);
		if (dup)
			continue;
		if (!first)
			fputc(',', f);
		json_str(f, A->cases[i]);
		first = false;
	}
	fputs("]}\n", f);
	free(used);
	if (fflush(f) || ferror(f)) {
		int err = -errno;

		fclose(f);
		unlink(tmp);
		return err ? err : -EIO;
	}
	fclose(f);
	if (rename(tmp, path) < 0) {
		int err = -errno;

		unlink(tmp);
		return err;
	}
	return 0;
}
