/*
 * comm.c — the panel's communicator (vigil/comm.h): drains the core's
 * outbound queue as DC-09 ADM-CID frames, matches ACK/NAK/DUH, retries with
 * backoff and jitter, persists sequence numbers, supervises with NULL polls,
 * and switches between a primary and a backup path.
 *
 * It must never: allocate, read a clock, print; count a reply that is not
 * from a path the frame went to or that dc09_reply_check refuses (another
 * sequence or account, R or L not echoed, a clear ACK to an encrypted frame,
 * a time outside the station's window or before the first send); reuse a
 * sequence still unacknowledged across a restart; give up on (or drop) a
 * priority-1 event; make a priority-1 event wait for routine traffic or for
 * path_fail_max timeouts on a dead path; write storage because of a duress
 * (or its ACK) that the normal code's entry would not write too.
 *
 * Sequence numbers are a function of the core's event id, which the core
 * persists with the event before the communicator can see it: an event resent
 * after a power cut carries the same sequence and payload (the station stores
 * it once), new events get new ids, and neither a send nor an ACK needs a
 * write of its own (the core, too, saves an ACK's removal only with its next
 * save). Core events use 1..8999, the communicator's own trouble events
 * 9000..9999.
 *
 * Stored record (little endian, written body first, header last, so a torn
 * save fails its checksum and the other slot — the previous state — is used);
 * written only when a trouble event is raised or delivered:
 *   header: 0 "VCOM"  4 u16 version  6 u16 body size  8 u32 save sequence
 *           12 u32 CRC-32 of body  16 u32 CRC-32 of bytes 0..15
 *   body:   u32 next_trouble,
 *           COMM_TROUBLE_MAX x (u32 id, u8 qualifier, u16 event, u8 partition, u16 zone,
 *                               2 chars SIA code (0 0: ADM-CID), COMM_TEXT_MAX chars text)
 */
#include <string.h>

#include "vigil/comm.h"

#define HDR_SIZE 20u
#define TR_SIZE (10u + 2u + COMM_TEXT_MAX)
#define BODY_SIZE (4u + COMM_TROUBLE_MAX * TR_SIZE)
#define REC_VERSION 3u
#define SEQ_CORE_MAX 8999u      /* core events: 1..8999 */
#define SEQ_TROUBLE_BASE 9000u  /* trouble events: 9000..9999 */
#define NAK_RESENDS_MAX 3u
_Static_assert(HDR_SIZE + BODY_SIZE <= 512u, "comm record stays small");

static const uint8_t magic[4] = { 'V', 'C', 'O', 'M' };

const char *comm_strerror(int err)
{
    switch (err) {
    case COMM_OK: return "ok";
    case COMM_E_INVAL: return "invalid argument or configuration";
    case COMM_E_STORAGE: return "storage failed";
    case COMM_E_EMPTY: return "no stored communicator record";
    case COMM_E_CORRUPT: return "communicator record corrupt (checksum)";
    case COMM_E_VERSION: return "communicator record of an unknown version";
    case COMM_E_TRUNCATED: return "communicator record truncated";
    case COMM_E_NOSPACE: return "storage slot too small for the communicator record";
    case COMM_E_ENCODE: return "DC-09 encoder refused the frame";
    case COMM_E_FULL: return "own reports waiting for the station's ACK: table full, try again after an ACK";
    default: return "unknown error";
    }
}

/* ---- configuration --------------------------------------------------- */

void comm_config_defaults(struct comm_config *c)
{
    memset(c, 0, sizeof *c);
    c->line[0] = '0';
    c->paths = 1;
    c->ack_timeout_ms = 3000;
    c->backoff_max_ms = 60000;
    c->urgent_backoff_max_ms = 6000;
    c->path_fail_max = 3;
    c->supervision_s = 0;
    c->probe_s = 60;
    c->clock_max_s = 3600;
    c->ack_tolerance_s = 25;
}

static bool is_hex(char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'F') || (ch >= 'a' && ch <= 'f');
}

static bool hex_field(const char *s, size_t min, size_t max)
{
    size_t n = 0;
    while (n <= max && s[n] != '\0') {
        if (!is_hex(s[n]))
            return false;
        n++;
    }
    return n >= min && n <= max;
}

int comm_config_validate(const struct comm_config *c)
{
    if (c == NULL || !hex_field(c->account, 3, DC09_ACCOUNT_MAX) ||
        !hex_field(c->receiver, 0, DC09_RECEIVER_MAX) || !hex_field(c->line, 1, DC09_LINE_MAX) ||
        c->paths < 1 || c->paths > COMM_PATHS || c->ack_timeout_ms < 10 ||
        c->backoff_max_ms < c->ack_timeout_ms || c->urgent_backoff_max_ms < c->ack_timeout_ms ||
        c->path_fail_max < 1 || c->probe_s < 1 || c->clock_max_s > 86400u ||
        c->supervision_s > 90000u)
        return COMM_E_INVAL;
    return COMM_OK;
}

/* ---- small helpers --------------------------------------------------- */

/* The NULL poll interval in ms: a 32-bit multiply (no libgcc 64-bit one),
 * exact as comm_config_validate keeps supervision_s <= 90,000. */
static uint64_t poll_gap_ms(const struct comm_config *cfg)
{
    return cfg->supervision_s * 1000u;
}

static void note(struct comm *c, struct comm_note *n)
{
    if (c->ports.notes != NULL)
        c->ports.notes->note(c->ports.notes, n);
}

/* A note that names only its path. */
static void note_path(struct comm *c, uint8_t kind, unsigned path)
{
    struct comm_note n = { .kind = kind, .path = (uint8_t)path };
    note(c, &n);
}

static void note_flight(struct comm *c, uint8_t kind, const struct comm__flight *f)
{
    struct comm_note n = { .kind = kind, .path = f->path, .seq = f->seq, .event_id = f->id,
                           .attempt = f->attempt, .cid = f->cid,
                           .encrypted = c->ports.cipher != NULL };
    note(c, &n);
}

static int64_t wall_ms(const struct comm *c, uint64_t now_ms)
{
    return (int64_t)now_ms + c->wall_offset_ms;
}

/* u / 1000 in 32-bit steps: u / 8 / 125, long division of 32, 16 and 16
 * bits by 125 (every remainder < 125, so each step fits 32 bits). The same
 * result as the 64-bit division without libgcc's 64-bit divide (~1 KB of a
 * Cortex-M0's flash). */
static uint64_t div1000(uint64_t u)
{
    uint64_t x = u >> 3;
    uint32_t hi = (uint32_t)(x >> 32), lo = (uint32_t)x;
    uint32_t qh = hi / 125u, m = (hi % 125u) << 16 | lo >> 16;
    uint32_t q1 = m / 125u;
    m = (m % 125u) << 16 | (lo & 0xFFFFu);
    return (uint64_t)qh << 32 | (q1 << 16 | m / 125u);
}

