// SPDX-License-Identifier: MIT
/*
 * registry.c - the list of scenarios, expanded from scenarios/list.h.
 */
#include <stddef.h>
#include <string.h>

#include "scenario.h"

#define SCENARIO(x) extern const struct scenario scenario_##x;
#include "scenarios/list.h"
#undef SCENARIO

const struct scenario *const scenarios[] = {
#define SCENARIO(x) &scenario_##x,
#include "scenarios/list.h"
#undef SCENARIO
	NULL,
};

const struct scenario *scenario_find(const char *name)
{
	for (int i = 0; scenarios[i]; i++)
		if (!strcmp(scenarios[i]->name, name))
			return scenarios[i];
	return NULL;
}
