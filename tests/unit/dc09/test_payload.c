/*
 * tests/unit/dc09/test_payload.c — the payload codecs (Contact ID, SIA
 * DC-03), the CID<->SIA table, and the timestamp conversion (checked
 * against libc's timegm/gmtime_r as an independent reference).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util.h"
#include "vigil/dc09.h"

static int cid(const char *s, struct dc09_cid *c) { return dc09_cid_parse(s, strlen(s), c); }
static int sia(const char *s, struct dc09_sia *c) { return dc09_sia_parse(s, strlen(s), c); }

static void test_cid(void **state)
{
    (void)state;
    struct dc09_cid c;
    assert_int_equal(cid("1121 01 003", &c), 0);
    assert_int_equal(c.qualifier, 1);
    assert_int_equal(c.event, 121);
    assert_int_equal(c.partition, 1);
    assert_int_equal(c.zone, 3);
    assert_int_equal(cid("340199057", &c), 0);
    assert_int_equal(c.qualifier, 3);
    assert_int_equal(c.event, 401);
    assert_int_equal(c.partition, 99);
    assert_int_equal(c.zone, 57);
    assert_int_equal(cid("6130 00 999", &c), 0);
    assert_int_equal(c.qualifier, 6);
    const char *bad[] = {"2121 01 003", "0000 00 000", "1121 01 03", "1121-01-003", "1121 01 0030",
                         "112101 003", "1A21 01 003", "", "1121 01 00x", "11210100"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(cid(bad[i], &c), DC09_E_PAYLOAD);
    char out[16];
    c = (struct dc09_cid){.qualifier = 1, .event = 121, .partition = 1, .zone = 3};
    assert_int_equal(dc09_cid_format(&c, out, sizeof out), 0);
    assert_string_equal(out, "1121 01 003");
    assert_int_equal(dc09_cid_format(&c, out, 11), DC09_E_NOSPACE);
    c.qualifier = 2;
    assert_int_equal(dc09_cid_format(&c, out, sizeof out), DC09_E_INVAL);
    c.qualifier = 3;
    c.zone = 1000;
    assert_int_equal(dc09_cid_format(&c, out, sizeof out), DC09_E_INVAL);
    /* every valid value round-trips */
    for (unsigned q = 1; q <= 6; q += (q == 1 ? 2 : 3))
        for (unsigned e = 0; e < 1000; e += 37)
            for (unsigned z = 0; z < 1000; z += 111) {
                struct dc09_cid a = {(uint8_t)q, (uint16_t)e, (uint8_t)(e % 100), (uint16_t)z}, b;
                assert_int_equal(dc09_cid_format(&a, out, sizeof out), 0);
                assert_int_equal(dc09_cid_parse(out, 11, &b), 0);
                assert_true(a.qualifier == b.qualifier && a.event == b.event &&
                            a.partition == b.partition && a.zone == b.zone);
            }
}

