/*
 * comm_tests.c — the communicator's tests that run both on the host (cmocka,
 * ASan/UBSan: test_comm_core) and on the Cortex-M0 under QEMU (tests/target,
 * label target), with the assertion macros of tests/unit/panel/tshim.h.
 *
 * A lean fixture, because the target has 16 KiB of RAM: the real panel core
 * and communicator, in-memory A/B storage, a toy reversible cipher for the
 * account and the device key (the real AES is the platform's; test_comm.c
 * covers it with OpenSSL), a fake network that keeps what each frame meant
 * (decoded by the DC-09 library as a station would) and the bytes of the last
 * few frames, and a station side that answers with the library's reply
 * builders. What these tests assert is what users depend on: the duress
 * first, on the other path after its first timeout and on both while the
 * primary failed lately; routine traffic kept to path_fail_max; a reply
 * checked one way; one-in-flight; a routine event given up is dropped, a
 * duress never; the communicator's record survives a power cut and a torn save.
 * A failing CHECK fails the test on both runners.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tshim.h"
#include "vigil/comm.h"
#include "vigil/panel.h"

#define K_WALL_MS 1700000000000LL
#define K_MASTER "2468"
#define K_DURESS "9305"
#define K_RING 4u          /* bytes of the last K_RING frames are kept */
#define K_META 48u         /* what every frame meant */

struct k_cipher {
    struct dc09_cipher base;
    uint8_t k;
};

struct k_mem {
    struct pnl_storage st;
    size_t cap;
    uint8_t *slot[2];
    unsigned writes;
};

struct k_meta {
    uint8_t  path;
    uint8_t  id;            /* enum dc09_id */
    uint16_t seq;
    uint16_t ev;            /* ADM-CID: qualifier * 1000 + event; 0 otherwise */
    uint16_t len;
};

struct kfx {
    struct pnl p;
    struct comm c;
    struct k_mem core_mem, comm_mem;
    uint8_t core_slot[2][1584];   /* pnl_record_size() in the reference configuration */
    uint8_t comm_slot[2][448];
    struct k_cipher acct, stn, dev;
    struct pnl_keyport key;
    struct dc09_rng rng;
    uint32_t rng_state;
    struct comm_net net;
    struct comm_notes notes;
    struct comm_config cfg;
    bool encrypted;
    bool hold;
    bool path_down[2];
    bool auto_ack[2];
    unsigned auto_from;
    unsigned nsent;
    struct k_meta meta[K_META];
    uint8_t ring[K_RING][COMM_TX_MAX];
    unsigned note_count[16];
    const char *last_reason;
    uint64_t now;
};

static struct kfx K;
static struct dc09_frame K_dec;   /* one decoded frame at a time (RAM) */

/* ---- ports ----------------------------------------------------------- */

static int k_crypt(struct dc09_cipher *c, uint8_t *buf, size_t len)
{
    uint8_t k = ((struct k_cipher *)(void *)c)->k;
    for (size_t i = 0; i < len; i++)
        buf[i] ^= (uint8_t)(k + 7u * (i & 15u));
    return 0;
}

static int k_block_enc(struct pnl_keyport *kp, uint8_t b[16])
{
    (void)kp;
    return k_crypt(&K.dev.base, b, 16);
}

static void k_fill(struct dc09_rng *r, uint8_t *buf, size_t len)
{
    (void)r;
    for (size_t i = 0; i < len; i++) {
        K.rng_state = K.rng_state * 1103515245u + 12345u;
        buf[i] = (uint8_t)(K.rng_state >> 16);
    }
}

static int k_read(struct pnl_storage *s, unsigned slot, size_t off, uint8_t *buf, size_t len)
{
    struct k_mem *m = (struct k_mem *)(void *)s;
    if (slot > 1 || off + len > m->cap)
        return PNL_E_STORAGE;
    memcpy(buf, m->slot[slot] + off, len);
    return 0;
}

