/*
 * tests/unit/dc09/test_frames.c — frames end to end: CRC, round trips for
 * every ID (clear and '*'), key sizes and key forms, payload kinds, xdata,
 * R/no R, bare L; pad properties over many encryptions; replies; every
 * error dc09_decode can return, each produced by a frame built to cause it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "vigil/dc09.h"
#include "vigil/dc09_openssl.h"

#define T0 1764162568 /* 2025-11-26 13:09:28 UTC */

/* ---- helpers ---------------------------------------------------------- */

/* LF CRC LLLL body CR, with a correct CRC and length. */
static size_t mk(const char *body, uint8_t *out, size_t cap)
{
    size_t bl = strlen(body);
    assert_true(bl + 10 <= cap);
    char head[10];
    snprintf(head, sizeof head, "%04X%04X", dc09_crc16((const uint8_t *)body, bl), (unsigned)(bl & 0xFFFFu));
    out[0] = '\n';
    memcpy(out + 1, head, 8);
    memcpy(out + 9, body, bl);
    out[9 + bl] = '\r';
    return bl + 10;
}

/* Raw AES-CBC zero IV with OpenSSL EVP, independent of the library's port. */
static void raw_aes(const uint8_t *key, size_t kl, bool enc, uint8_t *buf, size_t n)
{
    const EVP_CIPHER *c = kl == 16 ? EVP_aes_128_cbc() : kl == 24 ? EVP_aes_192_cbc() : EVP_aes_256_cbc();
    unsigned char iv[16] = {0};
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    int ol = 0;
    assert_int_equal(EVP_CipherInit_ex(x, c, NULL, key, iv, enc), 1);
    EVP_CIPHER_CTX_set_padding(x, 0);
    assert_int_equal(EVP_CipherUpdate(x, buf, &ol, buf, (int)n), 1);
    assert_int_equal((size_t)ol, n);
    EVP_CIPHER_CTX_free(x);
}

static const char KEY16[] = "0123456789ABCDEF";

/* An encrypted frame whose plaintext region is `plain`, preceded by as
 * many 'q' (more pad) as make it whole blocks. */
static size_t mk_enc(const char *head, const char *plain, uint8_t *out, size_t cap)
{
    uint8_t pt[1024];
    size_t pl = strlen(plain);
    size_t fill = (16 - pl % 16) % 16;
    memset(pt, 'q', fill);
    memcpy(pt + fill, plain, pl);
    size_t n = fill + pl;
    raw_aes((const uint8_t *)KEY16, 16, true, pt, n);
    char body[2048];
    size_t hl = strlen(head);
    memcpy(body, head, hl);
    for (size_t i = 0; i < n; i++)
        snprintf(body + hl + 2 * i, 3, "%02X", pt[i]);
    return mk(body, out, cap);
}

struct ctx {
    struct dc09_key key;
    struct dc09_ossl ossl;
};

static int setup(void **state)
{
    struct ctx *c = calloc(1, sizeof *c);
    assert_int_equal(dc09_key_from_ascii(&c->key, KEY16, 16), 0);
    assert_int_equal(dc09_ossl_init(&c->ossl, &c->key), 0);
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    struct ctx *c = *state;
    dc09_ossl_free(&c->ossl);
    free(c);
    return 0;
}

static int decode_str(const char *body, const struct dc09_decode_opts *o, struct dc09_frame *f,
                      struct dc09_diag *d)
{
    uint8_t fr[2048];
    size_t n = mk(body, fr, sizeof fr);
    int rc = dc09_decode(fr, n, o, f, d);
    /* every frame decoded here is also decoded the panel's way */
    const char *diff = reply_decode_differs(fr, n, o, rc, f, d);
    if (diff)
        fail_msg("dc09_decode_reply differs from dc09_decode (%s) on %s", diff, body);
    return rc;
}

static void opts(struct dc09_decode_opts *o) { dc09_decode_opts_init(o, T0); }

/* ---- CRC ----------------------------------------------------------------- */

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

static void test_crc(void **state)
{
    (void)state;
    assert_int_equal(dc09_crc16((const uint8_t *)"123456789", 9), 0xBB3D);
    assert_int_equal(dc09_crc16(NULL, 0), 0);
    uint8_t buf[300];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 37 + 11);
    for (size_t n = 0; n <= sizeof buf; n++)
        assert_int_equal(dc09_crc16(buf, n), crc_bitwise(buf, n));
    /* every start alignment and split point */
    for (size_t a = 0; a < 8; a++)
        for (size_t cut = 0; cut < 40; cut++)
            assert_int_equal(dc09_crc16_update(dc09_crc16(buf + a, cut), buf + a + cut, 100),
                             crc_bitwise(buf + a, cut + 100));
    /* update in pieces == whole */
    uint16_t c = dc09_crc16(buf, 100);
    c = dc09_crc16_update(c, buf + 100, 200);
    assert_int_equal(c, dc09_crc16(buf, 300));
    /* every single byte value */
    for (unsigned v = 0; v < 256; v++) {
        uint8_t b = (uint8_t)v;
        assert_int_equal(dc09_crc16(&b, 1), crc_bitwise(&b, 1));
    }
}

/* ---- round trips ---------------------------------------------------------- */

static void frame_init(struct dc09_frame *f, enum dc09_id id, bool with_r, const char *line)
{
    memset(f, 0, sizeof *f);
    f->id = id;
    f->seq = 42;
    f->has_receiver = with_r;
    if (with_r)
        strcpy(f->receiver, "5A3");
    strcpy(f->line, line);
    strcpy(f->account, "12AB34");
    f->has_time = true;
    f->time_s = T0;
}

static void add_xdata(struct dc09_frame *f, char type, const char *v)
{
    struct dc09_xdata *x = &f->xdata[f->xdata_count++];
    x->type = type;
    x->len = (uint8_t)strlen(v);
    strcpy(x->value, v);
}

static void same_frame(const struct dc09_frame *a, const struct dc09_frame *b)
{
    assert_int_equal(a->id, b->id);
    assert_int_equal(a->seq, b->seq);
    assert_int_equal(a->has_receiver, b->has_receiver);
    if (a->has_receiver)
        assert_string_equal(a->receiver, b->receiver);
    assert_string_equal(a->line, b->line);
    assert_string_equal(a->account, b->account);
    assert_int_equal(a->data_len, b->data_len);
    assert_memory_equal(a->data, b->data, a->data_len);
    assert_int_equal(b->data[b->data_len], '\0');
    assert_int_equal(a->xdata_count, b->xdata_count);
    for (unsigned i = 0; i < a->xdata_count; i++) {
        assert_int_equal(a->xdata[i].type, b->xdata[i].type);
        assert_int_equal(a->xdata[i].len, b->xdata[i].len);
        assert_string_equal(a->xdata[i].value, b->xdata[i].value);
    }
    assert_int_equal(a->has_time, b->has_time);
    if (a->has_time)
        assert_int_equal(a->time_s, b->time_s);
}

