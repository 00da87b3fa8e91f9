/*
 * tests/unit/dc09/test_reader.c — the streaming reader: a frame split at
 * every byte boundary, many frames in one feed, garbage between frames,
 * aborted frames, oversize input (reported once, then recovery), a small
 * buffer, and binary CRCs that contain CR and LF bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "vigil/dc09.h"

#define MAXF 256

struct got {
    size_t n;
    uint8_t frame[MAXF][DC09_FRAME_MAX];
    size_t len[MAXF];
    int err[MAXF];
};

static void on_frame(void *ctx, const uint8_t *frame, size_t len, int err)
{
    struct got *g = ctx;
    assert_true(g->n < MAXF);
    assert_true(len <= DC09_FRAME_MAX);
    memcpy(g->frame[g->n], frame, len);
    g->len[g->n] = len;
    g->err[g->n] = err;
    g->n++;
}

static size_t mk(const char *body, uint8_t *out)
{
    size_t bl = strlen(body);
    out[0] = '\n';
    snprintf((char *)out + 1, 9, "%04X%04X", dc09_crc16((const uint8_t *)body, bl), (unsigned)(bl & 0xFFFFu));
    memcpy(out + 9, body, bl);
    out[9 + bl] = '\r';
    return bl + 10;
}

static void expect_frame(const struct got *g, size_t i, const uint8_t *f, size_t n)
{
    assert_int_equal(g->err[i], 0);
    assert_int_equal(g->len[i], n);
    assert_memory_equal(g->frame[i], f, n);
}

static struct got *got_new(void) { return calloc(1, sizeof(struct got)); }

static const char *B1 = "\"ADM-CID\"0001R0L0#1234[#1234|1121 01 003]_13:09:28,11-26-2025";
static const char *B2 = "\"SIA-DCS\"0002L0#1234[#1234|Nri1/HA003][RLivingRoom]";
static const char *B3 = "\"NULL\"0000L0#1234[]";

static void test_split_every_boundary(void **state)
{
    (void)state;
    uint8_t f[DC09_FRAME_MAX];
    size_t n = mk(B1, f);
    uint8_t buf[DC09_FRAME_MAX];
    struct dc09_reader r;
    struct got *g = got_new();
    for (size_t k = 0; k <= n; k++) {
        dc09_reader_init(&r, buf, sizeof buf, 0);
        g->n = 0;
        size_t c = dc09_reader_feed(&r, f, k, on_frame, g);
        c += dc09_reader_feed(&r, f + k, n - k, on_frame, g);
        assert_int_equal(c, 1);
        assert_int_equal(g->n, 1);
        expect_frame(g, 0, f, n);
    }
    /* three pieces, every pair of cut points */
    for (size_t a = 0; a <= n; a += 3) {
        for (size_t b = a; b <= n; b++) {
            dc09_reader_init(&r, buf, sizeof buf, 0);
            g->n = 0;
            dc09_reader_feed(&r, f, a, on_frame, g);
            dc09_reader_feed(&r, f + a, b - a, on_frame, g);
            dc09_reader_feed(&r, f + b, n - b, on_frame, g);
            assert_int_equal(g->n, 1);
            expect_frame(g, 0, f, n);
        }
    }
    /* one byte at a time */
    dc09_reader_init(&r, buf, sizeof buf, 0);
    g->n = 0;
    for (size_t i = 0; i < n; i++)
        assert_int_equal(dc09_reader_feed(&r, f + i, 1, on_frame, g), i == n - 1);
    expect_frame(g, 0, f, n);
    free(g);
}

