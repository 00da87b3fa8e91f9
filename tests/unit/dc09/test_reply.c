/*
 * test_reply.c — dc09_reply_check, the one reply check the panel's
 * communicator and `vigil dc09 send` share, and dc09_reply_decode's
 * nak-token-order quirk. Each way a reply can be wrong has its verdict;
 * an ACK dated 120 s ahead is refused (the panel used to take it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "util.h"
#include "vigil/dc09.h"

#define NOW 1700000000

static struct dc09_reply_ref ref(void)
{
    return (struct dc09_reply_ref){ .seq = 42, .encrypted = true, .receiver = "1A", .line = "3",
                                    .account = "12AB", .sent_s = NOW - 2, .tolerance_s = 25 };
}

static struct dc09_frame ack(void)
{
    struct dc09_frame f;
    memset(&f, 0, sizeof f);
    f.id = DC09_ID_ACK;
    f.encrypted = true;
    f.seq = 42;
    f.has_receiver = true;
    strcpy(f.receiver, "1A");
    strcpy(f.line, "3");
    strcpy(f.account, "12AB");
    f.has_time = true;
    f.time_s = NOW;
    return f;
}

static void test_verdicts(void **s)
{
    (void)s;
    struct dc09_reply_ref r = ref();
    struct dc09_frame f = ack();
    assert_int_equal(dc09_reply_check(&r, &f, NOW), DC09_V_ACK);
    strcpy(f.receiver, "1a");            /* hex: any case */
    strcpy(f.account, "12ab");
    assert_int_equal(dc09_reply_check(&r, &f, NOW), DC09_V_ACK);

    f = ack(); f.seq = 43;
    assert_int_equal(dc09_reply_check(&r, &f, NOW), DC09_V_SEQ);
    f = ack(); strcpy(f.account, "12AC");
    assert_int_equal(dc09_reply_check(&r, &f, NOW), DC09_V_ACCOUNT);
    f = ack(); f.has_receiver = false;   /* R not echoed */
    assert_int_equal(dc09_reply_check(&r, &f, NOW), DC09_V_RECEIVER);
    f = ack(); strcpy(f.receiver, "1B");
    assert_int_equal(dc09_reply_check(&r, &f, NOW), DC09_V_RECEIVER);
    f = ack(); strcpy(f.line, "0");      /* L not echoed */
    assert_int_equal(dc09_reply_check(&r, &f, NOW), DC09_V_LINE);
    f = ack(); f.encrypted = false;      /* downgrade */
    assert_int_equal(dc09_reply_check(&r, &f, NOW), DC09_V_CLEAR);
    f = ack(); f.has_time = false;
    assert_int_equal(dc09_reply_check(&r, &f, NOW), DC09_V_NO_TIME);
    f = ack(); f.id = DC09_ID_SIA_DCS;
    assert_int_equal(dc09_reply_check(&r, &f, NOW), DC09_V_NOT_REPLY);

    /* a frame sent without R: a reply with one does not echo it either */
    r.receiver = "";
    f = ack();
    assert_int_equal(dc09_reply_check(&r, &f, NOW), DC09_V_RECEIVER);
    f.has_receiver = false;
    assert_int_equal(dc09_reply_check(&r, &f, NOW), DC09_V_ACK);
    r.receiver = NULL;
    assert_int_equal(dc09_reply_check(&r, &f, NOW), DC09_V_ACK);
}

static void test_window(void **s)
{
    (void)s;
    struct dc09_reply_ref r = ref();
    r.sent_s = INT64_MIN;
    struct dc09_frame f = ack();
    f.time_s = NOW + 120;                /* the panel accepted this before issue 13 */
    assert_int_equal(dc09_reply_check(&r, &f, NOW), DC09_V_FUTURE);
    /* the station's window seen from the sender: [now - FUTURE_S, now + PAST_S] */
    f.time_s = NOW + DC09_WINDOW_PAST_S;
    assert_int_equal(dc09_reply_check(&r, &f, NOW), DC09_V_ACK);
    f.time_s = NOW + DC09_WINDOW_PAST_S + 1;
    assert_int_equal(dc09_reply_check(&r, &f, NOW), DC09_V_FUTURE);
    f.time_s = NOW - DC09_WINDOW_FUTURE_S;
    assert_int_equal(dc09_reply_check(&r, &f, NOW), DC09_V_ACK);
    f.time_s = NOW - DC09_WINDOW_FUTURE_S - 1;
    assert_int_equal(dc09_reply_check(&r, &f, NOW), DC09_V_STALE);
    /* not before the first send minus the tolerance */
    r.sent_s = NOW + 10;
    r.tolerance_s = 5;
    f.time_s = NOW + 4;
    assert_int_equal(dc09_reply_check(&r, &f, NOW), DC09_V_STALE);
    f.time_s = NOW + 5;
    assert_int_equal(dc09_reply_check(&r, &f, NOW), DC09_V_ACK);
    /* a clear ACK without a time: no window to apply */
    r.encrypted = false;
    f = ack();
    f.encrypted = false;
    f.has_time = false;
    assert_int_equal(dc09_reply_check(&r, &f, NOW), DC09_V_ACK);
    f.has_time = true;                   /* ... with one: the window applies */
    f.time_s = NOW + 120;
    assert_int_equal(dc09_reply_check(&r, &f, NOW), DC09_V_FUTURE);
}