/* encode (clear or with `cipher`), decode, compare; returns the decoded frame */
static void round_trip(const struct dc09_frame *f, struct dc09_cipher *cipher, struct dc09_frame *g)
{
    uint8_t out[DC09_FRAME_MAX];
    size_t n = 0;
    assert_int_equal(dc09_encode(f, cipher, &dc09_ossl_rng, out, sizeof out, &n), 0);
    assert_int_equal(out[0], '\n');
    assert_int_equal(out[n - 1], '\r');
    /* CRC and length as uppercase hex over the body */
    char head[9];
    snprintf(head, sizeof head, "%04X%04X", dc09_crc16(out + 9, n - 10), (unsigned)((n - 10) & 0xFFFFu));
    assert_memory_equal(out + 1, head, 8);
    struct dc09_decode_opts o;
    opts(&o);
    o.cipher = cipher;
    if (f->line[0] == '\0')
        o.quirks = DC09_Q_BARE_L;
    struct dc09_diag d = {0};
    int rc = dc09_decode(out, n, &o, g, &d);
    if (rc)
        print_error("decode: %s (%s) of %.*s\n", dc09_errname(rc), d.field, (int)n - 2, out + 1);
    assert_int_equal(rc, 0);
    assert_int_equal(g->encrypted, cipher != NULL);
    same_frame(f, g);
    /* the token on the wire */
    char tok[16];
    snprintf(tok, sizeof tok, "\"%s%s\"", cipher ? "*" : "", dc09_id_name(f->id));
    assert_memory_equal(out + 9, tok, strlen(tok));
}

static void test_round_trip_ids(void **state)
{
    struct ctx *c = *state;
    const enum dc09_id ids[] = {DC09_ID_SIA_DCS, DC09_ID_ADM_CID, DC09_ID_NULL,
                                DC09_ID_ACK,     DC09_ID_NAK,     DC09_ID_DUH};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        for (int r = 0; r < 2; r++) {
            for (int enc = 0; enc < 2; enc++) {
                struct dc09_frame f, g;
                frame_init(&f, ids[i], r, "7");
                if (ids[i] == DC09_ID_SIA_DCS)
                    assert_int_equal(dc09_build_data(&f, "12AB34", "Nri1/HA001", 10), 0);
                else if (ids[i] == DC09_ID_ADM_CID)
                    assert_int_equal(dc09_build_data(&f, "12AB34", "1121 01 003", 11), 0);
                if (ids[i] == DC09_ID_NAK)
                    strcpy(f.account, "0");
                if (enc && (ids[i] == DC09_ID_NAK || ids[i] == DC09_ID_DUH)) {
                    uint8_t out[DC09_FRAME_MAX];
                    size_t n;
                    /* NAK and DUH are never encrypted */
                    assert_int_equal(dc09_encode(&f, &c->ossl.base, &dc09_ossl_rng, out, sizeof out, &n),
                                     DC09_E_INVAL);
                    continue;
                }
                round_trip(&f, enc ? &c->ossl.base : NULL, &g);
                if (ids[i] == DC09_ID_ADM_CID) {
                    assert_true(g.has_cid);
                    assert_int_equal(g.cid.event, 121);
                    assert_int_equal(g.cid.zone, 3);
                }
                if (ids[i] == DC09_ID_SIA_DCS) {
                    assert_true(g.has_sia);
                    assert_string_equal(g.sia.code, "HA");
                }
            }
        }
    }
}

static void test_round_trip_keys(void **state)
{
    (void)state;
    const char *ascii[] = {"0123456789ABCDEF", "0123456789ABCDEF01234567",
                           "0123456789ABCDEF0123456789ABCDEF"};
    const char *hex[] = {"000102030405060708090A0B0C0D0E0F",
                         "000102030405060708090a0b0c0d0e0f1011121314151617",
                         "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F"};
    for (int form = 0; form < 2; form++) {
        for (int k = 0; k < 3; k++) {
            struct dc09_key key;
            const char *s = form ? hex[k] : ascii[k];
            if (form)
                assert_int_equal(dc09_key_from_hex(&key, s, strlen(s)), 0);
            else
                assert_int_equal(dc09_key_from_ascii(&key, s, strlen(s)), 0);
            assert_int_equal(key.len, 16 + 8 * k);
            if (form)
                for (unsigned b = 0; b < key.len; b++)
                    assert_int_equal(key.bytes[b], b);
            struct dc09_ossl o;
            assert_int_equal(dc09_ossl_init(&o, &key), 0);
            struct dc09_frame f, g;
            frame_init(&f, DC09_ID_ADM_CID, true, "1");
            assert_int_equal(dc09_build_data(&f, "12AB34", "1121 01 001", 11), 0);
            round_trip(&f, &o.base, &g);
            /* the ciphertext really is AES with this key: decrypt it raw */
            uint8_t out[DC09_FRAME_MAX];
            size_t n;
            assert_int_equal(dc09_encode(&f, &o.base, &dc09_ossl_rng, out, sizeof out, &n), 0);
            const uint8_t *hexs = (const uint8_t *)memchr(out, '[', n) + 1;
            size_t hl = (size_t)(out + n - 1 - hexs);
            uint8_t pt[512];
            for (size_t i = 0; i < hl / 2; i++)
                pt[i] = (uint8_t)(hexval((char)hexs[2 * i]) << 4 | hexval((char)hexs[2 * i + 1]));
            raw_aes(key.bytes, key.len, false, pt, hl / 2);
            const char *tail = "|#12AB34|1121 01 001]_13:09:28,11-26-2025";
            assert_memory_equal(pt + hl / 2 - strlen(tail), tail, strlen(tail));
            dc09_ossl_free(&o);
            dc09_key_wipe(&key);
            for (unsigned b = 0; b < sizeof key.bytes; b++)
                assert_int_equal(key.bytes[b], 0);
        }
    }
    /* hex digits: every byte value, both cases */
    for (unsigned v = 0; v < 256; v++) {
        char hs[33];
        memset(hs, '0', 32);
        hs[32] = '\0';
        hs[0] = (char)v;
        bool ishex = (v >= '0' && v <= '9') || (v >= 'A' && v <= 'F') || (v >= 'a' && v <= 'f');
        struct dc09_key kk;
        assert_int_equal(dc09_key_from_hex(&kk, hs, 32), ishex ? 0 : DC09_E_KEY);
        if (ishex)
            assert_int_equal(kk.bytes[0] >> 4, v <= '9' ? v - '0' : (v | 0x20) - 'a' + 10);
    }
    /* bad keys */
    struct dc09_key key;
    assert_int_equal(dc09_key_from_ascii(&key, "short", 5), DC09_E_KEY);
    assert_int_equal(dc09_key_from_ascii(&key, "0123456789ABCDE\x01", 16), DC09_E_KEY);
    assert_int_equal(dc09_key_from_hex(&key, "0123456789ABCDEF", 16), DC09_E_KEY);
    assert_int_equal(dc09_key_from_hex(&key, "000102030405060708090A0B0C0D0E0G", 32), DC09_E_KEY);
    assert_int_equal(dc09_key_from_hex(&key, "000102030405060708090A0B0C0D0E0F0", 33), DC09_E_KEY);
    assert_int_equal(dc09_key_from_ascii(NULL, "x", 1), DC09_E_INVAL);
    key.len = 20;
    struct dc09_ossl o;
    assert_int_equal(dc09_ossl_init(&o, &key), DC09_E_KEY);
}

