/*
 * panel.c — the panel core: configuration, the user table, the keypad entry
 * grammar, the CP-01 arming state machine, zones, the wrong-code lockout, the
 * keypad-visible history and the outbound event queue.
 *
 * The duress rule it lives by: an entry with a duress code takes exactly the
 * path of the same entry with a normal code — same keypad output, same
 * history, same single storage save at the same moment — and additionally
 * queues CID 1121 at top priority. Nothing from the premises withdraws it.
 * It must never allocate, read a clock, print, or branch on a code's digits
 * (that is lookup.c's job, in constant time).
 */
#include "panel_internal.h"
#include "vigil/assert.h"

#define MS(s) ((uint64_t)(s) * 1000u)
/* The same as MS for a setting of at most 4,294,967 s (every valid one: the
 * largest, test_interval_s, is 2,592,000 s), as a 32-bit multiply: no call
 * to libgcc's 64-bit one. Used where it makes the image smaller without a
 * deeper stack (bench/footprint, bench/RESULTS.md). */
static uint64_t ms32(uint32_t s) { return s * 1000u; }
#define KEYPAD_TIMEOUT_MS 20000u   /* a half-typed entry is dropped after 20 s */
#define HOLD_MS 2000u              /* an emergency key is taken after a 2 s hold */
#define HOLD_GAP_MS 1000u          /* ... reported at least this often while held */

#if !((defined(__linux__) || defined(__APPLE__)) && !defined(VIGIL_ASSERT_PORT))
/* Default panic port (vigil/assert.h): spin until the watchdog resets the
 * part. A board defines its own vigil_panic to log and make outputs safe. */
__attribute__((weak, noreturn)) void vigil_panic(const char *file, int line)
{
    (void)file;
    (void)line;
    for (;;) {
    }
}
#endif

static void power_check(struct pnl *p, uint64_t now_ms);

/* ---- errors ---------------------------------------------------------- */

const char *pnl_strerror(int err)
{
    switch (err) {
    case PNL_OK: return "ok";
    case PNL_LOAD_RECOVERED: return "newer record torn; previous state loaded";
    case PNL_E_INVAL: return "invalid argument";
    case PNL_E_CODE_FORMAT: return "a code must be 4 to 8 digits";
    case PNL_E_RANGE: return "setting out of range";
    case PNL_E_FULL: return "user table full";
    case PNL_E_POLICY: return "code refused by the code policy";
    case PNL_E_NOKEY: return "device key missing";
    case PNL_E_CRYPTO: return "device key port failed";
    case PNL_E_STORAGE: return "storage failed";
    case PNL_E_EMPTY: return "no stored record";
    case PNL_E_CORRUPT: return "stored record corrupt (checksum)";
    case PNL_E_TRUNCATED: return "stored record truncated";
    case PNL_E_VERSION: return "stored record of an unknown version";
    case PNL_E_SLOT: return "no such slot, zone or partition";
    case PNL_E_DENIED: return "not allowed for this code";
    case PNL_E_STATE: return "not possible in this state";
    case PNL_E_QUEUE_EMPTY: return "event queue empty";
    case PNL_E_NOENT: return "no such event";
    case PNL_E_NOSPACE: return "no space";
    case PNL_E_KEY_MISMATCH: return "device key does not open the stored codes";
    default: return "unknown error";
    }
}

/* ---- configuration --------------------------------------------------- */

void pnl_config_defaults(struct pnl_config *c)
{
    *c = (struct pnl_config){
        .exit_delay_s = 60, .entry_delay_s = 30, .abort_window_s = 30,
        .cancel_window_s = 300, .swinger_trips = 2, .lockout_tries = 5,
        .lockout_s = 90, .siren_limit_s = 240, .test_interval_s = 86400,
        .recent_closing_s = 120, .exit_restart = true, .auto_stay = true,
        .recent_closing = true, .exit_error = true,
        .key_fire = 1, .key_medical = 1, .key_panic = 1, .ac_delay_min = 30,
    };
}

static bool in(uint32_t v, uint32_t lo, uint32_t hi) { return v >= lo && v <= hi; }
static bool role_ok(unsigned r) { return r >= PNL_ROLE_MASTER && r <= PNL_ROLE_INSTALLER; }

int pnl_config_validate(const struct pnl_config *c)
{
    if (c == NULL)
        return PNL_E_INVAL;
    if (!in(c->exit_delay_s, 45, 255) || !in(c->entry_delay_s, 30, 240) ||
        !in(c->abort_window_s, 15, 45) || c->entry_delay_s + c->abort_window_s > 60 ||
        !in(c->cancel_window_s, 300, 3600) || !in(c->swinger_trips, 1, 6) ||
        !in(c->lockout_tries, 1, 10) || !in(c->lockout_s, 90, 3600) ||
        !in(c->siren_limit_s, 240, 900) || !in(c->test_interval_s, 3600, 2592000) ||
        c->recent_closing_s != 120 || c->key_fire > 1 || c->key_medical > 1 ||
        c->key_panic > 2)
        return PNL_E_RANGE;
    if (c->layout.enabled) {
        uint8_t per_key[10] = { 0 };
        for (int d = 0; d < 10; d++) {
            if (c->layout.key[d] > 9)
                return PNL_E_RANGE;
            per_key[c->layout.key[d]]++;
        }
        for (int k = 0; k < 10; k++)
            if (per_key[k] != 0 && per_key[k] != 2)
                return PNL_E_RANGE;     /* R7 is for keys of two digits each */
    }
    return PNL_OK;
}

int pnl_init(struct pnl *p, const struct pnl_ports *ports)
{
    if (p == NULL || ports == NULL || ports->storage == NULL)
        return PNL_E_INVAL;
    /* Field by field: no memset, so the core needs nothing from libc. */
    *p = (struct pnl){ .ports = *ports };
    pnl_config_defaults(&p->cfg);
    for (unsigned i = 0; i < PNL_USERS_MAX; i++)
        for (unsigned k = 0; k < PNL_CODE_LEN_MAX; k++)
            p->users[i].code[k] = 0xFF;
    for (unsigned i = 0; i < PNL_PARTS_MAX; i++)
        p->parts[i].mode = PNL_MODE_AWAY;
    p->next_event_id = 1;
    return PNL_OK;
}

int pnl__check_loaded(const struct pnl *p)
{
    if (pnl_config_validate(&p->cfg) < 0 || p->queue_len > PNL_QUEUE_MAX ||
        p->hist_len > PNL_HISTORY_MAX || p->hist_head >= PNL_HISTORY_MAX ||
        (p->power & PNL_PW_AC_LOST) != 0 || p->power > 7u)
        return PNL_E_CORRUPT;
    for (unsigned i = 0; i < PNL_USERS_MAX; i++) {
        const struct pnl__user *u = &p->users[i];
        if (u->len != 0 && (u->len < PNL_CODE_LEN_MIN || !role_ok(u->role) ||
                            u->link > PNL_USERS_MAX || u->duress > 1))
            return PNL_E_CORRUPT;
        /* Past the code's end only the pad (BCD 0xF): a stray nibble A..E would
         * end the code early and leave digits after it that no typed code can
         * match (fuzz/crashes/pnl_load/code-nibble-after-end). */
        for (unsigned k = u->len; k < PNL_CODE_LEN_MAX; k++)
            if (u->code[k] != 0xFF)
                return PNL_E_CORRUPT;
    }
    for (unsigned z = 0; z < PNL_ZONES_MAX; z++) {
        const struct pnl_zone_cfg *c = &p->zones[z].cfg;
        if (c->type > PNL_ZONE_TAMPER ||
            (c->type != PNL_ZONE_UNUSED && (c->part == 0 || c->part > PNL_PARTS_MAX)))
            return PNL_E_CORRUPT;
    }
    for (unsigned i = 0; i < PNL_PARTS_MAX; i++)
        if (p->parts[i].mode < PNL_MODE_AWAY || p->parts[i].mode > PNL_MODE_INSTANT ||
            /* only stable states are ever saved (store.c): anything else was forged */
            (p->parts[i].state != PNL_ST_DISARMED && p->parts[i].state != PNL_ST_ARMED))
            return PNL_E_CORRUPT;
    return PNL_OK;
}

