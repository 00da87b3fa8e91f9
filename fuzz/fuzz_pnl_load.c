/*
 * fuzz_pnl_load.c — libFuzzer target for the panel core's stored-record loader
 * pnl_load() (lib/panel/store.c), reached through its storage port with a
 * fixed device key (AES-128, fuzz_common.h), then — when it loads — a few
 * keypad, zone, timer and queue operations on the loaded panel, a save, and a
 * reload of what was saved.
 *
 * Input: byte 0 = flags, byte 1 = number of operations (at most OPS_MAX),
 * then that many operation bytes, then the slot bytes:
 *   bit 0 FIX     the slot bytes are a plaintext record BODY: the target
 *                 encrypts the whole body under the device key (with the
 *                 "VKEY" check) and writes a header with good checksums, so
 *                 the fuzzer reaches the parser and the range checks; without
 *                 it the bytes are the raw slot (header included)
 *   bit 1 BOTH    slot B gets a second record / the second half of the bytes
 *   bit 2 EXACT   slot_size is exactly pnl_record_size() (else 1600, as the
 *                 unit tests' flash)
 *   bit 3 WRONGKEY the panel's key port holds another key
 *   bit 4 NEWER_A (FIX + BOTH) slot A carries the higher sequence
 *   bit 5 NOCHECK (FIX) "VKEY" is not forced (the key check sees random bytes)
 *   bit 6 READERR the (byte 1 >> 4)-th storage read fails
 *   bit 7 V1      (FIX) the record is built as version 1 (the migration path):
 *                 a 1,406-byte body, only its code section encrypted
 *
 * Aborts (besides ASan/UBSan) when:
 *  - pnl_load returns anything but the values panel.h lists;
 *  - it writes storage;
 *  - it fails and the panel is not as it was before (a fresh pnl_init);
 *  - (FIX, right key, healthy storage) it fails otherwise than PNL_E_CORRUPT;
 *  - it succeeds with a state the rest of the core must not meet (queue or
 *    history longer than their arrays, a code slot with an impossible length);
 *  - the loaded panel, driven, says something impossible at the keypad;
 *  - what the loaded panel saves does not load again (PNL_OK) as the same
 *    codes, queue and history.
 */
#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OPS_MAX 48u
#define F_FIX      0x01u
#define F_BOTH     0x02u
#define F_EXACT    0x04u
#define F_WRONGKEY 0x08u
#define F_NEWER_A  0x10u
#define F_NOCHECK  0x20u
#define F_READERR  0x40u
#define F_V1       0x80u

static struct dc09_ossl dev_key, other_key;
static struct fz_store store;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (fz_cipher_init(&dev_key, FZ_DEVICE_KEY) != 0 || fz_cipher_init(&other_key, FZ_OTHER_KEY) != 0)
        abort();
    return 0;
}

static void keypad_out(struct pnl_keypad *k, const struct pnl_out *o)
{
    (void)k;
    FZ_CHECK(o->kind >= PNL_OUT_KEY_BEEP && o->kind <= PNL_OUT_LED_ARMED);
    FZ_CHECK(o->part <= PNL_PARTS_MAX);
    if (o->kind == PNL_OUT_DISPLAY)
        FZ_CHECK(o->value >= PNL_DISP_DISARMED && o->value <= PNL_DISP_WEAK);
    if (o->kind == PNL_OUT_SIREN)
        FZ_CHECK(o->value <= 2);
}
static struct pnl_keypad keypad = { keypad_out };

/* The fields a failed load must leave alone (no padding in any of them). */
static void same_as_fresh(const struct pnl *p, const struct pnl *fresh)
{
    FZ_CHECK(memcmp(p->users, fresh->users, sizeof p->users) == 0);
    FZ_CHECK(memcmp(p->zones, fresh->zones, sizeof p->zones) == 0);
    FZ_CHECK(p->queue_len == fresh->queue_len && p->next_event_id == fresh->next_event_id);
    FZ_CHECK(p->hist_len == fresh->hist_len && p->hist_head == fresh->hist_head);
    FZ_CHECK(p->has_record == fresh->has_record);
    FZ_CHECK(p->cfg.exit_delay_s == fresh->cfg.exit_delay_s &&
             p->cfg.test_interval_s == fresh->cfg.test_interval_s);
    for (unsigned i = 0; i < PNL_PARTS_MAX; i++)
        FZ_CHECK(p->parts[i].state == fresh->parts[i].state &&
                 p->parts[i].mode == fresh->parts[i].mode);
}

