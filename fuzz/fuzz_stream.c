/*
 * fuzz_stream.c — libFuzzer target for the station's per-connection stream
 * handling, as station/rx_tcp.c and station/rx.c do it with lib/dc09: one
 * dc09_reader per connection (its buffer the frame_bytes_max key), the
 * binary-CRC sniff on a connection's first read, the header decode (bare-L,
 * then bare-L + binary CRC), the account looked up in a table of accounts
 * that each have their own key and quirks, the full decode with that
 * account's key, quirks and time window, the reader's framing switched to
 * the account's once a frame of it is accepted (inside the reader's
 * callback), and the reply (ACK / NAK / DUH).
 *
 * What fuzz_dc09 does not: quirk flags that change in the middle of a feed
 * (the station sets conn->reader.quirks from inside the callback), split
 * points chosen by the input (1..8, 1..64, 1..400 bytes), several accounts
 * with different keys and quirk sets on one connection, the sniff, and the
 * replies read back on the panel's side.
 *
 * Input: byte 0 = flags: bit 0 sniff (as rx_tcp.c; its framing depends on
 * segmentation by design, so splits are not compared then), bits 1-2 reader
 * capacity (64, 256, 1024, DC09_FRAME_MAX + 8), bits 3-4 chunk-size range,
 * bits 5-6 the key of account "4444" (none, AES-128, -192, -256); byte 1 =
 * the quirk flags of account "4444" (bits 0-6: every quirk lib/dc09 has,
 * no-line included); byte 2 = split seed; the rest = bytes as a socket
 * delivers them.
 *
 * Aborts (besides ASan/UBSan) when: a frame handed out is not LF..CR or is
 * longer than the buffer; a reply we write does not decode on the panel's
 * side (the account's quirks and key) as the same sequence and account;
 * without the sniff, the frames, verdicts and replies depend on how the
 * bytes were split.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/dc09.h"
#include "vigil/dc09_openssl.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)
#define NOW_S 1795698568   /* 2026-11-26T13:09:28Z, as fuzz_dc09 */
/* DC09_Q_NO_LINE (lib/dc09, new): spelt as its value so the target builds on
 * a tree without it too (the bit is then ignored). */
#define FZ_Q_NO_LINE (1u << 6)

struct account {
    const char *number;
    const char *key;       /* ASCII key or NULL */
    uint32_t quirks;
    struct dc09_ossl cipher;
    bool has_key;
};
static struct account accounts[] = {
    { "1234", NULL, 0, { 0 }, false },
    { "5678", "0123456789ABCDEF", 0, { 0 }, false },
    { "9ABC", "0123456789ABCDEF0123456789ABCDEF", DC09_Q_PAD_NO_BAR, { 0 }, false },
    { "1111", NULL, DC09_Q_BINARY_CRC, { 0 }, false },
    { "2222", NULL, DC09_Q_CRC_WITH_CR | DC09_Q_BARE_L, { 0 }, false },
    { "3333", "0123456789ABCDEF01234567", DC09_Q_NO_DATA_ACCT | DC09_Q_IGNORE_LENGTH, { 0 }, false },
    { "AAAA", "AAAAAAAAAAAAAAAA", DC09_Q_BINARY_CRC | DC09_Q_PAD_NO_BAR, { 0 }, false },
    { "5555", NULL, FZ_Q_NO_LINE, { 0 }, false },
    { "4444", NULL, 0, { 0 }, false },   /* quirks and key from the input */
};
#define N_ACC (sizeof accounts / sizeof accounts[0])
static const char *const extra_keys[4] = { NULL, "FEDCBA9876543210", "FEDCBA9876543210FEDCBA98",
                                           "FEDCBA9876543210FEDCBA9876543210" };
static struct dc09_ossl extra_ciphers[4];

static void init_cipher(struct dc09_ossl *c, const char *ascii)
{
    struct dc09_key k;
    if (dc09_key_from_ascii(&k, ascii, strlen(ascii)) != 0 || dc09_ossl_init(c, &k) != 0)
        abort();
    dc09_key_wipe(&k);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    for (size_t i = 0; i < N_ACC; i++)
        if (accounts[i].key) {
            init_cipher(&accounts[i].cipher, accounts[i].key);
            accounts[i].has_key = true;
        }
    for (int i = 1; i < 4; i++)
        init_cipher(&extra_ciphers[i], extra_keys[i]);
    return 0;
}

struct fz_rng {
    struct dc09_rng base;
    uint32_t state;
};
static void rng_fill(struct dc09_rng *r, uint8_t *buf, size_t len)
{
    struct fz_rng *f = (struct fz_rng *)r;
    for (size_t i = 0; i < len; i++) {
        f->state = f->state * 1664525u + 1013904223u;
        buf[i] = (uint8_t)(f->state >> 24);
    }
}