void pnl__after_load(struct pnl *p, uint64_t now_ms)
{
    for (unsigned i = 0; i < PNL_PARTS_MAX; i++) {
        struct pnl__part *pt = &p->parts[i];
        pt->klen = 0;
        pt->kstage = 0;
        pt->kcmd = 0;
        pt->locked = 0;
        pt->siren = 0;
        pt->reported = 0;
        pt->armed_at_ms = 0;
        pt->hkey = 0;
    }
    for (unsigned z = 0; z < PNL_ZONES_MAX; z++) {
        p->zones[z].open = 0;
        p->zones[z].trips = 0;
    }
    p->next_test_ms = now_ms + MS(p->cfg.test_interval_s);
    p->test_armed = true;
}

/* Forgets a half-typed entry, digits included. */
static void key_clear(struct pnl__part *pt)
{
    for (unsigned k = 0; k < sizeof pt->kbuf; k++)
        pt->kbuf[k] = 0;
    pt->klen = 0;
    pt->kcmd = 0;
    pt->kstage = 0;
}

/* ---- output, history, queue ------------------------------------------ */

static void out(struct pnl *p, uint8_t kind, unsigned part, unsigned v, unsigned v2)
{
    if (p->ports.keypad == NULL)
        return;
    struct pnl_out o = { .kind = kind, .part = (uint8_t)part, .value = (uint16_t)v,
                         .value2 = (uint16_t)v2 };
    p->ports.keypad->out(p->ports.keypad, &o);
}

static void hist(struct pnl *p, uint8_t kind, unsigned part, unsigned who, uint8_t mode)
{
    p->history[p->hist_head] = (struct pnl_history){ .kind = kind, .part = (uint8_t)part,
                                                     .who = (uint16_t)who, .mode = mode };
    p->hist_head = (uint8_t)((p->hist_head + 1u) % PNL_HISTORY_MAX);
    if (p->hist_len < PNL_HISTORY_MAX)
        p->hist_len++;
    p->dirty = 1;
}

int pnl_history_get(const struct pnl *p, unsigned idx, struct pnl_history *o)
{
    if (idx >= p->hist_len)
        return PNL_E_NOENT;
    *o = p->history[(p->hist_head + PNL_HISTORY_MAX - 1u - idx) % PNL_HISTORY_MAX];
    return PNL_OK;
}

uint8_t pnl_cid_priority(uint16_t cid)
{
    if (cid == 121 || cid == 122)
        return 1;
    if (cid >= 110 && cid <= 118)
        return 2;
    if ((cid >= 100 && cid <= 102) || cid == 120 || cid == 123)
        return 3;
    if (cid >= 130 && cid <= 139)
        return 4;
    if (cid >= 300 && cid <= 399 && cid != 374)
        return 5;
    return 6;
}

/* Takes event idx out of the queue, the rest kept in their order; the freed
 * slot at the end is zeroed. */
static void queue_remove(struct pnl *p, unsigned idx)
{
    p->queue_len--;
    for (unsigned i = idx; i <= p->queue_len; i++)   /* one loop: no memmove linked */
        p->queue[i] = i < p->queue_len ? p->queue[i + 1] : (struct pnl_event){ 0 };
}

/* Queues an event. A full queue evicts the oldest event of the lowest
 * priority that is no more important than the new one and not in flight;
 * a priority-1 event (duress, hold-up) is never evicted. */
static struct pnl_event *enqueue(struct pnl *p, uint8_t q, uint16_t cid, unsigned part,
                                 unsigned zone)
{
    uint8_t prio = pnl_cid_priority(cid);
    VIGIL_ASSERT(p->queue_len <= PNL_QUEUE_MAX && part <= PNL_PARTS_MAX);
    VIGIL_ASSERT(cid != 121 || prio == 1);   /* a duress is never evicted */
    if (p->queue_len >= PNL_QUEUE_MAX) {
        /* One pass, two candidates: the victim by the rule above, and for a
         * duress in a queue full of priority-1 events (a hold-up button
         * pressed over and over with the line cut) the oldest unsent event
         * that is not itself a duress, taken when there is no other. */
        int victim = -1, oldest = -1;
        for (unsigned i = 0; i < p->queue_len; i++) {
            const struct pnl_event *e = &p->queue[i];
            if (e->sent)
                continue;
            if (e->cid != 121 && (oldest < 0 || e->id < p->queue[oldest].id))
                oldest = (int)i;
            if (e->prio == 1 || e->prio < prio)
                continue;
            if (victim < 0 || e->prio > p->queue[victim].prio ||
                (e->prio == p->queue[victim].prio && e->id < p->queue[victim].id))
                victim = (int)i;
        }
        if (victim < 0 && cid == 121)
            victim = oldest;
        p->dropped++;
        if (victim < 0)
            return NULL;
        queue_remove(p, (unsigned)victim);
    }
    p->queue[p->queue_len++] = (struct pnl_event){
        .qualifier = q, .cid = cid, .part = (uint8_t)part, .zone = (uint16_t)zone,
        .prio = prio, .sent = 0, .id = p->next_event_id++,
    };
    p->dirty = 1;
    return &p->queue[p->queue_len - 1];
}

/* Index of the i-th event in delivery order. */
static int queue_order(const struct pnl *p, unsigned nth)
{
    /* Selection by (prio, id) without sorting the stored array. */
    uint8_t last_prio = 0;
    uint32_t last_id = 0;
    int idx = -1;
    for (unsigned k = 0; k <= nth; k++) {
        idx = -1;
        for (unsigned i = 0; i < p->queue_len; i++) {
            const struct pnl_event *e = &p->queue[i];
            bool after = k == 0 || e->prio > last_prio ||
                         (e->prio == last_prio && e->id > last_id);
            if (!after)
                continue;
            if (idx < 0 || e->prio < p->queue[idx].prio ||
                (e->prio == p->queue[idx].prio && e->id < p->queue[idx].id))
                idx = (int)i;
        }
        if (idx < 0)
            return -1;
        last_prio = p->queue[idx].prio;
        last_id = p->queue[idx].id;
    }
    return idx;
}

unsigned pnl_queue_count(const struct pnl *p) { return p->queue_len; }

int pnl_queue_at(const struct pnl *p, unsigned i, struct pnl_event *o)
{
    int idx = queue_order(p, i);
    if (idx < 0)
        return i == 0 ? PNL_E_QUEUE_EMPTY : PNL_E_NOENT;
    *o = p->queue[idx];
    return PNL_OK;
}

int pnl_queue_peek(const struct pnl *p, struct pnl_event *o)
{
    return pnl_queue_at(p, 0, o);
}