static void sane(const struct pnl *p)
{
    FZ_CHECK(p->queue_len <= PNL_QUEUE_MAX);
    FZ_CHECK(p->hist_len <= PNL_HISTORY_MAX && p->hist_head < PNL_HISTORY_MAX);
    FZ_CHECK(pnl_config_validate(&p->cfg) == 0);
    for (unsigned i = 0; i < PNL_USERS_MAX; i++) {
        const struct pnl__user *u = &p->users[i];
        FZ_CHECK(u->len == 0 || (u->len >= PNL_CODE_LEN_MIN && u->len <= PNL_CODE_LEN_MAX));
        for (unsigned k = 0; k < u->len; k++)
            FZ_CHECK(u->code[k] <= 9);
    }
    for (unsigned i = 1; i <= PNL_PARTS_MAX; i++) {
        enum pnl_part_state st = pnl_part_state(p, i);
        FZ_CHECK(st >= PNL_ST_DISARMED && st <= PNL_ST_ALARM);
    }
}

static int load_rc_ok(int e)
{
    return e == PNL_OK || e == PNL_LOAD_RECOVERED || e == PNL_E_EMPTY || e == PNL_E_CORRUPT ||
           e == PNL_E_TRUNCATED || e == PNL_E_VERSION || e == PNL_E_NOKEY ||
           e == PNL_E_KEY_MISMATCH || e == PNL_E_STORAGE;
}

/* Types a user's code (white box: the loaded table), then '#'. */
static void type_code(struct pnl *p, unsigned part, unsigned slot, uint64_t now)
{
    const struct pnl__user *u = &p->users[(slot - 1u) % PNL_USERS_MAX];
    for (unsigned k = 0; k < u->len && k < PNL_CODE_LEN_MAX; k++)
        pnl_key_at(p, part, (char)('0' + u->code[k] % 10u), now);
    pnl_key_at(p, part, '#', now);
}