static void test_concatenated(void **state)
{
    (void)state;
    static uint8_t stream[200 * 128];
    size_t off[201], total = 0;
    const char *bodies[3] = {B1, B2, B3};
    for (int i = 0; i < 200; i++) {
        off[i] = total;
        total += mk(bodies[i % 3], stream + total);
    }
    off[200] = total;
    uint8_t buf[DC09_FRAME_MAX];
    struct dc09_reader r;
    struct got *g = got_new();
    dc09_reader_init(&r, buf, sizeof buf, 0);
    assert_int_equal(dc09_reader_feed(&r, stream, total, on_frame, g), 200);
    assert_int_equal(g->n, 200);
    for (int i = 0; i < 200; i++)
        expect_frame(g, (size_t)i, stream + off[i], off[i + 1] - off[i]);
    /* the same stream in reads of every size from 1 to 97 */
    for (size_t step = 1; step < 98; step += 8) {
        dc09_reader_init(&r, buf, sizeof buf, 0);
        g->n = 0;
        size_t frames = 0;
        for (size_t i = 0; i < total; i += step)
            frames += dc09_reader_feed(&r, stream + i, total - i < step ? total - i : step, on_frame, g);
        assert_int_equal(frames, 200);
        for (int i = 0; i < 200; i++)
            expect_frame(g, (size_t)i, stream + off[i], off[i + 1] - off[i]);
    }
    /* every frame decodes */
    struct dc09_decode_opts o;
    dc09_decode_opts_init(&o, 0);
    o.check_time = false;
    struct dc09_frame fr;
    for (int i = 0; i < 200; i++)
        assert_int_equal(dc09_decode(g->frame[i], g->len[i], &o, &fr, NULL), 0);
    free(g);
}

static void test_garbage(void **state)
{
    (void)state;
    uint8_t s[2048];
    size_t n = 0;
    const char *junk1 = "GET / HTTP/1.0\r\r\x00\xff";
    memcpy(s + n, junk1, 18);
    n += 18;
    size_t a = n;
    n += mk(B1, s + n);
    size_t a_end = n;
    memcpy(s + n, "\r\r\rjunk", 7);
    n += 7;
    /* an aborted frame: LF, no CR before the next LF */
    memcpy(s + n, "\n1234ABCD\"SIA-DCS\"00", 20);
    n += 20;
    size_t b = n;
    n += mk(B2, s + n);
    size_t b_end = n;
    memcpy(s + n, "trailing", 8);
    n += 8;
    uint8_t buf[DC09_FRAME_MAX];
    struct dc09_reader r;
    struct got *g = got_new();
    for (size_t k = 0; k <= n; k++) {
        dc09_reader_init(&r, buf, sizeof buf, 0);
        g->n = 0;
        dc09_reader_feed(&r, s, k, on_frame, g);
        dc09_reader_feed(&r, s + k, n - k, on_frame, g);
        assert_int_equal(g->n, 2);
        expect_frame(g, 0, s + a, a_end - a);
        expect_frame(g, 1, s + b, b_end - b);
    }
    /* reset drops a partial frame */
    dc09_reader_init(&r, buf, sizeof buf, 0);
    g->n = 0;
    dc09_reader_feed(&r, s + a, 20, on_frame, g);
    dc09_reader_reset(&r);
    dc09_reader_feed(&r, s + a + 20, a_end - a - 20, on_frame, g);
    assert_int_equal(g->n, 0);
    dc09_reader_feed(&r, s + b, b_end - b, on_frame, g);
    assert_int_equal(g->n, 1);
    expect_frame(g, 0, s + b, b_end - b);
    free(g);
}