static int queue_find(const struct pnl *p, uint32_t id)
{
    for (unsigned i = 0; i < p->queue_len; i++)
        if (p->queue[i].id == id)
            return (int)i;
    return -1;
}

int pnl_queue_get(const struct pnl *p, uint32_t id, struct pnl_event *o)
{
    int i = queue_find(p, id);
    if (i < 0)
        return PNL_E_NOENT;
    *o = p->queue[i];
    return PNL_OK;
}

int pnl_queue_mark_sent(struct pnl *p, uint32_t id)
{
    int i = queue_find(p, id);
    if (i < 0)
        return PNL_E_NOENT;
    p->queue[i].sent = 1;
    return PNL_OK;
}

int pnl_queue_ack(struct pnl *p, uint32_t id)
{
    int idx = queue_find(p, id);
    if (idx < 0)
        return PNL_E_NOENT;
    queue_remove(p, (unsigned)idx);
    p->ack_pending = 1;             /* saved with the next save; never a save of its own */
    return PNL_OK;
}

int pnl_queue_drop(struct pnl *p, uint32_t id)
{
    int idx = queue_find(p, id);
    if (idx < 0)
        return PNL_E_NOENT;
    if (p->queue[idx].prio == 1)
        return PNL_E_DENIED;        /* a duress or hold-up is never dropped */
    return pnl_queue_ack(p, id);    /* leaves as an ACKed event does: no save of its own */
}

/* ---- users ----------------------------------------------------------- */

