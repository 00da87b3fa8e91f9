/*
 * tshim.h — the few assertion macros the panel core tests use, so that the
 * same test bodies (core_tests.c) run under cmocka on the host and under a
 * tiny setjmp harness on the Cortex-M0 (tests/target), where cmocka is not.
 * A failing CHECK must fail the test on both: never make these no-ops.
 */
#ifndef PANEL_TSHIM_H
#define PANEL_TSHIM_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef TSHIM_TARGET
void tshim_fail(const char *file, int line, const char *expr, long long a, long long b);
#define CHECK(x) do { if (!(x)) tshim_fail(__FILE__, __LINE__, #x, 0, 0); } while (0)
#define CHECK_EQ(a, b) do { long long a_ = (long long)(a), b_ = (long long)(b); \
        if (a_ != b_) tshim_fail(__FILE__, __LINE__, #a " == " #b, a_, b_); } while (0)
#else
#include <cmocka.h>
#define CHECK(x) assert_true(x)
#define CHECK_EQ(a, b) assert_int_equal((long long)(a), (long long)(b))
#endif

/* TEST(name) { body } — a test both runners can call as name(void **). */
#define TEST(name) \
    static void name##_body(void); \
    static void name(void **s_) { (void)s_; name##_body(); } \
    static void name##_body(void)

#endif
