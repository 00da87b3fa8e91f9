/*
 * store.c — the panel's persisted record: configuration, zones, partitions,
 * user codes (encrypted under the device key), the outbound event queue and
 * the keypad-visible history, in one fixed-size, versioned, CRC-32-checked
 * record written alternately into two slots (A/B).
 *
 * Every save writes exactly pnl_record_size() bytes in the same sequence of
 * port calls, whatever changed: a duress entry must not be told from a normal
 * one by the size or timing of a flash write. A torn save leaves the other
 * slot — the previous state — intact; pnl_load() says when it fell back.
 * It must never write a code in the clear, and never write storage while
 * loading or when the device key is missing.
 *
 * Layout (little endian): header (32 bytes) at offset 0, body after it.
 *   0 "VPNL"  4 u16 version  6 u16 header size  8 u32 sequence  12 u32 body size
 *   16 u32 CRC-32 of body  20..27 zero  28 u32 CRC-32 of bytes 0..27
 * The body is written first and the header last, so a save cut anywhere
 * leaves its slot failing a checksum.
 *
 * Version 2 (written): the whole body is AES-CBC under the device key (zero
 * IV), starting with a block of 12 random bytes + "VKEY": config, users,
 * zones, partitions, queue, next_event_id, history — everything a duress can
 * change — is ciphertext, and a fresh random first block makes every save's
 * ciphertext new. The header holds nothing a duress changes (the sequence
 * counts saves, and every code entry saves once), so a duress record differs
 * from a normal one only in ciphertext and the CRCs over it.
 * Version 1 (read, for migration): only the check block and the user table
 * were encrypted; the next save writes version 2.
 */
#include "panel_internal.h"

#define HDR_SIZE 32u
#define REC_VERSION 2u
static const uint8_t magic[4] = { 'V', 'P', 'N', 'L' };
/* The last 4 bytes of the encrypted section's first block: a wrong device key
 * decrypts them to something else, and pnl_load() says so before parsing. */
static const uint8_t key_check[4] = { 'V', 'K', 'E', 'Y' };
#define USERS_OFF (HDR_SIZE + 35u)  /* v1: where the encrypted section starts */

/* ---- CRC-32 (IEEE 802.3, reflected 0xEDB88320) ------------------------ */