static bool digits_ok(const char *c, size_t len)
{
    if (c == NULL || len < PNL_CODE_LEN_MIN || len > PNL_CODE_LEN_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (c[i] < '0' || c[i] > '9')
            return false;
    return true;
}


/* Queues the programming report (CID 306, docs in panel.h) of result `e`. */
static void prog_report(struct pnl *p, unsigned part, unsigned slot, bool duress, bool del, int e,
                        const struct pnl_policy_result *res)
{
    unsigned o = e != PNL_OK ? (e == PNL_E_POLICY && res->hit_count > 0 ? PNL_PR_REFUSED_RULE
                                                                      : PNL_PR_REFUSED)
                 : del ? PNL_PR_DELETED : res->weak_warning ? PNL_PR_WEAK : PNL_PR_PROGRAMMED;
    struct pnl_event *ev = enqueue(p, 1, PNL_CID_PROGRAM, part, slot > 999 ? 0 : slot);
    if (ev != NULL)
        ev->info = (uint16_t)((duress ? PNL_PI_DURESS : 0u) | o << 12 |
                              (o == PNL_PR_REFUSED_RULE
                                   ? (unsigned)res->hits[0].rule << 8 | res->hits[0].slot : 0u));
}

static unsigned first_part(uint8_t parts)
{
    unsigned part = 1;
    while (part < PNL_PARTS_MAX && (parts & (1u << (part - 1))) == 0)
        part++;
    return part;
}

/* pnl_user_set without the report: *slot_out gets the slot as soon as known. */
static int user_set(struct pnl *p, unsigned slot, const char *code, size_t len,
                    enum pnl_role role, uint8_t parts, bool duress, unsigned link,
                    struct pnl_policy_result *res, unsigned *slot_out)
{
    *res = (struct pnl_policy_result){ .accepted = false };
    if (!digits_ok(code, len))
        return PNL_E_CODE_FORMAT;
    int e;
    if (!role_ok(role) || parts == 0 ||
        (PNL_PARTS_MAX < 8 && (parts >> PNL_PARTS_MAX) != 0))
        return PNL_E_INVAL;
    if (slot > PNL_USERS_MAX)
        return PNL_E_SLOT;
    if (slot == 0) {
        for (unsigned i = 0; i < PNL_USERS_MAX && slot == 0; i++)
            if (p->users[i].len == 0)
                slot = i + 1;
        if (slot == 0)
            return PNL_E_FULL;
    }
    *slot_out = slot;
    if (link != 0) {
        if (!duress || link > PNL_USERS_MAX || link == slot ||
            p->users[link - 1].len == 0 || p->users[link - 1].duress)
            return PNL_E_SLOT;
    }

    /* The policy: every other code, as the panel numbers them, one at a time
     * (a single clear copy on the stack, wiped after). Two user codes may be
     * alike, but never equal: the lookup must tell every slot apart. */
    pnl__policy_begin(res);
    struct pnl_policy_code one;
    for (unsigned i = 0; i < PNL_USERS_MAX; i++) {
        const struct pnl__user *u = &p->users[i];
        if (u->len == 0 || i + 1 == slot)
            continue;
        one.slot = (uint8_t)(i + 1);
        one.duress = u->duress != 0;
        bool eq = u->len == len;
        for (unsigned k = 0; k < u->len; k++) {
            one.digits[k] = (char)('0' + u->code[k]);
            eq = eq && one.digits[k] == code[k];
        }
        one.digits[u->len] = '\0';
        pnl__policy_pair(code, len, duress, &one, &p->cfg.layout, res);
        if (eq && !duress && !one.duress) {
            if (res->hit_count < PNL_POLICY_HITS_MAX)
                res->hits[res->hit_count++] = (struct pnl_policy_hit){ PNL_R1_EQUAL, one.slot };
            res->hit_total++;
        }
    }
    for (size_t k = 0; k < sizeof one.digits; k++)
        ((volatile char *)one.digits)[k] = 0;
    pnl__policy_end(code, len, duress, res);
    if (!res->accepted)
        return PNL_E_POLICY;

    struct pnl__user old = p->users[slot - 1];
    struct pnl__user *u = &p->users[slot - 1];
    for (unsigned k = 0; k < PNL_CODE_LEN_MAX; k++)
        u->code[k] = k < len ? (uint8_t)(code[k] - '0') : 0xFF;
    u->len = (uint8_t)len;
    u->role = (uint8_t)role;
    u->parts = parts;
    u->duress = duress ? 1 : 0;
    u->link = (uint8_t)link;
    e = pnl_save(p);
    if (e < 0)
        p->users[slot - 1] = old;   /* nothing changes when it cannot be kept */
    return e;
}

/* Programmed or refused by the policy: reported (and saved); bad input and a
 * failed save report nothing (the caller has the error). */
int pnl_user_set(struct pnl *p, unsigned slot, const char *code, size_t len,
                 enum pnl_role role, uint8_t parts, bool duress, unsigned link,
                 struct pnl_policy_result *res, unsigned *slot_out)
{
    struct pnl_policy_result local;
    unsigned used = slot;
    if (res == NULL)
        res = &local;
    int e = user_set(p, slot, code, len, role, parts, duress, link, res, &used);
    if (e == PNL_OK || e == PNL_E_POLICY) {
        prog_report(p, first_part(parts), used, duress, false, e, res);
        (void)pnl_save(p);
    }
    if (e == PNL_OK && slot_out != NULL)
        *slot_out = used;
    return e;
}

static int user_delete(struct pnl *p, unsigned slot)
{
    if (slot == 0 || slot > PNL_USERS_MAX)
        return PNL_E_SLOT;
    struct pnl__user old = p->users[slot - 1];
    p->users[slot - 1] = (struct pnl__user){ .len = 0 };
    for (unsigned k = 0; k < PNL_CODE_LEN_MAX; k++)
        p->users[slot - 1].code[k] = 0xFF;
    /* Personal duress codes linked to it become general. */
    uint8_t links[PNL_USERS_MAX];
    for (unsigned i = 0; i < PNL_USERS_MAX; i++) {
        links[i] = p->users[i].link;
        if (p->users[i].link == slot)
            p->users[i].link = 0;
    }
    int e = pnl_save(p);
    if (e < 0) {
        p->users[slot - 1] = old;
        for (unsigned i = 0; i < PNL_USERS_MAX; i++)
            p->users[i].link = links[i];
    }
    return e;
}

int pnl_user_delete(struct pnl *p, unsigned slot)
{
    uint8_t parts = slot >= 1 && slot <= PNL_USERS_MAX ? p->users[slot - 1].parts : 0;
    int e = user_delete(p, slot);
    if (e == PNL_OK) {
        prog_report(p, first_part(parts), slot, false, true, e, NULL);
        (void)pnl_save(p);
    }
    return e;
}

/* ---- settings -------------------------------------------------------- */

int pnl_set_config(struct pnl *p, const struct pnl_config *c)
{
    int e = pnl_config_validate(c);
    if (e < 0)
        return e;
    struct pnl_config old = p->cfg;
    p->cfg = *c;
    e = pnl_save(p);
    if (e < 0)
        p->cfg = old;
    return e;
}

int pnl_set_setting(struct pnl *p, unsigned setting, uint32_t v)
{
    struct pnl_config c = p->cfg;
    bool fits16 = v <= 0xFFFFu, fits8 = v <= 0xFFu;
    switch (setting) {
    case PNL_SET_EXIT_DELAY: c.exit_delay_s = (uint16_t)v; break;
    case PNL_SET_ENTRY_DELAY: c.entry_delay_s = (uint16_t)v; break;
    case PNL_SET_ABORT_WINDOW: c.abort_window_s = (uint16_t)v; break;
    case PNL_SET_CANCEL_WINDOW: c.cancel_window_s = (uint16_t)v; break;
    case PNL_SET_SWINGER: c.swinger_trips = (uint8_t)v; fits16 = fits8; break;
    case PNL_SET_LOCKOUT_TRIES: c.lockout_tries = (uint8_t)v; fits16 = fits8; break;
    case PNL_SET_LOCKOUT: c.lockout_s = (uint16_t)v; break;
    case PNL_SET_SIREN_LIMIT: c.siren_limit_s = (uint16_t)v; break;
    case PNL_SET_TEST_INTERVAL: c.test_interval_s = v; fits16 = true; break;
    case PNL_SET_EXIT_RESTART: c.exit_restart = v != 0; fits16 = v <= 1; break;
    case PNL_SET_AUTO_STAY: c.auto_stay = v != 0; fits16 = v <= 1; break;
    case PNL_SET_RECENT_CLOSING: c.recent_closing = v != 0; fits16 = v <= 1; break;
    case PNL_SET_EXIT_ERROR: c.exit_error = v != 0; fits16 = v <= 1; break;
    case PNL_SET_KEY_FIRE: c.key_fire = (uint8_t)v; fits16 = fits8; break;
    case PNL_SET_KEY_MEDICAL: c.key_medical = (uint8_t)v; fits16 = fits8; break;
    case PNL_SET_KEY_PANIC: c.key_panic = (uint8_t)v; fits16 = fits8; break;
    case PNL_SET_AC_DELAY: c.ac_delay_min = (uint8_t)v; fits16 = fits8; break;
    default: return PNL_E_INVAL;
    }
    if (!fits16)
        return PNL_E_RANGE;
    return pnl_set_config(p, &c);
}

int pnl_zone_config(struct pnl *p, unsigned zone, const struct pnl_zone_cfg *z)
{
    if (zone == 0 || zone > PNL_ZONES_MAX)
        return PNL_E_SLOT;
    if (z->type > PNL_ZONE_TAMPER || (z->type != PNL_ZONE_UNUSED &&
        (z->part == 0 || z->part > PNL_PARTS_MAX)) || (z->flags & ~0x03u) != 0)
        return PNL_E_RANGE;
    struct pnl__zone old = p->zones[zone - 1];
    p->zones[zone - 1].cfg = *z;
    p->zones[zone - 1].bypass = 0;
    p->zones[zone - 1].open &= 1u;      /* a restore is for the type that alarmed */
    int e = pnl_save(p);
    if (e < 0)
        p->zones[zone - 1] = old;
    return e;
}

/* ---- arming state machine -------------------------------------------- */

enum pnl_part_state pnl_part_state(const struct pnl *p, unsigned part)
{
    return (part == 0 || part > PNL_PARTS_MAX) ? PNL_ST_DISARMED
                                               : (enum pnl_part_state)p->parts[part - 1].state;
}

enum pnl_arm_mode pnl_part_mode(const struct pnl *p, unsigned part)
{
    return (part == 0 || part > PNL_PARTS_MAX) ? PNL_MODE_AWAY
                                               : (enum pnl_arm_mode)p->parts[part - 1].mode;
}

bool pnl_siren_on(const struct pnl *p, unsigned part)
{
    return part >= 1 && part <= PNL_PARTS_MAX && p->parts[part - 1].siren != 0;
}

static bool is_burglary(uint8_t t)
{
    return t == PNL_ZONE_ENTRY_EXIT || t == PNL_ZONE_INTERIOR || t == PNL_ZONE_INSTANT;
}

/* Is zone z (0-based) armed in its partition's mode? */
static bool zone_active(const struct pnl *p, unsigned z, uint8_t mode)
{
    const struct pnl__zone *zn = &p->zones[z];
    if (zn->bypass || !is_burglary(zn->cfg.type))
        return false;
    if (zn->cfg.type != PNL_ZONE_INTERIOR)
        return true;
    return mode == PNL_MODE_AWAY || (mode == PNL_MODE_NIGHT && (zn->cfg.flags & PNL_ZF_NIGHT));
}

static unsigned armed_display(uint8_t mode)
{
    switch (mode) {
    case PNL_MODE_STAY: return PNL_DISP_ARMED_STAY;
    case PNL_MODE_NIGHT: return PNL_DISP_ARMED_NIGHT;
    case PNL_MODE_INSTANT: return PNL_DISP_ARMED_INSTANT;
    default: return PNL_DISP_ARMED_AWAY;
    }
}

static void show_state(struct pnl *p, unsigned part)
{
    const struct pnl__part *pt = &p->parts[part - 1];
    switch (pt->state) {
    case PNL_ST_EXIT: out(p, PNL_OUT_DISPLAY, part, PNL_DISP_EXIT_DELAY, 0); break;
    case PNL_ST_ARMED: out(p, PNL_OUT_DISPLAY, part, armed_display(pt->mode), 0); break;
    case PNL_ST_ENTRY: out(p, PNL_OUT_DISPLAY, part, PNL_DISP_ENTRY_DELAY, 0); break;
    case PNL_ST_ALARM: out(p, PNL_OUT_DISPLAY, part, PNL_DISP_ALARM, pt->alarm_zone); break;
    default: out(p, PNL_OUT_DISPLAY, part, PNL_DISP_DISARMED, 0); break;
    }
}

static void siren(struct pnl *p, unsigned part, uint8_t kind, uint64_t now_ms)
{
    struct pnl__part *pt = &p->parts[part - 1];
    pt->siren = kind;
    pt->siren_end_ms = now_ms + ms32(p->cfg.siren_limit_s);
    out(p, PNL_OUT_SIREN, part, kind, 0);
}

static uint16_t burglary_cid(uint8_t type)
{
    switch (type) {
    case PNL_ZONE_ENTRY_EXIT: return 134;
    case PNL_ZONE_INTERIOR: return 132;
    default: return 131;
    }
}

/* The burglary report, with the exit error and recent closing that go with it. */
static void report_alarm(struct pnl *p, unsigned part, uint64_t now_ms)
{
    struct pnl__part *pt = &p->parts[part - 1];
    unsigned z = pt->alarm_zone;
    VIGIL_ASSERT(z >= 1 && z <= PNL_ZONES_MAX);     /* only burglary zones get here */
    enqueue(p, 1, burglary_cid(p->zones[z - 1].cfg.type), part, z);
    if (pt->exit_error && p->cfg.exit_error)
        enqueue(p, 1, 374, part, z);
    if (p->cfg.recent_closing && pt->armed_at_ms != 0 &&
        pt->alarm_at_ms - pt->armed_at_ms <= ms32(p->cfg.recent_closing_s))
        enqueue(p, 1, 459, part, pt->arm_user);
    pt->reported = 1;
    pt->cancel_end_ms = now_ms + ms32(p->cfg.cancel_window_s);
}

static void alarm_start(struct pnl *p, unsigned part, unsigned z, uint64_t now_ms)
{
    struct pnl__part *pt = &p->parts[part - 1];
    struct pnl__zone *zn = &p->zones[z - 1];
    if (zn->trips >= p->cfg.swinger_trips)
        return;                                 /* swinger shutdown */
    zn->trips++;
    if (pt->state == PNL_ST_ALARM) {
        /* Already sounding: a further zone reports once the first has. */
        if (pt->reported)
            enqueue(p, 1, burglary_cid(zn->cfg.type), part, z);
        return;
    }
    pt->state = PNL_ST_ALARM;
    pt->alarm_kind = 1;
    pt->alarm_zone = (uint16_t)z;
    pt->alarm_at_ms = now_ms;
    pt->reported = 0;
    pt->abort_end_ms = now_ms + MS(p->cfg.abort_window_s);
    hist(p, PNL_H_ALARM, part, z, 0);
    siren(p, part, 1, now_ms);
    out(p, PNL_OUT_DISPLAY, part, PNL_DISP_ALARM, z);
}

int pnl_arm(struct pnl *p, unsigned part, enum pnl_arm_mode mode, unsigned user, uint64_t now_ms)
{
    if (part == 0 || part > PNL_PARTS_MAX)
        return PNL_E_SLOT;
    if (mode < PNL_MODE_AWAY || mode > PNL_MODE_INSTANT)
        return PNL_E_INVAL;
    struct pnl__part *pt = &p->parts[part - 1];
    if (pt->state != PNL_ST_DISARMED)
        return PNL_E_STATE;
    for (unsigned z = 0; z < PNL_ZONES_MAX; z++) {
        if (p->zones[z].cfg.part != part || !p->zones[z].open || !zone_active(p, z, (uint8_t)mode))
            continue;
        if (p->zones[z].cfg.type == PNL_ZONE_ENTRY_EXIT)
            continue;                           /* the way out may be open */
        out(p, PNL_OUT_DISPLAY, part, PNL_DISP_NOT_READY, z + 1);
        return PNL_E_STATE;
    }
    pt->state = PNL_ST_EXIT;
    pt->mode = (uint8_t)mode;
    pt->arm_user = (uint16_t)user;
    pt->exit_end_ms = now_ms + MS(p->cfg.exit_delay_s);
    pt->exit_door_opened = 0;
    pt->exit_door_closed_after = 0;
    pt->exit_restarted = 0;
    pt->exit_error = 0;
    pt->armed_at_ms = 0;
    for (unsigned z = 0; z < PNL_ZONES_MAX; z++)
        if (p->zones[z].cfg.part == part)
            p->zones[z].trips = 0;
    hist(p, PNL_H_ARM, part, user, (uint8_t)mode);
    out(p, PNL_OUT_LED_ARMED, part, 1, 0);
    out(p, PNL_OUT_DISPLAY, part, PNL_DISP_EXIT_DELAY, 0);
    return PNL_OK;
}

/* Disarm / silence by `user`. `duress`: the code was a duress code — the
 * same local result, but nothing is withdrawn (no abort, no 406). */
static void disarm(struct pnl *p, unsigned part, unsigned user, bool duress, uint64_t now_ms)
{
    struct pnl__part *pt = &p->parts[part - 1];
    uint8_t was = pt->state;
    if (was == PNL_ST_ALARM && pt->alarm_kind == 1) {
        if (!pt->reported) {
            if (duress)
                report_alarm(p, part, now_ms);  /* the abort window withdraws nothing */
        } else if (now_ms < pt->cancel_end_ms && !duress) {
            enqueue(p, 1, 406, part, user);
        }
    }
    if (was == PNL_ST_ARMED || was == PNL_ST_ENTRY || was == PNL_ST_ALARM)
        enqueue(p, 1, 401, part, user);
    if (pt->siren)
        out(p, PNL_OUT_SIREN, part, 0, 0);
    pt->siren = 0;
    pt->state = PNL_ST_DISARMED;
    pt->alarm_kind = 0;
    pt->exit_error = 0;
    hist(p, PNL_H_DISARM, part, user, 0);
    out(p, PNL_OUT_LED_ARMED, part, 0, 0);
    out(p, PNL_OUT_DISPLAY, part, PNL_DISP_DISARMED, 0);
}

static void end_exit_delay(struct pnl *p, unsigned part, uint64_t now_ms)
{
    struct pnl__part *pt = &p->parts[part - 1];
    unsigned door = 0;
    for (unsigned z = 0; z < PNL_ZONES_MAX && door == 0; z++)
        if (p->zones[z].cfg.part == part && p->zones[z].cfg.type == PNL_ZONE_ENTRY_EXIT &&
            p->zones[z].open && !p->zones[z].bypass)
            door = z + 1;
    if (door == 0 && p->cfg.auto_stay && pt->mode == PNL_MODE_AWAY && !pt->exit_door_opened)
        pt->mode = PNL_MODE_STAY;               /* nobody left: stay home armed */
    pt->state = PNL_ST_ARMED;
    pt->armed_at_ms = now_ms;
    enqueue(p, 3, pt->mode == PNL_MODE_AWAY ? 401 : 441, part, pt->arm_user);
    if (door != 0 && p->cfg.exit_error) {
        /* Exit error: the door is still open. Entry delay, then alarm + 374. */
        pt->exit_error = 1;
        pt->state = PNL_ST_ENTRY;
        pt->alarm_zone = (uint16_t)door;
        pt->entry_end_ms = now_ms + MS(p->cfg.entry_delay_s);
        out(p, PNL_OUT_DISPLAY, part, PNL_DISP_ENTRY_DELAY, 0);
        return;
    }
    out(p, PNL_OUT_DISPLAY, part, armed_display(pt->mode), 0);
}

int pnl_zone_set(struct pnl *p, unsigned zone, bool open, uint64_t now_ms)
{
    if (zone == 0 || zone > PNL_ZONES_MAX)
        return PNL_E_SLOT;
    struct pnl__zone *zn = &p->zones[zone - 1];
    if (zn->cfg.type == PNL_ZONE_UNUSED)
        return PNL_E_SLOT;
    unsigned part = zn->cfg.part;
    struct pnl__part *pt = &p->parts[part - 1];
    bool was_open = zn->open != 0;
    bool restore = (zn->open & 2u) != 0;    /* a 24-h alarm of this zone went */
    zn->open = open ? 1 : 0;
    if (!open || was_open) {
        if (!open && was_open && pt->state == PNL_ST_EXIT &&
            zn->cfg.type == PNL_ZONE_ENTRY_EXIT && pt->exit_door_opened)
            pt->exit_door_closed_after = 1;
        if (!open && restore) {
            /* 24-h restore: fire 3110, panic 3123, tamper 3137 (hold-up never: see
             * docs/panel.md; a duress has no zone and no restore at all). */
            static const uint16_t cid24[] = { 123, 110, 137 };
            VIGIL_ASSERT(zn->cfg.type >= PNL_ZONE_PANIC && zn->cfg.type <= PNL_ZONE_TAMPER);
            enqueue(p, 3, cid24[zn->cfg.type - PNL_ZONE_PANIC], part, zone);
            (void)pnl_save(p);
        }
        return PNL_OK;
    }
    /* 24-hour zones: reported at once, no abort delay. */
    if (zn->cfg.type >= PNL_ZONE_PANIC)
        zn->open = 3;                       /* restore due on closing (undone below if none) */
    switch (zn->cfg.type) {
    case PNL_ZONE_FIRE:
        enqueue(p, 1, 110, part, zone);
        hist(p, PNL_H_FIRE, part, zone, 0);
        pt->state = PNL_ST_ALARM;
        pt->alarm_kind = 2;
        pt->alarm_zone = (uint16_t)zone;
        siren(p, part, 2, now_ms);
        out(p, PNL_OUT_DISPLAY, part, PNL_DISP_ALARM, zone);
        goto save;
    case PNL_ZONE_HOLDUP:
        enqueue(p, 1, 122, part, zone);         /* silent: nothing shows */
        goto save;
    case PNL_ZONE_PANIC:
        enqueue(p, 1, 123, part, zone);
        siren(p, part, 1, now_ms);
        goto save;
    case PNL_ZONE_TAMPER:
        if (zn->trips >= p->cfg.swinger_trips) {
            zn->open = 1;                   /* shut down: no alarm, so no restore */
            return PNL_OK;
        }
        zn->trips++;
        enqueue(p, 1, 137, part, zone);
        if (pt->state != PNL_ST_DISARMED)
            siren(p, part, 1, now_ms);
        goto save;
    default:
        break;
    }
    switch (pt->state) {
    case PNL_ST_DISARMED:
        if (pt->chime && (zn->cfg.flags & PNL_ZF_CHIME))
            out(p, PNL_OUT_CHIME, part, zone, 0);
        break;
    case PNL_ST_EXIT:
        if (zn->cfg.type == PNL_ZONE_ENTRY_EXIT) {
            if (pt->exit_door_closed_after && p->cfg.exit_restart && !pt->exit_restarted) {
                pt->exit_restarted = 1;         /* came back in: exit delay restarts once */
                pt->exit_end_ms = now_ms + MS(p->cfg.exit_delay_s);
                out(p, PNL_OUT_DISPLAY, part, PNL_DISP_EXIT_DELAY, 0);
            }
            pt->exit_door_opened = 1;
        }
        break;
    case PNL_ST_ARMED:
        if (!zone_active(p, zone - 1, pt->mode))
            break;
        if (zn->cfg.type == PNL_ZONE_ENTRY_EXIT && pt->mode != PNL_MODE_INSTANT) {
            pt->state = PNL_ST_ENTRY;
            pt->alarm_zone = (uint16_t)zone;
            pt->entry_end_ms = now_ms + MS(p->cfg.entry_delay_s);
            out(p, PNL_OUT_DISPLAY, part, PNL_DISP_ENTRY_DELAY, 0);
        } else {
            alarm_start(p, part, zone, now_ms);
        }
        break;
    case PNL_ST_ENTRY:
        /* Followers and the door follow the entry delay; instant zones do not. */
        if (zone_active(p, zone - 1, pt->mode) && zn->cfg.type == PNL_ZONE_INSTANT)
            alarm_start(p, part, zone, now_ms);
        break;
    case PNL_ST_ALARM:
        if (pt->alarm_kind == 1 && zone_active(p, zone - 1, pt->mode))
            alarm_start(p, part, zone, now_ms);
        break;
    default:
        break;
    }
save:
    if (p->dirty)
        (void)pnl_save(p);
    return PNL_OK;
}

int pnl_tick(struct pnl *p, uint64_t now_ms)
{
    for (unsigned part = 1; part <= PNL_PARTS_MAX; part++) {
        struct pnl__part *pt = &p->parts[part - 1];
        switch (pt->state) {
        case PNL_ST_EXIT:
            if (now_ms >= pt->exit_end_ms)
                end_exit_delay(p, part, now_ms);
            break;
        case PNL_ST_ENTRY:
            if (now_ms >= pt->entry_end_ms) {
                pt->state = PNL_ST_ARMED;       /* so alarm_start starts an alarm */
                alarm_start(p, part, pt->alarm_zone, now_ms);
                if (pt->state != PNL_ST_ALARM)  /* swinger: the zone is shut down */
                    show_state(p, part);
            }
            break;
        case PNL_ST_ALARM:
            if (pt->alarm_kind == 1 && !pt->reported && now_ms >= pt->abort_end_ms)
                report_alarm(p, part, now_ms);
            break;
        default:
            break;
        }
        if (pt->siren && now_ms >= pt->siren_end_ms) {
            pt->siren = 0;                      /* bell cut-off */
            out(p, PNL_OUT_SIREN, part, 0, 0);
        }
        if (pt->locked && now_ms >= pt->lockout_end_ms) {
            pt->locked = 0;
            pt->wrong = 0;
            show_state(p, part);
        }
        if ((pt->klen != 0 || pt->kcmd != 0) && now_ms - pt->klast_ms >= KEYPAD_TIMEOUT_MS) {
            key_clear(pt);
            show_state(p, part);
        }
        if (pt->hkey != 0 && (uint16_t)((uint16_t)now_ms - pt->hlast) > HOLD_GAP_MS)
            pt->hkey = 0;                       /* the emergency key was let go */
    }
    power_check(p, now_ms);
    if (!p->test_armed) {
        p->test_armed = true;
        p->next_test_ms = now_ms + MS(p->cfg.test_interval_s);
    } else if (now_ms >= p->next_test_ms) {
        enqueue(p, 1, 602, 0, 0);
        p->next_test_ms += MS(p->cfg.test_interval_s);
        if (p->next_test_ms <= now_ms)
            p->next_test_ms = now_ms + MS(p->cfg.test_interval_s);
    }
    if (p->dirty)
        return pnl_save(p);
    return PNL_OK;
}

/* ---- power supervision ---------------------------------------------- */

static void power_check(struct pnl *p, uint64_t now_ms)
{
    /* AC loss goes only after ac_delay_min: a utility outage takes out a whole
     * district at once, and the station must not drown in its reports. */
    if ((p->power & (PNL_PW_AC_LOST | PNL_PW_AC_REPORTED)) == PNL_PW_AC_LOST &&
        now_ms - p->ac_lost_ms >= ms32((uint32_t)p->cfg.ac_delay_min * 60u)) {
        enqueue(p, 1, 301, 0, 0);
        p->power |= PNL_PW_AC_REPORTED;
    }
}

int pnl_power_set(struct pnl *p, bool ac_ok, bool battery_ok, uint64_t now_ms)
{
    /* one row per trouble: its RAM/stored flag, its CID, is it present now */
    static const struct { uint8_t flag; uint16_t cid; } tr[] = {
        { PNL_PW_AC_REPORTED, 301 }, { PNL_PW_BAT_REPORTED, 302 },
    };
    if (!ac_ok && (p->power & PNL_PW_AC_LOST) == 0) {
        p->power |= PNL_PW_AC_LOST;
        p->ac_lost_ms = now_ms;
    } else if (ac_ok) {
        p->power &= (uint8_t)~PNL_PW_AC_LOST;
    }
    if (!battery_ok && (p->power & PNL_PW_BAT_REPORTED) == 0) {
        enqueue(p, 1, 302, 0, 0);               /* a low battery goes at once */
        p->power |= PNL_PW_BAT_REPORTED;
    }
    bool ok[2] = { ac_ok, battery_ok };
    for (unsigned i = 0; i < 2; i++) {
        if (ok[i] && (p->power & tr[i].flag) != 0) {
            enqueue(p, 3, tr[i].cid, 0, 0);     /* restore of a reported trouble */
            p->power &= (uint8_t)~tr[i].flag;
        }
    }
    power_check(p, now_ms);
    return p->dirty ? pnl_save(p) : PNL_OK;
}

/* ---- keypad ---------------------------------------------------------- */

/* An emergency key ('F', 'M', 'P') report: taken once held HOLD_MS. What the
 * premises get: fire — the fire siren and ALARM; medical — an accept beep;
 * audible panic — the siren; silent panic — nothing (the key beep of the
 * first report, like any key and like a key that is switched off). */
static void emergency_key(struct pnl *p, unsigned part, char key, uint64_t now_ms)
{
    struct pnl__part *pt = &p->parts[part - 1];
    uint16_t now16 = (uint16_t)now_ms;
    bool held = (pt->hkey & 0x7Fu) == (uint8_t)key &&
                (uint16_t)(now16 - pt->hlast) <= HOLD_GAP_MS;
    pt->hlast = now16;
    if (!held) {
        pt->hkey = (uint8_t)key;
        pt->hstart = now16;
        out(p, PNL_OUT_KEY_BEEP, part, 0, 0);
        return;
    }
    if ((pt->hkey & 0x80u) != 0 || (uint16_t)(now16 - pt->hstart) < HOLD_MS)
        return;
    pt->hkey |= 0x80u;                          /* once per hold */
    /* the key's setting (0 off, 1 on / audible, 2 silent) picks the CID */
    static const struct { uint8_t set; uint8_t siren; uint16_t cid[2]; } ek[] = {
        { offsetof(struct pnl_config, key_fire), 2, { 115, 0 } },       /* F */
        { offsetof(struct pnl_config, key_medical), 0, { 100, 0 } },    /* M */
        { offsetof(struct pnl_config, key_panic), 1, { 120, 122 } },    /* P */
    };
    unsigned k = key == 'F' ? 0 : key == 'M' ? 1 : 2;
    unsigned mode = ((const uint8_t *)&p->cfg)[ek[k].set];
    if (mode == 0)
        return;
    uint16_t cid = ek[k].cid[mode - 1];
    enqueue(p, 1, cid, part, 0);
    if (cid != 122) {                           /* a silent panic: nothing shows */
        out(p, PNL_OUT_ACK_BEEP, part, 0, 0);
        if (ek[k].siren != 0)
            siren(p, part, ek[k].siren, now_ms);
    }
    if (k == 0) {
        hist(p, PNL_H_FIRE, part, 0, 0);
        pt->state = PNL_ST_ALARM;
        pt->alarm_kind = 2;
        pt->alarm_zone = 0;
        out(p, PNL_OUT_DISPLAY, part, PNL_DISP_ALARM, 0);
    }
    (void)pnl_save(p);
}

static uint32_t parse_num(const char *s, unsigned n)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v = v * 10u + (uint32_t)(s[i] - '0');
    return v;
}