static void test_oversize(void **state)
{
    (void)state;
    static uint8_t s[8192];
    size_t n = 0;
    s[n++] = '\n';
    memset(s + n, 'x', 3000);
    n += 3000;
    s[n++] = '\r';
    size_t a = n;
    n += mk(B3, s + n);
    uint8_t buf[DC09_FRAME_MAX];
    struct dc09_reader r;
    struct got *g = got_new();
    for (size_t step = 1; step <= n; step = step * 3 + 1) {
        dc09_reader_init(&r, buf, sizeof buf, 0);
        g->n = 0;
        size_t frames = 0;
        for (size_t i = 0; i < n; i += step)
            frames += dc09_reader_feed(&r, s + i, n - i < step ? n - i : step, on_frame, g);
        assert_int_equal(frames, 1);
        assert_int_equal(g->n, 2); /* reported once, then the good frame */
        assert_int_equal(g->err[0], DC09_E_OVERSIZE);
        assert_int_equal(g->len[0], DC09_FRAME_MAX);
        assert_int_equal(g->frame[0][0], '\n');
        expect_frame(g, 1, s + a, n - a);
    }
    /* a buffer smaller than DC09_FRAME_MAX bounds frames to its size */
    uint8_t small[64];
    uint8_t f[DC09_FRAME_MAX];
    size_t fl = mk(B1, f); /* longer than 64 */
    size_t f3 = mk(B3, f + fl);
    assert_true(fl > sizeof small && f3 <= sizeof small);
    dc09_reader_init(&r, small, sizeof small, 0);
    g->n = 0;
    assert_int_equal(dc09_reader_feed(&r, f, fl + f3, on_frame, g), 1);
    assert_int_equal(g->n, 2);
    assert_int_equal(g->err[0], DC09_E_OVERSIZE);
    assert_int_equal(g->len[0], sizeof small);
    expect_frame(g, 1, f + fl, f3);
    /* the same in two reads */
    dc09_reader_init(&r, small, sizeof small, 0);
    g->n = 0;
    dc09_reader_feed(&r, f, 30, on_frame, g);
    dc09_reader_feed(&r, f + 30, fl + f3 - 30, on_frame, g);
    assert_int_equal(g->n, 2);
    assert_int_equal(g->err[0], DC09_E_OVERSIZE);
    expect_frame(g, 1, f + fl, f3);
    /* an unterminated partial longer than the buffer, then an LF: reported
     * once however the bytes arrive (found by a chunking-consistency fuzz run) */
    {
        uint8_t t[256];
        size_t tn = 0;
        t[tn++] = '\n';
        memset(t + tn, 'p', 100);
        tn += 100;
        size_t good = tn;
        tn += mk(B3, t + tn);
        for (int bytewise = 0; bytewise < 2; bytewise++) {
            dc09_reader_init(&r, small, sizeof small, 0);
            g->n = 0;
            if (bytewise)
                for (size_t i = 0; i < tn; i++)
                    dc09_reader_feed(&r, t + i, 1, on_frame, g);
            else
                dc09_reader_feed(&r, t, tn, on_frame, g);
            assert_int_equal(g->n, 2);
            assert_int_equal(g->err[0], DC09_E_OVERSIZE);
            assert_int_equal(g->len[0], sizeof small);
            expect_frame(g, 1, t + good, tn - good);
        }
    }
    /* a frame of exactly DC09_FRAME_MAX bytes passes */
    char body[DC09_FRAME_MAX];
    int k = snprintf(body, sizeof body, "\"SIA-DCS\"0001L0#1234[#1234|N");
    memset(body + k, 'x', DC09_FRAME_MAX - 10 - (size_t)k - 1);
    strcpy(body + DC09_FRAME_MAX - 11, "]");
    uint8_t big[DC09_FRAME_MAX + 16];
    size_t bn = mk(body, big);
    assert_int_equal(bn, DC09_FRAME_MAX);
    dc09_reader_init(&r, buf, sizeof buf, 0);
    g->n = 0;
    dc09_reader_feed(&r, big, 100, on_frame, g);
    dc09_reader_feed(&r, big + 100, bn - 100, on_frame, g);
    assert_int_equal(g->n, 1);
    expect_frame(g, 0, big, bn);
    free(g);
}

/* A body whose binary CRC has the byte `want` in it. */
static size_t mk_binary(uint8_t want, uint8_t *out)
{
    char body[128];
    for (int seq = 0; seq < 10000; seq++) {
        snprintf(body, sizeof body, "\"SIA-DCS\"%04dL0#1234[#1234|NBA1]", seq);
        size_t bl = strlen(body);
        uint16_t c = dc09_crc16((const uint8_t *)body, bl);
        if ((c >> 8) == want || (c & 0xFF) == want) {
            out[0] = '\n';
            out[1] = (uint8_t)(c >> 8);
            out[2] = (uint8_t)c;
            snprintf((char *)out + 3, 5, "%04X", (unsigned)(bl & 0xFFFFu));
            memcpy(out + 7, body, bl);
            out[7 + bl] = '\r';
            return bl + 8;
        }
    }
    fail();
    return 0;
}

