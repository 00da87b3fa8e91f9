/*
 * fuzz_comm_load.c — libFuzzer target for the communicator's stored-record
 * loader comm_load() (lib/comm/comm.c), reached through its storage port;
 * when it loads, the communicator is driven against a simulated receiver
 * (frames decoded as the station decodes them, answered ACK / NAK / DUH or
 * not at all as the operation bytes say, paths lost), beside a panel whose
 * queue holds a hold-up alarm and routine events, and then left to settle
 * with every frame ACKed.
 *
 * Input: byte 0 = flags, byte 1 = number of operation bytes (0..63), the
 * operations, then the slot bytes:
 *   bit 0 FIX     the slot bytes are a record BODY: the target writes a
 *                 header with good checksums (else: the raw slot, header included)
 *   bit 1 BOTH    slot B gets a second record / the second half of the bytes
 *   bit 2 EXACT   slot_size is exactly comm_record_size() (else 512)
 *   bit 3 CLEAR   the account has no key (clear frames)
 *   bit 4 NEWER_A (FIX + BOTH) slot A carries the higher sequence
 *   bit 5 EVENTS  the panel queues a hold-up and routine events first
 *   bit 6 TWO     two paths (primary + backup)
 *
 * Aborts (besides ASan/UBSan) when:
 *  - comm_load returns anything but 0 / COMM_E_EMPTY / _CORRUPT / _VERSION /
 *    _TRUNCATED / _STORAGE, writes storage, or fails having changed *c;
 *  - a frame the communicator hands the network does not decode as the
 *    station decodes it (strict, the account's key);
 *  - once the receiver ACKs everything, the loaded reports and the panel's
 *    events are not all delivered within SETTLE_ROUNDS retry periods (a loaded
 *    state that can never drain would hold every routine event behind it).
 */
#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define F_FIX     0x01u
#define F_BOTH    0x02u
#define F_EXACT   0x04u
#define F_CLEAR   0x08u
#define F_NEWER_A 0x10u
#define F_EVENTS  0x20u
#define F_TWO     0x40u

#define ACCOUNT "1234AB"
#define WALL0_MS 1795698568000LL     /* 2026-11-26T13:09:28Z */
#define SETTLE_ROUNDS 40u

static struct dc09_ossl acct_key, dev_key;
static struct fz_store cstore, pstore;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (fz_cipher_init(&acct_key, "0123456789ABCDEF") != 0 ||
        fz_cipher_init(&dev_key, FZ_DEVICE_KEY) != 0)
        abort();
    return 0;
}

/* ---- the network and the receiver ------------------------------------ */

#define SENT_MAX 32u
struct net {
    struct comm_net base;
    unsigned n;
    unsigned path[SENT_MAX];
    size_t len[SENT_MAX];
    uint8_t frame[SENT_MAX][DC09_FRAME_MAX];
    bool down[COMM_PATHS];
    bool keyed;
};

static int net_send(struct comm_net *b, unsigned path, const uint8_t *frame, size_t len)
{
    struct net *n = (struct net *)b;
    FZ_CHECK(path < COMM_PATHS && len > 0 && len <= DC09_FRAME_MAX);
    if (n->down[path])
        return -1;
    /* Whatever the communicator sends, the station must read (strict). */
    struct dc09_decode_opts o;
    dc09_decode_opts_init(&o, WALL0_MS / 1000);
    o.cipher = n->keyed ? &acct_key.base : NULL;
    o.check_time = false;
    struct dc09_frame f;
    struct dc09_diag d;
    FZ_CHECK(dc09_decode(frame, len, &o, &f, &d) == 0);
    FZ_CHECK(strcmp(f.account, ACCOUNT) == 0 && f.encrypted == n->keyed);
    FZ_CHECK(f.id == DC09_ID_NULL || f.has_cid || f.has_sia);
    if (n->n < SENT_MAX) {
        n->path[n->n] = path;
        n->len[n->n] = len;
        memcpy(n->frame[n->n], frame, len);
        n->n++;
    }
    return 0;
}