/* Stage 1 of a programming entry: the data after the authorising code. */
static void program_entry(struct pnl *p, unsigned part, uint64_t now_ms)
{
    struct pnl__part *pt = &p->parts[part - 1];
    const char *b = pt->kbuf;
    unsigned n = pt->klen;
    const struct pnl__user *auth = &p->users[pt->kuser - 1];
    int e = PNL_E_INVAL;
    struct pnl_policy_result res = { .accepted = false };
    bool digits = true;
    for (unsigned i = 0; i < n; i++)
        if (b[i] < '0' || b[i] > '9')
            digits = false;
    (void)now_ms;
    if (!digits) {
        e = PNL_E_INVAL;
    } else if (pt->kcmd == '5' && n == 2) {
        unsigned z = parse_num(b, 2);
        if (z >= 1 && z <= PNL_ZONES_MAX && p->zones[z - 1].cfg.part == part &&
            is_burglary(p->zones[z - 1].cfg.type) && pt->state == PNL_ST_DISARMED) {
            p->zones[z - 1].bypass ^= 1u;
            e = PNL_OK;
        } else {
            e = PNL_E_SLOT;
        }
    } else if (pt->kcmd == '7' && n >= 2) {
        unsigned slot = parse_num(b, 2);
        if (n == 2)
            e = slot == pt->kuser ? PNL_E_DENIED : user_delete(p, slot);
        else if (slot == 0)
            e = PNL_E_SLOT;
        else
            e = user_set(p, slot, b + 2, n - 2, PNL_ROLE_USER, auth->parts, false, 0,
                         &res, &slot);
    } else if (pt->kcmd == '8' && n >= 4) {
        unsigned slot = parse_num(b, 2), link = parse_num(b + 2, 2);
        e = slot == 0 ? PNL_E_SLOT
                      : user_set(p, slot, b + 4, n - 4, PNL_ROLE_USER, auth->parts,
                                 true, link, &res, &slot);
    } else if (pt->kcmd == '9' && n >= 3 && n <= 9) {   /* PP + up to 7 digits */
        e = pnl_set_setting(p, parse_num(b, 2), parse_num(b + 2, n - 2));
    }
    if (pt->kcmd == '7' || pt->kcmd == '8') {
        /* Every *7 / *8 result goes to the station: slot as typed, what, never digits.
         * The authorising code does not show in it: a personal duress code
         * programs as its user, and reports the same. */
        unsigned slot = digits && n >= 2 ? parse_num(b, 2) : 0;
        prog_report(p, part, slot, pt->kcmd == '8', pt->kcmd == '7' && n == 2, e, &res);
        if (e == PNL_OK)
            hist(p, PNL_H_PROGRAM, part, slot, 0);
    }
    if (p->dirty)
        (void)pnl_save(p);
    if (e == PNL_OK) {
        out(p, PNL_OUT_ACK_BEEP, part, 0, 0);
        if (res.weak_warning)
            out(p, PNL_OUT_DISPLAY, part, PNL_DISP_WEAK, 0);
        else
            show_state(p, part);
    } else {
        out(p, PNL_OUT_ERR_BEEP, part, 0, 0);
        if (e == PNL_E_POLICY && res.hit_count > 0)
            out(p, PNL_OUT_DISPLAY, part, PNL_DISP_REFUSED,
                (unsigned)res.hits[0].rule << 8 | res.hits[0].slot);
        else
            show_state(p, part);
    }
}