static int k_write(struct pnl_storage *s, unsigned slot, size_t off, const uint8_t *buf,
                   size_t len)
{
    struct k_mem *m = (struct k_mem *)(void *)s;
    if (slot > 1 || off + len > m->cap)
        return PNL_E_STORAGE;
    memcpy(m->slot[slot] + off, buf, len);
    m->writes++;
    return 0;
}

/* Decodes `bytes` as the station would, into K_dec. */
static int k_decode(const uint8_t *bytes, size_t len)
{
    struct dc09_decode_opts o;
    dc09_decode_opts_init(&o, 0);
    o.check_time = false;
    o.cipher = K.encrypted ? &K.stn.base : NULL;
    return dc09_decode(bytes, len, &o, &K_dec, NULL);
}

static int k_send(struct comm_net *n, unsigned path, const uint8_t *frame, size_t len)
{
    (void)n;
    if (K.path_down[path])
        return -1;
    CHECK(K.nsent < K_META);
    CHECK(len <= COMM_TX_MAX);
    memcpy(K.ring[K.nsent % K_RING], frame, len);
    CHECK_EQ(k_decode(frame, len), 0);
    K.meta[K.nsent] = (struct k_meta){
        .path = (uint8_t)path, .id = (uint8_t)K_dec.id, .seq = K_dec.seq, .len = (uint16_t)len,
        .ev = K_dec.has_cid ? (uint16_t)(K_dec.cid.qualifier * 1000u + K_dec.cid.event) : 0 };
    K.nsent++;
    return 0;
}

static void k_note(struct comm_notes *n, const struct comm_note *no)
{
    (void)n;
    if (no->kind < 16)
        K.note_count[no->kind]++;
    if (no->kind == COMM_N_IGNORED)
        K.last_reason = comm_ignored_name(no->reason);
}

/* ---- fixture --------------------------------------------------------- */

static void k_start(bool fresh)
{
    struct pnl_ports pp = { .storage = &K.core_mem.st, .key = &K.key, .rng = &K.rng };
    CHECK_EQ(pnl_init(&K.p, &pp), 0);
    if (!fresh) {
        int e = pnl_load(&K.p, K.now);
        CHECK(e == PNL_OK || e == PNL_LOAD_RECOVERED);
    }
    struct comm_ports cp = { .panel = &K.p, .net = &K.net, .storage = &K.comm_mem.st,
                             .cipher = K.encrypted ? &K.acct.base : NULL, .rng = &K.rng,
                             .notes = &K.notes };
    CHECK_EQ(comm_init(&K.c, &cp, &K.cfg, K.now), 0);
    comm_set_wall(&K.c, K.now, K_WALL_MS + (int64_t)K.now);
    int e = comm_load(&K.c);
    CHECK(fresh ? e == COMM_E_EMPTY : (e == COMM_OK || e == COMM_E_EMPTY));
}

