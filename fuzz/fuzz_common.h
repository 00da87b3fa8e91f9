/*
 * fuzz_common.h — ports shared by the stored-record targets (fuzz_pnl_load,
 * fuzz_comm_load) and their seed writer (fuzz_seeds.c): an in-memory storage
 * port of two slots, a fixed device key (AES-128 through the DC-09 OpenSSL
 * back end, as on the Linux panel), a deterministic RNG, and the record
 * layouts' constants as lib/panel/store.c and lib/comm/comm.c define them.
 * Host-only test code: it may use libc freely.
 */
#ifndef VIGIL_FUZZ_COMMON_H
#define VIGIL_FUZZ_COMMON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/comm.h"
#include "vigil/dc09.h"
#include "vigil/dc09_openssl.h"
#include "vigil/panel.h"

#define FZ_CHECK(c) do { if (!(c)) { fz_fail(#c, __FILE__, __LINE__); } } while (0)
static inline void fz_fail(const char *what, const char *file, int line)
{
    /* no stdio needed for the verdict: abort() is what libFuzzer records */
    (void)what; (void)file; (void)line;
    abort();
}

/* ---- the record layouts (kept in step with the libraries) -------------- */

#define FZ_PNL_HDR      32u
#define FZ_PNL_VERSION  2u                        /* v2: the whole body is encrypted */
/* v1 (read for migration): body 1,406 bytes, only bytes 35.. of 16 + 32 x 8 encrypted */
#define FZ_PNL_V1_ENC_OFF 35u
#define FZ_PNL_V1_ENC_LEN (16u + PNL_USERS_MAX * 8u)
#define FZ_PNL_V1_BODY  (35u + 16u + PNL_USERS_MAX * 8u + PNL_ZONES_MAX * 4u + PNL_PARTS_MAX * 6u + \
                         9u + PNL_QUEUE_MAX * 11u + 2u + PNL_HISTORY_MAX * 5u)
#define FZ_COMM_HDR     20u

/* ---- storage: two slots, each with its own readable length ------------- */

#define FZ_SLOT_MAX 4096u
struct fz_store {
    struct pnl_storage base;
    uint8_t  slot[2][FZ_SLOT_MAX];
    size_t   len[2];          /* readable bytes (a short slot says PNL_E_TRUNCATED) */
    unsigned writes;
    unsigned reads;
    unsigned fail_read_at;    /* the n-th read fails with PNL_E_STORAGE (0: never) */
};

static inline int fz_read(struct pnl_storage *b, unsigned slot, size_t off, uint8_t *buf, size_t len)
{
    struct fz_store *s = (struct fz_store *)b;
    s->reads++;
    if (s->fail_read_at != 0 && s->reads == s->fail_read_at)
        return PNL_E_STORAGE;
    /* Like a flash partition of slot_size bytes: nothing exists past it. */
    if (slot > 1 || off > b->slot_size || len > b->slot_size - off)
        return PNL_E_STORAGE;
    if (off + len > s->len[slot]) {
        if (off < s->len[slot])
            memcpy(buf, s->slot[slot] + off, s->len[slot] - off);
        return PNL_E_TRUNCATED;
    }
    memcpy(buf, s->slot[slot] + off, len);
    return 0;
}

static inline int fz_write(struct pnl_storage *b, unsigned slot, size_t off, const uint8_t *buf,
                           size_t len)
{
    struct fz_store *s = (struct fz_store *)b;
    s->writes++;
    if (slot > 1 || off > b->slot_size || len > b->slot_size - off)
        return PNL_E_STORAGE;
    memcpy(s->slot[slot] + off, buf, len);
    if (off + len > s->len[slot])
        s->len[slot] = off + len;
    return 0;
}

static inline void fz_store_init(struct fz_store *s, size_t slot_size)
{
    s->base.slot_size = slot_size;
    s->base.read = fz_read;
    s->base.write = fz_write;
    s->len[0] = s->len[1] = 0;
    s->writes = s->reads = 0;
    s->fail_read_at = 0;
}

/* ---- the fixed device key and a deterministic RNG ---------------------- */

#define FZ_DEVICE_KEY "VigilFuzzDevKey1"      /* 16 ASCII bytes: AES-128 */
#define FZ_OTHER_KEY  "SomeOtherPanel!!"      /* a wrong key */

/* The fuzzer's bytes as raw flash: all in slot 0 (slot 1 erased), or, with
 * both, split over the two slots; each cut at the slot size. */