static void test_sia(void **state)
{
    (void)state;
    struct dc09_sia s;
    assert_int_equal(sia("Nri1/HA01", &s), 0);
    assert_string_equal(s.code, "HA");
    assert_true(s.has_area && s.area == 1);
    assert_true(s.has_zone && s.zone == 1);
    assert_false(s.has_user || s.has_time || s.has_text);
    /* no slash after ri (real panel) */
    assert_int_equal(sia("Nri1CL0^VX FRONTE ^", &s), 0);
    assert_string_equal(s.code, "CL");
    assert_int_equal(s.area, 1);
    assert_int_equal(s.zone, 0);
    assert_string_equal(s.text, "VX FRONTE ");
    /* ti before id, no zone */
    assert_int_equal(sia("Nti19:44/id1/RP", &s), 0);
    assert_string_equal(s.code, "RP");
    assert_true(s.has_time && s.hour == 19 && s.minute == 44);
    assert_true(s.has_user && s.user == 1);
    assert_false(s.has_zone || s.has_area);
    /* trailing letters after the zone */
    assert_int_equal(sia("Nri04/OP001NM", &s), 0);
    assert_string_equal(s.code, "OP");
    assert_int_equal(s.area, 4);
    assert_int_equal(s.zone, 1);
    assert_string_equal(s.extra, "NM");
    assert_int_equal(sia("NBA4", &s), 0);
    assert_string_equal(s.code, "BA");
    assert_false(s.has_area);
    assert_int_equal(s.zone, 4);
    assert_int_equal(sia("NRP", &s), 0);
    assert_false(s.has_zone);
    assert_int_equal(sia("Nri1BA503^Volum.Taverna   Appartam.Giorno ^", &s), 0);
    assert_string_equal(s.text, "Volum.Taverna   Appartam.Giorno ");
    assert_int_equal(sia("NBA1^^", &s), 0);
    assert_true(s.has_text);
    assert_string_equal(s.text, "");
    /* long text: the start is kept, and flagged */
    char longt[200];
    snprintf(longt, sizeof longt, "NBA1^%0100d^", 7);
    assert_int_equal(sia(longt, &s), 0);
    assert_true(s.text_truncated);
    assert_int_equal(strlen(s.text), DC09_SIA_TEXT_MAX);
    const char *bad[] = {"", "N", "NB", "Nba1", "0|NRP", "BA1", "Nri/BA1", "Nri12345/BA1",
                         "NBA12345", "Nti25:00/BA1", "Nti1:00/BA1", "NBA1^open", "Nri1/ri2/BA1",
                         "NBA1 x", "NBA1ABCDEFGHIJKLMNOPQ", "Nid/BA1", "N1BA"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (sia(bad[i], &s) != DC09_E_PAYLOAD) {
            print_error("'%s' parsed\n", bad[i]);
            fail();
        }
    }
    /* format */
    char out[128];
    struct dc09_sia f;
    memset(&f, 0, sizeof f);
    strcpy(f.code, "HA");
    f.has_area = true;
    f.area = 1;
    f.has_zone = true;
    f.zone = 3;
    assert_int_equal(dc09_sia_format(&f, out, sizeof out), 0);
    assert_string_equal(out, "Nri1/HA003");
    f.has_user = true;
    f.user = 12;
    f.has_time = true;
    f.hour = 7;
    f.minute = 5;
    strcpy(f.text, "Door");
    strcpy(f.extra, "NM");
    assert_int_equal(dc09_sia_format(&f, out, sizeof out), 0);
    assert_string_equal(out, "Nri1/id12/ti07:05/HA003^Door^NM");
    assert_int_equal(sia(out, &s), 0);
    assert_string_equal(s.code, "HA");
    assert_int_equal(s.user, 12);
    assert_string_equal(s.text, "Door");
    assert_string_equal(s.extra, "NM");
    assert_int_equal(dc09_sia_format(&f, out, 10), DC09_E_NOSPACE);
    assert_int_equal(dc09_sia_format(&f, out, strlen("Nri1/id12/ti07:05/HA003^Door^NM")), DC09_E_NOSPACE);
    assert_int_equal(dc09_sia_format(&f, out, strlen("Nri1/id12/ti07:05/HA003^Door^NM") + 1), 0);
    strcpy(f.text, "a^b");
    assert_int_equal(dc09_sia_format(&f, out, sizeof out), DC09_E_INVAL);
    strcpy(f.text, "");
    strcpy(f.code, "ha");
    assert_int_equal(dc09_sia_format(&f, out, sizeof out), DC09_E_INVAL);
}

static void test_table(void **state)
{
    (void)state;
    struct {
        uint16_t ev;
        uint8_t q;
        const char *code;
    } rows[] = {
        {121, 1, "HA"}, {121, 3, "HH"}, {122, 1, "HA"}, {123, 1, "PA"}, {130, 1, "BA"},
        {136, 1, "BA"}, {134, 6, "BA"}, {137, 1, "TA"}, {301, 1, "AT"}, {302, 1, "YT"},
        {354, 1, "YC"}, {374, 1, "EA"}, {383, 1, "TA"}, {401, 1, "OP"}, {401, 3, "CL"},
        {403, 1, "OA"}, {403, 3, "CA"}, {406, 1, "OC"}, {407, 1, "OQ"}, {407, 3, "CQ"},
        {441, 3, "CG"}, {459, 1, "CR"}, {461, 1, "JA"}, {110, 1, "FA"}, {412, 1, "RB"},
        {602, 1, "RP"}, {115, 1, "FA"}, {100, 1, "MA"}, {120, 1, "PA"}, {306, 1, "YG"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const char *c = dc09_cid_to_sia(rows[i].ev, rows[i].q);
        assert_non_null(c);
        assert_string_equal(c, rows[i].code);
        assert_non_null(dc09_cid_describe(rows[i].ev));
    }
    /* a restore is never reported as its alarm */
    assert_null(dc09_cid_to_sia(130, 3));
    assert_null(dc09_cid_to_sia(306, 3));
    /* restores have their own codes (never the alarm's) */
    assert_string_equal(dc09_cid_to_sia(110, 3), "FH");
    assert_string_equal(dc09_cid_to_sia(123, 3), "PH");
    assert_string_equal(dc09_cid_to_sia(137, 3), "TR");
    assert_string_equal(dc09_cid_to_sia(301, 3), "AR");
    assert_string_equal(dc09_cid_to_sia(302, 3), "YR");
    assert_null(dc09_cid_to_sia(441, 1));
    assert_null(dc09_cid_to_sia(121, 2));
    assert_null(dc09_cid_to_sia(129, 1));
    assert_null(dc09_cid_to_sia(999, 1));
    assert_null(dc09_cid_describe(999));
    assert_string_equal(dc09_cid_describe(121), "duress");
    uint16_t ev;
    uint8_t q;
    assert_int_equal(dc09_sia_to_cid("HA", &ev, &q), 0);
    assert_true(ev == 121 && q == 1); /* HA maps back to duress */
    assert_int_equal(dc09_sia_to_cid("HH", &ev, &q), 0);
    assert_true(ev == 121 && q == 3);
    assert_int_equal(dc09_sia_to_cid("CL", &ev, &q), 0);
    assert_true(ev == 401 && q == 3);
    assert_int_equal(dc09_sia_to_cid("CG", &ev, &q), 0);
    assert_true(ev == 441 && q == 3);
    assert_int_equal(dc09_sia_to_cid("ZZ", &ev, &q), DC09_E_INVAL);
    /* every code maps to a CID that maps back to it */
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        assert_int_equal(dc09_sia_to_cid(rows[i].code, &ev, &q), 0);
        assert_string_equal(dc09_cid_to_sia(ev, q), rows[i].code);
    }
}