static void drive(struct pnl *p, const uint8_t *ops, size_t n, uint64_t *now)
{
    static const char keys[16] = "0123456789*#*#12";
    struct pnl_event ev;
    struct pnl_history h;
    for (size_t i = 0; i < n; i++) {
        unsigned op = ops[i] >> 4, arg = ops[i] & 15u;
        unsigned part = 1u + (arg & 7u);
        switch (op) {
        case 0: case 1: case 2:
            pnl_key(p, keys[arg], *now);
            break;
        case 3:
            type_code(p, 1, 1u + arg, *now);
            break;
        case 4:
            type_code(p, part, 1u + (arg >> 3) * 16u, *now);
            break;
        case 5:
            pnl_zone_set(p, 1u + arg * 4u, true, *now);
            break;
        case 6:
            pnl_zone_set(p, 1u + arg * 4u, false, *now);
            break;
        case 7:
            *now += 1000u * (1u + arg);
            pnl_tick(p, *now);
            break;
        case 8:
            *now += 60000u * (1u + arg);
            pnl_tick(p, *now);
            break;
        case 9:
            if (pnl_queue_peek(p, &ev) == 0) {
                FZ_CHECK(pnl_queue_mark_sent(p, ev.id) == 0);
                FZ_CHECK(pnl_queue_ack(p, ev.id) == 0);
            }
            break;
        case 10:
            (void)pnl_arm(p, part, (enum pnl_arm_mode)(1u + (arg >> 3) * 2u), 1u + arg, *now);
            break;
        case 11:
            for (unsigned k = 0; pnl_history_get(p, k, &h) == 0; k++)
                FZ_CHECK(k < PNL_HISTORY_MAX);
            for (unsigned k = 0; pnl_queue_at(p, k, &ev) == 0; k++)
                FZ_CHECK(k < PNL_QUEUE_MAX);
            break;
        case 12:
            (void)pnl_set_setting(p, 1u + arg % 13u, 60u * arg);
            break;
        case 13:
            (void)pnl_user_delete(p, 1u + arg);
            break;
        case 14: {
            char code[6] = { '1', '3', '5', (char)('0' + arg % 10u), '9', '7' };
            (void)pnl_user_set(p, 0, code, 6, PNL_ROLE_USER, 1, (arg & 1u) != 0, 0, NULL, NULL);
            break;
        }
        default:
            (void)pnl_save(p);
            break;
        }
        sane(p);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    unsigned flags = data[0];
    size_t nops = data[1] & 0x3Fu;
    if (nops > OPS_MAX)
        nops = OPS_MAX;
    unsigned readerr = flags & F_READERR ? 1u + (data[1] >> 6) * 3u : 0u;
    data += 2;
    size -= 2;
    if (nops > size)
        nops = size;
    const uint8_t *ops = data;
    data += nops;
    size -= nops;

    const unsigned ver = (flags & F_V1) ? 1u : FZ_PNL_VERSION;
    const size_t body = ver == 1 ? FZ_PNL_V1_BODY : pnl_record_size() - FZ_PNL_HDR;
    const size_t rec = FZ_PNL_HDR + body;
    fz_store_init(&store, (flags & F_EXACT) ? pnl_record_size() : 1600u);
    memset(store.slot, 0xFF, sizeof store.slot);
    if (flags & F_FIX) {
        static uint8_t plain[2][FZ_SLOT_MAX];
        memset(plain, 0, sizeof plain);
        size_t a = size < body ? size : body;
        memcpy(plain[0], data, a);
        uint32_t sa = 7, sb = 6;
        if (!(flags & F_NEWER_A)) {
            sa = 6;
            sb = 7;
        }
        fz_pnl_build_v(&dev_key.base, plain[0], body, sa, !(flags & F_NOCHECK), ver, store.slot[0]);
        store.len[0] = rec;
        if (flags & F_BOTH) {
            size_t b = size - a < body ? size - a : body;
            memcpy(plain[1], data + a, b);
            fz_pnl_build_v(&dev_key.base, plain[1], body, sb, !(flags & F_NOCHECK), ver,
                           store.slot[1]);
            store.len[1] = rec;
        } else {
            store.len[1] = store.base.slot_size;   /* erased flash */
        }
    } else {
        fz_store_fill_raw(&store, data, size, (flags & F_BOTH) != 0);
    }
    store.fail_read_at = readerr;

    struct fz_rng rng;
    fz_rng_init(&rng, 0x9E3779B9u ^ (uint32_t)size);
    struct pnl_keyport_dc09 kp;
    pnl_keyport_dc09_init(&kp, (flags & F_WRONGKEY) ? &other_key.base : &dev_key.base);
    struct pnl_ports ports = { .storage = &store.base, .key = &kp.base, .rng = &rng.base,
                               .keypad = &keypad };
    static struct pnl p, fresh, again;
    FZ_CHECK(pnl_init(&fresh, &ports) == 0);
    FZ_CHECK(pnl_init(&p, &ports) == 0);

    uint64_t now = 1000000u;
    int e = pnl_load(&p, now);
    FZ_CHECK(load_rc_ok(e));
    FZ_CHECK(store.writes == 0);           /* a load never writes storage */
    /* Checksums and key check good, storage healthy: the only refusal left
     * is a field out of range (PNL_E_CORRUPT). */
    if ((flags & (F_FIX | F_NOCHECK | F_WRONGKEY | F_READERR)) == F_FIX)
        FZ_CHECK(e == PNL_OK || e == PNL_LOAD_RECOVERED || e == PNL_E_CORRUPT);
    if (e < 0) {
        same_as_fresh(&p, &fresh);
        return 0;
    }
    store.fail_read_at = 0;
    sane(&p);
    pnl_tick(&p, now);
    drive(&p, ops, nops, &now);

    /* What the panel saves now must load again, as itself. */
    if (pnl_save(&p) != 0)
        return 0;   /* e.g. the exact slot and a failing port: refusing is allowed */
    FZ_CHECK(pnl_init(&again, &ports) == 0);
    int e2 = pnl_load(&again, now);
    FZ_CHECK(e2 == PNL_OK);
    FZ_CHECK(memcmp(again.users, p.users, sizeof p.users) == 0);
    FZ_CHECK(again.queue_len == p.queue_len && again.hist_len == p.hist_len &&
             again.hist_head == p.hist_head && again.next_event_id == p.next_event_id);
    for (unsigned i = 0; i < p.queue_len; i++)
        FZ_CHECK(again.queue[i].id == p.queue[i].id && again.queue[i].cid == p.queue[i].cid &&
                 again.queue[i].prio == p.queue[i].prio);
    for (unsigned i = 0; i < PNL_HISTORY_MAX; i++)
        FZ_CHECK(again.history[i].kind == p.history[i].kind &&
                 again.history[i].part == p.history[i].part &&
                 again.history[i].who == p.history[i].who &&
                 again.history[i].mode == p.history[i].mode);
    return 0;
}
