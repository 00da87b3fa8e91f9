/*
 * fuzz_dc09.c — libFuzzer target for lib/dc09's receiving side: the streaming
 * reader (fed in random splits), the header and full decoders (with and
 * without a key, with quirks), replies, and the payload codecs.
 *
 * Input: byte 0 = key choice (bits 0-2: 0 none, 1 AES-128, 2 AES-192,
 * 3 AES-256, 4 the Hikvision test key, else none), time window (bit 3),
 * small reader buffer (bit 4); byte 1 = quirk flags (bits 0-6); byte 2 = split seed;
 * the rest = bytes as they would arrive on a socket.
 *
 * Besides crashes (ASan/UBSan), it aborts on broken properties: the reader
 * must deliver the same frames however the bytes are split, every frame it
 * delivers is LF..CR, and whatever our encoder writes from a decoded frame,
 * our decoder must read back as the same frame. It must never print keys or
 * depend on the wall clock (now is fixed).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/dc09.h"
#include "vigil/dc09_openssl.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 2026-11-26T13:09:28Z, the timestamp of the vectors' GENERATED rows. */
#define FUZZ_NOW_S 1795698568

static const char *const key_text[] = {
    NULL, "0123456789ABCDEF", "0123456789ABCDEF01234567", "0123456789ABCDEF0123456789ABCDEF",
    "AAAAAAAAAAAAAAAA",
};
#define N_KEYS (sizeof key_text / sizeof key_text[0])
static struct dc09_ossl ciphers[N_KEYS];