enum reply { R_ACK, R_NONE, R_NAK, R_DUH };

/* Answers every frame sent since the last call. */
static void answer(struct comm *c, struct net *n, enum reply how, struct fz_rng *rng, uint64_t now)
{
    unsigned cnt = n->n;
    n->n = 0;
    for (unsigned i = 0; i < cnt; i++) {
        struct dc09_decode_opts o;
        dc09_decode_opts_init(&o, WALL0_MS / 1000);
        o.cipher = n->keyed ? &acct_key.base : NULL;
        o.check_time = false;
        struct dc09_frame f;
        struct dc09_diag d;
        if (dc09_decode(n->frame[i], n->len[i], &o, &f, &d) != 0)
            continue;
        uint8_t out[DC09_FRAME_MAX];
        size_t len = 0;
        int64_t now_s = comm_wall_s(c, now);
        int e = -1;
        if (how == R_ACK)
            e = dc09_reply_ack(&f, o.cipher, &rng->base, now_s, out, sizeof out, &len);
        else if (how == R_NAK)
            e = dc09_reply_nak(now_s + 7200, out, sizeof out, &len);
        else if (how == R_DUH)
            e = dc09_reply_duh(&f, out, sizeof out, &len);
        if (e == 0)
            comm_receive(c, n->path[i], out, len, (i & 1u) != 0, now);
    }
}

static void notes_fn(struct comm_notes *nn, const struct comm_note *note)
{
    (void)nn;
    FZ_CHECK(note->kind >= COMM_N_TX && note->kind <= COMM_N_STORAGE);
    FZ_CHECK(note->path < COMM_PATHS);
}
static struct comm_notes notes = { notes_fn };