static void k_setup(unsigned paths, bool encrypted)
{
    memset(&K, 0, sizeof K);
    K.rng_state = 7;
    K.rng.fill = k_fill;
    K.encrypted = encrypted;
    K.acct = (struct k_cipher){ { k_crypt, k_crypt }, 0x3C };
    K.stn = (struct k_cipher){ { k_crypt, k_crypt }, 0x3C };
    K.dev = (struct k_cipher){ { k_crypt, k_crypt }, 0x77 };
    K.key.encrypt_block = k_block_enc;
    K.key.decrypt_block = k_block_enc;
    K.core_mem = (struct k_mem){ { sizeof K.core_slot[0], k_read, k_write }, sizeof K.core_slot[0],
                                 { K.core_slot[0], K.core_slot[1] }, 0 };
    K.comm_mem = (struct k_mem){ { sizeof K.comm_slot[0], k_read, k_write }, sizeof K.comm_slot[0],
                                 { K.comm_slot[0], K.comm_slot[1] }, 0 };
    CHECK(pnl_record_size() <= sizeof K.core_slot[0]);
    CHECK(comm_record_size() <= sizeof K.comm_slot[0]);
    K.net.send = k_send;
    K.notes.note = k_note;
    comm_config_defaults(&K.cfg);
    strcpy(K.cfg.account, "1234");
    strcpy(K.cfg.receiver, "0");
    K.cfg.paths = (uint8_t)paths;
    K.cfg.ack_timeout_ms = 1000;
    K.cfg.backoff_max_ms = 8000;
    K.cfg.urgent_backoff_max_ms = 2000;
    K.cfg.probe_s = 30;
    K.now = 1000;
    k_start(true);
    unsigned slot = 0;
    uint32_t rng_before = K.rng_state;
    CHECK_EQ(pnl_user_set(&K.p, 1, K_MASTER, 4, PNL_ROLE_MASTER, 1, false, 0, NULL, &slot), 0);
    CHECK_EQ(pnl_user_set(&K.p, 2, K_DURESS, 4, PNL_ROLE_USER, 1, true, 1, NULL, &slot), 0);
    /* their two programming reports (core events, CID 306): delivered before the test */
    struct pnl_event e;
    while (pnl_queue_peek(&K.p, &e) == 0)
        CHECK_EQ(pnl_queue_ack(&K.p, e.id), 0);
    struct pnl_zone_cfg holdup = { .type = PNL_ZONE_HOLDUP, .part = 1 };
    CHECK_EQ(pnl_zone_config(&K.p, 6, &holdup), 0);
    /* the retry jitter shares the generator with the core's save nonces:
     * replay the set-up's three saves (12 bytes each) so the timing stays as
     * the tests were written */
    uint8_t skip[36];
    K.rng_state = rng_before;
    K.rng.fill(&K.rng, skip, sizeof skip);
}

/* The station's ACK for sent frame i (still in the ring), dated at `at_s`
 * (0: its own time), with R echoed or not. */
static void k_ack_as(unsigned i, unsigned path, int64_t at_s, bool echo_r)
{
    CHECK(i < K.nsent && i + K_RING >= K.nsent);
    CHECK_EQ(k_decode(K.ring[i % K_RING], K.meta[i].len), 0);
    if (!echo_r)
        K_dec.has_receiver = false;
    uint8_t out[200];
    size_t n = 0;
    CHECK_EQ(dc09_reply_ack(&K_dec, K.encrypted ? &K.stn.base : NULL, &K.rng,
                            at_s != 0 ? at_s : K_dec.time_s, out, sizeof out, &n), 0);
    comm_receive(&K.c, path, out, n, false, K.now);
}

static void k_ack(unsigned i) { k_ack_as(i, K.meta[i].path, 0, true); }

static void k_auto(void)
{
    while (K.auto_from < K.nsent) {
        unsigned i = K.auto_from++;
        if (K.auto_ack[K.meta[i].path])
            k_ack(i);
    }
}

static void k_advance(uint64_t ms)
{
    uint64_t end = K.now + ms;
    while (K.now < end) {
        K.now = K.now + 100 > end ? end : K.now + 100;
        CHECK_EQ(pnl_tick(&K.p, K.now), 0);
        if (!K.hold)
            CHECK_EQ(comm_tick(&K.c, K.now), 0);
        k_auto();
    }
}

static void k_keys(const char *k)
{
    for (; *k; k++)
        CHECK_EQ(pnl_key(&K.p, *k, K.now), 0);
    if (!K.hold)
        CHECK_EQ(comm_tick(&K.c, K.now), 0);
    k_auto();
}

static unsigned k_sent_on(unsigned path, uint16_t ev)
{
    unsigned n = 0;
    for (unsigned i = 0; i < K.nsent; i++)
        n += K.meta[i].path == path && K.meta[i].ev == ev;
    return n;
}

static bool k_queued(uint16_t cid)
{
    struct pnl_event e;
    for (unsigned i = 0; pnl_queue_at(&K.p, i, &e) == 0; i++)
        if (e.cid == cid)
            return true;
    return false;
}

/* closing, opening (routine), then the duress and a hold-up, all queued
 * while the communicator did not run */