static void test_round_trip_payloads(void **state)
{
    struct ctx *c = *state;
    for (int enc = 0; enc < 2; enc++) {
        struct dc09_cipher *ci = enc ? &c->ossl.base : NULL;
        struct dc09_frame f, g;
        /* empty data block, no timestamp (clear only) */
        frame_init(&f, DC09_ID_NULL, false, "0");
        f.has_time = enc;
        round_trip(&f, ci, &g);
        assert_int_equal(g.data_len, 0);
        assert_false(g.has_data_account);
        /* NULL with the CID-style empty payload */
        frame_init(&f, DC09_ID_NULL, true, "0");
        assert_int_equal(dc09_build_data(&f, "0000", "0000 00 000", 11), 0);
        round_trip(&f, ci, &g);
        assert_true(g.has_data_account);
        assert_string_equal(g.data_account, "0000");
        assert_false(g.has_cid);
        /* SIA with text, every xdata type, bare L */
        frame_init(&f, DC09_ID_SIA_DCS, false, "");
        const char *sia = "Nri2/id17/ti07:05/BA0503^Front door^";
        assert_int_equal(dc09_build_data(&f, "12AB34", sia, strlen(sia)), 0);
        add_xdata(&f, 'X', "E12.345678");
        add_xdata(&f, 'Y', "N45.678901");
        add_xdata(&f, 'M', "0026B9E4268B");
        add_xdata(&f, 'V', "http://example.invalid/cam1");
        add_xdata(&f, 'I', "free text with spaces");
        add_xdata(&f, 'R', "LivingRoom");
        add_xdata(&f, 'H', "13:09:28,11-26-2025");
        add_xdata(&f, 'K', "00112233445566778899AABBCCDDEEFF");
        round_trip(&f, ci, &g);
        assert_true(g.has_sia);
        assert_string_equal(g.sia.code, "BA");
        assert_int_equal(g.sia.area, 2);
        assert_int_equal(g.sia.user, 17);
        assert_int_equal(g.sia.hour, 7);
        assert_int_equal(g.sia.minute, 5);
        assert_int_equal(g.sia.zone, 503);
        assert_string_equal(g.sia.text, "Front door");
        assert_string_equal(g.line, "");
        /* CID without spaces; a payload that is neither: decodes, has_* false */
        frame_init(&f, DC09_ID_ADM_CID, true, "ABCDEF");
        assert_int_equal(dc09_build_data(&f, "12AB34", "312101003", 9), 0);
        round_trip(&f, ci, &g);
        assert_true(g.has_cid);
        assert_int_equal(g.cid.qualifier, 3);
        frame_init(&f, DC09_ID_ADM_CID, true, "1");
        assert_int_equal(dc09_build_data(&f, "12AB34", "hello", 5), 0);
        round_trip(&f, ci, &g);
        assert_false(g.has_cid);
        assert_int_equal(g.payload_len, 5);
        /* the biggest data block that fits a frame */
        frame_init(&f, DC09_ID_SIA_DCS, true, "1");
        char big[DC09_DATA_MAX + 1];
        size_t bigl = enc ? 480 : DC09_DATA_MAX - 8;
        memset(big, 'x', sizeof big);
        big[0] = 'N';
        assert_int_equal(dc09_build_data(&f, "12AB34", big, bigl), 0);
        if (!enc) {
            round_trip(&f, ci, &g);
        } else {
            /* 480 bytes of data encrypt (hex) to more than DC09_FRAME_MAX: refused */
            uint8_t out[4096];
            size_t n;
            int rc = dc09_encode(&f, ci, &dc09_ossl_rng, out, sizeof out, &n);
            assert_int_equal(rc, DC09_E_OVERSIZE);
        }
    }
}

/* ---- pads ------------------------------------------------------------------ */

static void test_pads(void **state)
{
    struct ctx *c = *state;
    struct dc09_frame f;
    uint8_t first_block[2][32];
    /* data lengths 0..40 cover every pad size modulo 16 */
    for (int rep = 0; rep < 400; rep++) {
        frame_init(&f, DC09_ID_SIA_DCS, rep % 2, "1");
        char pl[64];
        size_t pll = (size_t)(rep % 41);
        memset(pl, 'A', pll);
        if (pll)
            pl[0] = 'N';
        assert_int_equal(dc09_build_data(&f, "12AB34", pl, pll), 0);
        uint8_t out[DC09_FRAME_MAX];
        size_t n;
        assert_int_equal(dc09_encode(&f, &c->ossl.base, &dc09_ossl_rng, out, sizeof out, &n), 0);
        const uint8_t *hexs = (const uint8_t *)memchr(out, '[', n) + 1;
        size_t hl = (size_t)(out + n - 1 - hexs);
        assert_int_equal(hl % 32, 0);
        for (size_t i = 0; i < hl; i++)
            assert_true((hexs[i] >= '0' && hexs[i] <= '9') || (hexs[i] >= 'A' && hexs[i] <= 'F'));
        uint8_t pt[512];
        for (size_t i = 0; i < hl / 2; i++)
            pt[i] = (uint8_t)(hexval((char)hexs[2 * i]) << 4 | hexval((char)hexs[2 * i + 1]));
        raw_aes(c->key.bytes, c->key.len, false, pt, hl / 2);
        uint8_t *bar = memchr(pt, '|', hl / 2);
        assert_non_null(bar);
        size_t padn = (size_t)(bar - pt);
        assert_true(padn >= DC09_PAD_MIN);
        assert_true(padn < DC09_PAD_MIN + 16);
        for (size_t i = 0; i < padn; i++)
            assert_true(pt[i] != '|' && pt[i] != '[' && pt[i] != ']' && pt[i] > 0x20 && pt[i] < 0x7F);
        /* the rest is exactly "#acct|payload]_ts" */
        char expect[128];
        int el = snprintf(expect, sizeof expect, "#12AB34|%.*s]_13:09:28,11-26-2025", (int)pll, pl);
        assert_int_equal(hl / 2 - padn - 1, (size_t)el);
        assert_memory_equal(bar + 1, expect, (size_t)el);
        if (rep < 2)
            memcpy(first_block[rep], hexs, 32);
    }
    /* the same event twice: different ciphertext from the first block on */
    frame_init(&f, DC09_ID_ADM_CID, true, "1");
    assert_int_equal(dc09_build_data(&f, "12AB34", "1121 01 003", 11), 0);
    uint8_t a[DC09_FRAME_MAX], b[DC09_FRAME_MAX];
    size_t an, bn;
    assert_int_equal(dc09_encode(&f, &c->ossl.base, &dc09_ossl_rng, a, sizeof a, &an), 0);
    assert_int_equal(dc09_encode(&f, &c->ossl.base, &dc09_ossl_rng, b, sizeof b, &bn), 0);
    size_t hdr = (size_t)((uint8_t *)memchr(a, '[', an) - a) + 1;
    assert_memory_not_equal(a + hdr, b + hdr, 32);
}

