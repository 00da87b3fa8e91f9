/*
 * test_panel_core.c — runs core_tests.c under cmocka on the host (ASan/UBSan).
 * The same bodies run on a Cortex-M0 under QEMU via tests/target.
 */
#include "core_tests.c"

int main(void)
{
#define AS_CMOCKA(name) cmocka_unit_test(name),
    const struct CMUnitTest tests[] = { PANEL_CORE_TESTS(AS_CMOCKA) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