static void panel_events(struct pnl *p, uint64_t now)
{
    struct pnl_zone_cfg hold = { .type = PNL_ZONE_HOLDUP, .part = 1 };
    struct pnl_zone_cfg tamper = { .type = PNL_ZONE_TAMPER, .part = 1 };
    (void)pnl_zone_config(p, 1, &hold);
    (void)pnl_zone_config(p, 2, &tamper);
    (void)pnl_zone_set(p, 2, true, now);
    (void)pnl_zone_set(p, 1, true, now);
    (void)pnl_zone_set(p, 2, false, now);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    unsigned flags = data[0];
    size_t nops = data[1] & 0x3Fu;
    data += 2;
    size -= 2;
    if (nops > size)
        nops = size;
    const uint8_t *ops = data;
    data += nops;
    size -= nops;

    const size_t rec = comm_record_size(), body = rec - FZ_COMM_HDR;
    fz_store_init(&cstore, (flags & F_EXACT) ? rec : 512u);
    memset(cstore.slot, 0xFF, 2 * 1024);
    if (flags & F_FIX) {
        uint8_t plain[2][512];
        memset(plain, 0, sizeof plain);
        size_t a = size < body ? size : body;
        memcpy(plain[0], data, a);
        fz_comm_build(plain[0], body, (flags & F_NEWER_A) ? 9 : 8, cstore.slot[0]);
        cstore.len[0] = rec;
        if (flags & F_BOTH) {
            size_t b = size - a < body ? size - a : body;
            memcpy(plain[1], data + a, b);
            fz_comm_build(plain[1], body, (flags & F_NEWER_A) ? 8 : 9, cstore.slot[1]);
            cstore.len[1] = rec;
        } else {
            cstore.len[1] = cstore.base.slot_size;
        }
    } else {
        fz_store_fill_raw(&cstore, data, size, (flags & F_BOTH) != 0);
    }

    /* the panel beside it: fresh, in memory */
    fz_store_init(&pstore, 1600u);
    struct fz_rng rng, srng;
    fz_rng_init(&rng, 0x2545F491u ^ (uint32_t)size);
    fz_rng_init(&srng, 0x9E3779B9u);
    struct pnl_keyport_dc09 kp;
    pnl_keyport_dc09_init(&kp, &dev_key.base);
    struct pnl_ports pports = { .storage = &pstore.base, .key = &kp.base, .rng = &rng.base };
    static struct pnl p;
    FZ_CHECK(pnl_init(&p, &pports) == 0);
    uint64_t now = 5000u;

    static struct net net;
    net.base.send = net_send;
    net.n = 0;
    net.down[0] = net.down[1] = false;
    net.keyed = !(flags & F_CLEAR);
    struct comm_ports cports = { .panel = &p, .net = &net.base, .storage = &cstore.base,
                                 .cipher = net.keyed ? &acct_key.base : NULL,
                                 .rng = &rng.base, .notes = &notes };
    struct comm_config cfg;
    comm_config_defaults(&cfg);
    memcpy(cfg.account, ACCOUNT, sizeof ACCOUNT);
    cfg.paths = (flags & F_TWO) ? 2 : 1;
    cfg.supervision_s = (flags & F_TWO) ? 90 : 0;
    static struct comm c, before;
    FZ_CHECK(comm_init(&c, &cports, &cfg, now) == 0);
    comm_set_wall(&c, now, WALL0_MS);
    memcpy(&before, &c, sizeof c);

    int e = comm_load(&c);
    FZ_CHECK(e == COMM_OK || e == COMM_E_EMPTY || e == COMM_E_CORRUPT || e == COMM_E_VERSION ||
             e == COMM_E_TRUNCATED || e == COMM_E_STORAGE);
    FZ_CHECK(cstore.writes == 0);
    if (e != COMM_OK) {
        FZ_CHECK(memcmp(&c, &before, sizeof c) == 0);   /* "on error *c is unchanged" */
        if (e != COMM_E_EMPTY)
            return 0;
    }
    FZ_CHECK(comm_trouble_count(&c) <= COMM_TROUBLE_MAX);

    if (flags & F_EVENTS)
        panel_events(&p, now);

    /* The operations: the receiver answers, or does not; paths come and go. */
    for (size_t i = 0; i < nops; i++) {
        unsigned op = ops[i] >> 4, arg = ops[i] & 15u;
        comm_tick(&c, now);
        switch (op) {
        case 0: case 1: case 2: case 3: answer(&c, &net, R_ACK, &srng, now); break;
        case 4: case 5: answer(&c, &net, R_NONE, &srng, now); break;
        case 6: answer(&c, &net, R_NAK, &srng, now); break;
        case 7: answer(&c, &net, R_DUH, &srng, now); break;
        case 8: net.down[arg & 1u] = !net.down[arg & 1u]; break;
        case 9: comm_path_lost(&c, arg & 1u, now); break;
        case 10: comm_path_up(&c, arg & 1u, now); break;
        case 11: {
            char code[3] = { (char)('A' + arg), 'Y', 0 };
            (void)comm_report_sia(&c, code, (uint8_t)arg, (uint16_t)(arg * 37u), "fuzz report");
            break;
        }
        case 12: panel_events(&p, now); break;
        default: break;
        }
        now += 500u + 4000u * arg;
    }

    /* Settle: both paths up, every frame ACKed; everything must drain. */
    net.down[0] = net.down[1] = false;
    comm_path_up(&c, 0, now);
    comm_path_up(&c, 1, now);
    for (unsigned r = 0; r < SETTLE_ROUNDS; r++) {
        comm_tick(&c, now);
        answer(&c, &net, R_ACK, &srng, now);
        comm_tick(&c, now);
        answer(&c, &net, R_ACK, &srng, now);
        if (comm_trouble_count(&c) == 0 && pnl_queue_count(&p) == 0 && comm_inflight(&c) == 0)
            return 0;
        now += 61000u;
    }
    FZ_CHECK(comm_trouble_count(&c) == 0);
    FZ_CHECK(pnl_queue_count(&p) == 0);
    return 0;
}
