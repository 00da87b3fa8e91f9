/*
 * panel_fixture.h — test ports for the panel core, shared by the host tests
 * (cmocka, ASan/UBSan) and the Cortex-M0 tests under QEMU.
 *
 * The storage port advances a test clock (busy_us) by a fixed amount per write
 * and per byte written, and the keypad port records every output with the tick it
 * happened at: two entries that differ in what storage sees or what the
 * premises see produce different records. The key port is a reversible toy
 * block transform (the real AES is the platform's: OpenSSL on Linux, tested
 * in test_panel_host.c); it can be switched to "no key".
 * No clock, no malloc: everything lives in the fixture struct.
 */
#ifndef PANEL_FIXTURE_H
#define PANEL_FIXTURE_H

#include <stdint.h>
#include <string.h>

#include "vigil/panel.h"

#define FX_SLOT_BYTES 1600u   /* >= pnl_record_size() (1,571) */
#define FX_REC_MAX 96u
#define FX_US_PER_WRITE 500u   /* busy time of one storage write call, µs */
#define FX_US_PER_BYTE 10u     /* ... and of each byte written */
#define FX_WLOG_MAX 56u        /* storage writes logged (slot, offset, length); a save is 50 */

struct fx_rec {
    uint64_t tick;
    struct pnl_out o;
};

struct fx_w {
    uint8_t slot;
    uint16_t off, len;
};

struct fx {
    struct pnl p;
    struct pnl_storage st;
    struct pnl_keyport key;
    struct dc09_rng rng;
    struct pnl_keypad kp;
    uint64_t clk;                /* the panel's now_ms */
    uint64_t busy_us;            /* time spent writing storage */
    uint8_t slot[2][FX_SLOT_BYTES];
    size_t slot_len[2];          /* readable bytes (truncation) */
    long fail_after;             /* bytes until a write is cut (torn); <0 never */
    unsigned writes;
    size_t bytes_written;
    struct fx_w wlog[FX_WLOG_MAX];   /* the first FX_WLOG_MAX writes since nwlog = 0 */
    unsigned nwlog;
    uint8_t keybyte;             /* the toy device key */
    int nokey;
    uint32_t rng_state;
    struct fx_rec rec[FX_REC_MAX];
    unsigned nrec;
};

static inline struct fx *fx_of_st(struct pnl_storage *s)
{
    return (struct fx *)(void *)((char *)s - offsetof(struct fx, st));
}

static inline int fx_read(struct pnl_storage *s, unsigned slot, size_t off, uint8_t *buf, size_t len)
{
    struct fx *f = fx_of_st(s);
    if (slot > 1)
        return PNL_E_STORAGE;
    if (off + len > f->slot_len[slot]) {
        /* a short slot: hand out what there is, say it is short */
        if (off < f->slot_len[slot])
            memcpy(buf, f->slot[slot] + off, f->slot_len[slot] - off);
        return PNL_E_TRUNCATED;
    }
    memcpy(buf, f->slot[slot] + off, len);
    return 0;
}

static inline int fx_write(struct pnl_storage *s, unsigned slot, size_t off, const uint8_t *buf, size_t len)
{
    struct fx *f = fx_of_st(s);
    if (slot > 1 || off + len > FX_SLOT_BYTES)
        return PNL_E_STORAGE;
    f->writes++;
    if (f->nwlog < FX_WLOG_MAX)
        f->wlog[f->nwlog] = (struct fx_w){ (uint8_t)slot, (uint16_t)off, (uint16_t)len };
    f->nwlog++;
    f->busy_us += FX_US_PER_WRITE + FX_US_PER_BYTE * len;
    size_t n = len;
    int torn = 0;
    if (f->fail_after >= 0 && (long)len > f->fail_after) {
        n = (size_t)f->fail_after;
        torn = 1;
    }
    memcpy(f->slot[slot] + off, buf, n);
    if (f->fail_after >= 0)
        f->fail_after -= (long)n;
    f->bytes_written += n;
    return torn ? PNL_E_STORAGE : 0;
}

static inline struct fx *fx_of_key(struct pnl_keyport *k)
{
    return (struct fx *)(void *)((char *)k - offsetof(struct fx, key));
}

/* A toy block cipher: xor with a key-derived byte and rotate the block. */
static inline int fx_enc(struct pnl_keyport *k, uint8_t b[16])
{
    struct fx *f = fx_of_key(k);
    if (f->nokey)
        return PNL_E_NOKEY;
    uint8_t t[16];
    for (int i = 0; i < 16; i++)
        t[(i + 5) % 16] = (uint8_t)(b[i] ^ (uint8_t)(f->keybyte + 31 * i));
    memcpy(b, t, 16);
    return 0;
}