/* A complete code entry (stage 0): look the code up in constant time, then act. */
static void code_entry(struct pnl *p, unsigned part, uint64_t now_ms)
{
    struct pnl__part *pt = &p->parts[part - 1];
    uint8_t code[PNL_CODE_LEN_MAX];
    unsigned n = pt->klen;
    bool digits = true;
    for (unsigned k = 0; k < PNL_CODE_LEN_MAX; k++)
        code[k] = 0xFF;
    for (unsigned k = 0; k < n; k++) {
        if (pt->kbuf[k] < '0' || pt->kbuf[k] > '9')
            digits = false;
        else if (k < PNL_CODE_LEN_MAX)
            code[k] = (uint8_t)(pt->kbuf[k] - '0');
    }
    uint8_t len = (uint8_t)(digits && n <= PNL_CODE_LEN_MAX ? n : 0xFE);
    unsigned slot = pnl__lookup(p->users, PNL_USERS_MAX, code, len);
    for (unsigned k = 0; k < PNL_CODE_LEN_MAX; k++)
        code[k] = 0;
    VIGIL_ASSERT(slot <= PNL_USERS_MAX);

    /* Who the code acts and reports as: a personal duress code is its user. */
    bool duress = false;
    unsigned who = slot;
    uint8_t role = 0, parts = 0;
    if (slot != 0) {
        const struct pnl__user *u = &p->users[slot - 1];
        duress = u->duress != 0;
        role = u->role;
        parts = u->parts;
        /* pnl_user_set and pnl__check_loaded keep links in range */
        VIGIL_ASSERT(u->link <= PNL_USERS_MAX);
        if (duress && u->link != 0 && p->users[u->link - 1].len != 0) {
            who = u->link;
            role = p->users[who - 1].role;
            parts = p->users[who - 1].parts;
        }
    }
    if (duress)
        enqueue(p, 1, 121, part, who);          /* silently, whatever follows */

    bool ok = false;
    if (pt->locked) {
        /* Lockout: refused like any code (a duress entry still reported above). */
        out(p, PNL_OUT_ERR_BEEP, part, 0, 0);
        out(p, PNL_OUT_DISPLAY, part, PNL_DISP_LOCKED, 0);
        goto done;
    }
    if (slot == 0) {
        if (++pt->wrong >= p->cfg.lockout_tries) {
            pt->locked = 1;
            pt->lockout_end_ms = now_ms + MS(p->cfg.lockout_s);
            enqueue(p, 1, 461, part, 0);
            hist(p, PNL_H_LOCKOUT, part, 0, 0);
        }
        p->dirty = 1;
        out(p, PNL_OUT_ERR_BEEP, part, 0, 0);
        if (pt->locked)
            out(p, PNL_OUT_DISPLAY, part, PNL_DISP_LOCKED, 0);
        else
            show_state(p, part);
        goto done;
    }
    if (pt->wrong != 0)
        p->dirty = 1;
    pt->wrong = 0;
    if ((parts & (1u << (part - 1))) == 0) {
        out(p, PNL_OUT_ERR_BEEP, part, 0, 0);
        show_state(p, part);
        goto done;
    }
    switch (pt->kcmd) {
    case '\0':
        /* Disarmed with a siren sounding (panic, tamper): the code silences. */
        if (pt->state == PNL_ST_DISARMED && !pt->siren) {
            ok = role != PNL_ROLE_INSTALLER && pnl_arm(p, part, PNL_MODE_AWAY, who, now_ms) == PNL_OK;
        } else if (role == PNL_ROLE_MASTER || role == PNL_ROLE_USER) {
            disarm(p, part, who, duress, now_ms);
            ok = true;
        }
        break;
    case '1': case '2': case '3': case '4': {
        static const uint8_t modes[] = { PNL_MODE_STAY, PNL_MODE_NIGHT, PNL_MODE_INSTANT,
                                         PNL_MODE_AWAY };
        ok = role != PNL_ROLE_INSTALLER &&
             pnl_arm(p, part, (enum pnl_arm_mode)modes[pt->kcmd - '1'], who, now_ms) == PNL_OK;
        break;
    }
    case '5': case '7': case '8': case '9':
        ok = (pt->kcmd == '5' && (role == PNL_ROLE_MASTER || role == PNL_ROLE_USER)) ||
             ((pt->kcmd == '7' || pt->kcmd == '8') && role == PNL_ROLE_MASTER) ||
             (pt->kcmd == '9' && role == PNL_ROLE_INSTALLER);
        if (ok) {
            pt->kstage = 1;
            /* the user the code acts as: a personal duress code programs as its
             * user (same own-slot refusal, same partitions for new codes) */
            pt->kuser = (uint8_t)who;
            out(p, PNL_OUT_DISPLAY, part, PNL_DISP_PROGRAM, 0);
        }
        break;
    default:
        break;
    }
    out(p, ok ? PNL_OUT_ACK_BEEP : PNL_OUT_ERR_BEEP, part, 0, 0);
    if (!ok)
        show_state(p, part);
done:
    /* One save per code entry, whatever the outcome: duress or not, right or
     * wrong, the flash sees the same write at the same moment. */
    (void)pnl_save(p);
}

