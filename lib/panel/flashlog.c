/*
 * flashlog.c — wear levelling below the storage port: a struct pnl_storage
 * over a raw NOR flash (struct pnl_nor) that keeps a log of records across
 * all its sectors instead of rewriting two fixed slots.
 *
 * The flash is cut into positions of slot_size bytes, `per` to a sector (a
 * record never spans sectors). The core still sees two slots; each slot is
 * mapped to a position: after pnl_flashlog_mount() slot 0 reads the newest
 * valid record and slot 1 the one before it. The core saves into the slot
 * not holding its newest record, body first (ascending offsets) and header
 * last at offset 0; the first write of a save opens the next free position
 * for that slot, erasing its sector first when the position is a sector's
 * first. Positions are used in order round the whole flash, so every sector
 * is erased once per lap: erase counts never differ by more than one.
 *
 * Power cut: a torn program or erase only ever hits a position that holds
 * neither the newest record (its sector is never the one erased) nor a
 * record the core relies on; the header, programmed last, carries CRCs over
 * itself and the body, so mount takes the newest record whose CRCs hold.
 * Valid and newest are read from the record header (store.c): u16 header
 * size at 6, u32 sequence at 8, u32 body size at 12, CRC-32 of the body at
 * 16, CRC-32 of bytes 0..27 at 28. No malloc, no globals; state is the
 * struct (about 40 bytes).
 */
#include "vigil/panel.h"

#define NONE 0xFFFFu