static void k_pile_up(void)
{
    K.hold = true;
    k_keys(K_MASTER "#");
    k_advance(61000);
    k_keys(K_MASTER "#");
    k_keys(K_MASTER "#");
    k_keys(K_DURESS "#");
    CHECK_EQ(pnl_zone_set(&K.p, 6, true, K.now), 0);
    K.hold = false;
    CHECK_EQ(comm_tick(&K.c, K.now), 0);
}

/* ---- tests ----------------------------------------------------------- */

TEST(comm_duress_first)
{
    k_setup(1, true);
    k_pile_up();
    CHECK_EQ(K.nsent, 3);                  /* both priority 1 at once, routine one */
    CHECK_EQ(K.meta[0].ev, 1121);
    CHECK_EQ(K.meta[1].ev, 1122);
    CHECK_EQ(K.meta[2].ev, 3441);          /* the oldest routine event */
    k_ack(2);
    CHECK_EQ(K.nsent, 4);
    CHECK_EQ(K.meta[3].ev, 1401);          /* then the next, in order */
    k_ack(0);
    k_ack(1);
    k_ack(3);
    CHECK_EQ(pnl_queue_count(&K.p), 0);
    CHECK_EQ(K.note_count[COMM_N_ACKED], 4);
}

TEST(comm_duress_other_path_first_timeout)
{
    k_setup(2, true);
    K.auto_ack[1] = true;                  /* the primary takes frames, never answers */
    k_keys(K_DURESS "#");
    CHECK_EQ(k_sent_on(0, 1121), 1);
    uint64_t t0 = K.now;
    while (k_sent_on(1, 1121) == 0 && K.now - t0 < 10000)
        k_advance(100);
    CHECK(K.now - t0 <= K.cfg.ack_timeout_ms);
    CHECK(!k_queued(121));
    CHECK_EQ(K.note_count[COMM_N_PATH_FAIL], 0);
    CHECK_EQ(comm_active_path(&K.c), 0);
}

TEST(comm_routine_path_fail_max)
{
    k_setup(2, true);
    K.auto_ack[1] = true;
    k_keys(K_MASTER "#");
    k_advance(60000);
    while (k_sent_on(0, 3441) == 0)
        k_advance(100);
    while (K.note_count[COMM_N_PATH_FAIL] == 0) {
        CHECK_EQ(k_sent_on(1, 3441), 0);
        k_advance(100);
        CHECK(K.now < 200000);
    }
    CHECK_EQ(k_sent_on(0, 3441), K.cfg.path_fail_max);
    k_advance(200);
    CHECK_EQ(k_sent_on(1, 3441), 1);
    CHECK(!k_queued(441));                 /* ACKed by the backup */
}

TEST(comm_duress_both_paths)
{
    k_setup(2, true);
    K.auto_ack[1] = true;
    k_keys(K_DURESS "#");
    k_advance(1100);                       /* failed over: the primary failed now */
    CHECK(!k_queued(121));
    K.auto_ack[1] = false;
    unsigned n0 = K.nsent;
    CHECK_EQ(pnl_zone_set(&K.p, 6, true, K.now), 0);
    CHECK_EQ(comm_tick(&K.c, K.now), 0);
    CHECK_EQ(K.nsent, n0 + 2);
    CHECK_EQ(K.meta[n0].path + K.meta[n0 + 1].path, 1);
    CHECK_EQ(K.meta[n0].ev, 1122);
    CHECK_EQ(K.meta[n0].len, K.meta[n0 + 1].len);
    CHECK(memcmp(K.ring[n0 % K_RING], K.ring[(n0 + 1) % K_RING], K.meta[n0].len) == 0);
    k_ack(n0 + 1);
    CHECK(!k_queued(122));
    k_ack(n0);                             /* the other ACK: harmless */
    CHECK_EQ(K.note_count[COMM_N_ACKED], 2);
}

