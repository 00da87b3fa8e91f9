/*
 * panel_target.c — the panel core's tests on a Cortex-M0 (qemu -M microbit):
 * the same test bodies as the host (tests/unit/panel/core_tests.c) under a
 * tiny setjmp harness instead of cmocka. Exit status via semihosting: 0 when
 * every test passed. With TARGET_SELFTEST_FAIL it runs one deliberately
 * failing check instead, which ctest must see fail (WILL_FAIL): proof that a
 * failing assertion fails the target run. With COMM_TARGET it runs the
 * communicator's tests instead (tests/unit/comm/comm_tests.c).
 */
#define TSHIM_TARGET
#include <setjmp.h>

#include "target_io.h"

#if defined(COMM_TARGET)
#include "comm_tests.c"             /* the communicator's (tests/unit/comm) */
#define PANEL_CORE_TESTS(X) COMM_TESTS(X)
#elif !defined(TARGET_SELFTEST_FAIL)
#include "core_tests.c"
#else
#include "tshim.h"
TEST(deliberate_failure)
{
    CHECK_EQ(1 + 1, 3);
}
#define PANEL_CORE_TESTS(X) X(deliberate_failure)
#endif

static jmp_buf jb;

static void put_num(long long v)
{
    char b[24];
    int i = 23;
    int neg = v < 0;
    unsigned long long u = neg ? 0ull - (unsigned long long)v : (unsigned long long)v;
    b[i] = '\0';
    do {
        b[--i] = (char)('0' + u % 10u);
        u /= 10u;
    } while (u != 0 && i > 1);
    if (neg)
        b[--i] = '-';
    tio_puts(b + i);
}

void tshim_fail(const char *file, int line, const char *expr, long long a, long long b)
{
    tio_puts("  FAIL ");
    tio_puts(file);
    tio_puts(":");
    put_num(line);
    tio_puts(": ");
    tio_puts(expr);
    tio_puts(" (");
    put_num(a);
    tio_puts(" vs ");
    put_num(b);
    tio_puts(")\n");
    longjmp(jb, 1);
}

struct entry {
    const char *name;
    void (*fn)(void **);
};

int main(void)
{
#define AS_ENTRY(name) { #name, name },
    static const struct entry tests[] = { PANEL_CORE_TESTS(AS_ENTRY) };
    static volatile int failed;         /* volatile/static: survive longjmp */
    static volatile unsigned i;
    unsigned n = sizeof tests / sizeof tests[0];
    for (i = 0; i < n; i++) {
        tio_puts(tests[i].name);
        tio_puts("\n");
        if (setjmp(jb) == 0) {
            tests[i].fn(NULL);
            tio_puts("  ok\n");
        } else {
            failed++;
        }
    }
    put_num((long long)(n - (unsigned)failed));
    tio_puts(" passed, ");
    put_num(failed);
    tio_puts(" failed (Cortex-M0, qemu microbit)\n");
    return failed != 0;
}