/* ---- replies --------------------------------------------------------------- */

static void test_replies(void **state)
{
    struct ctx *c = *state;
    struct dc09_decode_opts o;
    opts(&o);
    struct dc09_frame req, g;
    uint8_t out[DC09_FRAME_MAX];
    size_t n;
    /* ACK with R echoes R; without R writes none (not "None", not "R") */
    assert_int_equal(decode_str("\"ADM-CID\"0123R12L3#4567[#4567|1121 01 003]", &o, &req, NULL), 0);
    assert_int_equal(dc09_reply_ack(&req, NULL, NULL, T0, out, sizeof out, &n), 0);
    assert_int_equal(n, 10 + strlen("\"ACK\"0123R12L3#4567[]"));
    assert_memory_equal(out + 9, "\"ACK\"0123R12L3#4567[]", n - 10);
    assert_int_equal(decode_str("\"ADM-CID\"0124L3#4567[#4567|1121 01 003]", &o, &req, NULL), 0);
    assert_int_equal(dc09_reply_ack(&req, NULL, NULL, T0, out, sizeof out, &n), 0);
    assert_memory_equal(out + 9, "\"ACK\"0124L3#4567[]\r", n - 9);
    /* DUH echoes too, never encrypted, no timestamp */
    assert_int_equal(dc09_reply_duh(&req, out, sizeof out, &n), 0);
    assert_memory_equal(out + 9, "\"DUH\"0124L3#4567[]\r", n - 9);
    /* NAK: fixed fields, the receiver's time */
    assert_int_equal(dc09_reply_nak(T0, out, sizeof out, &n), 0);
    const char *nak = "\"NAK\"0000R0L0A0[]_13:09:28,11-26-2025\r";
    assert_int_equal(n, 9 + strlen(nak));
    assert_memory_equal(out + 9, nak, n - 9);
    assert_int_equal(dc09_decode(out, n, &o, &g, NULL), 0);
    assert_int_equal(g.id, DC09_ID_NAK);
    assert_string_equal(g.account, "0");
    assert_string_equal(g.line, "0");
    assert_int_equal(g.time_s, T0);
    /* a panel whose clock is an hour off still reads the NAK's time */
    struct dc09_decode_opts po;
    dc09_decode_opts_init(&po, T0 - 3600);
    assert_int_equal(dc09_decode(out, n, &po, &g, NULL), 0);
    assert_int_equal(g.time_s, T0);
    /* *ACK: encrypted, timestamp now, fresh pad each time */
    struct dc09_frame f;
    frame_init(&f, DC09_ID_ADM_CID, true, "1");
    assert_int_equal(dc09_build_data(&f, "12AB34", "1121 01 003", 11), 0);
    assert_int_equal(dc09_encode(&f, &c->ossl.base, &dc09_ossl_rng, out, sizeof out, &n), 0);
    o.cipher = &c->ossl.base;
    assert_int_equal(dc09_decode(out, n, &o, &req, NULL), 0);
    uint8_t prev[DC09_FRAME_MAX];
    size_t prevn = 0;
    for (int i = 0; i < 50; i++) {
        assert_int_equal(dc09_reply_ack(&req, &c->ossl.base, &dc09_ossl_rng, T0 + 5, out, sizeof out, &n), 0);
        assert_memory_equal(out + 9, "\"*ACK\"0042R5A3L1#12AB34[", 24);
        assert_int_equal(dc09_decode(out, n, &o, &g, NULL), 0);
        assert_int_equal(g.id, DC09_ID_ACK);
        assert_true(g.encrypted);
        assert_int_equal(g.time_s, T0 + 5);
        assert_int_equal(g.data_len, 0);
        if (i)
            assert_memory_not_equal(out + 33, prev + 33, 32);
        memcpy(prev, out, n);
        prevn = n;
    }
    (void)prevn;
    /* an encrypted request without a cipher for the reply */
    assert_int_equal(dc09_reply_ack(&req, NULL, NULL, T0, out, sizeof out, &n), DC09_E_NOKEY);
    /* small buffers */
    assert_int_equal(dc09_reply_nak(T0, out, 20, &n), DC09_E_NOSPACE);
    assert_int_equal(dc09_reply_ack(&req, &c->ossl.base, &dc09_ossl_rng, T0, out, 40, &n), DC09_E_NOSPACE);
}

/* ---- time window ------------------------------------------------------------ */

static void test_time_window(void **state)
{
    (void)state;
    struct dc09_decode_opts o;
    struct dc09_frame f;
    const char *body = "\"SIA-DCS\"0001L0#1234[#1234|Nri1/HA001]_13:09:28,11-26-2025";
    const int64_t offs[] = {-40, -41, 20, 21, 0};
    const int expect[] = {0, DC09_E_TIME, 0, DC09_E_TIME, 0};
    for (size_t i = 0; i < 5; i++) {
        /* frame time = now + off */
        dc09_decode_opts_init(&o, T0 - offs[i]);
        assert_int_equal(decode_str(body, &o, &f, NULL), expect[i]);
    }
    /* configurable window */
    dc09_decode_opts_init(&o, T0 + 100);
    o.window_past_s = 100;
    assert_int_equal(decode_str(body, &o, &f, NULL), 0);
    o.window_past_s = 99;
    assert_int_equal(decode_str(body, &o, &f, NULL), DC09_E_TIME);
    o.check_time = false;
    assert_int_equal(decode_str(body, &o, &f, NULL), 0);
    /* no timestamp in a clear frame: nothing to check */
    dc09_decode_opts_init(&o, 0);
    assert_int_equal(decode_str("\"SIA-DCS\"0001L0#1234[#1234|Nri1/HA001]", &o, &f, NULL), 0);
    assert_false(f.has_time);
}

/* ---- every decode error ----------------------------------------------------- */

struct bad {
    const char *body;
    int err;
    const char *field;
    uint32_t quirks;
};

