/*
 * tests/unit/dc09/test_crc_small.c — the Cortex-M0 paths of the codec's
 * small helpers, built on the host by including their sources with the
 * small-path switches: the CRC (a 16-entry table, one nibble per step;
 * DC09_CRC_SMALL) against a bitwise reference and the check value, and the hex
 * digit value (compares, no table; DC09_HEX_SMALL) against the definition for
 * all 256 byte values. The host paths (slicing-by-4, the 256-byte hex table)
 * are checked through the codec in test_frames.c.
 */
#define DC09_CRC_SMALL 1
#define DC09_HEX_SMALL 1
#include "../../../lib/dc09/crc.c"
#include "../../../lib/dc09/names.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

_Static_assert(DC09_CRC_SLICE == 0, "the small path is the one under test");
_Static_assert(DC09__HEX_TABLE == 0, "the small hex path is the one under test");

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

static void test_small_hexval(void **state)
{
    (void)state;
    static const char up[] = "0123456789ABCDEF", lo[] = "0123456789abcdef";
    for (int c = 0; c < 256; c++) {
        int want = -1;
        for (int v = 0; v < 16; v++)
            if (c == up[v] || c == lo[v])
                want = v;
        assert_int_equal(dc09__hexval((uint8_t)c), want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_small_path),
                                       cmocka_unit_test(test_small_hexval)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