/* Account lookup as the station does it: numbers in upper case. */
static struct account *find(const char *number)
{
    char up[DC09_ACCOUNT_MAX + 1];
    size_t i = 0;
    for (; number[i] && i < DC09_ACCOUNT_MAX; i++)
        up[i] = (char)(number[i] >= 'a' && number[i] <= 'f' ? number[i] - 32 : number[i]);
    up[i] = '\0';
    for (size_t k = 0; k < N_ACC; k++)
        if (strcmp(accounts[k].number, up) == 0)
            return &accounts[k];
    return NULL;
}

/* What one connection saw: per frame a verdict and a hash of frame + reply. */
#define LOG_MAX 128
struct conn {
    struct dc09_reader reader;
    uint8_t *buf;
    size_t cap;
    bool framed;
    bool sniff;
    size_t n;
    uint64_t log[LOG_MAX];
    size_t problems;
    struct fz_rng rng;
};

static uint64_t fnv(uint64_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static void logv(struct conn *c, uint64_t v)
{
    if (c->n < LOG_MAX)
        c->log[c->n] = v;
    c->n++;
}

/* The panel's side: a reply must decode with the account's quirks and key. */
static void check_reply(const uint8_t *r, size_t rl, const struct dc09_frame *req,
                        struct dc09_cipher *cipher, uint32_t quirks, enum dc09_id want)
{
    struct dc09_decode_opts o;
    dc09_decode_opts_init(&o, NOW_S);
    o.quirks = quirks & ~(uint32_t)DC09_Q_BINARY_CRC;
    o.cipher = cipher;
    o.check_time = false;
    struct dc09_frame g;
    struct dc09_diag d;
    CHECK(dc09_decode(r, rl, &o, &g, &d) == 0);
    CHECK(g.id == want);
    if (want != DC09_ID_NAK) {
        CHECK(g.seq == req->seq);
        CHECK(strcmp(g.account, req->account) == 0);
    }
}

static void on_frame(void *ctx, const uint8_t *frame, size_t len, int err)
{
    struct conn *c = ctx;
    if (err != 0) {
        CHECK(err == DC09_E_OVERSIZE || err == DC09_E_FORMAT);
        c->problems++;
        logv(c, 0x100u + (uint64_t)(-err));
        return;
    }
    CHECK(len >= 2 && len <= c->cap && len <= DC09_FRAME_MAX);
    CHECK(frame[0] == '\n' && frame[len - 1] == '\r');
    uint64_t h = fnv(1469598103934665603ull, frame, len);

    struct dc09_frame head;
    struct dc09_diag diag = { 0 };
    int rc = dc09_decode_head(frame, len, DC09_Q_BARE_L, &head, &diag);
    if (rc != 0)
        rc = dc09_decode_head(frame, len, DC09_Q_BARE_L | DC09_Q_BINARY_CRC, &head, &diag);
    /* a header without the L token: readable enough to answer (rx.c) */
    bool no_line = false;
    if (rc != 0 && diag.field && strcmp(diag.field, "line") == 0) {
        struct dc09_diag d2 = { 0 };
        int r2 = dc09_decode_head(frame, len, DC09_Q_BARE_L | FZ_Q_NO_LINE, &head, &d2);
        if (r2 != 0)
            r2 = dc09_decode_head(frame, len, DC09_Q_BARE_L | FZ_Q_NO_LINE | DC09_Q_BINARY_CRC,
                                  &head, &d2);
        if (r2 == 0) {
            rc = 0;
            no_line = true;
        }
    }
    if (rc != 0) {
        logv(c, h ^ 1u);   /* silent */
        return;
    }
    struct account *a = find(head.account);
    struct dc09_decode_opts o;
    dc09_decode_opts_init(&o, NOW_S);
    struct dc09_frame f;
    uint8_t reply[DC09_FRAME_MAX];
    size_t rl = 0;
    if (!a) {
        o.check_time = false;
        if (no_line)
            o.quirks = FZ_Q_NO_LINE;
        rc = dc09_decode(frame, len, &o, &f, &diag);
        if (rc == DC09_E_CRC || rc == DC09_E_LENGTH) {
            logv(c, h ^ 2u);
            return;
        }
        CHECK(dc09_reply_duh(&head, reply, sizeof reply, &rl) == 0);
        check_reply(reply, rl, &head, NULL, DC09_Q_BARE_L, DC09_ID_DUH);
        logv(c, fnv(h ^ 3u, reply, rl));
        return;
    }
    o.quirks = a->quirks;
    o.cipher = a->has_key ? &a->cipher.base : NULL;
    o.check_time = true;
    rc = dc09_decode(frame, len, &o, &f, &diag);
    if (rc == DC09_E_CRC || rc == DC09_E_LENGTH || rc == DC09_E_CRYPTO) {
        logv(c, h ^ 4u);
        return;
    }
    if (rc == DC09_E_TIME) {
        CHECK(dc09_reply_nak(NOW_S, reply, sizeof reply, &rl) == 0);
        check_reply(reply, rl, &head, NULL, 0, DC09_ID_NAK);
        logv(c, fnv(h ^ 5u, reply, rl));
        return;
    }
    if (rc != 0) {
        CHECK(dc09_reply_duh(&head, reply, sizeof reply, &rl) == 0);
        check_reply(reply, rl, &head, NULL, a->quirks | DC09_Q_BARE_L, DC09_ID_DUH);
        logv(c, fnv(h ^ (6u + (uint64_t)(-rc) * 16u), reply, rl));
        return;
    }
    /* accepted: the connection's framing follows the account (rx.c) */
    c->reader.quirks = a->quirks & DC09_Q_BINARY_CRC;
    c->framed = true;
    CHECK(strcmp(f.account, head.account) == 0 && f.seq == head.seq);
    if (f.id == DC09_ID_ADM_CID || f.id == DC09_ID_SIA_DCS || f.id == DC09_ID_NULL) {
        struct fz_rng rng = { { rng_fill }, (uint32_t)h | 1u };
        int e = dc09_reply_ack(&f, o.cipher, &rng.base, NOW_S, reply, sizeof reply, &rl);
        if (e == 0) {
            check_reply(reply, rl, &f, f.encrypted ? o.cipher : NULL, a->quirks, DC09_ID_ACK);
            logv(c, fnv(h ^ 7u, reply, rl));
            return;
        }
    }
    logv(c, h ^ 8u);
}

static void conn_init(struct conn *c, uint8_t *buf, size_t cap, bool sniff)
{
    c->buf = buf;
    c->cap = cap;
    c->framed = false;
    c->sniff = sniff;
    c->n = 0;
    c->problems = 0;
    dc09_reader_init(&c->reader, buf, cap, 0);
}

/* One read, as rx_tcp.c's on_read. */
static void conn_read(struct conn *c, const uint8_t *b, size_t n)
{
    if (c->sniff && !c->framed && c->reader.len == 0 && n >= 8) {
        bool bin = b[0] == '\n' && b[7] == '"';
        for (int k = 3; bin && k < 7; k++)
            bin = (b[k] >= '0' && b[k] <= '9') || (b[k] >= 'A' && b[k] <= 'F') ||
                  (b[k] >= 'a' && b[k] <= 'f');
        c->reader.quirks = bin ? DC09_Q_BINARY_CRC : 0;
    }
    dc09_reader_feed(&c->reader, b, n, on_frame, c);
    CHECK(c->reader.len <= c->cap);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    unsigned flags = data[0];
    struct account *x = &accounts[N_ACC - 1];
    x->quirks = data[1] & 0x7Fu;   /* bit 6: DC09_Q_NO_LINE */
    unsigned kc = (flags >> 5) & 3u;
    x->has_key = kc != 0;
    x->cipher = extra_ciphers[kc];
    uint32_t s = data[2] * 2654435761u + 1u;
    data += 3;
    size -= 3;

    static const size_t caps[4] = { 64, 256, 1024, DC09_FRAME_MAX + 8 };
    static const size_t chunk_max[4] = { 8, 64, 400, 17 };
    size_t cap = caps[(flags >> 1) & 3u];
    size_t cmax = chunk_max[(flags >> 3) & 3u];
    bool sniff = (flags & 1u) != 0;

    static uint8_t buf_a[DC09_FRAME_MAX + 8], buf_b[DC09_FRAME_MAX + 8];
    static struct conn a, b;
    conn_init(&a, buf_a, cap, sniff);
    conn_init(&b, buf_b, cap, sniff);

    conn_read(&a, data, size);
    for (size_t off = 0; off < size;) {
        s = s * 1664525u + 1013904223u;
        size_t chunk = 1 + (s >> 8) % cmax;
        if (chunk > size - off)
            chunk = size - off;
        conn_read(&b, data + off, chunk);
        off += chunk;
    }
    if (!sniff) {
        CHECK(a.n == b.n);
        for (size_t i = 0; i < a.n && i < LOG_MAX; i++)
            CHECK(a.log[i] == b.log[i]);
        CHECK(a.framed == b.framed && a.reader.quirks == b.reader.quirks);
    }
    return 0;
}
