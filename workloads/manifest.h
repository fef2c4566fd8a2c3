/* SPDX-License-Identifier: MIT */
/*
 * manifest.h - the manifest writer: the model as JSON (format and every
 * field documented in bench/manifest.ts).
 */
#ifndef IB_WL_MANIFEST_H
#define IB_WL_MANIFEST_H

#include <stdio.h>

#include "scenario.h"

#define MANIFEST_SCHEMA 2

/* Write atomically (temporary file, then rename): 0 or -errno. */
int manifest_write(const struct plan *p, const char *path);

/* A JSON string literal. */
void json_str(FILE *f, const char *s);

#endif /* IB_WL_MANIFEST_H */