static inline int fx_dec(struct pnl_keyport *k, uint8_t b[16])
{
    struct fx *f = fx_of_key(k);
    if (f->nokey)
        return PNL_E_NOKEY;
    uint8_t t[16];
    for (int i = 0; i < 16; i++)
        t[i] = (uint8_t)(b[(i + 5) % 16] ^ (uint8_t)(f->keybyte + 31 * i));
    memcpy(b, t, 16);
    return 0;
}

static inline void fx_fill(struct dc09_rng *r, uint8_t *buf, size_t len)
{
    struct fx *f = (struct fx *)(void *)((char *)r - offsetof(struct fx, rng));
    for (size_t i = 0; i < len; i++) {
        f->rng_state = f->rng_state * 1103515245u + 12345u;
        buf[i] = (uint8_t)(f->rng_state >> 16);
    }
}

static inline void fx_out(struct pnl_keypad *k, const struct pnl_out *o)
{
    struct fx *f = (struct fx *)(void *)((char *)k - offsetof(struct fx, kp));
    if (f->nrec < FX_REC_MAX) {
        /* the moment, in µs: the panel's time plus what storage took so far */
        f->rec[f->nrec].tick = f->clk * 1000u + f->busy_us;
        f->rec[f->nrec].o = *o;
        f->nrec++;
    }
}

static inline void fx_init(struct fx *f)
{
    memset(f, 0, sizeof *f);
    f->st.slot_size = FX_SLOT_BYTES;
    f->st.read = fx_read;
    f->st.write = fx_write;
    f->key.encrypt_block = fx_enc;
    f->key.decrypt_block = fx_dec;
    f->rng.fill = fx_fill;
    f->kp.out = fx_out;
    f->slot_len[0] = f->slot_len[1] = FX_SLOT_BYTES;
    memset(f->slot, 0xFF, sizeof f->slot);   /* erased flash */
    f->fail_after = -1;
    f->keybyte = 0x5A;
    f->rng_state = 1;
    f->clk = 1000;
    struct pnl_ports ports = { .storage = &f->st, .key = &f->key, .rng = &f->rng,
                               .keypad = &f->kp };
    pnl_init(&f->p, &ports);
}

/* Re-attach the fixture's ports (after a struct copy of the panel). */
static inline void fx_reinit_panel(struct fx *f)
{
    struct pnl_ports ports = { .storage = &f->st, .key = &f->key, .rng = &f->rng,
                               .keypad = &f->kp };
    pnl_init(&f->p, &ports);
}

/* Types keys at the keypad of partition `part`, one per 100 ms of test clock. */
static inline void fx_keys_at(struct fx *f, unsigned part, const char *keys)
{
    for (const char *k = keys; *k; k++) {
        f->clk += 100;
        pnl_key_at(&f->p, part, *k, f->clk);
    }
}

static inline void fx_keys(struct fx *f, const char *keys) { fx_keys_at(f, 1, keys); }

/* Advances the test clock in 100 ms ticks. */
static inline void fx_run(struct fx *f, uint64_t ms)
{
    uint64_t end = f->clk + ms;
    while (f->clk < end) {
        f->clk += 100;
        pnl_tick(&f->p, f->clk);
    }
}

/* Is an event with this CID (and qualifier, 0 = any) in the queue? How many? */
static inline unsigned fx_count_cid(const struct fx *f, uint16_t cid, uint8_t q)
{
    unsigned n = 0;
    for (unsigned i = 0; i < f->p.queue_len; i++)
        if (f->p.queue[i].cid == cid && (q == 0 || f->p.queue[i].qualifier == q))
            n++;
    return n;
}

static inline int fx_find_cid(const struct fx *f, uint16_t cid, struct pnl_event *out)
{
    for (unsigned i = 0; i < f->p.queue_len; i++)
        if (f->p.queue[i].cid == cid) {
            *out = f->p.queue[i];
            return 1;
        }
    return 0;
}

static inline unsigned fx_count_out(const struct fx *f, uint8_t kind, uint16_t value)
{
    unsigned n = 0;
    for (unsigned i = 0; i < f->nrec; i++)
        if (f->rec[i].o.kind == kind && f->rec[i].o.value == value)
            n++;
    return n;
}

#endif