static void test_binary_crc(void **state)
{
    (void)state;
    uint8_t s[1024];
    size_t n = 0, off[5];
    off[0] = 0;
    n += mk_binary(0x0D, s + n);
    off[1] = n;
    n += mk_binary(0x0A, s + n);
    off[2] = n;
    n += mk(B2, s + n); /* hex-CRC frames still work with the quirk */
    off[3] = n;
    n += mk_binary(0x22, s + n); /* a '"' in the CRC */
    off[4] = n;
    uint8_t buf[DC09_FRAME_MAX];
    struct dc09_reader r;
    struct got *g = got_new();
    struct dc09_decode_opts o;
    dc09_decode_opts_init(&o, 0);
    o.quirks = DC09_Q_BINARY_CRC;
    for (size_t k = 0; k <= n; k++) {
        dc09_reader_init(&r, buf, sizeof buf, DC09_Q_BINARY_CRC);
        g->n = 0;
        dc09_reader_feed(&r, s, k, on_frame, g);
        dc09_reader_feed(&r, s + k, n - k, on_frame, g);
        assert_int_equal(g->n, 4);
        for (size_t i = 0; i < 4; i++) {
            expect_frame(g, i, s + off[i], off[i + 1] - off[i]);
            struct dc09_frame f;
            assert_int_equal(dc09_decode(g->frame[i], g->len[i], &o, &f, NULL), 0);
        }
    }
    /* byte by byte */
    dc09_reader_init(&r, buf, sizeof buf, DC09_Q_BINARY_CRC);
    g->n = 0;
    for (size_t i = 0; i < n; i++)
        dc09_reader_feed(&r, s + i, 1, on_frame, g);
    assert_int_equal(g->n, 4);
    /* without the quirk the CR inside the first CRC cuts the frame short */
    dc09_reader_init(&r, buf, sizeof buf, 0);
    g->n = 0;
    dc09_reader_feed(&r, s, off[1], on_frame, g);
    assert_true(g->n <= 1);
    if (g->n == 1)
        assert_true(g->len[0] < off[1]);
    /* hex frames with the quirk: short junk after an LF */
    dc09_reader_init(&r, buf, sizeof buf, DC09_Q_BINARY_CRC);
    g->n = 0;
    uint8_t t[256];
    memcpy(t, "\nab\r\nx", 6);
    size_t tn = 6 + mk(B3, t + 6);
    for (size_t i = 0; i < tn; i++)
        dc09_reader_feed(&r, t + i, 1, on_frame, g);
    assert_int_equal(g->n, 2);
    assert_int_equal(g->len[0], 4); /* "\nab\r" handed out; decode rejects it */
    expect_frame(g, 1, t + 6, tn - 6);
    /* a binary frame whose length field is beyond the buffer: reported once,
     * then the next frame is found */
    uint8_t small[128];
    dc09_reader_init(&r, small, sizeof small, DC09_Q_BINARY_CRC);
    g->n = 0;
    memcpy(t, "\n\x0d\x0a" "0FFF\"SIA-DCS\"0001L0#1234[]\r", 30);
    tn = 30 + mk_binary(0x0D, t + 30);
    assert_int_equal(dc09_reader_feed(&r, t, tn, on_frame, g), 1);
    assert_int_equal(g->n, 2);
    assert_int_equal(g->err[0], DC09_E_OVERSIZE);
    expect_frame(g, 1, t + 30, tn - 30);
    /* a length field that points at a byte that is not CR: not a frame.
     * Reported as a format problem, never handed out as a frame, and the
     * frame after it is found, however the bytes are split. */
    size_t bn = mk_binary(0x0D, t);
    t[bn - 1] = 'x';                     /* the claimed end is not CR */
    memcpy(t + bn, "junk", 4);
    size_t gn = bn + 4 + mk(B3, t + bn + 4);
    for (size_t k = 0; k <= gn; k++) {
        dc09_reader_init(&r, buf, sizeof buf, DC09_Q_BINARY_CRC);
        g->n = 0;
        dc09_reader_feed(&r, t, k, on_frame, g);
        dc09_reader_feed(&r, t + k, gn - k, on_frame, g);
        assert_int_equal(g->n, 2);
        assert_int_equal(g->err[0], DC09_E_FORMAT);
        assert_int_equal(g->len[0], bn);
        expect_frame(g, 1, t + bn + 4, gn - bn - 4);
    }
    free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_every_boundary),
        cmocka_unit_test(test_concatenated),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_oversize),
        cmocka_unit_test(test_binary_crc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
