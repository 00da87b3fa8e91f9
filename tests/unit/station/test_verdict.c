/* test_verdict.c — the station's reply rules (docs/DC09.md "Replies",
 * docs/station.md "Receiving") through the receive path's own steps: real
 * frames, encoded and corrupted here, read by stn_rx_read_head /
 * stn_rx_read_frame / stn_rx_classify as rx.c reads them, then
 * stn_verdict_decide with the answers of the replay index, the duplicate
 * window, the rate limiter and the batch. Every rule is checked on TCP and
 * on UDP: the reply is the same; only a full batch pauses (TCP) reading. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "verdict.h"
#include "vigil/dc09_openssl.h"

#define NOW 1767225600            /* 2026-01-01 00:00:00 UTC */
#define ACCT "12AB34"
#define PAST 40                   /* the config's window, as the station's defaults */
#define FUTURE 20

struct keys {
    struct dc09_key k1, k2;
    struct dc09_ossl c1, c2;      /* the account's key, and another */
};
static struct keys K;

static int setup(void **state)
{
    (void)state;
    assert_int_equal(dc09_key_from_ascii(&K.k1, "0123456789ABCDEF", 16), 0);
    assert_int_equal(dc09_key_from_ascii(&K.k2, "FEDCBA9876543210", 16), 0);
    assert_int_equal(dc09_ossl_init(&K.c1, &K.k1), 0);
    assert_int_equal(dc09_ossl_init(&K.c2, &K.k2), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    dc09_ossl_free(&K.c1);
    dc09_ossl_free(&K.c2);
    return 0;
}

/* ---- frames ---------------------------------------------------------- */

struct frame {
    uint8_t b[DC09_FRAME_MAX];
    size_t n;
};

/* An ADM-CID (or SIA-DCS, or NULL) frame of ACCT, seq 42, line 0,
 * payload as given, timestamp t, encrypted with cipher (NULL: clear). */
static struct frame make(enum dc09_id id, const char *payload, int64_t t,
                         struct dc09_cipher *cipher)
{
    struct dc09_frame f;
    memset(&f, 0, sizeof f);
    f.id = id;
    f.seq = 42;
    f.has_receiver = true;
    strcpy(f.receiver, "0");
    strcpy(f.line, "0");
    strcpy(f.account, ACCT);
    if (payload)
        assert_int_equal(dc09_build_data(&f, ACCT, payload, strlen(payload)), 0);
    f.has_time = true;
    f.time_s = t;
    struct frame out;
    assert_int_equal(dc09_encode(&f, cipher, &dc09_ossl_rng, out.b, sizeof out.b, &out.n), 0);
    return out;
}

static struct frame routine(struct dc09_cipher *c)
{
    return make(DC09_ID_ADM_CID, "1401 01 003", NOW, c);   /* opening: stored, no alarm */
}

/* LF CRC 0LLL body CR around a body written by hand. */
static struct frame raw(const char *body)
{
    struct frame out;
    size_t bl = strlen(body);
    char head[10];
    snprintf(head, sizeof head, "%04X%04X", dc09_crc16((const uint8_t *)body, bl),
             (unsigned)bl);
    out.b[0] = '\n';
    memcpy(out.b + 1, head, 8);
    memcpy(out.b + 9, body, bl);
    out.b[9 + bl] = '\r';
    out.n = bl + 10;
    return out;
}

/* ---- the receive path's steps --------------------------------------- */

struct acct {
    bool known;
    struct stn_rx_account a;
};

static struct acct keyed(void)
{
    return (struct acct){ true, { 0, &K.c1.base, -1, -1 } };
}

static struct acct keyless(void)
{
    return (struct acct){ true, { 0, NULL, -1, -1 } };
}

static struct acct unknown(void)
{
    return (struct acct){ false, { 0, NULL, -1, -1 } };
}

/* The windows' answers (what rx.c asks the replay index, the duplicate
 * window, the account's bucket and the pending batch). */
struct windows {
    bool replay, duplicate, throttled, batch_full;
};

static struct stn_rx_verdict judge_on(enum stn_transport tr, const struct frame *fr,
                                      const struct acct *ac, struct windows w)
{
    struct stn_rx_facts in;
    memset(&in, 0, sizeof in);
    in.transport = tr;
    struct dc09_frame head, f;
    struct dc09_diag diag = { 0 };
    struct dc09_decode_opts o;
    struct stn_class cls;
    stn_rx_read_head(fr->b, fr->n, &in, &head, &diag);
    if (in.head_rc == 0) {
        stn_rx_read_frame(fr->b, fr->n, ac->known ? &ac->a : NULL, NOW, PAST, FUTURE, &in, &o,
                          &f, &diag);
        if (ac->known && in.rc == 0) {
            stn_rx_classify(&f, &in, &cls);
            in.replay = w.replay;
            in.duplicate = w.duplicate;
            in.rate_ok = !w.throttled;
            in.batch_full = w.batch_full;
        }
    }
    struct stn_rx_verdict v;
    stn_verdict_decide(&in, &v);
    return v;
}

/* The verdict, the same on both transports (pause aside: checked apart). */
static struct stn_rx_verdict judge(const struct frame *fr, const struct acct *ac,
                                   struct windows w)
{
    struct stn_rx_verdict t = judge_on(STN_TR_TCP, fr, ac, w);
    struct stn_rx_verdict u = judge_on(STN_TR_UDP, fr, ac, w);
    assert_int_equal(t.why, u.why);
    assert_int_equal(t.act, u.act);
    assert_int_equal(t.metric, u.metric);
    assert_ptr_equal(t.reason, u.reason);
    assert_ptr_equal(t.kind, u.kind);
    assert_false(u.pause);   /* nothing to pause on UDP */
    if (t.why != STN_WHY_BUSY)
        assert_false(t.pause);
    return t;
}

static const struct windows NONE = { false, false, false, false };

#define EXPECT(v, w, a, m) do {                                            \
        assert_string_equal(stn_why_name((v).why), stn_why_name(w));       \
        assert_int_equal((v).act, (a));                                    \
        assert_int_equal((v).metric, (m));                                 \
    } while (0)

