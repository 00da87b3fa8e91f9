/*
 * tests/unit/dc09/test_crc_small.c — the Cortex-M0 CRC path (one table, one
 * byte per step), built on the host by including lib/dc09/crc.c with
 * DC09_CRC_SMALL, against a bitwise reference and the check value. The host
 * path (slicing-by-4) is checked the same way in test_frames.c.
 */
#define DC09_CRC_SMALL 1
#include "../../../lib/dc09/crc.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

_Static_assert(DC09_CRC_SLICE == 0, "the small path is the one under test");

static uint16_t crc_bitwise(const uint8_t *p, size_t n)
{
    uint16_t c = 0;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int b = 0; b < 8; b++)
            c = (c & 1) ? (uint16_t)((c >> 1) ^ 0xA001) : (uint16_t)(c >> 1);
    }
    return c;
}

static void test_small_path(void **state)
{
    (void)state;
    assert_int_equal(dc09_crc16((const uint8_t *)"123456789", 9), 0xBB3D);
    uint8_t buf[300];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 131 + 7);
    for (size_t n = 0; n <= sizeof buf; n++)
        assert_int_equal(dc09_crc16(buf, n), crc_bitwise(buf, n));
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_small_path)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