/* ms / 1000 rounded toward zero, as C's int64_t division */
static int64_t ms_to_s(int64_t ms)
{
    return ms >= 0 ? (int64_t)div1000((uint64_t)ms) : -(int64_t)div1000(0u - (uint64_t)ms);
}

int64_t comm_wall_s(const struct comm *c, uint64_t now_ms)
{
    int64_t w = wall_ms(c, now_ms);
    /* rounded down: -((999 - w) / 1000) for w < 0 */
    return w >= 0 ? (int64_t)div1000((uint64_t)w) : -(int64_t)div1000(999u - (uint64_t)w);
}

void comm_set_wall(struct comm *c, uint64_t now_ms, int64_t unix_ms)
{
    c->wall_offset_ms = unix_ms - (int64_t)now_ms;
    c->wall_set_offset_ms = c->wall_offset_ms;
}


static void put16(uint8_t *b, uint16_t v) { b[0] = (uint8_t)v; b[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *b, uint32_t v)
{
    put16(b, (uint16_t)v);
    put16(b + 2, (uint16_t)(v >> 16));
}
static uint16_t get16(const uint8_t *b) { return (uint16_t)(b[0] | b[1] << 8); }
static uint32_t get32(const uint8_t *b) { return (uint32_t)get16(b) | (uint32_t)get16(b + 2) << 16; }

/* ---- the stored record ------------------------------------------------ */

size_t comm_record_size(void) { return HDR_SIZE + BODY_SIZE; }

static void body_write(const struct comm *c, uint8_t *b)
{
    put32(b, c->next_trouble);
    uint8_t *q = b + 4;
    for (unsigned i = 0; i < COMM_TROUBLE_MAX; i++, q += TR_SIZE) {
        const struct comm__trouble *t = &c->tr[i];
        put32(q, t->id);
        q[4] = t->cid.qualifier;
        put16(q + 5, t->cid.event);
        q[7] = t->cid.partition;
        put16(q + 8, t->cid.zone);
        memcpy(q + 10, t->sia, 2);
        memcpy(q + 12, t->text, COMM_TEXT_MAX);
    }
}

static int comm_save(struct comm *c)
{
    struct pnl_storage *st = c->ports.storage;
    if (st->slot_size < comm_record_size())
        return COMM_E_NOSPACE;
    uint8_t body[BODY_SIZE], h[HDR_SIZE];
    body_write(c, body);
    unsigned slot = c->has_record ? (unsigned)(c->save_slot ^ 1u) : 0u;
    uint32_t seq = c->save_seq + 1u;
    memset(h, 0, sizeof h);
    memcpy(h, magic, 4);
    put16(h + 4, REC_VERSION);
    put16(h + 6, BODY_SIZE);
    put32(h + 8, seq);
    put32(h + 12, pnl_crc32(0, body, sizeof body));
    put32(h + 16, pnl_crc32(0, h, 16));
    if (st->write(st, slot, HDR_SIZE, body, sizeof body) < 0 ||
        st->write(st, slot, 0, h, sizeof h) < 0)
        return COMM_E_STORAGE;
    c->save_slot = (uint8_t)slot;
    c->save_seq = seq;
    c->has_record = 1;
    c->dirty = 0;
    return COMM_OK;
}

/* One stored report as this file writes it (comm_report_sia, trouble_add):
 * an id with COMM_TROUBLE_ID, unique; an ADM-CID event the encoder takes, or a
 * SIA code of two capitals with zone <= 999 and printable text without
 * ^ [ ] |, NUL-padded. A CRC-valid record holding anything else was not
 * written by this core: sent, it would be refused by the encoder for ever and
 * hold every routine event behind it (fuzz/crashes/comm_load/). */
static bool trouble_ok(const uint8_t *q, const uint32_t *ids, unsigned i)
{
    uint32_t id = ids[i];
    if (id == 0)
        return true;                    /* a free entry */
    if ((id & COMM_TROUBLE_ID) == 0 || (id & 0x7FFFFFFFu) == 0)
        return false;
    for (unsigned k = 0; k < i; k++)
        if (ids[k] == id)
            return false;
    const uint8_t *sia = q + 10, *text = q + 12;
    if (sia[0] == 0 && sia[1] == 0) {
        struct dc09_cid cid = { .qualifier = q[4], .event = get16(q + 5), .partition = q[7],
                                .zone = get16(q + 8) };
        char out[12];
        for (unsigned k = 0; k < COMM_TEXT_MAX; k++)
            if (text[k] != 0)
                return false;
        return dc09_cid_format(&cid, out, sizeof out) == 0;
    }
    if (sia[0] < 'A' || sia[0] > 'Z' || sia[1] < 'A' || sia[1] > 'Z' || get16(q + 8) > 999)
        return false;
    unsigned n = 0;
    while (n < COMM_TEXT_MAX && text[n] != 0) {
        uint8_t ch = text[n++];
        if (ch < 0x20 || ch > 0x7E || ch == '^' || ch == '[' || ch == ']' || ch == '|')
            return false;
    }
    for (; n < COMM_TEXT_MAX; n++)
        if (text[n] != 0)
            return false;
    return true;
}

/* Reads and checks one slot, the body in TR_SIZE pieces (no body-sized
 * buffer on the stack): 0 and *seq, or a negative comm_err. */
static int slot_check(struct pnl_storage *st, unsigned slot, uint32_t *seq)
{
    uint8_t h[HDR_SIZE], piece[TR_SIZE];
    int e = st->read(st, slot, 0, h, sizeof h);
    if (e == PNL_E_TRUNCATED)
        return COMM_E_TRUNCATED;
    if (e < 0)
        return COMM_E_STORAGE;
    bool blank = true;
    for (unsigned i = 0; i < HDR_SIZE; i++)
        if (h[i] != 0 && h[i] != 0xFF)
            blank = false;
    if (blank)
        return COMM_E_EMPTY;
    if (get32(h) != get32(magic) || get32(h + 16) != pnl_crc32(0, h, 16))
        return COMM_E_CORRUPT;
    if (get16(h + 4) != REC_VERSION || get16(h + 6) != BODY_SIZE)
        return COMM_E_VERSION;
    uint32_t crc = 0;
    for (size_t off = 0; off < BODY_SIZE; off += TR_SIZE) {
        size_t n = BODY_SIZE - off < TR_SIZE ? BODY_SIZE - off : TR_SIZE;
        e = st->read(st, slot, HDR_SIZE + off, piece, n);
        if (e == PNL_E_TRUNCATED)
            return COMM_E_TRUNCATED;
        if (e < 0)
            return COMM_E_STORAGE;
        crc = pnl_crc32(crc, piece, n);
    }
    if (get32(h + 12) != crc)
        return COMM_E_CORRUPT;
    *seq = get32(h + 8);
    return COMM_OK;
}

/* Reads report i of a checked slot into q (TR_SIZE bytes). */
static int tr_read(struct pnl_storage *st, unsigned slot, unsigned i, uint8_t *q)
{
    return st->read(st, slot, HDR_SIZE + 4u + i * TR_SIZE, q, TR_SIZE) < 0 ? COMM_E_STORAGE
                                                                           : COMM_OK;
}

int comm_load(struct comm *c)
{
    struct pnl_storage *st = c->ports.storage;
    if (st->slot_size < comm_record_size())
        return COMM_E_NOSPACE;
    uint32_t seq[2] = { 0, 0 };
    int r[2];
    for (unsigned s = 0; s < 2; s++)
        r[s] = slot_check(st, s, &seq[s]);
    int pick = -1;
    for (int s = 0; s < 2; s++)
        if (r[s] == COMM_OK && (pick < 0 || (int32_t)(seq[s] - seq[pick]) > 0))
            pick = s;
    if (pick < 0) {
        if (r[0] == COMM_E_EMPTY && r[1] == COMM_E_EMPTY)
            return COMM_E_EMPTY;
        return r[0] != COMM_E_EMPTY ? r[0] : r[1];
    }
    unsigned slot = (unsigned)pick;
    uint8_t q[TR_SIZE];
    uint32_t ids[COMM_TROUBLE_MAX];
    if (st->read(st, slot, HDR_SIZE, q, 4) < 0)
        return COMM_E_STORAGE;
    uint32_t next = get32(q);
    if (next == 0 || next > 0x7FFFFFFFu)
        return COMM_E_CORRUPT;
    for (unsigned i = 0; i < COMM_TROUBLE_MAX; i++) {
        if (tr_read(st, slot, i, q) < 0)
            return COMM_E_STORAGE;
        ids[i] = get32(q);
        if (!trouble_ok(q, ids, i))
            return COMM_E_CORRUPT;
    }
    /* Checked: now apply — every piece read once more first, so that a read
     * failing now still leaves *c unchanged. */
    for (unsigned i = 0; i < COMM_TROUBLE_MAX; i++)
        if (tr_read(st, slot, i, q) < 0)
            return COMM_E_STORAGE;
    c->next_trouble = next;
    for (unsigned i = 0; i < COMM_TROUBLE_MAX; i++) {
        (void)tr_read(st, slot, i, q);
        struct comm__trouble *t = &c->tr[i];
        t->id = get32(q);
        t->cid = (struct dc09_cid){ .qualifier = q[4], .event = get16(q + 5),
                                    .partition = q[7], .zone = get16(q + 8) };
        memcpy(t->sia, q + 10, 2);
        t->sia[2] = '\0';
        memcpy(t->text, q + 12, COMM_TEXT_MAX);
        t->text[COMM_TEXT_MAX] = '\0';
    }
    c->save_slot = (uint8_t)pick;
    c->save_seq = seq[pick];
    c->has_record = 1;
    c->dirty = 0;
    return COMM_OK;
}

/* ---- setup ----------------------------------------------------------- */

static void on_frame(void *ctx, const uint8_t *frame, size_t len, int err);

int comm_init(struct comm *c, const struct comm_ports *ports, const struct comm_config *cfg,
              uint64_t now_ms)
{
    if (c == NULL || ports == NULL || ports->panel == NULL || ports->net == NULL ||
        ports->storage == NULL || ports->rng == NULL || comm_config_validate(cfg) < 0)
        return COMM_E_INVAL;
    memset(c, 0, sizeof *c);
    c->ports = *ports;
    c->cfg = *cfg;
    c->next_trouble = 1;
    c->now_ms = now_ms;
    c->next_poll_ms = now_ms + poll_gap_ms(cfg);
    for (unsigned p = 0; p < COMM_PATHS; p++)
        dc09_reader_init(&c->rd[p], c->rdbuf[p], COMM_RX_BUF, cfg->reply_quirks);
    return COMM_OK;
}

unsigned comm_active_path(const struct comm *c) { return c->active; }

unsigned comm_inflight(const struct comm *c)
{
    unsigned n = 0;
    for (unsigned i = 0; i < COMM_INFLIGHT_MAX; i++)
        n += c->fl[i].id != 0;
    return n;
}

unsigned comm_trouble_count(const struct comm *c)
{
    unsigned n = 0;
    for (unsigned i = 0; i < COMM_TROUBLE_MAX; i++)
        n += c->tr[i].id != 0;
    return n;
}

/* ---- trouble events (the communicator's own, CID 350) ----------------- */

static struct comm__trouble *trouble_find(struct comm *c, uint32_t id)
{
    for (unsigned i = 0; i < COMM_TROUBLE_MAX; i++)
        if (c->tr[i].id != 0 && c->tr[i].id == id)
            return &c->tr[i];
    return NULL;
}

static void flush(struct comm *c);

static struct comm__trouble *own_add(struct comm *c)
{
    for (unsigned i = 0; i < COMM_TROUBLE_MAX; i++) {
        if (c->tr[i].id != 0)
            continue;
        c->tr[i] = (struct comm__trouble){ .id = COMM_TROUBLE_ID |
                                                 (c->next_trouble & 0x7FFFFFFFu) };
        c->next_trouble = (c->next_trouble + 1u) & 0x7FFFFFFFu;
        if (c->next_trouble == 0)
            c->next_trouble = 1;
        c->dirty = 1;
        return &c->tr[i];
    }
    /* Full: the oldest reports are still waiting; this one is lost, which is
     * acceptable for trouble and programming reports, never for an alarm. */
    return NULL;
}

static void trouble_add(struct comm *c, uint8_t qualifier, unsigned path)
{
    struct comm__trouble *t = own_add(c);
    if (t != NULL)
        t->cid = (struct dc09_cid){ .qualifier = qualifier, .event = 350, .partition = 0,
                                    .zone = (uint16_t)(path + 1u) };
}

int comm_report_sia(struct comm *c, const char *code, uint8_t area, uint16_t zone,
                    const char *text)
{
    if (code == NULL || code[0] < 'A' || code[0] > 'Z' || code[1] < 'A' || code[1] > 'Z' ||
        code[2] != '\0' || text == NULL || zone > 999)
        return COMM_E_INVAL;
    size_t n = 0;
    for (; text[n] != '\0'; n++)
        if (text[n] < 0x20 || text[n] > 0x7E || text[n] == '^' || text[n] == '[' ||
            text[n] == ']' || text[n] == '|')
            return COMM_E_INVAL;
    /* The last COMM_TROUBLE_RESERVE entries stay for path trouble (a failure
     * and its restore), which has no caller to keep it and try again. This
     * was COMM_E_NOSPACE ("storage slot too small"), which sent people
     * looking at the storage. */
    if (comm_trouble_count(c) + COMM_TROUBLE_RESERVE >= COMM_TROUBLE_MAX)
        return COMM_E_FULL;
    struct comm__trouble *t = own_add(c);
    if (t == NULL)
        return COMM_E_FULL;
    t->cid = (struct dc09_cid){ .qualifier = 1, .event = 0, .partition = area, .zone = zone };
    t->sia[0] = code[0];
    t->sia[1] = code[1];
    for (size_t i = 0; i < n && i < COMM_TEXT_MAX; i++)
        t->text[i] = text[i];
    flush(c);
    return COMM_OK;
}

/* ---- paths ----------------------------------------------------------- */

static void flush(struct comm *c)
{
    if (!c->dirty)
        return;
    int e = comm_save(c);
    if (e < 0) {
        struct comm_note n = { .kind = COMM_N_STORAGE, .err = e };
        note(c, &n);
    }
}

static void path_ok(struct comm *c, unsigned path)
{
    c->fails[path] = 0;
    if (c->down[path]) {
        c->down[path] = 0;
        note_path(c, COMM_N_PATH_RESTORE, path);
        trouble_add(c, 3, path);
    }
    if (path == 0 && c->active != 0) {
        c->active = 0;                  /* back to the primary */
        c->next_poll_ms = c->now_ms + poll_gap_ms(&c->cfg);
    }
}

static void primary_failed(struct comm *c)
{
    c->prim_failed = 1;
    c->prim_fail_ms = c->now_ms;
}

/* True while a priority-1 event goes on both paths at once. */
static bool both_paths(const struct comm *c)
{
    return c->cfg.paths == 2 && c->prim_failed && c->now_ms - c->prim_fail_ms < COMM_BOTH_PATHS_MS;
}

/* A timeout (or lost connection) on `path`. */
static void path_failed_once(struct comm *c, unsigned path)
{
    if (c->fails[path] < 255)
        c->fails[path]++;
    if (c->fails[path] < c->cfg.path_fail_max)
        return;
    if (path == 0)
        primary_failed(c);
    if (!c->down[path]) {
        c->down[path] = 1;
        note_path(c, COMM_N_PATH_FAIL, path);
        trouble_add(c, 1, path);
    }
    if (c->cfg.paths == 2 && c->active == path) {
        c->active = (uint8_t)(path ^ 1u);
        c->fails[c->active] = 0;
        c->fails[path] = 0;             /* probed again from the other side */
        c->next_probe_ms = c->now_ms + (uint64_t)c->cfg.probe_s * 1000u;
        c->next_poll_ms = c->now_ms + poll_gap_ms(&c->cfg);
        /* Frames waiting on the failed path go again at once on the other. */
        for (unsigned i = 0; i < COMM_INFLIGHT_MAX; i++) {
            struct comm__flight *f = &c->fl[i];
            if (f->id != 0 && f->path == path && f->waiting) {
                f->waiting = 0;
                f->wait_mask = 0;
                f->due_ms = c->now_ms;
            }
        }
    }
}

/* ---- sending --------------------------------------------------------- */

static uint64_t backoff_ms(struct comm *c, unsigned attempt, bool urgent)
{
    uint64_t t = c->cfg.ack_timeout_ms;
    for (unsigned i = 1; i < attempt && i < 16; i++)
        t *= 2u;
    uint32_t cap = urgent ? c->cfg.urgent_backoff_max_ms : c->cfg.backoff_max_ms;
    uint32_t t32 = t > cap ? cap : (uint32_t)t;
    uint8_t r = 0;
    c->ports.rng->fill(c->ports.rng, &r, 1);
    /* jitter: 75%..125% so panels cut off together do not retry together;
     * with a backup, a priority-1 frame 75%..100%: it never waits longer
     * than its timeout before it goes on the other path.
     * t * 3 / 4 + t * r / den, in 32-bit steps (no 64-bit divide):
     * t = q * den + rem, so t * r / den = q * r + rem * r / den. */
    uint32_t den = urgent && c->cfg.paths == 2 ? 1020u : 510u;
    uint32_t q = t32 / den, rem = t32 % den;
    return (uint64_t)((t32 >> 2) * 3u + (t32 & 3u) * 3u / 4u) + q * r + rem * r / den;
}

static void frame_head(struct comm *c, enum dc09_id id, uint16_t seq)
{
    struct dc09_frame *f = &c->scratch;
    memset(f, 0, sizeof *f);
    f->id = id;
    f->seq = seq;
    if (c->cfg.receiver[0] != '\0') {
        f->has_receiver = true;
        memcpy(f->receiver, c->cfg.receiver, sizeof f->receiver);
    }
    memcpy(f->line, c->cfg.line, sizeof f->line);
    memcpy(f->account, c->cfg.account, sizeof f->account);
    f->has_time = true;
    f->time_s = comm_wall_s(c, c->now_ms);
}

static int encode_send(struct comm *c, unsigned path, size_t *len)
{
    int e = dc09_encode(&c->scratch, c->ports.cipher, c->ports.rng, c->out, sizeof c->out, len);
    if (e < 0)
        return COMM_E_ENCODE;
    return c->ports.net->send(c->ports.net, path, c->out, *len);
}

/* The earliest time a frame awaiting its reply on `path` times out (or a
 * poll there), 0 if none: with one-in-flight nothing else goes there until.
 * A frame whose send failed (the path could not send) is not on the wire. */
static uint64_t path_busy_until(const struct comm *c, unsigned path, const struct comm__flight *self)
{
    uint64_t t = 0;
    for (unsigned i = 0; i < COMM_INFLIGHT_MAX; i++) {
        const struct comm__flight *f = &c->fl[i];
        if (f != self && f->id != 0 && f->waiting && !f->send_failed &&
            (f->wait_mask & (1u << path)) != 0 &&
            (t == 0 || f->due_ms < t))
            t = f->due_ms;
    }
    if (c->poll[path].active && (t == 0 || c->poll[path].due_ms < t))
        t = c->poll[path].due_ms;
    return t;
}

static unsigned choose_path(const struct comm *c, const struct comm__flight *f)
{
    unsigned p = c->active;
    if (c->cfg.paths == 2 && f->urgent && f->flip)
        p = f->path ^ 1u;               /* priority 1: timed out there, the other at once */
    else if ((f->duh_mask & (1u << p)) != 0 && c->cfg.paths == 2 &&
             (f->duh_mask & (1u << (p ^ 1u))) == 0)
        p ^= 1u;                        /* refused here: try the other receiver */
    if (c->cfg.one_in_flight && c->cfg.paths == 2 && f->urgent &&
        path_busy_until(c, p, f) != 0 && path_busy_until(c, p ^ 1u, f) == 0)
        p ^= 1u;                        /* one-in-flight: a duress takes the free path */
    return p;
}

/* A core event with a text (a programming report, CID 306): its SIA code,
 * text in `text`; NULL for every other event (sent as ADM-CID). */
static const char *core_sia(struct comm *c, uint32_t id, char text[PNL_EVENT_TEXT_MAX + 1])
{
    struct pnl_event e;
    if ((id & COMM_TROUBLE_ID) != 0 || pnl_queue_get(c->ports.panel, id, &e) < 0 ||
        pnl_event_text(&e, text, PNL_EVENT_TEXT_MAX + 1) == 0)
        return NULL;
    return pnl_event_sia(&e);
}

/* one-in-flight: f may not go now (its path awaits another reply). */
static bool blocked(const struct comm *c, const struct comm__flight *f)
{
    return c->cfg.one_in_flight && path_busy_until(c, choose_path(c, f), f) != 0;
}

static void send_flight(struct comm *c, struct comm__flight *f)
{
    unsigned path = choose_path(c, f);
    const struct comm__trouble *own = (f->id & COMM_TROUBLE_ID) != 0 ? trouble_find(c, f->id)
                                                                   : NULL;
    char ctext[PNL_EVENT_TEXT_MAX + 1];
    const char *code = own != NULL && own->sia[0] != '\0' ? own->sia : core_sia(c, f->id, ctext);
    const char *text = own != NULL ? own->text : ctext;
    bool sia = code != NULL;
    frame_head(c, sia ? DC09_ID_SIA_DCS : DC09_ID_ADM_CID, f->seq);
    char payload[DC09_SIA_TEXT_MAX + 48];
    size_t len = 0;
    int e;
    if (sia) {
        struct dc09_sia m = { .has_area = true, .area = f->cid.partition, .has_zone = true,
                              .zone = f->cid.zone, .has_text = true };
        m.code[0] = code[0];
        m.code[1] = code[1];
        for (size_t i = 0; i < DC09_SIA_TEXT_MAX && text[i] != '\0'; i++)
            m.text[i] = text[i];
        e = dc09_sia_format(&m, payload, sizeof payload);
    } else {
        e = dc09_cid_format(&f->cid, payload, sizeof payload);
    }
    size_t pl = 0;
    while (e == 0 && payload[pl] != '\0')
        pl++;
    if (e == 0)
        e = dc09_build_data(&c->scratch, c->cfg.account, payload, pl);
    if (!f->sent_once) {
        f->first_wall_s = c->scratch.time_s;
        f->first_ms = c->now_ms;
        f->sent_once = 1;
    }
    f->attempt++;
    f->path = (uint8_t)path;
    f->flip = 0;
    f->waiting = 1;
    f->due_ms = c->now_ms + backoff_ms(c, f->attempt, f->urgent);
    /* A priority-1 event while the primary failed lately: the same frame
     * (same sequence, same bytes) on both paths at once. */
    bool both = f->urgent && both_paths(c) &&
                !(c->cfg.one_in_flight && path_busy_until(c, path ^ 1u, f) != 0);
    int rc = e == 0 ? encode_send(c, path, &len) : COMM_E_ENCODE;
    f->wait_mask = (uint8_t)(1u << path);
    if (rc >= 0)
        f->path_mask |= (uint8_t)(1u << path);
    struct comm_note n = { .kind = COMM_N_TX, .path = (uint8_t)path, .seq = f->seq,
                           .event_id = f->id, .attempt = f->attempt, .cid = f->cid,
                           .encrypted = c->ports.cipher != NULL, .err = rc < 0 ? rc : 0,
                           .frame = c->out, .frame_len = len,
                           .sia = code, .text = sia ? text : NULL };
    note(c, &n);
    bool sent = rc >= 0;
    if (both && e == 0) {
        unsigned other = path ^ 1u;
        int rc2 = c->ports.net->send(c->ports.net, other, c->out, len);
        f->wait_mask |= (uint8_t)(1u << other);
        if (rc2 >= 0)
            f->path_mask |= (uint8_t)(1u << other);
        sent |= rc2 >= 0;
        n.path = (uint8_t)other;
        n.err = rc2 < 0 ? rc2 : 0;
        note(c, &n);
    }
    f->send_failed = !sent;
    if (path == c->active || both)
        c->next_poll_ms = c->now_ms + poll_gap_ms(&c->cfg);
}

static void send_poll(struct comm *c, unsigned path)
{
    frame_head(c, DC09_ID_NULL, 0);
    c->scratch.data_len = 0;
    c->scratch.data[0] = '\0';
    size_t len = 0;
    int rc = encode_send(c, path, &len);
    c->poll[path] = (struct comm__poll){ .active = 1, .sent_wall_s = c->scratch.time_s,
                                         .due_ms = c->now_ms + c->cfg.ack_timeout_ms };
    struct comm_note n = { .kind = COMM_N_TX, .path = (uint8_t)path, .seq = 0,
                           .encrypted = c->ports.cipher != NULL, .err = rc < 0 ? rc : 0,
                           .frame = c->out, .frame_len = len };
    note(c, &n);
    if (path == c->active)
        c->next_poll_ms = c->now_ms + poll_gap_ms(&c->cfg);
}

/* ---- the drain: which events get a frame ------------------------------ */

static struct comm__flight *flight_by_id(struct comm *c, uint32_t id)
{
    for (unsigned i = 0; i < COMM_INFLIGHT_MAX; i++)
        if (c->fl[i].id != 0 && c->fl[i].id == id)
            return &c->fl[i];
    return NULL;
}

static struct comm__flight *flight_free(struct comm *c)
{
    for (unsigned i = 0; i < COMM_INFLIGHT_MAX; i++)
        if (c->fl[i].id == 0)
            return &c->fl[i];
    return NULL;
}

/* The sequence of an event: a function of its id (see the top of the file). */
static uint16_t seq_for(uint32_t id)
{
    if ((id & COMM_TROUBLE_ID) != 0)
        return (uint16_t)(SEQ_TROUBLE_BASE + (id & 0x7FFFFFFFu) % 1000u);
    return (uint16_t)((id - 1u) % SEQ_CORE_MAX + 1u);
}

/* True if another frame in flight holds this sequence (ids 8999 apart). */
static bool seq_busy(const struct comm *c, uint16_t seq)
{
    for (unsigned i = 0; i < COMM_INFLIGHT_MAX; i++)
        if (c->fl[i].id != 0 && c->fl[i].seq == seq)
            return true;
    return false;
}

static void assign(struct comm *c, struct comm__flight *f, uint32_t id, struct dc09_cid cid,
                   bool urgent)
{
    *f = (struct comm__flight){ .id = id, .seq = seq_for(id), .urgent = urgent ? 1 : 0,
                                .known = 1, .cid = cid, .due_ms = c->now_ms };
}

static struct dc09_cid event_cid(const struct pnl_event *e)
{
    return (struct dc09_cid){ .qualifier = e->qualifier, .event = e->cid,
                              .partition = e->part, .zone = e->zone };
}

/* Frees flights whose event left the queues (evicted, or ACKed elsewhere). */
static void refresh_flights(struct comm *c)
{
    struct pnl *p = c->ports.panel;
    for (unsigned i = 0; i < COMM_INFLIGHT_MAX; i++) {
        struct comm__flight *f = &c->fl[i];
        if (f->id == 0)
            continue;
        bool gone = (f->id & COMM_TROUBLE_ID) != 0 ? trouble_find(c, f->id) == NULL
                                                     : pnl_queue_mark_sent(p, f->id) == PNL_E_NOENT;
        if (gone)
            *f = (struct comm__flight){ 0 };
    }
}

static const struct comm__trouble *oldest_trouble(const struct comm *c)
{
    const struct comm__trouble *t = NULL;
    for (unsigned i = 0; i < COMM_TROUBLE_MAX; i++)
        if (c->tr[i].id != 0 && (t == NULL || c->tr[i].id < t->id))
            t = &c->tr[i];
    return t;
}

static void drain(struct comm *c)
{
    struct pnl *p = c->ports.panel;
    refresh_flights(c);
    bool routine_busy = false;
    for (unsigned i = 0; i < COMM_INFLIGHT_MAX; i++)
        if (c->fl[i].id != 0 && !c->fl[i].urgent)
            routine_busy = true;

    unsigned n = pnl_queue_count(p);
    bool routine_seen = false;
    for (unsigned i = 0; i < n; i++) {
        struct pnl_event e;
        if (pnl_queue_at(p, i, &e) < 0)
            break;
        if (e.prio == 1) {
            if (flight_by_id(c, e.id) != NULL || seq_busy(c, seq_for(e.id)))
                continue;
            struct comm__flight *f = flight_free(c);
            if (f == NULL)
                break;
            assign(c, f, e.id, event_cid(&e), true);
            (void)pnl_queue_mark_sent(p, e.id);
            continue;
        }
        /* The first event that is not priority 1: one at a time, in order,
         * with the communicator's trouble reports (priority 5) in between. */
        routine_seen = true;
        if (!routine_busy) {
            const struct comm__trouble *t = oldest_trouble(c);
            struct comm__flight *f = flight_free(c);
            if (f != NULL) {
                if (t != NULL && e.prio > 5) {
                    if (!seq_busy(c, seq_for(t->id)))
                        assign(c, f, t->id, t->cid, false);
                } else if (!seq_busy(c, seq_for(e.id))) {
                    assign(c, f, e.id, event_cid(&e), false);
                    (void)pnl_queue_mark_sent(p, e.id);
                }
                routine_busy = true;
            }
        }
        break;
    }
    if (!routine_seen && !routine_busy) {
        const struct comm__trouble *t = oldest_trouble(c);
        struct comm__flight *f = flight_free(c);
        if (t != NULL && f != NULL && flight_by_id(c, t->id) == NULL &&
            !seq_busy(c, seq_for(t->id)))
            assign(c, f, t->id, t->cid, false);
    }
    /* Priority 1 first, whatever slot it sits in. */
    for (int pass = 1; pass >= 0; pass--) {
        for (unsigned i = 0; i < COMM_INFLIGHT_MAX; i++) {
            struct comm__flight *f = &c->fl[i];
            if (f->id != 0 && f->known && f->urgent == pass && !f->waiting &&
                f->due_ms <= c->now_ms && !blocked(c, f))
                send_flight(c, f);
        }
    }
}

/* ---- timers ---------------------------------------------------------- */

int comm_tick(struct comm *c, uint64_t now_ms)
{
    c->now_ms = now_ms;
    for (unsigned i = 0; i < COMM_INFLIGHT_MAX; i++) {
        struct comm__flight *f = &c->fl[i];
        if (f->id == 0 || !f->waiting || f->due_ms > now_ms)
            continue;
        f->waiting = 0;
        f->wait_mask = 0;
        note_flight(c, COMM_N_TIMEOUT, f);
        if (f->urgent && c->cfg.paths == 2) {
            f->flip = 1;                /* its first timeout: the other path next */
            if (f->path == 0)
                primary_failed(c);
        }
        path_failed_once(c, f->path);
    }
    for (unsigned p = 0; p < COMM_PATHS; p++) {
        if (!c->poll[p].active || c->poll[p].due_ms > now_ms)
            continue;
        c->poll[p].active = 0;
        note_path(c, COMM_N_TIMEOUT, p);
        path_failed_once(c, p);
    }
    drain(c);
    if (c->cfg.paths == 2 && c->active == 1 && now_ms >= c->next_probe_ms && !c->poll[0].active &&
        !(c->cfg.one_in_flight && path_busy_until(c, 0, NULL) != 0)) {
        send_poll(c, 0);                /* is the primary back? */
        c->next_probe_ms = now_ms + (uint64_t)c->cfg.probe_s * 1000u;
    }
    if (c->cfg.supervision_s != 0 && now_ms >= c->next_poll_ms && !c->poll[c->active].active &&
        !(c->cfg.one_in_flight && path_busy_until(c, c->active, NULL) != 0))
        send_poll(c, c->active);
    flush(c);
    return COMM_OK;
}

uint64_t comm_next_due_ms(const struct comm *c)
{
    uint64_t t = UINT64_MAX;
    for (unsigned i = 0; i < COMM_INFLIGHT_MAX; i++) {
        const struct comm__flight *f = &c->fl[i];
        if (f->id == 0)
            continue;
        uint64_t due = f->due_ms;
        if (!f->waiting && blocked(c, f)) {
            /* one-in-flight: it goes when the reply there comes (comm_receive
             * sends it) or that frame times out */
            uint64_t b = path_busy_until(c, choose_path(c, f), f);
            if (b > due)
                due = b;
        }
        if (due < t)
            t = due;
    }
    for (unsigned p = 0; p < COMM_PATHS; p++)
        if (c->poll[p].active && c->poll[p].due_ms < t)
            t = c->poll[p].due_ms;
    uint64_t b;
    if (c->cfg.supervision_s != 0) {
        b = c->cfg.one_in_flight ? path_busy_until(c, c->active, NULL) : 0;
        b = b > c->next_poll_ms ? b : c->next_poll_ms;
        if (b < t)
            t = b;
    }
    if (c->cfg.paths == 2 && c->active == 1) {
        b = c->cfg.one_in_flight ? path_busy_until(c, 0, NULL) : 0;
        b = b > c->next_probe_ms ? b : c->next_probe_ms;
        if (b < t)
            t = b;
    }
    return t;
}

/* ---- replies --------------------------------------------------------- */

/* The text of a COMM_N_IGNORED reason: for the log of whoever takes the notes;
 * the communicator itself keeps codes (no strings in the panel's flash). */
const char *comm_ignored_name(int reason)
{
    switch (reason) {
    case COMM_IGN_NO_POLL: return "ACK 0000 with no poll in flight on this path";
    case COMM_IGN_NOT_IN_FLIGHT: return "ACK for a sequence not in flight";
    case COMM_IGN_OTHER_PATH: return "ACK from a path the frame did not go to";
    case COMM_IGN_NAK_IDLE: return "NAK with nothing in flight on this path";
    case COMM_IGN_NAK_NO_TIME: return "NAK without the receiver's time";
    case COMM_IGN_DUH_NOT_IN_FLIGHT: return "DUH for a sequence not in flight on this path";
    case COMM_IGN_OVERSIZE: return "oversize reply";
    default: break;
    }
    if (reason >= COMM_IGN_DECODE + DC09_E_CRYPTO && reason < COMM_IGN_DECODE)
        return dc09_errname(reason - COMM_IGN_DECODE);
    if (reason >= COMM_IGN_VERDICT + DC09_V_FUTURE && reason <= COMM_IGN_VERDICT + DC09_V_DUH)
        return dc09_verdict_name(reason - COMM_IGN_VERDICT);
    return "unknown";
}

static void ignored(struct comm *c, unsigned path, uint16_t seq, int why)
{
    c->ignored++;
    struct comm_note n = { .kind = COMM_N_IGNORED, .path = (uint8_t)path, .seq = seq,
                           .reason = (int16_t)why };
    note(c, &n);
}

static void complete(struct comm *c, struct comm__flight *f, unsigned path)
{
    struct comm_note n = { .kind = COMM_N_ACKED, .path = (uint8_t)path, .seq = f->seq,
                           .event_id = f->id, .attempt = f->attempt, .cid = f->cid,
                           .encrypted = c->ports.cipher != NULL,
                           .latency_ms = c->now_ms - f->first_ms };
    uint32_t id = f->id;
    *f = (struct comm__flight){ 0 };
    struct comm__trouble done = { 0 };
    char ctext[PNL_EVENT_TEXT_MAX + 1];
    if ((id & COMM_TROUBLE_ID) != 0) {
        struct comm__trouble *t = trouble_find(c, id);
        if (t != NULL) {
            done = *t;
            *t = (struct comm__trouble){ 0 };
        }
        if (done.sia[0] != '\0') {
            n.sia = done.sia;
            n.text = done.text;
        }
        c->dirty = 1;
    } else {
        n.sia = core_sia(c, id, ctext);
        n.text = n.sia != NULL ? ctext : NULL;
        /* Removed; the core keeps the removal with its next save. */
        int e = pnl_queue_ack(c->ports.panel, id);
        if (e < 0 && e != PNL_E_NOENT) {
            struct comm_note s = { .kind = COMM_N_STORAGE, .err = e };
            note(c, &s);
        }
    }
    c->acked++;
    note(c, &n);
}

/* dc09_reply_check against what the communicator sent with `seq` (first
 * sent at sent_s): the one reply check the panel and `vigil dc09 send` share. */
static int verdict(const struct comm *c, const struct dc09_frame *r, uint16_t seq,
                   int64_t sent_s)
{
    struct dc09_reply_ref ref = { .seq = seq, .encrypted = c->ports.cipher != NULL,
                                  .receiver = c->cfg.receiver, .line = c->cfg.line,
                                  .account = c->cfg.account, .sent_s = sent_s,
                                  .tolerance_s = (int32_t)c->cfg.ack_tolerance_s };
    return dc09_reply_check(&ref, r, comm_wall_s(c, c->now_ms));
}

/* The flight sent with `seq`: at most one (seq_busy keeps sequences apart). */
static struct comm__flight *flight_sent(struct comm *c, uint16_t seq)
{
    for (unsigned i = 0; i < COMM_INFLIGHT_MAX; i++)
        if (c->fl[i].id != 0 && c->fl[i].sent_once && c->fl[i].seq == seq)
            return &c->fl[i];
    return NULL;
}

static void on_ack(struct comm *c, unsigned path, const struct dc09_frame *r)
{
    int v;
    if (r->seq == 0) {
        struct comm__poll *pl = &c->poll[path];
        if (!pl->active) {
            ignored(c, path, 0, COMM_IGN_NO_POLL);
            return;
        }
        if ((v = verdict(c, r, 0, pl->sent_wall_s)) != DC09_V_ACK) {
            ignored(c, path, 0, COMM_IGN_VERDICT + v);
            return;
        }
        pl->active = 0;
        path_ok(c, path);
        note_path(c, COMM_N_POLL_ACKED, path);
        return;
    }
    struct comm__flight *f = flight_sent(c, r->seq);
    if (f == NULL) {
        ignored(c, path, r->seq, COMM_IGN_NOT_IN_FLIGHT);
        return;
    }
    if ((f->path_mask & (1u << path)) == 0) {
        ignored(c, path, r->seq, COMM_IGN_OTHER_PATH);
        return;
    }
    if ((v = verdict(c, r, f->seq, f->first_wall_s)) != DC09_V_ACK) {
        ignored(c, path, r->seq, COMM_IGN_VERDICT + v);
        return;
    }
    path_ok(c, path);
    complete(c, f, path);
}

static void on_nak(struct comm *c, unsigned path, const struct dc09_frame *r)
{
    bool pending = c->poll[path].active;
    for (unsigned i = 0; i < COMM_INFLIGHT_MAX; i++)
        if (c->fl[i].id != 0 && c->fl[i].waiting && c->fl[i].path == path)
            pending = true;
    if (!pending) {
        ignored(c, path, r->seq, COMM_IGN_NAK_IDLE);
        return;
    }
    if (verdict(c, r, r->seq, INT64_MIN) != DC09_V_NAK) {
        ignored(c, path, r->seq, COMM_IGN_NAK_NO_TIME);
        return;
    }
    /* Bounded: NAKs are never authenticated, so they may move the clock at
     * most clock_max_s away from the time the panel was set to. */
    int64_t delta_s = r->time_s - comm_wall_s(c, c->now_ms);
    int64_t want = c->wall_offset_ms + delta_s * 1000;
    int64_t max_ms = (int64_t)(c->cfg.clock_max_s * 1000u);    /* <= 86,400 s: 32 bits */
    int64_t lo = c->wall_set_offset_ms - max_ms;
    int64_t hi = c->wall_set_offset_ms + max_ms;
    if (want < lo)
        want = lo;
    if (want > hi)
        want = hi;
    int64_t applied_s = ms_to_s(want - c->wall_offset_ms);
    c->wall_offset_ms += applied_s * 1000;
    struct comm_note n = { .kind = COMM_N_CLOCK, .path = (uint8_t)path, .delta_s = delta_s,
                           .applied_s = applied_s };
    note(c, &n);
    for (unsigned i = 0; i < COMM_INFLIGHT_MAX; i++) {
        struct comm__flight *f = &c->fl[i];
        if (f->id == 0)
            continue;
        f->first_wall_s += applied_s;   /* the ACK freshness bound moves with the clock */
        if (f->waiting && f->path == path && f->naks < NAK_RESENDS_MAX) {
            f->naks++;
            f->waiting = 0;
            f->due_ms = c->now_ms;      /* again, with a corrected timestamp */
        }
    }
    for (unsigned p = 0; p < COMM_PATHS; p++)
        c->poll[p].sent_wall_s += applied_s;
    if (c->poll[path].active) {
        c->poll[path].active = 0;
        if (path == c->active)
            c->next_poll_ms = c->now_ms;
        else
            c->next_probe_ms = c->now_ms;
    }
}

static void on_duh(struct comm *c, unsigned path, const struct dc09_frame *r)
{
    struct comm__flight *f = flight_sent(c, r->seq);
    if (f != NULL && (f->path_mask & (1u << path)) == 0)
        f = NULL;                       /* not sent on this path */
    int v = verdict(c, r, r->seq, INT64_MIN);
    if (v != DC09_V_DUH) {
        ignored(c, path, r->seq, COMM_IGN_VERDICT + v);
        return;
    }
    if (f == NULL) {
        if (r->seq == 0 && c->poll[path].active) {
            c->poll[path].active = 0;   /* the receiver refuses our polls: trouble */
            note_path(c, COMM_N_DUH, path);
            return;
        }
        ignored(c, path, r->seq, COMM_IGN_DUH_NOT_IN_FLIGHT);
        return;
    }
    if (f->duh < 255)
        f->duh++;
    f->duh_mask |= (uint8_t)(1u << path);
    f->path = (uint8_t)path;
    note_flight(c, COMM_N_DUH, f);
    uint8_t all = (uint8_t)((1u << c->cfg.paths) - 1u);
    if ((f->duh_mask & all) != all) {
        f->waiting = 0;                 /* try the other receiver now */
        f->due_ms = c->now_ms;
        return;
    }
    if (f->urgent) {
        /* Never given up: the trouble is reported (COMM_N_DUH) and the event
         * goes again at the slowest pace, in case the receiver is fixed. */
        f->duh_mask = 0;
        f->waiting = 1;
        f->due_ms = c->now_ms + c->cfg.backoff_max_ms;
        return;
    }
    note_flight(c, COMM_N_GIVE_UP, f);
    uint32_t id = f->id;
    *f = (struct comm__flight){ 0 };
    if ((id & COMM_TROUBLE_ID) != 0) {
        struct comm__trouble *t = trouble_find(c, id);
        if (t != NULL)
            *t = (struct comm__trouble){ 0 };
        c->dirty = 1;
    } else {
        /* Given up, not acknowledged: the core refuses to drop a priority-1
         * event (never the case here: those are never given up). */
        (void)pnl_queue_drop(c->ports.panel, id);
    }
}

static void handle_reply(struct comm *c, unsigned path, const uint8_t *frame, size_t len)
{
    struct comm_note rx = { .kind = COMM_N_RX, .path = (uint8_t)path, .frame = frame,
                            .frame_len = len, .encrypted = c->ports.cipher != NULL };
    note(c, &rx);
    struct dc09_decode_opts o;
    dc09_decode_opts_init(&o, comm_wall_s(c, c->now_ms));
    o.cipher = c->ports.cipher;
    o.quirks = c->cfg.reply_quirks;
    struct dc09_frame *r = &c->scratch;
    int e = dc09_reply_decode(frame, len, &o, r, NULL);   /* the time: dc09_reply_check */
    if (e < 0) {
        ignored(c, path, 0, COMM_IGN_DECODE + e);
        return;
    }
    if (r->id == DC09_ID_NAK) {
        on_nak(c, path, r);
        return;
    }
    if (r->id != DC09_ID_ACK && r->id != DC09_ID_DUH) {
        ignored(c, path, r->seq, COMM_IGN_VERDICT + DC09_V_NOT_REPLY);
        return;
    }
    if (r->id == DC09_ID_ACK)
        on_ack(c, path, r);
    else
        on_duh(c, path, r);
}

static void on_frame(void *ctx, const uint8_t *frame, size_t len, int err)
{
    struct comm *c = ctx;
    if (err < 0) {
        ignored(c, c->rx_path, 0, COMM_IGN_OVERSIZE);
        return;
    }
    handle_reply(c, c->rx_path, frame, len);
}

void comm_receive(struct comm *c, unsigned path, const uint8_t *data, size_t len,
                  bool datagram, uint64_t now_ms)
{
    if (path >= c->cfg.paths)
        return;
    c->now_ms = now_ms;
    c->rx_path = (uint8_t)path;
    if (datagram)
        dc09_reader_reset(&c->rd[path]);
    (void)dc09_reader_feed(&c->rd[path], data, len, on_frame, c);
    if (datagram)
        dc09_reader_reset(&c->rd[path]);
    drain(c);                           /* an ACK may free the way for the next event */
    flush(c);
}

void comm_path_lost(struct comm *c, unsigned path, uint64_t now_ms)
{
    if (path >= c->cfg.paths)
        return;
    c->now_ms = now_ms;
    dc09_reader_reset(&c->rd[path]);
    bool had = c->poll[path].active;
    c->poll[path].active = 0;
    for (unsigned i = 0; i < COMM_INFLIGHT_MAX; i++) {
        struct comm__flight *f = &c->fl[i];
        if (f->id != 0 && f->waiting && f->path == path) {
            f->waiting = 0;
            f->due_ms = now_ms;
            had = true;
            if (f->urgent && c->cfg.paths == 2) {
                f->flip = 1;            /* as after a timeout: the other path at once */
                if (path == 0)
                    primary_failed(c);
            }
        }
    }
    if (had)
        path_failed_once(c, path);
}

void comm_path_up(struct comm *c, unsigned path, uint64_t now_ms)
{
    if (path >= c->cfg.paths)
        return;
    c->now_ms = now_ms;
    bool kick = false;
    for (unsigned i = 0; i < COMM_INFLIGHT_MAX; i++) {
        struct comm__flight *f = &c->fl[i];
        if (f->id != 0 && f->waiting && f->send_failed && f->path == path) {
            f->waiting = 0;
            f->send_failed = 0;
            f->due_ms = now_ms;
            kick = true;
        }
    }
    if (kick)
        drain(c);
    flush(c);
}