uint32_t pnl_crc32(uint32_t crc, const uint8_t *p, size_t n)
{
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

/* ---- a symmetric record walker: one description, three uses ----------- */

enum rio_mode { RIO_COUNT, RIO_WRITE, RIO_READ };

struct rio {
    enum rio_mode mode;
    struct pnl_storage *st;
    struct pnl_keyport *key;
    unsigned slot;
    size_t off;                 /* next storage offset of buf[0] */
    size_t total;               /* body bytes walked */
    size_t end;                 /* read: the record's last byte + 1 */
    uint8_t buf[32];
    size_t n;                   /* bytes in buf (write) / consumed (read) */
    size_t have;                /* bytes valid in buf (read) */
    uint32_t crc;
    int err;
    /* the encrypted section */
    bool enc;
    uint8_t blk[16];
    size_t blk_n;
    uint8_t chain[16];
};

static void rio_flush(struct rio *r)
{
    if (r->mode != RIO_WRITE || r->n == 0)
        return;
    if (r->err) {
        r->n = 0;               /* the save already failed: drop the rest */
        return;
    }
    r->crc = pnl_crc32(r->crc, r->buf, r->n);
    int e = r->st->write(r->st, r->slot, r->off, r->buf, r->n);
    if (e < 0)
        r->err = PNL_E_STORAGE;
    r->off += r->n;
    r->n = 0;
}

static void raw_put(struct rio *r, uint8_t b)
{
    r->total++;
    if (r->mode == RIO_COUNT)
        return;
    r->buf[r->n++] = b;
    if (r->n == sizeof r->buf)
        rio_flush(r);
}

static uint8_t raw_get(struct rio *r)
{
    r->total++;
    if (r->err)
        return 0;
    if (r->n == r->have) {
        /* Never past the record's last byte: a slot may be exactly
         * pnl_record_size() long (fuzz/crashes/pnl_load/exact-slot-overread). */
        size_t len = r->off < r->end ? r->end - r->off : 0;
        if (len > sizeof r->buf)
            len = sizeof r->buf;
        int e = len == 0 ? PNL_E_TRUNCATED : r->st->read(r->st, r->slot, r->off, r->buf, len);
        if (e < 0) {
            r->err = e == PNL_E_TRUNCATED ? e : PNL_E_STORAGE;
            return 0;
        }
        r->off += len;
        r->have = len;
        r->n = 0;
    }
    return r->buf[r->n++];
}

/* One byte through the walker: written from *v, or read into *v. Inside the
 * encrypted section bytes go through 16-byte CBC blocks keyed by the port. */
static void io8(struct rio *r, uint8_t *v)
{
    if (!r->enc) {
        if (r->mode == RIO_READ)
            *v = raw_get(r);
        else
            raw_put(r, *v);
        return;
    }
    if (r->mode == RIO_READ) {
        if (r->blk_n == 16 || r->blk_n == 0xFF) {
            uint8_t c[16];
            for (int i = 0; i < 16; i++)
                c[i] = raw_get(r);
            for (int i = 0; i < 16; i++)
                r->blk[i] = c[i];
            if (!r->err && r->key->decrypt_block(r->key, r->blk) < 0)
                r->err = PNL_E_CRYPTO;
            for (int i = 0; i < 16; i++) {
                r->blk[i] ^= r->chain[i];
                r->chain[i] = c[i];
            }
            r->blk_n = 0;
        }
        *v = r->blk[r->blk_n++];
        return;
    }
    r->blk[r->blk_n++] = *v;
    if (r->blk_n == 16) {
        if (r->mode == RIO_WRITE) {
            for (int i = 0; i < 16; i++)
                r->blk[i] ^= r->chain[i];
            if (!r->err && r->key->encrypt_block(r->key, r->blk) < 0)
                r->err = PNL_E_CRYPTO;
            for (int i = 0; i < 16; i++)
                r->chain[i] = r->blk[i];
        }
        for (int i = 0; i < 16; i++)
            raw_put(r, r->blk[i]);
        r->blk_n = 0;
    }
}

/* One field through io8, little-endian: `kind` 1, 2 or 4 bytes unsigned, or
 * 0 for a bool (one byte, 1 or 0; read: any non-zero is true). Set from the
 * bytes only when reading. */
static void iofield(struct rio *r, void *f, unsigned kind)
{
    uint32_t v = kind == 4 ? *(uint32_t *)f : kind == 2 ? *(uint16_t *)f : *(uint8_t *)f;
    uint32_t got = 0;
    unsigned n = kind != 0 ? kind : 1u;
    for (unsigned i = 0; i < n; i++) {
        uint8_t b = (uint8_t)(v >> (8u * i));
        io8(r, &b);
        got |= (uint32_t)b << (8u * i);
    }
    if (r->mode != RIO_READ)
        return;
    if (kind == 4)
        *(uint32_t *)f = got;
    else if (kind == 2)
        *(uint16_t *)f = (uint16_t)got;
    else if (kind == 1)
        *(uint8_t *)f = (uint8_t)got;
    else
        *(bool *)f = got != 0;
}

static void io16(struct rio *r, uint16_t *v) { iofield(r, v, 2); }
static void io32(struct rio *r, uint32_t *v) { iofield(r, v, 4); }

/* Fields described by (offset, kind) pairs, in record order. */
static void iofields(struct rio *r, void *base, const uint8_t (*t)[2], unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        iofield(r, (uint8_t *)base + t[i][0], t[i][1]);
}

#define F(type, field, kind) { offsetof(struct type, field), kind }
/* The settings in record order (bools: kind 0). */
static const uint8_t cfg_fields[][2] = {
    F(pnl_config, exit_delay_s, 2), F(pnl_config, entry_delay_s, 2),
    F(pnl_config, abort_window_s, 2), F(pnl_config, cancel_window_s, 2),
    F(pnl_config, swinger_trips, 1), F(pnl_config, lockout_tries, 1),
    F(pnl_config, lockout_s, 2), F(pnl_config, siren_limit_s, 2),
    F(pnl_config, test_interval_s, 4), F(pnl_config, recent_closing_s, 2),
    F(pnl_config, exit_restart, 0), F(pnl_config, auto_stay, 0),
    F(pnl_config, recent_closing, 0), F(pnl_config, exit_error, 0),
    F(pnl_config, layout.enabled, 0),
};
static const uint8_t event_fields[][2] = {
    F(pnl_event, qualifier, 1), F(pnl_event, cid, 2), F(pnl_event, part, 1),
    F(pnl_event, zone, 2), F(pnl_event, prio, 1), F(pnl_event, id, 4),
};
#undef F
_Static_assert(sizeof(struct pnl_config) <= 255 && sizeof(struct pnl_event) <= 255,
               "field offsets fit a byte");

/* Starts the encrypted section: CBC from a zero IV, its first block random
 * (12 bytes + "VKEY"), so the same state never encrypts to the same bytes. */
static void enc_begin(struct rio *r, const uint8_t nonce[16])
{
    r->enc = true;
    r->blk_n = r->mode == RIO_READ ? 0xFF : 0;
    for (int i = 0; i < 16; i++)
        r->chain[i] = 0;
    for (int i = 0; i < 16; i++) {
        uint8_t b = nonce[i];
        io8(r, &b);
    }
}

/* The user table as 8 bytes per slot: code as BCD (0xF past the end), role,
 * partitions, duress, link. */
static void walk_users(struct rio *r, struct pnl *p)
{
    for (unsigned s = 0; s < PNL_USERS_MAX; s++) {
        struct pnl__user *u = &p->users[s];
        for (unsigned k = 0; k < PNL_CODE_LEN_MAX; k += 2) {
            uint8_t hi = u->code[k] > 9 ? 0xF : u->code[k];
            uint8_t lo = u->code[k + 1] > 9 ? 0xF : u->code[k + 1];
            uint8_t b = (uint8_t)(hi << 4 | lo);
            io8(r, &b);
            if (r->mode == RIO_READ) {
                u->code[k] = (b >> 4) == 0xF ? 0xFF : (uint8_t)(b >> 4);
                u->code[k + 1] = (b & 0xF) == 0xF ? 0xFF : (uint8_t)(b & 0xF);
            }
        }
        io8(r, &u->role);
        io8(r, &u->parts);
        io8(r, &u->duress);
        io8(r, &u->link);
        if (r->mode == RIO_READ) {
            uint8_t len = 0;
            while (len < PNL_CODE_LEN_MAX && u->code[len] <= 9)
                len++;
            u->len = len;
        }
    }
}
_Static_assert((16u + PNL_USERS_MAX * 8u) % 16u == 0, "v1 user section is whole AES blocks");

/* The body of a record of version `ver` (1: read only). */
static void walk_body(struct rio *r, struct pnl *p, const uint8_t nonce[16], unsigned ver)
{
    if (ver != 1)
        enc_begin(r, nonce);
    struct pnl_config *c = &p->cfg;
    iofields(r, c, cfg_fields, sizeof cfg_fields / sizeof cfg_fields[0]);
    for (int d = 0; d < 10; d++)
        io8(r, &c->layout.key[d]);

    if (ver == 1)
        enc_begin(r, nonce);
    walk_users(r, p);
    if (ver == 1)
        r->enc = false;

    for (unsigned z = 0; z < PNL_ZONES_MAX; z++) {
        io8(r, &p->zones[z].cfg.type);
        io8(r, &p->zones[z].cfg.part);
        io8(r, &p->zones[z].cfg.flags);
        io8(r, &p->zones[z].bypass);
    }
    for (unsigned i = 0; i < PNL_PARTS_MAX; i++) {
        struct pnl__part *pt = &p->parts[i];
        /* Only stable states survive a restart: anything armed comes back armed. */
        uint8_t st = pt->state == PNL_ST_DISARMED ? PNL_ST_DISARMED : PNL_ST_ARMED;
        io8(r, &st);
        io8(r, &pt->mode);
        io8(r, &pt->chime);
        io8(r, &pt->wrong);
        io16(r, &pt->arm_user);
        if (r->mode == RIO_READ)
            pt->state = st;
    }

    io8(r, &p->queue_len);
    io32(r, &p->next_event_id);
    io32(r, &p->dropped);
    for (unsigned i = 0; i < PNL_QUEUE_MAX; i++) {
        struct pnl_event *e = &p->queue[i];
        iofields(r, e, event_fields, sizeof event_fields / sizeof event_fields[0]);
        if (r->mode == RIO_READ)
            e->sent = 0;        /* not known to have arrived: send again */
    }
    io8(r, &p->hist_len);
    io8(r, &p->hist_head);
    for (unsigned i = 0; i < PNL_HISTORY_MAX; i++) {
        io8(r, &p->history[i].kind);
        io8(r, &p->history[i].part);
        io16(r, &p->history[i].who);
        io8(r, &p->history[i].mode);
    }
    if (ver == 1) {
        /* a v1 record has none of the issue-13 fields: their defaults */
        if (r->mode == RIO_READ) {
            c->key_fire = 1;
            c->key_medical = 1;
            c->key_panic = 1;
            c->ac_delay_min = 30;
            p->power = 0;
            for (unsigned i = 0; i < PNL_QUEUE_MAX; i++)
                p->queue[i].info = 0;
        }
        return;
    }
    /* emergency keys, AC-loss delay, reported troubles (their restore is
     * still due), programming-report details */
    io8(r, &c->key_fire);
    io8(r, &c->key_medical);
    io8(r, &c->key_panic);
    io8(r, &c->ac_delay_min);
    uint8_t pw = p->power & (uint8_t)~PNL_PW_AC_LOST;   /* AC itself: the board says */
    io8(r, &pw);
    if (r->mode == RIO_READ)
        p->power = pw;
    for (unsigned i = 0; i < PNL_QUEUE_MAX; i++)
        io16(r, &p->queue[i].info);
    /* zero padding to the last whole block; anything else was not written here */
    for (unsigned i = 0; i < PNL__BODY_SIZE - PNL__BODY_V2_FIELDS; i++) {
        uint8_t z = 0;
        io8(r, &z);
        if (z != 0 && !r->err)
            r->err = PNL_E_CORRUPT;
    }
    r->enc = false;
}
_Static_assert(PNL__BODY_SIZE % 16u == 0, "v2 body is whole AES blocks");

static size_t body_size(void)
{
    return PNL__BODY_SIZE;
}

size_t pnl_record_size(void)
{
    return HDR_SIZE + body_size();
}

static void put_le32(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
    b[2] = (uint8_t)(v >> 16);
    b[3] = (uint8_t)(v >> 24);
}

static uint32_t get_le32(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* Does the key port work? Probed before anything is written or parsed. */
static int probe_key(struct pnl *p, bool enc)
{
    struct pnl_keyport *k = p->ports.key;
    if (k == NULL)
        return PNL_E_NOKEY;
    uint8_t blk[16] = { 0 };
    int e = enc ? k->encrypt_block(k, blk) : k->decrypt_block(k, blk);
    if (e == PNL_E_NOKEY)
        return PNL_E_NOKEY;
    return e < 0 ? PNL_E_CRYPTO : PNL_OK;
}

enum slot_state { SL_VALID, SL_BLANK, SL_CORRUPT, SL_TRUNCATED, SL_VERSION, SL_IOERR };
static enum slot_state check_slot(struct pnl_storage *st, unsigned slot, uint32_t *seq,
                                  unsigned *ver);

int pnl_save(struct pnl *p)
{
    struct pnl_storage *st = p->ports.storage;
    if (st == NULL || p->ports.rng == NULL)
        return PNL_E_INVAL;
    if (st->slot_size < pnl_record_size())
        return PNL_E_NOSPACE;
    int e = probe_key(p, true);
    if (e < 0)
        return e;

    uint8_t nonce[16];
    p->ports.rng->fill(p->ports.rng, nonce, 12);
    for (int i = 0; i < 4; i++)
        nonce[12 + i] = key_check[i];
    if (!p->has_record) {
        /* Never loaded (fresh panel, or a failed load): go on after whatever
         * valid record storage holds, so this save is the newest one and the
         * newest old record is not the one overwritten. */
        uint32_t seq[2] = { 0, 0 };
        unsigned ver;
        bool v0 = check_slot(st, 0, &seq[0], &ver) == SL_VALID;
        bool v1 = check_slot(st, 1, &seq[1], &ver) == SL_VALID;
        unsigned newest = (v1 && (!v0 || (int32_t)(seq[1] - seq[0]) > 0)) ? 1u : 0u;
        p->save_slot = (uint8_t)newest;
        p->save_seq = (v0 || v1) ? seq[newest] : 0u;
        p->has_record = (uint8_t)(v0 || v1);
    }
    unsigned slot = p->has_record ? (unsigned)(p->save_slot ^ 1u) : 0u;
    uint32_t seq = p->save_seq + 1u;

    struct rio r = { .mode = RIO_WRITE, .st = st, .key = p->ports.key, .slot = slot,
                     .off = HDR_SIZE };
    walk_body(&r, p, nonce, REC_VERSION);
    rio_flush(&r);
    if (!r.err && r.total != PNL__BODY_SIZE)
        r.err = PNL_E_INVAL;            /* walker and size formula disagree: a bug */
    for (size_t i = 0; i < sizeof nonce; i++)
        nonce[i] = 0;
    if (r.err)
        return r.err;

    uint8_t h[HDR_SIZE] = { 0 };
    for (int i = 0; i < 4; i++)
        h[i] = magic[i];
    h[4] = REC_VERSION;
    h[6] = HDR_SIZE;
    put_le32(h + 8, seq);
    put_le32(h + 12, (uint32_t)r.total);
    put_le32(h + 16, r.crc);
    put_le32(h + 28, pnl_crc32(0, h, 28));
    if (st->write(st, slot, 0, h, HDR_SIZE) < 0)
        return PNL_E_STORAGE;
    p->save_slot = (uint8_t)slot;
    p->save_seq = seq;
    p->has_record = 1;
    p->dirty = 0;
    p->ack_pending = 0;
    return PNL_OK;
}

static enum slot_state check_slot(struct pnl_storage *st, unsigned slot, uint32_t *seq,
                                  unsigned *ver)
{
    uint8_t h[HDR_SIZE];
    int e = st->read(st, slot, 0, h, HDR_SIZE);
    if (e == PNL_E_TRUNCATED)
        return SL_TRUNCATED;
    if (e < 0)
        return SL_IOERR;
    bool ff = true, zero = true;
    for (unsigned i = 0; i < HDR_SIZE; i++) {
        if (h[i] != 0xFF)
            ff = false;
        if (h[i] != 0)
            zero = false;
    }
    if (ff || zero)
        return SL_BLANK;
    for (int i = 0; i < 4; i++)
        if (h[i] != magic[i])
            return SL_CORRUPT;
    if (get_le32(h + 28) != pnl_crc32(0, h, 28))
        return SL_CORRUPT;
    if ((h[4] != 1 && h[4] != REC_VERSION) || h[5] != 0 || h[6] != HDR_SIZE)
        return SL_VERSION;
    size_t want = h[4] == 1 ? PNL__BODY_V1_SIZE : body_size();
    uint32_t len = get_le32(h + 12);
    if (len < want)
        return SL_TRUNCATED;
    if (len != want)
        return SL_CORRUPT;
    if (st->slot_size < HDR_SIZE + len)
        return SL_TRUNCATED;
    uint32_t crc = 0;
    uint8_t buf[32];
    for (size_t off = 0; off < len; off += sizeof buf) {
        size_t n = len - off < sizeof buf ? len - off : sizeof buf;
        e = st->read(st, slot, HDR_SIZE + off, buf, n);
        if (e == PNL_E_TRUNCATED)
            return SL_TRUNCATED;
        if (e < 0)
            return SL_IOERR;
        crc = pnl_crc32(crc, buf, n);
    }
    if (crc != get_le32(h + 16))
        return SL_CORRUPT;
    *seq = get_le32(h + 8);
    *ver = h[4];
    return SL_VALID;
}

int pnl_load(struct pnl *p, uint64_t now_ms)
{
    struct pnl_storage *st = p->ports.storage;
    if (st == NULL)
        return PNL_E_INVAL;
    uint32_t seq[2] = { 0, 0 };
    unsigned ver[2] = { 0, 0 };
    enum slot_state s[2] = { check_slot(st, 0, &seq[0], &ver[0]),
                             check_slot(st, 1, &seq[1], &ver[1]) };
    int pick = -1;
    for (int i = 0; i < 2; i++)
        if (s[i] == SL_VALID && (pick < 0 || (int32_t)(seq[i] - seq[pick]) > 0))
            pick = i;
    if (pick < 0) {
        if (s[0] == SL_BLANK && s[1] == SL_BLANK)
            return PNL_E_EMPTY;
        for (int i = 0; i < 2; i++)
            if (s[i] == SL_VERSION)
                return PNL_E_VERSION;
        for (int i = 0; i < 2; i++)
            if (s[i] == SL_TRUNCATED)
                return PNL_E_TRUNCATED;
        for (int i = 0; i < 2; i++)
            if (s[i] == SL_IOERR)
                return PNL_E_STORAGE;
        return PNL_E_CORRUPT;
    }
    int e = probe_key(p, false);
    if (e < 0)
        return e;
    uint8_t blk[16];
    bool v1 = ver[pick] == 1;
    /* The first encrypted block (zero IV) ends in "VKEY" under the right key. */
    e = st->read(st, (unsigned)pick, v1 ? USERS_OFF : HDR_SIZE, blk, sizeof blk);
    if (e < 0)
        return e == PNL_E_TRUNCATED ? e : PNL_E_STORAGE;
    e = p->ports.key->decrypt_block(p->ports.key, blk);   /* first block: zero IV */
    if (e < 0)
        return e == PNL_E_NOKEY ? e : PNL_E_CRYPTO;
    for (int i = 0; i < 4; i++)
        if (blk[12 + i] != key_check[i])
            return PNL_E_KEY_MISMATCH;

    /* Checked: now parse into p. The header read is not repeated. */
    uint8_t nonce[16] = { 0 };
    struct rio r = { .mode = RIO_READ, .st = st, .key = p->ports.key,
                     .slot = (unsigned)pick, .off = HDR_SIZE,
                     .end = HDR_SIZE + (v1 ? PNL__BODY_V1_SIZE : PNL__BODY_SIZE) };
    walk_body(&r, p, nonce, v1 ? 1u : REC_VERSION);
    if (r.err) {
        /* The slot changed under us between the check and the parse, or
         * (v2) the padding decrypted to something this core never writes. */
        struct pnl_ports ports = p->ports;
        pnl_init(p, &ports);
        return r.err;
    }
    if (pnl__check_loaded(p) < 0) {
        /* A record that passed its checksums but holds impossible values:
         * written by something else. Refused; p starts afresh. */
        struct pnl_ports ports = p->ports;
        pnl_init(p, &ports);
        return PNL_E_CORRUPT;
    }
    pnl__after_load(p, now_ms);
    p->save_slot = (uint8_t)pick;
    p->save_seq = seq[pick];
    p->has_record = 1;
    p->dirty = 0;
    int other = pick ^ 1;
    return s[other] == SL_VALID || s[other] == SL_BLANK ? PNL_OK : PNL_LOAD_RECOVERED;
}