static void test_time(void **state)
{
    (void)state;
    char buf[32];
    int64_t t;
    assert_int_equal(dc09_time_parse("00:00:00,01-01-1970", 19, &t), 0);
    assert_int_equal(t, 0);
    assert_int_equal(dc09_time_parse("13:09:28,11-26-2026", 19, &t), 0);
    assert_int_equal(t, ref_time("13:09:28,11-26-2026"));
    assert_int_equal(dc09_time_parse("23:59:59,02-29-2024", 19, &t), 0);
    assert_int_equal(dc09_time_parse("23:59:59,02-29-2000", 19, &t), 0);
    const char *bad[] = {"23:59:59,02-29-2025", "23:59:59,02-29-1900", "00:00:00,00-10-2020",
                         "00:00:00,10-00-2020", "00:00:00,04-31-2020", "24:00:00,01-01-2020",
                         "00:60:00,01-01-2020", "00:00:60,01-01-2020", "00:00:00,01-01-1969",
                         "00:00:00 01-01-2020", "0a:00:00,01-01-2020", "00:00:00,01/01/2020"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(dc09_time_parse(bad[i], 19, &t), DC09_E_FORMAT);
    assert_int_equal(dc09_time_parse("00:00:00,01-01-2020", 18, &t), DC09_E_FORMAT);
    /* against gmtime_r over 1970..9999: random instants, then the first and
     * the last second of every year (where a day count turns into a year) */
    uint64_t x = 88172645463325252ull;
    int64_t jan1 = 0;
    for (int i = 0; i < 20000 + 2 * 8030; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int64_t v = (int64_t)(x % 253402300800ull);
        if (i < 3)
            v = i == 0 ? 0 : i == 1 ? 253402300799 : 951782400; /* ends, 2000-02-29 */
        if (i >= 20000) {
            int y = 1970 + (i - 20000) / 2;
            int64_t next = jan1 + 86400 * (365 + ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
            v = (i - 20000) % 2 == 0 ? jan1 : next - 1;
            if ((i - 20000) % 2 == 1)
                jan1 = next;
        }
        assert_int_equal(dc09_time_format(v, buf, sizeof buf), 0);
        time_t tt = (time_t)v;
        struct tm tm;
        gmtime_r(&tt, &tm);
        char ref[96];
        snprintf(ref, sizeof ref, "%02d:%02d:%02d,%02d-%02d-%04d", tm.tm_hour, tm.tm_min, tm.tm_sec,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_year + 1900);
        assert_string_equal(buf, ref);
        assert_int_equal(dc09_time_parse(buf, 19, &t), 0);
        assert_int_equal(t, v);
    }
    assert_int_equal(dc09_time_format(-1, buf, sizeof buf), DC09_E_INVAL);
    assert_int_equal(dc09_time_format(253402300800, buf, sizeof buf), DC09_E_INVAL);
    assert_int_equal(dc09_time_format(0, buf, 19), DC09_E_NOSPACE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cid),
        cmocka_unit_test(test_sia),
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