#define EXPECT_REFUSED(v, w, r, k) do {                                    \
        EXPECT(v, w, STN_ACT_DUH_STORE, STN_V_DUH);                        \
        assert_string_equal((v).reason, (r));                              \
        assert_string_equal((v).kind, (k));                                \
    } while (0)

/* ---- the rules -------------------------------------------------------- */

/* accepted → ACK / *ACK once the batch carrying it committed */
static void accepted_event(void **state)
{
    (void)state;
    struct acct k = keyed(), c = keyless();
    struct frame e = routine(&K.c1.base), p = routine(NULL);
    EXPECT(judge(&e, &k, NONE), STN_WHY_ACCEPTED, STN_ACT_ACK_COMMIT, STN_V_ACK);
    EXPECT(judge(&p, &c, NONE), STN_WHY_ACCEPTED, STN_ACT_ACK_COMMIT, STN_V_ACK);
    struct frame s = make(DC09_ID_SIA_DCS, "Nri1/BA003", NOW, &K.c1.base);
    EXPECT(judge(&s, &k, NONE), STN_WHY_ACCEPTED, STN_ACT_ACK_COMMIT, STN_V_ACK);
}

/* CRC wrong → no reply at all, whoever the account */
static void crc_error(void **state)
{
    (void)state;
    struct frame e = routine(&K.c1.base);
    e.b[1] = e.b[1] == '0' ? '1' : '0';   /* the CRC's first hex digit */
    struct acct k = keyed(), u = unknown();
    EXPECT(judge(&e, &k, NONE), STN_WHY_CRC, STN_ACT_SILENT, STN_V_CRC_ERROR);
    EXPECT(judge(&e, &u, NONE), STN_WHY_CRC, STN_ACT_SILENT, STN_V_CRC_ERROR);
    /* a byte of the body changed: the CRC no longer matches */
    struct frame p = routine(NULL);
    p.b[p.n - 3] ^= 0x01;
    struct acct c = keyless();
    EXPECT(judge(&p, &c, NONE), STN_WHY_CRC, STN_ACT_SILENT, STN_V_CRC_ERROR);
}

/* length field wrong → no reply at all */
static void length_error(void **state)
{
    (void)state;
    struct frame e = routine(&K.c1.base);
    e.b[8] = e.b[8] == '0' ? '1' : '0';   /* the length's last hex digit */
    struct acct k = keyed(), u = unknown();
    EXPECT(judge(&e, &k, NONE), STN_WHY_LENGTH, STN_ACT_SILENT, STN_V_LENGTH_ERROR);
    EXPECT(judge(&e, &u, NONE), STN_WHY_LENGTH, STN_ACT_SILENT, STN_V_LENGTH_ERROR);
}