TEST(comm_reply_checked)
{
    k_setup(1, true);
    k_keys(K_DURESS "#");
    int64_t now_s = comm_wall_s(&K.c, K.now);
    k_ack_as(0, 0, now_s + 120, true);     /* 2 minutes ahead */
    CHECK(strcmp(K.last_reason, dc09_verdict_name(DC09_V_FUTURE)) == 0);
    k_ack_as(0, 0, now_s, false);          /* R not echoed */
    CHECK(strcmp(K.last_reason, dc09_verdict_name(DC09_V_RECEIVER)) == 0);
    k_ack_as(0, 1, now_s, true);           /* a path it never went to (none) */
    CHECK(k_queued(121));
    CHECK_EQ(K.note_count[COMM_N_ACKED], 0);
    k_ack_as(0, 0, now_s + 30, true);      /* within the station's window */
    CHECK_EQ(K.note_count[COMM_N_ACKED], 1);
    CHECK(!k_queued(121));
}

TEST(comm_one_in_flight)
{
    k_setup(1, true);
    K.cfg.one_in_flight = 1;
#ifndef COMM_TARGET_MUST_FAIL                /* the control: the quirk left off */
    K.c.cfg.one_in_flight = 1;
#endif
    k_pile_up();
    CHECK_EQ(K.nsent, 1);
    CHECK_EQ(K.meta[0].ev, 1121);          /* the duress first, alone */
    CHECK(comm_next_due_ms(&K.c) > K.now);
    k_ack(0);
    CHECK_EQ(K.nsent, 2);
    CHECK_EQ(K.meta[1].ev, 1122);
    k_ack(1);
    CHECK_EQ(K.nsent, 3);
    CHECK_EQ(K.meta[2].ev, 3441);
    k_ack(2);
    CHECK_EQ(K.meta[3].ev, 1401);
}

TEST(comm_drop_routine_never_duress)
{
    k_setup(1, true);
    k_keys(K_MASTER "#");
    k_advance(61000);
    CHECK_EQ(K.nsent, 1);
    CHECK_EQ(K.meta[0].ev, 3441);
    CHECK(k_queued(441));
    CHECK_EQ(k_decode(K.ring[0], K.meta[0].len), 0);
    uint8_t out[200];
    size_t n = 0;
    CHECK_EQ(dc09_reply_duh(&K_dec, out, sizeof out, &n), 0);
    comm_receive(&K.c, 0, out, n, false, K.now);   /* refused on every path */
    CHECK_EQ(K.note_count[COMM_N_GIVE_UP], 1);
    CHECK(!k_queued(441));                 /* dropped */
    K.hold = true;
    k_keys(K_DURESS "#");
    struct pnl_event e;
    CHECK_EQ(pnl_queue_peek(&K.p, &e), 0);
    CHECK_EQ(e.cid, 121);
    CHECK_EQ(pnl_queue_drop(&K.p, e.id), PNL_E_DENIED);   /* never a duress */
    CHECK(k_queued(121));
}

TEST(comm_record_survives)
{
    k_setup(1, true);
    K.path_down[0] = true;
    CHECK_EQ(pnl_zone_set(&K.p, 6, true, K.now), 0);
    k_advance(8000);                       /* the path fails: trouble 1350 */
    CHECK_EQ(K.note_count[COMM_N_PATH_FAIL], 1);
    CHECK_EQ(comm_trouble_count(&K.c), 1);
    CHECK_EQ(comm_report_sia(&K.c, "YG", 1, 2, "duress code programmed"), COMM_OK);
    memset(&K.c, 0, sizeof K.c);           /* power cut */
    memset(&K.p, 0, sizeof K.p);
    k_start(false);
    CHECK_EQ(comm_trouble_count(&K.c), 2);
    unsigned newest = K.c.save_slot;
    K.comm_slot[newest][20 + 30] ^= 0x01;  /* the newest save is torn */
    memset(&K.c, 0, sizeof K.c);
    memset(&K.p, 0, sizeof K.p);
    k_start(false);
    CHECK_EQ(comm_trouble_count(&K.c), 1); /* the previous record */
}

#define COMM_TESTS(X) \
    X(comm_duress_first) \
    X(comm_duress_other_path_first_timeout) \
    X(comm_routine_path_fail_max) \
    X(comm_duress_both_paths) \
    X(comm_reply_checked) \
    X(comm_one_in_flight) \
    X(comm_drop_routine_never_duress) \
    X(comm_record_survives)
