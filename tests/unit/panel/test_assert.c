/*
 * test_assert.c — VIGIL_ASSERT on a host: a failed assertion names its file
 * and line on stderr and aborts (panel_assert_aborts checks both); one that
 * holds does nothing.
 */
#include "vigil/assert.h"

int main(int argc, char **argv)
{
    (void)argv;
    VIGIL_ASSERT(argc >= 1);      /* holds */
    VIGIL_ASSERT(argc > 1000);    /* cannot hold: aborts */
    return 0;
}