int pnl_key_at(struct pnl *p, unsigned part, char key, uint64_t now_ms)
{
    if (p == NULL || part == 0 || part > PNL_PARTS_MAX)
        return PNL_E_SLOT;
    struct pnl__part *pt = &p->parts[part - 1];
    if (key == 'F' || key == 'M' || key == 'P') {
        emergency_key(p, part, key, now_ms);    /* leaves a half-typed entry alone */
        return PNL_OK;
    }
    if (!((key >= '0' && key <= '9') || key == '*' || key == '#'))
        return PNL_E_INVAL;
    pt->hkey = 0;                               /* another key: no longer held */
    if ((pt->klen != 0 || pt->kcmd != 0 || pt->kstage != 0) &&
        now_ms - pt->klast_ms >= KEYPAD_TIMEOUT_MS) {
        key_clear(pt);                          /* a stale half entry is dropped */
    }
    pt->klast_ms = now_ms;
    out(p, PNL_OUT_KEY_BEEP, part, 0, 0);
    if (pt->kstage == 0 && pt->klen == 0) {
        if (key == '*' && pt->kcmd == 0) {
            pt->kcmd = 0xFF;                    /* the next key names the function */
            return PNL_OK;
        }
        if (pt->kcmd == 0xFF) {
            if (key >= '1' && key <= '9') {
                pt->kcmd = (uint8_t)key;
                return PNL_OK;
            }
            pt->kcmd = 0;
            out(p, PNL_OUT_ERR_BEEP, part, 0, 0);
            return PNL_OK;
        }
    }
    if (key != '#') {
        if (key == '*' || pt->klen >= sizeof pt->kbuf)
            pt->klen = sizeof pt->kbuf;         /* spoils the entry: refused at '#' */
        else
            pt->kbuf[pt->klen++] = key;
        return PNL_OK;
    }
    if (pt->kstage == 1) {
        program_entry(p, part, now_ms);
        pt->kstage = 0;
    } else if (pt->kcmd == '6' && pt->klen == 0) {
        pt->chime ^= 1u;
        p->dirty = 1;
        (void)pnl_save(p);
        out(p, PNL_OUT_ACK_BEEP, part, 0, 0);
    } else {
        code_entry(p, part, now_ms);            /* may open stage 1 */
    }
    if (pt->kstage == 0)
        pt->kcmd = 0;
    for (unsigned k = 0; k < sizeof pt->kbuf; k++)
        pt->kbuf[k] = 0;
    pt->klen = 0;
    return PNL_OK;
}

int pnl_key(struct pnl *p, char key, uint64_t now_ms)
{
    return pnl_key_at(p, 1, key, now_ms);
}