static void test_nak_duh(void **s)
{
    (void)s;
    struct dc09_reply_ref r = ref();
    struct dc09_frame f = ack();
    f.id = DC09_ID_NAK;                  /* R0 L0 A0: nothing to echo, its time unwindowed */
    f.seq = 0;
    f.time_s = NOW + 3600;
    assert_int_equal(dc09_reply_check(&r, &f, NOW), DC09_V_NAK);
    f.has_time = false;
    assert_int_equal(dc09_reply_check(&r, &f, NOW), DC09_V_NO_TIME);
    f = ack();
    f.id = DC09_ID_DUH;
    f.encrypted = false;
    f.has_time = false;
    assert_int_equal(dc09_reply_check(&r, &f, NOW), DC09_V_DUH);
    f.seq = 41;
    assert_int_equal(dc09_reply_check(&r, &f, NOW), DC09_V_SEQ);
    f.seq = 42;
    strcpy(f.line, "4");
    assert_int_equal(dc09_reply_check(&r, &f, NOW), DC09_V_LINE);
    for (int v = DC09_V_FUTURE; v <= DC09_V_DUH; v++)
        assert_string_not_equal(dc09_verdict_name(v), "unknown");
}

static size_t wrap(const char *body, uint8_t *out)
{
    size_t n = strlen(body);
    char buf[256];
    int k = snprintf(buf, sizeof buf, "\n%04X%04X%s\r", dc09_crc16((const uint8_t *)body, n),
                     (unsigned)n, body);
    memcpy(out, buf, (size_t)k);
    return (size_t)k;
}

static void test_nak_token_order(void **s)
{
    (void)s;
    struct dc09_decode_opts o;
    dc09_decode_opts_init(&o, NOW);
    struct dc09_frame f;
    uint8_t b[256];
    size_t n = wrap("\"NAK\"0000L0R0A0[]_22:13:20,11-14-2023", b);
    assert_int_equal(dc09_reply_decode(b, n, &o, &f, NULL), DC09_E_FORMAT);   /* strict */
    o.quirks = DC09_Q_NAK_TOKEN_ORDER;
    assert_int_equal(dc09_reply_decode(b, n, &o, &f, NULL), 0);
    assert_int_equal(f.id, DC09_ID_NAK);
    assert_true(f.has_time);
    assert_int_equal(f.time_s, NOW);
    assert_string_equal(f.line, "0");
    assert_string_equal(f.receiver, "0");
    assert_string_equal(f.account, "0");
    static const char *good[] = {
        "\"NAK\"0000A0L0R0[]_22:13:20,11-14-2023",
        "\"NAK\"0000R0A0L0[]_22:13:20,11-14-2023",
        "\"NAK\"0000L0A0[]_22:13:20,11-14-2023",
        "\"NAK\"0000R0L0A0[]_22:13:20,11-14-2023",   /* the standard order too */
        "\"NAK\"0000R1AL0A0[]_22:13:20,11-14-2023",  /* an R ending in A */
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        n = wrap(good[i], b);
        assert_int_equal(dc09_reply_decode(b, n, &o, &f, NULL), 0);
        assert_int_equal(f.time_s, NOW);
    }
    static const char *bad[] = {
        "\"NAK\"0000L0L0A0[]_22:13:20,11-14-2023",   /* a token twice */
        "\"NAK\"0000R0A0[]_22:13:20,11-14-2023",     /* no L */
        "\"NAK\"0000L0R0A0[]",                       /* no time */
        "\"NAK\"0000L0R0A0[x]_22:13:20,11-14-2023",  /* data */
        "\"NAK\"0000L0X0A0[]_22:13:20,11-14-2023",   /* unknown token */
        "\"ACK\"0000L0R0A0[]_22:13:20,11-14-2023",   /* only a NAK */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        n = wrap(bad[i], b);
        assert_int_not_equal(dc09_reply_decode(b, n, &o, &f, NULL), 0);
    }
    n = wrap("\"NAK\"0000L0R0A0[]_22:13:20,11-14-2023", b);
    b[1] ^= 1;                           /* CRC still checked */
    assert_int_not_equal(dc09_reply_decode(b, n, &o, &f, NULL), 0);
    uint32_t q = 0;
    assert_int_equal(dc09_quirk_parse("nak-token-order", &q), 0);
    assert_int_equal(q, DC09_Q_NAK_TOKEN_ORDER);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verdicts),
        cmocka_unit_test(test_window),
        cmocka_unit_test(test_nak_duh),
        cmocka_unit_test(test_nak_token_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