/* unknown account → DUH after the refused signal is stored */
static void unknown_account(void **state)
{
    (void)state;
    struct acct u = unknown();
    struct frame e = routine(&K.c1.base), p = routine(NULL);
    EXPECT_REFUSED(judge(&e, &u, NONE), STN_WHY_UNKNOWN_ACCOUNT, "unknown_account",
                   "unknown_account");
    EXPECT_REFUSED(judge(&p, &u, NONE), STN_WHY_UNKNOWN_ACCOUNT, "unknown_account",
                   "unknown_account");
    /* whatever the windows would say: it never gets that far */
    struct windows all = { true, true, true, true };
    EXPECT_REFUSED(judge(&p, &u, all), STN_WHY_UNKNOWN_ACCOUNT, "unknown_account",
                   "unknown_account");
}

/* wrong key, or an encrypted frame for an account without a key → DUH */
static void wrong_key(void **state)
{
    (void)state;
    struct acct k = keyed(), c = keyless();
    struct frame e = routine(&K.c2.base);
    EXPECT_REFUSED(judge(&e, &k, NONE), STN_WHY_DECRYPT, "decrypt", "decrypt_failure");
    struct frame e1 = routine(&K.c1.base);
    EXPECT_REFUSED(judge(&e1, &c, NONE), STN_WHY_DECRYPT, "decrypt", "decrypt_failure");
}

/* the crypto back end failing is not the panel's fault: no reply */
static int broken_decrypt(struct dc09_cipher *c, uint8_t *buf, size_t len)
{
    (void)c;
    (void)buf;
    (void)len;
    return -1;
}

static void crypto_failure(void **state)
{
    (void)state;
    struct dc09_cipher broken = { .encrypt = broken_decrypt, .decrypt = broken_decrypt };
    struct acct k = { true, { 0, &broken, -1, -1 } };
    struct frame e = routine(&K.c1.base);
    EXPECT(judge(&e, &k, NONE), STN_WHY_CRYPTO, STN_ACT_SILENT, STN_V_NO_REPLY);
}

/* a clear frame to a keyed account → DUH (no downgrade) */
static void clear_on_keyed(void **state)
{
    (void)state;
    struct acct k = keyed();
    struct frame p = routine(NULL);
    EXPECT_REFUSED(judge(&p, &k, NONE), STN_WHY_CLEAR_ON_KEYED, "clear_on_keyed",
                   "clear_on_keyed");
    struct frame n = make(DC09_ID_NULL, NULL, NOW, NULL);
    EXPECT_REFUSED(judge(&n, &k, NONE), STN_WHY_CLEAR_ON_KEYED, "clear_on_keyed",
                   "clear_on_keyed");
}

/* timestamp outside the window, either side → NAK now; the edges are inside */
static void time_window(void **state)
{
    (void)state;
    struct acct k = keyed();
    struct frame old = make(DC09_ID_ADM_CID, "1401 01 003", NOW - PAST - 1, &K.c1.base);
    struct frame ahead = make(DC09_ID_ADM_CID, "1401 01 003", NOW + FUTURE + 1, &K.c1.base);
    struct frame edge_old = make(DC09_ID_ADM_CID, "1401 01 003", NOW - PAST, &K.c1.base);
    struct frame edge_ahead = make(DC09_ID_ADM_CID, "1401 01 003", NOW + FUTURE, &K.c1.base);
    EXPECT(judge(&old, &k, NONE), STN_WHY_TIME, STN_ACT_NAK, STN_V_NAK);
    EXPECT(judge(&ahead, &k, NONE), STN_WHY_TIME, STN_ACT_NAK, STN_V_NAK);
    EXPECT(judge(&edge_old, &k, NONE), STN_WHY_ACCEPTED, STN_ACT_ACK_COMMIT, STN_V_ACK);
    EXPECT(judge(&edge_ahead, &k, NONE), STN_WHY_ACCEPTED, STN_ACT_ACK_COMMIT, STN_V_ACK);
    /* a duress out of the window is NAKed too (the panel corrects its clock, resends) */
    struct frame d = make(DC09_ID_ADM_CID, "1121 01 003", NOW - PAST - 1, &K.c1.base);
    EXPECT(judge(&d, &k, NONE), STN_WHY_TIME, STN_ACT_NAK, STN_V_NAK);
    /* the account's own window replaces the config's */
    struct acct wide = keyed();
    wide.a.window_past_s = 120;
    EXPECT(judge(&old, &wide, NONE), STN_WHY_ACCEPTED, STN_ACT_ACK_COMMIT, STN_V_ACK);
    struct acct narrow = keyed();
    narrow.a.window_future_s = 5;
    EXPECT(judge(&edge_ahead, &narrow, NONE), STN_WHY_TIME, STN_ACT_NAK, STN_V_NAK);
    /* an unknown account is refused, not NAKed: its window is unknown */
    struct acct u = unknown();
    EXPECT_REFUSED(judge(&old, &u, NONE), STN_WHY_UNKNOWN_ACCOUNT, "unknown_account",
                   "unknown_account");
}