static inline void fz_store_fill_raw(struct fz_store *s, const uint8_t *data, size_t size,
                                     bool both)
{
    size_t a = both ? size / 2 : size, b = both ? size - size / 2 : 0;
    if (a > s->base.slot_size)
        a = s->base.slot_size;
    if (b > s->base.slot_size)
        b = s->base.slot_size;
    memcpy(s->slot[0], data, a);
    s->len[0] = a;
    memcpy(s->slot[1], data + size / 2, b);
    s->len[1] = both ? b : s->base.slot_size;
}

static inline int fz_cipher_init(struct dc09_ossl *c, const char *ascii)
{
    struct dc09_key k;
    if (dc09_key_from_ascii(&k, ascii, strlen(ascii)) != 0 || dc09_ossl_init(c, &k) != 0)
        return -1;
    dc09_key_wipe(&k);
    return 0;
}

struct fz_rng {
    struct dc09_rng base;
    uint32_t state;
};
static inline void fz_rng_fill(struct dc09_rng *r, uint8_t *buf, size_t len)
{
    struct fz_rng *f = (struct fz_rng *)r;
    for (size_t i = 0; i < len; i++) {
        f->state ^= f->state << 13;
        f->state ^= f->state >> 17;
        f->state ^= f->state << 5;
        buf[i] = (uint8_t)f->state;
    }
}
static inline void fz_rng_init(struct fz_rng *r, uint32_t seed)
{
    r->base.fill = fz_rng_fill;
    r->state = seed | 1u;
}

static inline void fz_put32(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t)v; b[1] = (uint8_t)(v >> 8); b[2] = (uint8_t)(v >> 16); b[3] = (uint8_t)(v >> 24);
}
static inline uint32_t fz_get32(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/*
 * The panel record from a plaintext body: v2 (version 2) — the whole body is
 * CBC-encrypted (zero IV) under `cipher`; v1 (version 1, body FZ_PNL_V1_BODY)
 * — only its encrypted section; "VKEY" forced into bytes 12..15 of the first
 * encrypted block when `keycheck`; then the header with checksums.
 * out: FZ_PNL_HDR + body.
 */
static inline void fz_pnl_build_v(struct dc09_cipher *cipher, const uint8_t *body_in, size_t body_len,
                                  uint32_t seq, int keycheck, unsigned version, uint8_t *out)
{
    uint8_t *body = out + FZ_PNL_HDR;
    memcpy(body, body_in, body_len);
    uint8_t *enc = version == 1 ? body + FZ_PNL_V1_ENC_OFF : body;
    if (keycheck)
        memcpy(enc + 12, "VKEY", 4);
    /* the section at once: the back end chains from a zero IV */
    if (cipher->encrypt(cipher, enc, version == 1 ? FZ_PNL_V1_ENC_LEN : body_len) != 0)
        abort();
    memset(out, 0, FZ_PNL_HDR);
    memcpy(out, "VPNL", 4);
    out[4] = (uint8_t)version;
    out[6] = FZ_PNL_HDR;
    fz_put32(out + 8, seq);
    fz_put32(out + 12, (uint32_t)body_len);
    fz_put32(out + 16, pnl_crc32(0, body, body_len));
    fz_put32(out + 28, pnl_crc32(0, out, 28));
}

static inline void fz_pnl_build(struct dc09_cipher *cipher, const uint8_t *body_in, size_t body_len,
                                uint32_t seq, int keycheck, uint8_t *out)
{
    fz_pnl_build_v(cipher, body_in, body_len, seq, keycheck, FZ_PNL_VERSION, out);
}

/* The reverse, for the seed writer: plaintext body of a stored panel record. */
static inline void fz_pnl_plain(struct dc09_cipher *cipher, const uint8_t *rec, size_t body_len,
                                uint8_t *body)
{
    memcpy(body, rec + FZ_PNL_HDR, body_len);
    if (cipher->decrypt(cipher, body, body_len) != 0)
        abort();
}

/* The communicator's record from a body: header with checksums. */
static inline void fz_comm_build(const uint8_t *body, size_t body_len, uint32_t seq, uint8_t *out)
{
    memset(out, 0, FZ_COMM_HDR);
    memcpy(out, "VCOM", 4);
    out[4] = 3;
    out[6] = (uint8_t)body_len;
    out[7] = (uint8_t)(body_len >> 8);
    fz_put32(out + 8, seq);
    fz_put32(out + 12, pnl_crc32(0, body, body_len));
    fz_put32(out + 16, pnl_crc32(0, out, 16));
    memcpy(out + FZ_COMM_HDR, body, body_len);
}

#endif
