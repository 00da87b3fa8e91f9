/*
 * test_comm_core.c — comm_tests.c on the host under cmocka (ASan/UBSan);
 * the same bodies run on the Cortex-M0 under QEMU (tests/target, comm_target).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "comm_tests.c"

int main(void)
{
#define AS_CMOCKA(name) cmocka_unit_test(name),
    const struct CMUnitTest tests[] = { COMM_TESTS(AS_CMOCKA) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