/* an encrypted block seen before under another seq → DUH at once, not stored;
 * before the duplicate window could call it a retry */
static void replay(void **state)
{
    (void)state;
    struct acct k = keyed();
    struct frame e = routine(&K.c1.base);
    struct windows r = { .replay = true };
    EXPECT(judge(&e, &k, r), STN_WHY_REPLAY, STN_ACT_DUH_NOW, STN_V_REPLAY);
    struct windows rd = { .replay = true, .duplicate = true, .throttled = true };
    EXPECT(judge(&e, &k, rd), STN_WHY_REPLAY, STN_ACT_DUH_NOW, STN_V_REPLAY);
    struct frame d = make(DC09_ID_ADM_CID, "1121 01 003", NOW, &K.c1.base);
    EXPECT(judge(&d, &k, r), STN_WHY_REPLAY, STN_ACT_DUH_NOW, STN_V_REPLAY);
}

/* a retry within the window → ACK again, stored once; even when the account
 * is over its rate or the batch is full (the panel must stop retrying) */
static void duplicate(void **state)
{
    (void)state;
    struct acct k = keyed();
    struct frame e = routine(&K.c1.base);
    struct windows dup = { .duplicate = true };
    EXPECT(judge(&e, &k, dup), STN_WHY_DUPLICATE, STN_ACT_ACK_RETRY, STN_V_DUPLICATE);
    struct windows dup_busy = { .duplicate = true, .throttled = true, .batch_full = true };
    EXPECT(judge(&e, &k, dup_busy), STN_WHY_DUPLICATE, STN_ACT_ACK_RETRY, STN_V_DUPLICATE);
}

/* NULL poll → ACK after the batch it rides in (never a duplicate: polls carry
 * no event) */
static void null_poll(void **state)
{
    (void)state;
    struct acct k = keyed(), c = keyless();
    struct frame n = make(DC09_ID_NULL, NULL, NOW, &K.c1.base);
    struct frame nc = make(DC09_ID_NULL, NULL, NOW, NULL);
    EXPECT(judge(&n, &k, NONE), STN_WHY_ACCEPTED, STN_ACT_ACK_COMMIT, STN_V_ACK);
    EXPECT(judge(&nc, &c, NONE), STN_WHY_ACCEPTED, STN_ACT_ACK_COMMIT, STN_V_ACK);
    struct windows dup = { .duplicate = true };
    EXPECT(judge(&n, &k, dup), STN_WHY_ACCEPTED, STN_ACT_ACK_COMMIT, STN_V_ACK);
    struct windows over = { .throttled = true };
    EXPECT(judge(&n, &k, over), STN_WHY_THROTTLED, STN_ACT_SILENT, STN_V_THROTTLED);
}

/* over the account's rate: a routine frame gets no reply; a duress (and
 * priority 1-3: fire, medical, panic) is never throttled */