static void test_decode_errors(void **state)
{
    (void)state;
    static const struct bad bad[] = {
        {"\"SIA-DCS\"0001L0#1234[#1234|NBA1]_13:09:28,11-26-2025", 0, NULL, 0},
        {"\"XYZ\"0001L0#1234[]", DC09_E_TOKEN, "id", 0},
        {"\"*NAK\"0001L0#1234[]", DC09_E_TOKEN, "id", 0},
        {"\"*DUH\"0001L0#1234[]", DC09_E_TOKEN, "id", 0},
        {"\"SIA-DCSX\"0001L0#1234[]", DC09_E_TOKEN, "id", 0},
        {"\"SIA-DCS0001L0#1234[]", DC09_E_FORMAT, "id", 0},
        {"\"SIA-DCS\"01L0#1234[]", DC09_E_FORMAT, "seq", 0},
        {"\"SIA-DCS\"00a1L0#1234[]", DC09_E_FORMAT, "seq", 0},
        {"\"SIA-DCS\"0001RL0#1234[]", DC09_E_FORMAT, "receiver", 0},
        {"\"SIA-DCS\"0001R1234567L0#1234[]", DC09_E_FORMAT, "receiver", 0},
        {"\"SIA-DCS\"0001R1#1234[]", DC09_E_FORMAT, "line", 0},
        {"\"SIA-DCS\"0001L#1234[]", DC09_E_FORMAT, "line", 0},
        {"\"SIA-DCS\"0001L#1234[]", 0, NULL, DC09_Q_BARE_L},
        /* no L token at all (an outside dialler): only with the no-line quirk */
        {"\"SIA-DCS\"0001#1234[]", DC09_E_FORMAT, "line", 0},
        {"\"SIA-DCS\"0001#1234[]", 0, NULL, DC09_Q_NO_LINE},
        {"\"SIA-DCS\"0001R1#1234[]", 0, NULL, DC09_Q_NO_LINE},
        {"\"SIA-DCS\"0001L#1234[]", DC09_E_FORMAT, "line", DC09_Q_NO_LINE},
        {"\"SIA-DCS\"0001L1234567#1234[]", DC09_E_FORMAT, "line", 0},
        {"\"SIA-DCS\"0001L0#12[]", DC09_E_FORMAT, "account", 0},
        {"\"SIA-DCS\"0001L0#12345678901234567[]", DC09_E_FORMAT, "account", 0},
        {"\"SIA-DCS\"0001L0[]", DC09_E_FORMAT, "account", 0},
        {"\"SIA-DCS\"0001L0#1234", DC09_E_FORMAT, "data", 0},
        {"\"SIA-DCS\"0001L0#1234#", DC09_E_FORMAT, "data", 0},
        {"\"SIA-DCS\"0001L0#1234[#1234|NBA1", DC09_E_FORMAT, "data", 0},
        {"\"SIA-DCS\"0001L0#1234[NBA1]", DC09_E_FORMAT, "data", 0},
        {"\"SIA-DCS\"0001L0#1234[NBA1]", 0, NULL, DC09_Q_NO_DATA_ACCT},
        {"\"SIA-DCS\"0001L0#1234[|NBA1]", DC09_E_FORMAT, "data", 0},
        {"\"SIA-DCS\"0001L0#1234[|NBA1]", 0, NULL, DC09_Q_NO_DATA_ACCT},
        {"\"SIA-DCS\"0001L0#1234[#12|NBA1]", DC09_E_FORMAT, "data", 0},
        {"\"SIA-DCS\"0001L0#1234[#1234NBA1]", DC09_E_FORMAT, "data", 0},
        {"\"SIA-DCS\"0001L0#1234[#1234|N[BA1]", DC09_E_FORMAT, "data", 0},
        {"\"SIA-DCS\"0001L0#1234[#1234|N\nBA1]", DC09_E_FORMAT, "data", 0},
        {"\"SIA-DCS\"0001L0#1234[#1234|N\rBA1]", DC09_E_FORMAT, "data", 0},
        {"\"SIA-DCS\"0001L0#1234[#1234|NBA1^Caf\xe9 \x01^]", 0, NULL, 0},
        {"\"SIA-DCS\"0001L0#1234[#1234|NBA1][Ia\rb]", DC09_E_FORMAT, "xdata", 0},
        {"\"SIA-DCS\"0001L0#1234[#1234|NBA1][]", DC09_E_FORMAT, "xdata", 0},
        {"\"SIA-DCS\"0001L0#1234[#1234|NBA1][mabc]", DC09_E_FORMAT, "xdata", 0},
        {"\"SIA-DCS\"0001L0#1234[#1234|NBA1][Mabc", DC09_E_FORMAT, "xdata", 0},
        {"\"SIA-DCS\"0001L0#1234[#1234|NBA1]x", DC09_E_FORMAT, "trailer", 0},
        {"\"SIA-DCS\"0001L0#1234[#1234|NBA1]_13:09:28,11-26-202", DC09_E_FORMAT, "timestamp", 0},
        {"\"SIA-DCS\"0001L0#1234[#1234|NBA1]_13:09:28,11-26-20255", DC09_E_FORMAT, "timestamp", 0},
        {"\"SIA-DCS\"0001L0#1234[#1234|NBA1]_24:09:28,11-26-2025", DC09_E_FORMAT, "timestamp", 0},
        {"\"SIA-DCS\"0001L0#1234[#1234|NBA1]_13:09:28,02-30-2025", DC09_E_FORMAT, "timestamp", 0},
        {"\"SIA-DCS\"0001L0#1234[#1234|NBA1]_13:09:28,13-01-2025", DC09_E_FORMAT, "timestamp", 0},
        {"\"SIA-DCS\"0001L0#1234[#1234|NBA1]_13-09-28,11-26-2025", DC09_E_FORMAT, "timestamp", 0},
        {"\"SIA-DCS\"0001L0#1234[#1234|NBA1]_13:09:28,11-26-2025x", DC09_E_FORMAT, "timestamp", 0},
        {"\"*SIA-DCS\"0001L0#1234[0011", DC09_E_NOKEY, "id", 0},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct dc09_decode_opts o;
        dc09_decode_opts_init(&o, 0);
        o.check_time = false;
        o.quirks = bad[i].quirks;
        struct dc09_frame f;
        struct dc09_diag d = {0};
        int rc = decode_str(bad[i].body, &o, &f, &d);
        if (rc != bad[i].err || (bad[i].field && (!d.field || strcmp(d.field, bad[i].field) != 0))) {
            print_error("%s: got %s (%s), want %s (%s)\n", bad[i].body, dc09_errname(rc),
                        d.field ? d.field : "-", dc09_errname(bad[i].err), bad[i].field);
            fail();
        }
    }
}