static uint32_t le32(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static uint32_t addr_of(const struct pnl_flashlog *l, unsigned pos)
{
    return (uint32_t)(pos / l->per) * l->nor->sector_size +
           (uint32_t)(pos % l->per) * (uint32_t)l->base.slot_size;
}

/* 2: a valid record (*seq set), 1: blank (all 0xFF), 0: neither, <0: I/O. */
static int scan_pos(struct pnl_flashlog *l, unsigned pos, uint32_t *seq)
{
    uint8_t buf[32];
    uint32_t a = addr_of(l, pos), crc = 0, want = 0, len = 0;
    size_t size = l->base.slot_size;
    bool blank = true, hdr = false;
    for (size_t off = 0; off < size; off += sizeof buf) {
        size_t n = size - off < sizeof buf ? size - off : sizeof buf;
        if (l->nor->read(l->nor, a + (uint32_t)off, buf, n) < 0)
            return PNL_E_STORAGE;
        for (size_t i = 0; i < n; i++)
            blank = blank && buf[i] == 0xFF;
        if (off == 0) {                 /* the header: slot_size >= 32 */
            len = le32(buf + 12);
            want = le32(buf + 16);
            *seq = le32(buf + 8);
            hdr = le32(buf + 28) == pnl_crc32(0, buf, 28) && buf[6] == 32 && buf[7] == 0 &&
                  len <= size - 32;
        } else if (hdr && off - 32 < len) {
            size_t m = len - (off - 32);
            crc = pnl_crc32(crc, buf, m < n ? m : n);
        }
    }
    return hdr && crc == want ? 2 : blank;
}

static int fl_read(struct pnl_storage *s, unsigned slot, size_t off, uint8_t *buf, size_t len)
{
    struct pnl_flashlog *l = (struct pnl_flashlog *)(void *)s;
    if (slot > 1 || off > s->slot_size)
        return PNL_E_STORAGE;
    size_t n = len <= s->slot_size - off ? len : s->slot_size - off;
    if (l->pos[slot] == NONE) {
        for (size_t i = 0; i < n; i++)
            buf[i] = 0xFF;              /* nothing stored for this slot: erased flash */
    } else if (l->nor->read(l->nor, addr_of(l, l->pos[slot]) + (uint32_t)off, buf, n) < 0) {
        return PNL_E_STORAGE;
    }
    return n == len ? PNL_OK : PNL_E_TRUNCATED;
}

/* The next free position for `slot`; never erases the sector of the other
 * slot's record (the newest one). */
static int open_pos(struct pnl_flashlog *l, unsigned slot)
{
    unsigned keep = l->pos[slot ^ 1u];
    unsigned sectors = l->nor->sectors;
    for (unsigned tries = 0; tries <= sectors; tries++) {
        unsigned p = l->next;
        if (p % l->per == 0) {
            unsigned sec = p / l->per;
            if (keep != NONE && keep / l->per == sec) {
                l->next = (uint16_t)(((sec + 1u) % sectors) * l->per);
                continue;
            }
            l->pos[slot] = NONE;        /* what it read may be erased now */
            if (l->nor->erase(l->nor, (uint16_t)sec) < 0)
                return PNL_E_STORAGE;
        }
        l->pos[slot] = (uint16_t)p;
        l->open[slot] = 1;
        l->hi[slot] = 0;
        l->next = (uint16_t)((p + 1u) % l->npos);
        return PNL_OK;
    }
    return PNL_E_STORAGE;
}

static int fl_write(struct pnl_storage *s, unsigned slot, size_t off, const uint8_t *buf, size_t len)
{
    struct pnl_flashlog *l = (struct pnl_flashlog *)(void *)s;
    if (slot > 1 || off > s->slot_size || len > s->slot_size - off)
        return PNL_E_STORAGE;
    bool closing = l->open[slot] && off == 0 && l->hi[slot] > 0;
    if (!closing && (!l->open[slot] || off < l->hi[slot])) {
        /* a new save (or one started again after a failure): a fresh position */
        int e = open_pos(l, slot);
        if (e < 0)
            return e;
    }
    if (closing)
        l->open[slot] = 0;              /* the header: this save is complete */
    else
        l->hi[slot] = (uint16_t)(off + len);
    if (l->nor->program(l->nor, addr_of(l, l->pos[slot]) + (uint32_t)off, buf, len) < 0)
        return PNL_E_STORAGE;
    return PNL_OK;
}

int pnl_flashlog_mount(struct pnl_flashlog *l, struct pnl_nor *nor, size_t record_size)
{
    if (record_size < 32 || nor == NULL || nor->sector_size < record_size ||
        record_size > 0xFFFFu)
        return PNL_E_INVAL;
    uint32_t per = nor->sector_size / (uint32_t)record_size;
    uint32_t npos = per * nor->sectors;
    /* two sectors at least (one is erased while the other keeps the newest
     * record), three positions at least (newest, previous, the one written) */
    if (nor->sectors < 2 || npos < 3 || npos >= NONE || per > 0xFFFFu)
        return PNL_E_NOSPACE;
    *l = (struct pnl_flashlog){ .base = { .slot_size = record_size, .read = fl_read,
                                          .write = fl_write },
                                .nor = nor, .per = (uint16_t)per, .npos = (uint16_t)npos,
                                .pos = { NONE, NONE } };
    uint32_t seq[2] = { 0, 0 };
    for (unsigned p = 0; p < npos; p++) {
        uint32_t sq = 0;
        int k = scan_pos(l, p, &sq);
        if (k < 0)
            return PNL_E_STORAGE;
        if (k != 2)
            continue;
        if (l->pos[0] == NONE || (int32_t)(sq - seq[0]) > 0) {
            l->pos[1] = l->pos[0];
            seq[1] = seq[0];
            l->pos[0] = (uint16_t)p;
            seq[0] = sq;
        } else if (l->pos[1] == NONE || (int32_t)(sq - seq[1]) > 0) {
            l->pos[1] = (uint16_t)p;
            seq[1] = sq;
        }
    }
    /* The next save goes after the newest record, to a blank position; a
     * torn one left there is skipped (its sector is erased when reached). */
    unsigned p = l->pos[0] == NONE ? 0u : (l->pos[0] + 1u) % npos;
    while (p % per != 0) {
        uint32_t sq;
        int k = scan_pos(l, p, &sq);
        if (k < 0)
            return PNL_E_STORAGE;
        if (k == 1)
            break;                      /* blank */
        p = (p + 1u) % npos;
    }
    l->next = (uint16_t)p;
    return PNL_OK;
}
