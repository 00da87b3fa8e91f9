/*
 * vigil/assert.h — VIGIL_ASSERT(cond): for what cannot happen in the portable
 * libraries (lib/panel, lib/comm, lib/dc09), never for what bad input can
 * cause (that returns an error).
 *
 * On a host (Linux, macOS: tests, the simulator) a failed assertion prints
 * "FILE:LINE: VIGIL_ASSERT(cond) failed" on stderr and aborts. On the target
 * it calls vigil_panic(file, line), a port the board provides: log what it
 * can, put the outputs in a safe state, reset (the watchdog). lib/panel has a
 * weak default that spins until the watchdog resets the part.
 * Define VIGIL_ASSERT_PORT to use the port on a host too.
 */
#ifndef VIGIL_ASSERT_H
#define VIGIL_ASSERT_H

#if (defined(__linux__) || defined(__APPLE__)) && !defined(VIGIL_ASSERT_PORT)
#include <stdio.h>
#include <stdlib.h>
#define VIGIL_ASSERT(c)                                                              \
    ((c) ? (void)0                                                                   \
         : (fprintf(stderr, "%s:%d: VIGIL_ASSERT(%s) failed\n", __FILE__, __LINE__, #c), \
            abort()))
#else
#ifdef __FILE_NAME__
#define VIGIL__FILE __FILE_NAME__
#else
#define VIGIL__FILE __FILE__
#endif
/* The board's panic port: must not return. */
__attribute__((noreturn, cold)) void vigil_panic(const char *file, int line);
#define VIGIL_ASSERT(c) (__builtin_expect(!!(c), 1) ? (void)0 : vigil_panic(VIGIL__FILE, __LINE__))
#endif

#endif