static void throttled_vs_duress(void **state)
{
    (void)state;
    struct acct k = keyed();
    struct windows over = { .throttled = true };
    struct frame e = routine(&K.c1.base);
    EXPECT(judge(&e, &k, over), STN_WHY_THROTTLED, STN_ACT_SILENT, STN_V_THROTTLED);
    struct frame d = make(DC09_ID_ADM_CID, "1121 01 003", NOW, &K.c1.base);
    EXPECT(judge(&d, &k, over), STN_WHY_ACCEPTED, STN_ACT_ACK_COMMIT, STN_V_ACK);
    struct frame ha = make(DC09_ID_SIA_DCS, "Nri1/HA003", NOW, &K.c1.base);
    EXPECT(judge(&ha, &k, over), STN_WHY_ACCEPTED, STN_ACT_ACK_COMMIT, STN_V_ACK);
    struct frame fire = make(DC09_ID_ADM_CID, "1110 01 003", NOW, &K.c1.base);
    EXPECT(judge(&fire, &k, over), STN_WHY_ACCEPTED, STN_ACT_ACK_COMMIT, STN_V_ACK);
    /* a burglary (priority 4) is routine to the rate limit */
    struct frame burg = make(DC09_ID_ADM_CID, "1130 01 003", NOW, &K.c1.base);
    EXPECT(judge(&burg, &k, over), STN_WHY_THROTTLED, STN_ACT_SILENT, STN_V_THROTTLED);
    /* a duress restore is not a duress */
    struct frame rest = make(DC09_ID_ADM_CID, "3121 01 003", NOW, &K.c1.base);
    EXPECT(judge(&rest, &k, over), STN_WHY_THROTTLED, STN_ACT_SILENT, STN_V_THROTTLED);
}

/* the pending batch full: a routine frame is left unanswered (the panel
 * retries) and TCP stops reading; a duress is taken all the same */
static void batch_full(void **state)
{
    (void)state;
    struct acct k = keyed();
    struct windows full = { .batch_full = true };
    struct frame e = routine(&K.c1.base);
    struct stn_rx_verdict t = judge(&e, &k, full);
    EXPECT(t, STN_WHY_BUSY, STN_ACT_SILENT, STN_V_BUSY);
    assert_true(t.pause);
    struct stn_rx_verdict u = judge_on(STN_TR_UDP, &e, &k, full);
    assert_false(u.pause);
    struct frame d = make(DC09_ID_ADM_CID, "1121 01 003", NOW, &K.c1.base);
    EXPECT(judge(&d, &k, full), STN_WHY_ACCEPTED, STN_ACT_ACK_COMMIT, STN_V_ACK);
    /* fire is not rate limited, but waits for room like any non-duress */
    struct frame fire = make(DC09_ID_ADM_CID, "1110 01 003", NOW, &K.c1.base);
    EXPECT(judge(&fire, &k, full), STN_WHY_BUSY, STN_ACT_SILENT, STN_V_BUSY);
}

/* bytes the transport could not cut into a frame: never answered, not a frame */
static void oversize_and_framing(void **state)
{
    (void)state;
    for (int tr = STN_TR_TCP; tr <= STN_TR_UDP; tr++) {
        struct stn_rx_facts in = { .transport = (enum stn_transport)tr,
                                   .framing_rc = DC09_E_OVERSIZE };
        struct stn_rx_verdict v;
        stn_verdict_decide(&in, &v);
        EXPECT(v, STN_WHY_OVERSIZE, STN_ACT_SILENT, -1);
        in.framing_rc = DC09_E_FORMAT;   /* a binary CRC's length field not ending at a CR */
        stn_verdict_decide(&in, &v);
        EXPECT(v, STN_WHY_FRAMING, STN_ACT_SILENT, -1);
    }
}

/* format errors, each with the reply it gets */
static void format_errors(void **state)
{
    (void)state;
    struct acct c = keyless(), u = unknown();
    /* a header that cannot be read: nothing to echo in a reply */
    struct frame g = raw("\"XYZZY\"0042R0L0#12AB34[#12AB34|1401 01 003]");
    EXPECT(judge(&g, &c, NONE), STN_WHY_UNREADABLE, STN_ACT_SILENT, STN_V_UNREADABLE);
    struct frame junk = raw("hello, world");
    EXPECT(judge(&junk, &u, NONE), STN_WHY_UNREADABLE, STN_ACT_SILENT, STN_V_UNREADABLE);
    /* a readable header, a broken data block: DUH, refused signal "format" */
    struct frame b = raw("\"ADM-CID\"0042R0L0#12AB34[#12AB34|1401 01 003");
    EXPECT_REFUSED(judge(&b, &c, NONE), STN_WHY_FORMAT, "format", "unknown_event");
    /* decoded, but neither Contact ID nor SIA: DUH, "payload" */
    struct frame p = make(DC09_ID_ADM_CID, "not a contact id", NOW, NULL);
    EXPECT_REFUSED(judge(&p, &c, NONE), STN_WHY_PAYLOAD, "payload", "unknown_event");
    /* ... whatever the windows say (it is refused before them) */
    struct windows all = { true, true, true, true };
    EXPECT_REFUSED(judge(&p, &c, all), STN_WHY_PAYLOAD, "payload", "unknown_event");
}