static void test_decode_errors_framing(void **state)
{
    (void)state;
    struct dc09_decode_opts o;
    dc09_decode_opts_init(&o, 0);
    struct dc09_frame f;
    struct dc09_diag d = {0};
    const char *good = "\n5B2E0023\"SIA-DCS\"0001L0#1234[#1234|NBA1]\r";
    uint8_t fr[2048];
    size_t n = strlen(good);
    memcpy(fr, good, n);
    /* make the CRC right first */
    n = mk("\"SIA-DCS\"0001L0#1234[#1234|NBA1]", fr, sizeof fr);
    assert_int_equal(dc09_decode(fr, n, &o, &f, &d), 0);
    /* without LF and CR also fine */
    assert_int_equal(dc09_decode(fr + 1, n - 2, &o, &f, &d), 0);
    /* CRC: one bit flipped in the body; in the CRC field; not hex */
    fr[20] ^= 1;
    assert_int_equal(dc09_decode(fr, n, &o, &f, &d), DC09_E_CRC);
    assert_string_equal(d.field, "crc");
    fr[20] ^= 1;
    uint8_t saved = fr[1];
    fr[1] = fr[1] == '0' ? '1' : '0';
    assert_int_equal(dc09_decode(fr, n, &o, &f, &d), DC09_E_CRC);
    fr[1] = 'G';
    assert_int_equal(dc09_decode(fr, n, &o, &f, &d), DC09_E_CRC);
    fr[1] = saved;
    /* length: wrong, not hex; ignored with the quirk */
    saved = fr[8];
    fr[8] = saved == '0' ? '1' : '0';
    assert_int_equal(dc09_decode(fr, n, &o, &f, &d), DC09_E_LENGTH);
    assert_string_equal(d.field, "length");
    o.quirks = DC09_Q_IGNORE_LENGTH;
    assert_int_equal(dc09_decode(fr, n, &o, &f, &d), 0);
    o.quirks = 0;
    fr[8] = 'x';
    assert_int_equal(dc09_decode(fr, n, &o, &f, &d), DC09_E_LENGTH);
    fr[8] = saved;
    /* CRC checked before length: both wrong → CRC */
    fr[8] = saved == '0' ? '1' : '0';
    fr[20] ^= 1;
    assert_int_equal(dc09_decode(fr, n, &o, &f, &d), DC09_E_CRC);
    fr[20] ^= 1;
    fr[8] = saved;
    /* no '"' where the body should start */
    assert_int_equal(dc09_decode((const uint8_t *)"\nhello\r", 7, &o, &f, &d), DC09_E_FORMAT);
    assert_string_equal(d.field, "frame");
    assert_int_equal(dc09_decode((const uint8_t *)"", 0, &o, &f, &d), DC09_E_FORMAT);
    /* CRC over body + CR (Eldes) only with its quirk */
    const char *body = "\"ADM-CID\"1533L0#4F39[#4F39|1412 00 000]";
    size_t bl = strlen(body);
    uint16_t crc = dc09_crc16_update(dc09_crc16((const uint8_t *)body, bl), (const uint8_t *)"\r", 1);
    n = (size_t)snprintf((char *)fr, sizeof fr, "\n%04X%04X%s\r", crc, (unsigned)(bl & 0xFFFFu), body);
    assert_int_equal(dc09_decode(fr, n, &o, &f, &d), DC09_E_CRC);
    o.quirks = DC09_Q_CRC_WITH_CR;
    assert_int_equal(dc09_decode(fr, n, &o, &f, &d), 0);
    /* and the quirk still accepts the standard CRC */
    n = mk(body, fr, sizeof fr);
    assert_int_equal(dc09_decode(fr, n, &o, &f, &d), 0);
    /* binary CRC (Lupusec, Egardia, Trikdis): two bytes, big-endian */
    crc = dc09_crc16((const uint8_t *)body, bl);
    fr[0] = '\n';
    fr[1] = (uint8_t)(crc >> 8);
    fr[2] = (uint8_t)crc;
    n = 3 + (size_t)snprintf((char *)fr + 3, sizeof fr - 3, "%04X%s\r", (unsigned)(bl & 0xFFFFu), body);
    o.quirks = 0;
    assert_int_equal(dc09_decode(fr, n, &o, &f, &d), DC09_E_CRC);
    o.quirks = DC09_Q_BINARY_CRC;
    assert_int_equal(dc09_decode(fr, n, &o, &f, &d), 0);
    assert_int_equal(f.id, DC09_ID_ADM_CID);
    fr[2] ^= 0x40;
    assert_int_equal(dc09_decode(fr, n, &o, &f, &d), DC09_E_CRC);
    /* oversize: a frame longer than DC09_FRAME_MAX */
    char big[DC09_FRAME_MAX + 64];
    int k = snprintf(big, sizeof big, "\"SIA-DCS\"0001L0#1234[#1234|N");
    memset(big + k, 'x', sizeof big - (size_t)k - 2);
    big[sizeof big - 2] = ']';
    big[sizeof big - 1] = '\0';
    n = mk(big, fr, sizeof fr);
    o.quirks = 0;
    assert_int_equal(dc09_decode(fr, n, &o, &f, &d), DC09_E_OVERSIZE);
    /* oversize: data block beyond DC09_DATA_MAX inside a legal frame */
    k = snprintf(big, sizeof big, "\"SIA-DCS\"0001L0#1234[#1234|N");
    memset(big + k, 'x', DC09_DATA_MAX);
    big[k + DC09_DATA_MAX] = ']';
    big[k + DC09_DATA_MAX + 1] = '\0';
    n = mk(big, fr, sizeof fr);
    assert_true(n <= DC09_FRAME_MAX);
    assert_int_equal(dc09_decode(fr, n, &o, &f, &d), DC09_E_OVERSIZE);
    assert_string_equal(d.field, "data");
    /* oversize: an xdata value of 65, and a 9th xdata block */
    k = snprintf(big, sizeof big, "\"SIA-DCS\"0001L0#1234[#1234|NBA1][I");
    memset(big + k, 'y', DC09_XDATA_LEN_MAX + 1);
    strcpy(big + k + DC09_XDATA_LEN_MAX + 1, "]");
    n = mk(big, fr, sizeof fr);
    assert_int_equal(dc09_decode(fr, n, &o, &f, &d), DC09_E_OVERSIZE);
    assert_string_equal(d.field, "xdata");
    big[k + DC09_XDATA_LEN_MAX] = ']';
    big[k + DC09_XDATA_LEN_MAX + 1] = '\0';
    n = mk(big, fr, sizeof fr);
    assert_int_equal(dc09_decode(fr, n, &o, &f, &d), 0);
    assert_int_equal(f.xdata[0].len, DC09_XDATA_LEN_MAX);
    strcpy(big, "\"SIA-DCS\"0001L0#1234[#1234|NBA1]");
    for (int i = 0; i < 9; i++)
        strcat(big, "[Rx]");
    n = mk(big, fr, sizeof fr);
    assert_int_equal(dc09_decode(fr, n, &o, &f, &d), DC09_E_OVERSIZE);
    big[strlen(big) - 4] = '\0';
    n = mk(big, fr, sizeof fr);
    assert_int_equal(dc09_decode(fr, n, &o, &f, &d), 0);
    assert_int_equal(f.xdata_count, 8);
    /* diag offsets point into the frame as given (LF at 0) */
    o.quirks = 0;
    n = mk("\"SIA-DCS\"01L0#1234[]", fr, sizeof fr);
    assert_int_equal(dc09_decode(fr, n, &o, &f, &d), DC09_E_FORMAT);
    assert_int_equal(d.offset, 18);
    n = mk("\"SIA-DCS\"0001L0#12[]", fr, sizeof fr);
    assert_int_equal(dc09_decode(fr, n, &o, &f, &d), DC09_E_FORMAT);
    assert_int_equal(d.offset, 24);
    assert_int_equal(fr[d.offset], '#');
    assert_int_equal(dc09_decode(fr + 1, n - 1, &o, &f, &d), DC09_E_FORMAT);
    assert_int_equal(d.offset, 23); /* without the LF */
    n = mk("\"SIA-DCS\"0001L0#1234[#1234|NBA1][Ia]x", fr, sizeof fr);
    assert_int_equal(dc09_decode(fr, n, &o, &f, &d), DC09_E_FORMAT);
    assert_string_equal(d.field, "trailer");
    assert_int_equal(fr[d.offset], 'x');
    fr[3] ^= 1;
    assert_int_equal(dc09_decode(fr, n, &o, &f, &d), DC09_E_CRC);
    assert_int_equal(d.offset, 1);
    /* invalid arguments */
    assert_int_equal(dc09_decode(NULL, 0, &o, &f, &d), DC09_E_INVAL);
    assert_int_equal(dc09_decode(fr, n, NULL, &f, &d), DC09_E_INVAL);
    assert_int_equal(dc09_decode(fr, n, &o, NULL, &d), DC09_E_INVAL);
    /* diag is optional */
    assert_int_equal(dc09_decode((const uint8_t *)"\nhello\r", 7, &o, &f, NULL), DC09_E_FORMAT);
}

