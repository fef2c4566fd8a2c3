/* SPDX-License-Identifier: MIT */
/*
 * registry.c - the array of the methods listed in registry.h. The registry
 * tests (test/methods.test.ts) check every descriptor: every coverage kind
 * declared, every named method registered, floors with the floor role, no
 * cycle in the subset chains.
 */
#include <stddef.h>
#include "method.h"

#define IB_METHOD_ADDR(sym) &sym,
const struct ib_method *const ib_methods[] = { IB_METHODS(IB_METHOD_ADDR) };
const size_t ib_nmethods = sizeof(ib_methods) / sizeof(ib_methods[0]);