/* no L token: DUH (so the dialler stops retrying) unless the account has the
 * no-line quirk; an unknown account's is refused as unknown */
static void no_line(void **state)
{
    (void)state;
    struct frame f = raw("\"ADM-CID\"0042R0#12AB34[#12AB34|1401 01 003]");
    struct acct c = keyless(), u = unknown();
    EXPECT_REFUSED(judge(&f, &c, NONE), STN_WHY_NO_LINE, "no_line", "unknown_event");
    struct acct q = keyless();
    q.a.quirks = DC09_Q_NO_LINE;
    EXPECT(judge(&f, &q, NONE), STN_WHY_ACCEPTED, STN_ACT_ACK_COMMIT, STN_V_ACK);
    EXPECT_REFUSED(judge(&f, &u, NONE), STN_WHY_UNKNOWN_ACCOUNT, "unknown_account",
                   "unknown_account");
}

/* the order of the rules: each earlier one wins over every later one */
static void precedence(void **state)
{
    (void)state;
    struct stn_rx_facts in;
    struct stn_rx_verdict v;
    memset(&in, 0, sizeof in);
    in.rc = DC09_E_CRC;
    in.head_rc = DC09_E_FORMAT;
    stn_verdict_decide(&in, &v);
    assert_int_equal(v.why, STN_WHY_UNREADABLE);
    in.head_rc = 0;
    stn_verdict_decide(&in, &v);
    assert_int_equal(v.why, STN_WHY_CRC);
    in.rc = DC09_E_TIME;
    in.known = true;
    in.replay = in.duplicate = in.batch_full = true;
    stn_verdict_decide(&in, &v);
    assert_int_equal(v.why, STN_WHY_TIME);
    /* never an ACK without a store or a stored original */
    for (int known = 0; known <= 1; known++)
        for (int bits = 0; bits < 256; bits++) {
            memset(&in, 0, sizeof in);
            in.known = known;
            in.poll = bits & 1;
            in.has_payload = bits & 2;
            in.duress = bits & 4;
            in.urgent = (bits & 8) || in.duress;
            in.replay = bits & 16;
            in.duplicate = bits & 32;
            in.rate_ok = bits & 64;
            in.batch_full = bits & 128;
            stn_verdict_decide(&in, &v);
            if (v.act == STN_ACT_ACK_COMMIT) {
                assert_true(known && (in.poll || in.has_payload) && !in.replay);
                assert_true(in.poll || !in.duplicate);
                assert_true(in.duress || !in.batch_full);
                assert_true(in.urgent || in.rate_ok);
            }
            if (v.act == STN_ACT_ACK_RETRY)
                assert_true(known && in.duplicate && !in.poll && !in.replay);
            /* a duress that decoded is never left unanswered */
            if (known && in.duress && in.has_payload && !in.replay)
                assert_true(v.act == STN_ACT_ACK_COMMIT || v.act == STN_ACT_ACK_RETRY);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accepted_event),
        cmocka_unit_test(crc_error),
        cmocka_unit_test(length_error),
        cmocka_unit_test(unknown_account),
        cmocka_unit_test(wrong_key),
        cmocka_unit_test(crypto_failure),
        cmocka_unit_test(clear_on_keyed),
        cmocka_unit_test(time_window),
        cmocka_unit_test(replay),
        cmocka_unit_test(duplicate),
        cmocka_unit_test(null_poll),
        cmocka_unit_test(throttled_vs_duress),
        cmocka_unit_test(batch_full),
        cmocka_unit_test(oversize_and_framing),
        cmocka_unit_test(format_errors),
        cmocka_unit_test(no_line),
        cmocka_unit_test(precedence),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