static int fail_crypt(struct dc09_cipher *c, uint8_t *b, size_t n)
{
    (void)c, (void)b, (void)n;
    return -1;
}

static void stuck_fill(struct dc09_rng *r, uint8_t *b, size_t n)
{
    (void)r;
    memset(b, 0xFF, n);
}

static void test_decode_errors_crypto(void **state)
{
    struct ctx *c = *state;
    struct dc09_decode_opts o;
    dc09_decode_opts_init(&o, 0);
    o.check_time = false;
    o.cipher = &c->ossl.base;
    struct dc09_frame f;
    struct dc09_diag d = {0};
    uint8_t fr[2048];
    size_t n;
    const char *head = "\"*SIA-DCS\"0001L0#1234[";
    /* a good one first: pad|data]_ts */
    n = mk_enc(head, "abcdefghijk|#1234|NBA1]_13:09:28,11-26-2025", fr, sizeof fr);
    assert_int_equal(dc09_decode(fr, n, &o, &f, &d), 0);
    assert_string_equal(f.data, "#1234|NBA1");
    /* clear frame for an account with a key: refused (no downgrade) */
    assert_int_equal(decode_str("\"SIA-DCS\"0001L0#1234[#1234|NBA1]", &o, &f, &d), DC09_E_CLEAR);
    assert_int_equal(decode_str("\"NULL\"0001L0#1234[]", &o, &f, &d), DC09_E_CLEAR);
    assert_int_equal(decode_str("\"ADM-CID\"0001L0#1234[#1234|1121 01 001]", &o, &f, &d), DC09_E_CLEAR);
    /* clear NAK is allowed with a key (never encrypted) */
    assert_int_equal(decode_str("\"NAK\"0000R0L0A0[]_13:09:28,11-26-2025", &o, &f, &d), 0);
    /* decrypt: not hex, not whole blocks, empty, wrong key */
    assert_int_equal(decode_str("\"*SIA-DCS\"0001L0#1234[0123456789ABCDEF0123456789ABCDEG", &o, &f, &d),
                     DC09_E_DECRYPT);
    assert_int_equal(decode_str("\"*SIA-DCS\"0001L0#1234[0123456789ABCDEF0123456789ABCD", &o, &f, &d),
                     DC09_E_DECRYPT);
    assert_int_equal(decode_str("\"*SIA-DCS\"0001L0#1234[", &o, &f, &d), DC09_E_DECRYPT);
    struct dc09_key wk;
    assert_int_equal(dc09_key_from_ascii(&wk, "FEDCBA9876543210", 16), 0);
    struct dc09_ossl w;
    assert_int_equal(dc09_ossl_init(&w, &wk), 0);
    o.cipher = &w.base;
    assert_int_equal(dc09_decode(fr, n, &o, &f, &d), DC09_E_DECRYPT);
    dc09_ossl_free(&w);
    o.cipher = &c->ossl.base;
    /* pad: no '|' at all; '[' or ']' in the pad */
    n = mk_enc(head, "abcdefghijk#1234NBA1]_13:09:28,11-26-2025", fr, sizeof fr);
    assert_int_equal(dc09_decode(fr, n, &o, &f, &d), DC09_E_PAD);
    assert_string_equal(d.field, "pad");
    n = mk_enc(head, "abcde[ghijk|#1234|NBA1]_13:09:28,11-26-2025", fr, sizeof fr);
    assert_int_equal(dc09_decode(fr, n, &o, &f, &d), DC09_E_PAD);
    n = mk_enc(head, "abcdefghij]|#1234|NBA1]_13:09:28,11-26-2025", fr, sizeof fr);
    assert_int_equal(dc09_decode(fr, n, &o, &f, &d), DC09_E_PAD);
    /* Hikvision: no '|' — only with the quirk */
    n = mk_enc("\"*NULL\"0000R0L0#AAAB[", "ppppppppppp]_18:24:52,07-05-2020", fr, sizeof fr);
    assert_int_equal(dc09_decode(fr, n, &o, &f, &d), DC09_E_PAD);
    o.quirks = DC09_Q_PAD_NO_BAR;
    assert_int_equal(dc09_decode(fr, n, &o, &f, &d), 0);
    assert_int_equal(f.data_len, 0);
    o.quirks = 0;
    /* encrypted without a timestamp: a format error, not a wrong key */
    n = mk_enc(head, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXY|#1234|NBA1]", fr, sizeof fr);
    assert_int_equal(dc09_decode(fr, n, &o, &f, &d), DC09_E_FORMAT);
    assert_string_equal(d.field, "timestamp");
    /* format errors inside the encrypted text */
    n = mk_enc(head, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ|#1234|NBA1][]_13:09:28,11-26-2025", fr,
               sizeof fr);
    assert_int_equal(dc09_decode(fr, n, &o, &f, &d), DC09_E_FORMAT);
    assert_string_equal(d.field, "xdata");
    n = mk_enc(head, "abcdefghijk|#1234|NBA1]_13:69:28,11-26-2025", fr, sizeof fr);
    assert_int_equal(dc09_decode(fr, n, &o, &f, &d), DC09_E_FORMAT);
    assert_string_equal(d.field, "timestamp");
    /* time window on encrypted frames */
    n = mk_enc(head, "abcdefghijk|#1234|NBA1]_13:09:28,11-26-2025", fr, sizeof fr);
    o.check_time = true;
    o.now_s = T0 + 41;
    assert_int_equal(dc09_decode(fr, n, &o, &f, &d), DC09_E_TIME);
    assert_string_equal(d.field, "timestamp");
    o.now_s = T0 + 40;
    assert_int_equal(dc09_decode(fr, n, &o, &f, &d), 0);
    /* a failing crypto port */
    struct dc09_cipher bad = {fail_crypt, fail_crypt};
    o.cipher = &bad;
    assert_int_equal(dc09_decode(fr, n, &o, &f, &d), DC09_E_CRYPTO);
    struct dc09_frame e;
    frame_init(&e, DC09_ID_NULL, false, "0");
    assert_int_equal(dc09_encode(&e, &bad, &dc09_ossl_rng, fr, sizeof fr, &n), DC09_E_CRYPTO);
    /* a broken rng stuck on bytes the pad sampler rejects: an error, not a hang */
    struct dc09_rng stuck = {stuck_fill};
    assert_int_equal(dc09_encode(&e, &c->ossl.base, &stuck, fr, sizeof fr, &n), DC09_E_CRYPTO);
}

/* ---- encode refuses what it cannot send -------------------------------------- */

static void test_encode_errors(void **state)
{
    struct ctx *c = *state;
    struct dc09_frame f;
    uint8_t out[DC09_FRAME_MAX];
    size_t n;
    frame_init(&f, DC09_ID_SIA_DCS, true, "1");
    assert_int_equal(dc09_encode(&f, NULL, NULL, out, sizeof out, &n), 0);
    assert_int_equal(dc09_encode(&f, NULL, NULL, out, 20, &n), DC09_E_NOSPACE);
    assert_int_equal(dc09_encode(&f, &c->ossl.base, &dc09_ossl_rng, out, 60, &n), DC09_E_NOSPACE);
    assert_int_equal(dc09_encode(&f, &c->ossl.base, NULL, out, sizeof out, &n), DC09_E_INVAL);
    f.has_time = false; /* encrypted needs a timestamp */
    assert_int_equal(dc09_encode(&f, &c->ossl.base, &dc09_ossl_rng, out, sizeof out, &n), DC09_E_INVAL);
    frame_init(&f, DC09_ID_SIA_DCS, true, "1");
    f.seq = 10000;
    assert_int_equal(dc09_encode(&f, NULL, NULL, out, sizeof out, &n), DC09_E_INVAL);
    frame_init(&f, DC09_ID_SIA_DCS, true, "1");
    strcpy(f.account, "12");
    assert_int_equal(dc09_encode(&f, NULL, NULL, out, sizeof out, &n), DC09_E_INVAL);
    strcpy(f.account, "12G4");
    assert_int_equal(dc09_encode(&f, NULL, NULL, out, sizeof out, &n), DC09_E_INVAL);
    frame_init(&f, DC09_ID_SIA_DCS, true, "1");
    strcpy(f.receiver, "");
    assert_int_equal(dc09_encode(&f, NULL, NULL, out, sizeof out, &n), DC09_E_INVAL);
    frame_init(&f, DC09_ID_SIA_DCS, true, "1234567");
    assert_int_equal(dc09_encode(&f, NULL, NULL, out, sizeof out, &n), DC09_E_INVAL);
    frame_init(&f, DC09_ID_SIA_DCS, true, "1");
    strcpy(f.data, "a]b");
    f.data_len = 3;
    assert_int_equal(dc09_encode(&f, NULL, NULL, out, sizeof out, &n), DC09_E_INVAL);
    frame_init(&f, DC09_ID_SIA_DCS, true, "1");
    add_xdata(&f, 'x', "lower-case type");
    assert_int_equal(dc09_encode(&f, NULL, NULL, out, sizeof out, &n), DC09_E_INVAL);
    frame_init(&f, DC09_ID_SIA_DCS, true, "1");
    f.time_s = -1;
    assert_int_equal(dc09_encode(&f, NULL, NULL, out, sizeof out, &n), DC09_E_INVAL);
    f.id = 0;
    f.time_s = T0;
    assert_int_equal(dc09_encode(&f, NULL, NULL, out, sizeof out, &n), DC09_E_INVAL);
    assert_int_equal(dc09_build_data(&f, "12", "x", 1), DC09_E_INVAL);
    assert_int_equal(dc09_build_data(&f, "1234", "a[b", 3), DC09_E_INVAL);
    char big[DC09_DATA_MAX];
    memset(big, 'x', sizeof big);
    assert_int_equal(dc09_build_data(&f, "1234", big, sizeof big), DC09_E_OVERSIZE);
}

/* ---- names -------------------------------------------------------------------- */

static void test_names(void **state)
{
    (void)state;
    const char *want[] = {"ok", "crc", "length", "format", "token", "decrypt", "pad", "time",
                          "oversize", "nospace", "inval", "key", "nokey", "clear", "payload", "crypto"};
    for (int e = 0; e >= DC09_E_CRYPTO; e--) {
        assert_string_equal(dc09_errname(e), want[-e]);
        const char *s = dc09_strerror(e);
        assert_non_null(s);
        assert_true(strlen(s) > 3);
        for (int k = e + 1; k <= 0; k++)
            assert_string_not_equal(s, dc09_strerror(k));
    }
    assert_string_equal(dc09_errname(DC09_E_CRYPTO - 1), "unknown");
    assert_string_equal(dc09_errname(1), "unknown");
    assert_non_null(dc09_strerror(-1000));
    const char *q[] = {"binary-crc", "crc-with-cr", "bare-l", "pad-no-bar", "no-data-account",
                       "ignore-length", "no-line"};
    uint32_t seen = 0;
    for (size_t i = 0; i < 7; i++) {
        uint32_t fl = 0;
        assert_int_equal(dc09_quirk_parse(q[i], &fl), 0);
        assert_int_equal(fl & seen, 0);
        seen |= fl;
        assert_string_equal(dc09_quirk_name(fl), q[i]);
    }
    assert_int_equal(seen, 0x7F);
    uint32_t fl;
    assert_int_equal(dc09_quirk_parse("bare", &fl), DC09_E_INVAL);
    assert_null(dc09_quirk_name(1u << 20));
    assert_string_equal(dc09_id_name(DC09_ID_SIA_DCS), "SIA-DCS");
    assert_string_equal(dc09_id_name(DC09_ID_DUH), "DUH");
    assert_null(dc09_id_name(0));
}

static void test_decode_head(void **state)
{
    (void)state;
    struct dc09_frame f;
    struct dc09_diag d = {0};
    const char *s = "\nE98F0078\"*ADM-CID\"0002R0L0#1234[1A08\r";
    assert_int_equal(dc09_decode_head((const uint8_t *)s, strlen(s), 0, &f, &d), 0);
    assert_int_equal(f.id, DC09_ID_ADM_CID);
    assert_true(f.encrypted);
    assert_int_equal(f.seq, 2);
    assert_string_equal(f.receiver, "0");
    assert_string_equal(f.line, "0");
    assert_string_equal(f.account, "1234");
    s = "\"SIA-DCS\"0001L#22334455[#22334455|NCQ1]";
    assert_int_equal(dc09_decode_head((const uint8_t *)s, strlen(s), 0, &f, &d), DC09_E_FORMAT);
    assert_string_equal(d.field, "line");
    assert_int_equal(dc09_decode_head((const uint8_t *)s, strlen(s), DC09_Q_BARE_L, &f, &d), 0);
    assert_string_equal(f.account, "22334455");
    assert_false(f.has_receiver);
    assert_int_equal(dc09_decode_head((const uint8_t *)"junk", 4, 0, &f, &d), DC09_E_FORMAT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc),
        cmocka_unit_test(test_round_trip_ids),
        cmocka_unit_test(test_round_trip_keys),
        cmocka_unit_test(test_round_trip_payloads),
        cmocka_unit_test(test_pads),
        cmocka_unit_test(test_replies),
        cmocka_unit_test(test_time_window),
        cmocka_unit_test(test_decode_errors),
        cmocka_unit_test(test_decode_errors_framing),
        cmocka_unit_test(test_decode_errors_crypto),
        cmocka_unit_test(test_encode_errors),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_decode_head),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