/* Deterministic pad bytes (every value, '|' '[' ']' included: the library must filter). */
struct fuzz_rng {
    struct dc09_rng base;
    uint32_t state;
};
static void rng_fill(struct dc09_rng *r, uint8_t *buf, size_t len)
{
    struct fuzz_rng *f = (struct fuzz_rng *)r;
    for (size_t i = 0; i < len; i++) {
        f->state ^= f->state << 13;
        f->state ^= f->state >> 17;
        f->state ^= f->state << 5;
        buf[i] = (uint8_t)f->state;
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    for (size_t i = 1; i < N_KEYS; i++) {
        struct dc09_key k;
        if (dc09_key_from_ascii(&k, key_text[i], strlen(key_text[i])) != 0 ||
            dc09_ossl_init(&ciphers[i], &k) != 0)
            abort();
        dc09_key_wipe(&k);
    }
    return 0;
}

#define CHECK(c) do { if (!(c)) abort(); } while (0)

/* What the reader delivered: the frames as (len, fnv hash), and the oversize reports. */
#define MAX_EVENTS 256
struct events {
    size_t n;                   /* frames delivered */
    size_t n_oversize;          /* oversize reports */
    size_t len[MAX_EVENTS];
    uint64_t hash[MAX_EVENTS];
    size_t cap;
    const struct dc09_decode_opts *opts;   /* decode each frame when non-NULL */
    bool binary_crc;                       /* reader runs with DC09_Q_BINARY_CRC */
};

static uint64_t fnv(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static void on_frame(void *ctx, const uint8_t *frame, size_t len, int err)
{
    struct events *ev = ctx;
    if (err == 0) {
        CHECK(len >= 2 && len <= ev->cap && len <= DC09_FRAME_MAX);
        CHECK(frame[0] == '\n');
        /* Every frame ends in CR, with the binary-CRC quirk too (fixed in
         * lib/dc09; fuzz/crashes/reader-binary-crc-no-cr guards it). */
        CHECK(frame[len - 1] == '\r');
        if (ev->opts != NULL) {
            struct dc09_frame f;
            struct dc09_diag d;
            (void)dc09_decode(frame, len, ev->opts, &f, &d);
        }
    } else {
        CHECK(err == DC09_E_OVERSIZE || (ev->binary_crc && err == DC09_E_FORMAT));
    }
    /* Oversize reports are counted and compared too (fixed in lib/dc09 75e7714;
     * regression input: fuzz/crashes/reader-oversize-split-dependent). */
    if (err != 0) {
        ev->n_oversize++;
        return;
    }
    if (ev->n < MAX_EVENTS) {
        ev->len[ev->n] = len;
        ev->hash[ev->n] = fnv(frame, len);
    }
    ev->n++;
}

static void check_same_frame(const struct dc09_frame *a, const struct dc09_frame *b)
{
    CHECK(a->id == b->id && a->encrypted == b->encrypted && a->seq == b->seq);
    CHECK(a->has_receiver == b->has_receiver);
    CHECK(!a->has_receiver || strcmp(a->receiver, b->receiver) == 0);
    CHECK(strcmp(a->line, b->line) == 0 && strcmp(a->account, b->account) == 0);
    CHECK(a->data_len == b->data_len && memcmp(a->data, b->data, a->data_len) == 0);
    CHECK(a->xdata_count == b->xdata_count);
    for (unsigned i = 0; i < a->xdata_count; i++)
        CHECK(a->xdata[i].type == b->xdata[i].type && strcmp(a->xdata[i].value, b->xdata[i].value) == 0);
    CHECK(a->has_time == b->has_time && (!a->has_time || a->time_s == b->time_s));
    CHECK(a->has_cid == b->has_cid && a->has_sia == b->has_sia);
}

/* A decoded frame, encoded again by us, must decode to the same frame. */
static void round_trip(const struct dc09_frame *f, struct dc09_cipher *cipher,
                       const struct dc09_decode_opts *opts, uint32_t seed)
{
    struct fuzz_rng rng = { { rng_fill }, seed | 1u };
    uint8_t out[DC09_FRAME_MAX];
    size_t n;
    if (dc09_encode(f, f->encrypted ? cipher : NULL, &rng.base, out, sizeof out, &n) != 0)
        return;   /* refusing to encode is allowed; writing what we cannot read is not */
    CHECK(n <= sizeof out);
    struct dc09_frame g;
    struct dc09_diag d;
    CHECK(dc09_decode(out, n, opts, &g, &d) == 0);
    check_same_frame(f, &g);

    if (f->id == DC09_ID_ADM_CID || f->id == DC09_ID_SIA_DCS || f->id == DC09_ID_NULL) {
        struct dc09_decode_opts ro = *opts;
        ro.cipher = f->encrypted ? cipher : NULL;
        if (dc09_reply_ack(f, f->encrypted ? cipher : NULL, &rng.base, opts->now_s, out,
                           sizeof out, &n) == 0) {
            CHECK(dc09_decode(out, n, &ro, &g, &d) == 0);
            CHECK(g.id == DC09_ID_ACK && g.seq == f->seq && strcmp(g.account, f->account) == 0);
            CHECK(g.encrypted == f->encrypted);
        }
        ro.cipher = NULL;
        if (dc09_reply_duh(f, out, sizeof out, &n) == 0) {
            CHECK(dc09_decode(out, n, &ro, &g, &d) == 0);
            CHECK(g.id == DC09_ID_DUH && g.seq == f->seq);
        }
    }
}

static void codecs(const uint8_t *p, size_t n)
{
    struct dc09_cid c, c2;
    char buf[DC09_DATA_MAX + 1];
    if (dc09_cid_parse((const char *)p, n, &c) == 0 && dc09_cid_format(&c, buf, sizeof buf) == 0) {
        CHECK(dc09_cid_parse(buf, strlen(buf), &c2) == 0);
        CHECK(c.qualifier == c2.qualifier && c.event == c2.event && c.partition == c2.partition &&
              c.zone == c2.zone);
    }
    struct dc09_sia s, s2;
    if (dc09_sia_parse((const char *)p, n, &s) == 0 && dc09_sia_format(&s, buf, sizeof buf) == 0) {
        CHECK(dc09_sia_parse(buf, strlen(buf), &s2) == 0);
        CHECK(strcmp(s.code, s2.code) == 0 && s.has_zone == s2.has_zone &&
              (!s.has_zone || s.zone == s2.zone) && s.has_area == s2.has_area &&
              s.has_user == s2.has_user);
    }
    int64_t t;
    char tb[32];
    if (dc09_time_parse((const char *)p, n, &t) == 0 && dc09_time_format(t, tb, sizeof tb) == 0) {
        int64_t t2;
        CHECK(dc09_time_parse(tb, strlen(tb), &t2) == 0 && t2 == t);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    uint8_t sel = data[0];
    uint32_t quirks = data[1] & 0x7Fu;   /* every quirk, no-line (bit 6) included */
    uint32_t seed = data[2];
    data += 3;
    size -= 3;

    unsigned k = sel & 7u;
    struct dc09_cipher *cipher = (k > 0 && k < N_KEYS) ? &ciphers[k].base : NULL;
    struct dc09_decode_opts opts;
    dc09_decode_opts_init(&opts, FUZZ_NOW_S);
    opts.quirks = quirks;
    opts.cipher = cipher;
    opts.check_time = (sel & 8u) != 0;

    /* 1. the input as one frame */
    struct dc09_frame f;
    struct dc09_diag d;
    (void)dc09_decode_head(data, size, quirks, &f, &d);
    if (dc09_decode(data, size, &opts, &f, &d) == 0 && quirks == 0)
        round_trip(&f, cipher, &opts, seed * 2654435761u);

    /* 2. the reader: all at once, then split at pseudo-random points */
    static uint8_t buf_a[DC09_FRAME_MAX + 2], buf_b[DC09_FRAME_MAX + 2];
    size_t cap = (sel & 16u) ? 64 : sizeof buf_a;
    struct dc09_reader ra, rb;
    bool binq = (quirks & DC09_Q_BINARY_CRC) != 0;
    struct events ea = { .cap = cap, .opts = &opts, .binary_crc = binq };
    struct events eb = { .cap = cap, .opts = NULL, .binary_crc = binq };
    dc09_reader_init(&ra, buf_a, cap, quirks);
    dc09_reader_init(&rb, buf_b, cap, quirks);
    size_t delivered = dc09_reader_feed(&ra, data, size, on_frame, &ea);
    size_t split_delivered = 0;
    uint32_t s = seed * 747796405u + 2891336453u;
    for (size_t off = 0; off < size;) {
        s = s * 1664525u + 1013904223u;
        size_t chunk = 1 + (s >> 24) % 17;   /* 1..17 bytes */
        if (chunk > size - off)
            chunk = size - off;
        split_delivered += dc09_reader_feed(&rb, data + off, chunk, on_frame, &eb);
        off += chunk;
    }
    CHECK(delivered == split_delivered);
    CHECK(ea.n == eb.n);
    CHECK(ea.n_oversize == eb.n_oversize);
    for (size_t i = 0; i < ea.n && i < MAX_EVENTS; i++)
        CHECK(ea.len[i] == eb.len[i] && ea.hash[i] == eb.hash[i]);

    /* 3. payload codecs and time on the raw bytes */
    codecs(data, size);
    return 0;
}
