/*
 * test_comm.c — unit tests of the communicator (vigil/comm.h) against the real
 * panel core, a fake network that records every frame, in-memory A/B storage,
 * OpenSSL AES and a virtual clock. The "station" side of each test decodes
 * what the panel sent and answers with the DC-09 library's reply builders.
 *
 * What users depend on and each test asserts: duress first and never behind
 * routine traffic; a retry keeps sequence and payload with a fresh timestamp;
 * forged ACKs (wrong path, wrong sequence, stale, clear) do not count; NAK
 * clock corrections are bounded; DUH gives a routine event up but never a
 * duress; backup path on failure and back to the primary; poll timing;
 * sequence numbers survive a restart; a full queue never loses a duress.
 * It must never pass without the communicator doing the work (every check
 * reads the frames that left, or the core's queue).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vigil/comm.h"
#include "vigil/dc09_openssl.h"
#include "vigil/panel.h"

#define T0_WALL_MS 1700000000000LL
#define SENT_MAX 256
#define MASTER "2468"
#define DURESS "9305"

struct sent {
    unsigned path;
    uint8_t bytes[DC09_FRAME_MAX];
    size_t len;
};

struct mem {
    struct pnl_storage st;
    uint8_t slot[2][2048];
    unsigned writes;
};

struct fx {
    struct pnl p;
    struct comm c;
    struct mem core_mem, comm_mem;
    struct pnl_keyport_dc09 kp;
    struct dc09_ossl devkey, acctkey, stnkey;
    struct dc09_rng rng;
    uint32_t rng_state;
    struct comm_net net;
    bool path_down[2];
    struct sent sent[SENT_MAX];
    unsigned nsent;
    struct comm_notes notes;
    unsigned note_count[16];
    int64_t last_applied_s;
    const char *last_reason;    /* of the last COMM_N_IGNORED */
    size_t max_tx_len;          /* longest frame the communicator wrote */
    uint64_t now;
    struct comm_config cfg;
    bool encrypted;
    bool hold;                  /* the communicator is not running yet */
    bool auto_ack[2];           /* the station on this path answers every frame */
    unsigned auto_from;
    uint16_t auto_ev[64];       /* events it acknowledged (Q*1000+EEE) */
    unsigned auto_n;
};

static struct fx F;

/* ---- ports ---------------------------------------------------------- */

static int mem_read(struct pnl_storage *s, unsigned slot, size_t off, uint8_t *buf, size_t len)
{
    struct mem *m = (struct mem *)(void *)s;
    if (slot > 1 || off + len > sizeof m->slot[0])
        return PNL_E_STORAGE;
    memcpy(buf, m->slot[slot] + off, len);
    return 0;
}

static int mem_write(struct pnl_storage *s, unsigned slot, size_t off, const uint8_t *buf,
                     size_t len)
{
    struct mem *m = (struct mem *)(void *)s;
    if (slot > 1 || off + len > sizeof m->slot[0])
        return PNL_E_STORAGE;
    memcpy(m->slot[slot] + off, buf, len);
    m->writes++;
    return 0;
}

static void rng_fill(struct dc09_rng *r, uint8_t *buf, size_t len)
{
    (void)r;
    for (size_t i = 0; i < len; i++) {
        F.rng_state = F.rng_state * 1103515245u + 12345u;
        buf[i] = (uint8_t)(F.rng_state >> 16);
    }
}

static int net_send(struct comm_net *n, unsigned path, const uint8_t *frame, size_t len)
{
    (void)n;
    if (F.path_down[path])
        return -1;
    assert_true(F.nsent < SENT_MAX);
    struct sent *s = &F.sent[F.nsent++];
    s->path = path;
    assert_true(len <= sizeof s->bytes);
    memcpy(s->bytes, frame, len);
    s->len = len;
    return 0;
}

static void on_note(struct comm_notes *n, const struct comm_note *no)
{
    (void)n;
    if (no->kind < 16)
        F.note_count[no->kind]++;
    if (no->kind == COMM_N_CLOCK)
        F.last_applied_s = no->applied_s;
    if (no->kind == COMM_N_IGNORED)
        F.last_reason = comm_ignored_name(no->reason);
    if (no->kind == COMM_N_TX && no->frame_len > F.max_tx_len)
        F.max_tx_len = no->frame_len;
}

/* ---- fixture -------------------------------------------------------- */

static void key_init(struct dc09_ossl *o, const char *ascii)
{
    struct dc09_key k;
    assert_int_equal(dc09_key_from_ascii(&k, ascii, strlen(ascii)), 0);
    assert_int_equal(dc09_ossl_init(o, &k), 0);
}

static void start_panel(bool fresh)
{
    struct pnl_ports pp = { .storage = &F.core_mem.st, .key = &F.kp.base, .rng = &F.rng };
    assert_int_equal(pnl_init(&F.p, &pp), 0);
    if (!fresh) {
        int e = pnl_load(&F.p, F.now);
        assert_true(e == PNL_OK || e == PNL_LOAD_RECOVERED);
    }
    struct comm_ports cp = { .panel = &F.p, .net = &F.net, .storage = &F.comm_mem.st,
                             .cipher = F.encrypted ? &F.acctkey.base : NULL, .rng = &F.rng,
                             .notes = &F.notes };
    assert_int_equal(comm_init(&F.c, &cp, &F.cfg, F.now), 0);
    comm_set_wall(&F.c, F.now, T0_WALL_MS + (int64_t)F.now);
    int e = comm_load(&F.c);
    assert_true(fresh ? e == COMM_E_EMPTY : (e == COMM_OK || e == COMM_E_EMPTY));
}

static void fx_setup_cfg(unsigned paths, uint32_t supervision_s, bool encrypted)
{
    memset(&F, 0, sizeof F);
    F.rng_state = 7;
    F.rng.fill = rng_fill;
    F.encrypted = encrypted;
    F.core_mem.st = (struct pnl_storage){ sizeof F.core_mem.slot[0], mem_read, mem_write };
    F.comm_mem.st = (struct pnl_storage){ sizeof F.comm_mem.slot[0], mem_read, mem_write };
    assert_true(pnl_record_size() <= sizeof F.core_mem.slot[0]);
    key_init(&F.devkey, "Device-Key-16-By");
    key_init(&F.acctkey, "Account-Key-16By");
    key_init(&F.stnkey, "Account-Key-16By");   /* the station's copy, its own context */
    pnl_keyport_dc09_init(&F.kp, &F.devkey.base);
    F.net.send = net_send;
    F.notes.note = on_note;
    comm_config_defaults(&F.cfg);
    strcpy(F.cfg.account, "1234");
    F.cfg.paths = (uint8_t)paths;
    F.cfg.ack_timeout_ms = 1000;
    F.cfg.backoff_max_ms = 8000;
    F.cfg.urgent_backoff_max_ms = 2000;
    F.cfg.supervision_s = supervision_s;
    F.cfg.probe_s = 30;
    F.now = 1000;
    start_panel(true);
    unsigned slot = 0;
    uint32_t rng_before = F.rng_state;
    assert_int_equal(pnl_user_set(&F.p, 1, MASTER, 4, PNL_ROLE_MASTER, 1, false, 0, NULL, &slot), 0);
    assert_int_equal(pnl_user_set(&F.p, 2, DURESS, 4, PNL_ROLE_USER, 1, true, 1, NULL, &slot), 0);
    /* their two programming reports (core events, CID 306): delivered before the test */
    struct pnl_event e;
    while (pnl_queue_peek(&F.p, &e) == 0)
        assert_int_equal(pnl_queue_ack(&F.p, e.id), 0);
    struct pnl_zone_cfg holdup = { .type = PNL_ZONE_HOLDUP, .part = 1 };
    assert_int_equal(pnl_zone_config(&F.p, 6, &holdup), 0);
    /* The retry jitter comes from the same generator as the core's save nonces:
     * replay the three saves (12 bytes each) this set-up made before the
     * programming reports, so the tests' timing stays as written. */
    uint8_t skip[36];
    F.rng_state = rng_before;
    rng_fill(&F.rng, skip, sizeof skip);
}

static int setup_clear(void **s) { (void)s; fx_setup_cfg(1, 0, false); return 0; }
static int setup_enc(void **s) { (void)s; fx_setup_cfg(1, 0, true); return 0; }
static int setup_dual(void **s) { (void)s; fx_setup_cfg(2, 0, true); return 0; }
static int setup_poll(void **s) { (void)s; fx_setup_cfg(1, 90, true); return 0; }

static int teardown(void **s)
{
    (void)s;
    dc09_ossl_free(&F.devkey);
    dc09_ossl_free(&F.acctkey);
    dc09_ossl_free(&F.stnkey);
    return 0;
}

static void station_auto(void);

static void advance(uint64_t ms)
{
    /* in 100 ms steps, as the simulator's loop does */
    uint64_t end = F.now + ms;
    while (F.now < end) {
        F.now = F.now + 100 > end ? end : F.now + 100;
        assert_int_equal(pnl_tick(&F.p, F.now), 0);
        if (!F.hold)
            assert_int_equal(comm_tick(&F.c, F.now), 0);
        station_auto();
    }
}

static void keys(const char *k)
{
    for (; *k; k++)
        assert_int_equal(pnl_key(&F.p, *k, F.now), 0);
    if (!F.hold)
        assert_int_equal(comm_tick(&F.c, F.now), 0);
}

/* Decodes sent frame i as the station would. */
static struct dc09_frame decoded(unsigned i)
{
    assert_true(i < F.nsent);
    struct dc09_decode_opts o;
    dc09_decode_opts_init(&o, 0);
    o.check_time = false;
    o.cipher = F.encrypted ? &F.stnkey.base : NULL;
    struct dc09_frame f;
    int e = dc09_decode(F.sent[i].bytes, F.sent[i].len, &o, &f, NULL);
    assert_int_equal(e, 0);
    return f;
}

static uint16_t cid_event(unsigned i)
{
    struct dc09_frame f = decoded(i);
    assert_true(f.has_cid);
    return (uint16_t)(f.cid.qualifier * 1000u + f.cid.event);
}

static void reply(unsigned path, const uint8_t *b, size_t n)
{
    comm_receive(&F.c, path, b, n, false, F.now);
}

/* The station's ACK for sent frame i, stamped at ack_s (0: the frame's own time). */
static void ack_at(unsigned i, unsigned path, int64_t ack_s)
{
    struct dc09_frame req = decoded(i);
    uint8_t out[DC09_FRAME_MAX];
    size_t n = 0;
    if (ack_s == 0)
        ack_s = req.time_s;
    assert_int_equal(dc09_reply_ack(&req, F.encrypted ? &F.stnkey.base : NULL, &F.rng, ack_s,
                                    out, sizeof out, &n), 0);
    reply(path, out, n);
}

static void ack(unsigned i) { ack_at(i, F.sent[i].path, 0); }

static void station_auto(void)
{
    while (F.auto_from < F.nsent) {
        unsigned k = F.auto_from++;
        if (!F.auto_ack[F.sent[k].path])
            continue;
        struct dc09_frame f = decoded(k);
        if (f.has_cid && F.auto_n < 64)
            F.auto_ev[F.auto_n++] = (uint16_t)(f.cid.qualifier * 1000u + f.cid.event);
        ack(k);
    }
}

static bool has_ev(uint16_t want)
{
    for (unsigned i = 0; i < F.auto_n; i++)
        if (F.auto_ev[i] == want)
            return true;
    return false;
}

/* Arm with the master code, let the exit delay run out (closing report),
 * disarm (opening report): two routine events. */
static void routine_pair(void)
{
    keys(MASTER "#");
    advance(61000);
    keys(MASTER "#");
}

/* ---- tests ---------------------------------------------------------- */

static void test_clear_frame_and_ack(void **s)
{
    (void)s;
    keys(MASTER "#");                   /* arm: nothing reported yet */
    assert_int_equal(F.nsent, 0);
    advance(61000);                     /* exit delay over: closing (stay: nobody left) */
    assert_int_equal(F.nsent, 1);
    struct dc09_frame f = decoded(0);
    assert_int_equal(f.id, DC09_ID_ADM_CID);
    assert_false(f.encrypted);
    assert_string_equal(f.account, "1234");
    assert_int_equal(f.seq, 3);          /* 1, 2: the set-up's programming reports */
    assert_int_equal(cid_event(0), 3441);
    assert_true(f.has_time);
    assert_true(f.time_s >= T0_WALL_MS / 1000 && f.time_s <= T0_WALL_MS / 1000 + 70);
    ack(0);
    assert_int_equal(pnl_queue_count(&F.p), 0);
    assert_int_equal(comm_inflight(&F.c), 0);
}

static void test_duress_first(void **s)
{
    (void)s;
    F.hold = true;                      /* events pile up before the communicator runs */
    routine_pair();
    keys(MASTER "#");
    keys(DURESS "#");                   /* disarm under duress during the exit delay */
    assert_int_equal(pnl_queue_count(&F.p), 3);
    F.hold = false;
    assert_int_equal(comm_tick(&F.c, F.now), 0);
    assert_int_equal(F.nsent, 2);        /* routine: one at a time */
    assert_int_equal(cid_event(0), 1121);  /* the duress leads */
    assert_int_equal(cid_event(1), 3441);  /* then the oldest routine event */
    ack(1);
    assert_int_equal(F.nsent, 3);
    assert_int_equal(cid_event(2), 1401);
    ack(0);
    ack(2);
    assert_int_equal(pnl_queue_count(&F.p), 0);
}

static void test_duress_never_waits_for_routine(void **s)
{
    (void)s;
    routine_pair();
    assert_int_equal(F.nsent, 1);           /* closing in flight, unacknowledged */
    assert_int_equal(cid_event(0), 3441);
    keys(DURESS "#");                       /* armed? no: disarmed → arms, and reports */
    assert_int_equal(F.nsent, 2);           /* the duress went at the same key press */
    assert_int_equal(cid_event(1), 1121);
    ack(1);
    ack(0);
    assert_int_equal(cid_event(2), 1401);   /* routine continues in order */
}

static void test_retry_same_seq_payload_fresh_time(void **s)
{
    (void)s;
    keys(DURESS "#");
    assert_int_equal(F.nsent, 1);
    advance(5000);                          /* no ACK: retried with backoff */
    assert_true(F.nsent >= 3);
    struct dc09_frame a = decoded(0), b = decoded(F.nsent - 1);
    for (unsigned i = 0; i < F.nsent; i++)
        assert_int_equal(cid_event(i), 1121);
    assert_int_equal(a.seq, b.seq);
    assert_int_equal(a.payload_len, b.payload_len);
    assert_memory_equal(a.data, b.data, a.data_len);
    assert_true(b.time_s > a.time_s);       /* fresh timestamp */
    assert_memory_not_equal(F.sent[0].bytes, F.sent[1].bytes, 40);
    ack(F.nsent - 1);
    assert_int_equal(pnl_queue_count(&F.p), 0);   /* nothing else yet (exit delay runs) */
    struct pnl_event e;
    for (unsigned i = 0; pnl_queue_at(&F.p, i, &e) == 0; i++)
        assert_int_not_equal(e.cid, 121);   /* the duress left the queue on its ACK */
}

static void test_forged_acks_ignored(void **s)
{
    (void)s;
    keys(DURESS "#");
    assert_int_equal(F.nsent, 1);
    struct dc09_frame f = decoded(0);
    unsigned q = pnl_queue_count(&F.p);

    ack_at(0, 1, 0);                        /* from the backup path it never went to */
    assert_int_equal(pnl_queue_count(&F.p), q);
    ack_at(0, 0, f.time_s - 600);           /* stale: 10 minutes before the send */
    assert_int_equal(pnl_queue_count(&F.p), q);

    /* wrong sequence */
    struct dc09_frame w = f;
    w.seq = (uint16_t)(f.seq + 1);
    uint8_t out[DC09_FRAME_MAX];
    size_t n;
    assert_int_equal(dc09_reply_ack(&w, &F.stnkey.base, &F.rng, f.time_s, out, sizeof out, &n), 0);
    reply(0, out, n);
    assert_int_equal(pnl_queue_count(&F.p), q);

    /* a clear ACK for an encrypted account (a downgrade anyone can forge) */
    struct dc09_frame clr = f;
    clr.encrypted = false;
    assert_int_equal(dc09_reply_ack(&clr, NULL, &F.rng, f.time_s, out, sizeof out, &n), 0);
    reply(0, out, n);
    assert_int_equal(pnl_queue_count(&F.p), q);

    /* another key: does not even decode */
    struct dc09_ossl other;
    key_init(&other, "Wrong-Key-16Byte");
    assert_int_equal(dc09_reply_ack(&f, &other.base, &F.rng, f.time_s, out, sizeof out, &n), 0);
    dc09_ossl_free(&other);
    reply(0, out, n);
    assert_int_equal(pnl_queue_count(&F.p), q);
    assert_int_equal(F.note_count[COMM_N_IGNORED], 5);
    assert_int_equal(F.note_count[COMM_N_ACKED], 0);

    ack(0);                                 /* the genuine one */
    assert_int_equal(pnl_queue_count(&F.p), q - 1);
    assert_int_equal(F.note_count[COMM_N_ACKED], 1);
}

static void nak_at(unsigned path, int64_t t_s)
{
    uint8_t out[DC09_FRAME_MAX];
    size_t n;
    assert_int_equal(dc09_reply_nak(t_s, out, sizeof out, &n), 0);
    reply(path, out, n);
}

static void test_nak_clock_correction_bounded(void **s)
{
    (void)s;
    nak_at(0, T0_WALL_MS / 1000 + 600);     /* nothing in flight: ignored */
    assert_int_equal(F.note_count[COMM_N_CLOCK], 0);
    assert_int_equal(F.note_count[COMM_N_IGNORED], 1);

    keys(DURESS "#");
    struct dc09_frame a = decoded(0);
    nak_at(0, a.time_s + 600);              /* the receiver is 10 minutes ahead */
    assert_int_equal(F.note_count[COMM_N_CLOCK], 1);
    assert_int_equal(F.last_applied_s, 600);
    assert_int_equal(F.nsent, 2);           /* resent at once */
    struct dc09_frame b = decoded(1);
    assert_int_equal(b.seq, a.seq);
    assert_true(b.time_s >= a.time_s + 600 && b.time_s <= a.time_s + 601);

    nak_at(0, b.time_s + 5 * 3600);         /* 5 hours more: bounded to 1 h in total */
    assert_int_equal(F.last_applied_s, 3000);
    struct dc09_frame c = decoded(2);
    assert_true(c.time_s >= a.time_s + 3600 && c.time_s <= a.time_s + 3601);
    nak_at(0, c.time_s + 3600);             /* at the bound: nothing more */
    assert_int_equal(F.last_applied_s, 0);
    ack(F.nsent - 1);                       /* the ACK's freshness moved with the clock */
    assert_int_equal(F.note_count[COMM_N_ACKED], 1);
}

/* comm_wall_s divides without a 64-bit divide (Cortex-M0): the seconds, rounded
 * down, for every sign and size of wall time, against C's division. */
static void test_wall_s_rounds_down(void **s)
{
    (void)s;
    uint64_t x = 0x9E3779B97F4A7C15u;
    for (unsigned i = 0; i < 200000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int64_t wall = (int64_t)(x >> (i % 40u)) * (i & 1u ? -1 : 1);
        if (i < 4000)
            wall = (int64_t)i - 2000;           /* around 0 and every remainder */
        uint64_t now = x % 100000000u;
        comm_set_wall(&F.c, now, wall);
        int64_t want = wall >= 0 ? wall / 1000 : -((999 - wall) / 1000);
        assert_int_equal(comm_wall_s(&F.c, now + 0), want);
        int64_t later = wall + 123456789;
        want = later >= 0 ? later / 1000 : -((999 - later) / 1000);
        assert_int_equal(comm_wall_s(&F.c, now + 123456789), want);
    }
}

static void duh(unsigned i)
{
    struct dc09_frame req = decoded(i);
    uint8_t out[DC09_FRAME_MAX];
    size_t n;
    assert_int_equal(dc09_reply_duh(&req, out, sizeof out, &n), 0);
    reply(F.sent[i].path, out, n);
}

static void test_duh_routine_given_up_duress_kept(void **s)
{
    (void)s;
    keys(MASTER "#");
    advance(61000);
    assert_int_equal(F.nsent, 1);
    unsigned q = pnl_queue_count(&F.p);
    duh(0);                                 /* routine: refused → trouble, dropped */
    assert_int_equal(F.note_count[COMM_N_DUH], 1);
    assert_int_equal(F.note_count[COMM_N_GIVE_UP], 1);
    assert_int_equal(pnl_queue_count(&F.p), q - 1);

    keys(DURESS "#");                       /* disarms; duress + opening */
    unsigned d = F.nsent - 2;
    assert_int_equal(cid_event(d), 1121);
    duh(d);
    assert_int_equal(F.note_count[COMM_N_GIVE_UP], 1);   /* never given up */
    unsigned n = F.nsent;
    advance(7000);                          /* not hammered: waits the slow interval */
    for (unsigned i = n; i < F.nsent; i++)
        assert_int_not_equal(cid_event(i), 1121);
    advance(2000);
    bool again = false;
    for (unsigned i = n; i < F.nsent; i++)
        again |= cid_event(i) == 1121;
    assert_true(again);
    struct pnl_event e;
    assert_int_equal(pnl_queue_peek(&F.p, &e), 0);
    assert_int_equal(e.cid, 121);
}

static bool has(const uint16_t *ev, unsigned n, uint16_t want)
{
    for (unsigned i = 0; i < n; i++)
        if (ev[i] == want)
            return true;
    return false;
}

static void test_backup_switch_and_return(void **s)
{
    (void)s;
    F.path_down[0] = true;                  /* the primary's line is cut */
    F.auto_ack[1] = true;                   /* the backup receiver answers */
    assert_int_equal(pnl_zone_set(&F.p, 6, true, F.now), 0);   /* silent hold-up */
    assert_int_equal(comm_tick(&F.c, F.now), 0);
    assert_int_equal(F.nsent, 0);           /* the primary refuses every send */
    advance(1000);                          /* priority 1: after its first timeout */
    assert_true(has(F.auto_ev, F.auto_n, 1122));    /* the hold-up went by the backup */
    assert_int_equal(pnl_queue_count(&F.p), 0);
    assert_int_equal(comm_active_path(&F.c), 0);    /* routine: path_fail_max rule */
    assert_int_equal(F.note_count[COMM_N_PATH_FAIL], 0);
    keys(MASTER "#");                       /* arm: the closing report is routine */
    advance(61000 + 10000);
    assert_int_equal(comm_active_path(&F.c), 1);
    assert_int_equal(F.note_count[COMM_N_PATH_FAIL], 1);
    assert_true(has(F.auto_ev, F.auto_n, 3441));    /* by the backup after 3 timeouts */
    assert_true(has(F.auto_ev, F.auto_n, 1350));    /* with the primary path's failure */
    for (unsigned k = 0; k < F.nsent; k++)
        if (decoded(k).id == DC09_ID_ADM_CID && decoded(k).cid.event == 350)
            assert_int_equal(decoded(k).cid.zone, 1);
    assert_int_equal(pnl_queue_count(&F.p), 0);
    assert_int_equal(comm_inflight(&F.c), 0);
    assert_int_equal(comm_trouble_count(&F.c), 0);

    advance(15000);                         /* the primary stays down: still on backup */
    assert_int_equal(comm_active_path(&F.c), 1);
    F.path_down[0] = false;                 /* the primary is back */
    F.auto_ack[0] = true;
    unsigned before = F.nsent;
    advance(16000);                         /* the next probe (every 30 s) */
    assert_int_equal(comm_active_path(&F.c), 0);
    assert_int_equal(F.note_count[COMM_N_PATH_RESTORE], 1);
    bool probe = false, restore = false;
    for (unsigned k = before; k < F.nsent; k++) {
        struct dc09_frame f = decoded(k);
        probe |= F.sent[k].path == 0 && f.id == DC09_ID_NULL;
        restore |= F.sent[k].path == 0 && f.has_cid && f.cid.event == 350 &&
                   f.cid.qualifier == 3 && f.cid.zone == 1;   /* the restore by the primary */
    }
    assert_true(probe);
    assert_true(restore);
    assert_int_equal(comm_trouble_count(&F.c), 0);
}

static void test_poll_timing(void **s)
{
    (void)s;
    advance(89800);
    assert_int_equal(F.nsent, 0);
    advance(300);
    assert_int_equal(F.nsent, 1);
    assert_int_equal(decoded(0).id, DC09_ID_NULL);
    assert_true(decoded(0).encrypted);
    ack(0);
    assert_int_equal(F.note_count[COMM_N_POLL_ACKED], 1);
    advance(30000);                          /* an event at +30 s restarts the interval */
    assert_int_equal(pnl_zone_set(&F.p, 6, true, F.now), 0);
    assert_int_equal(comm_tick(&F.c, F.now), 0);
    assert_int_equal(F.nsent, 2);
    ack(1);
    advance(89000);                          /* 90 s after the event, not after the poll */
    for (unsigned i = 2; i < F.nsent; i++)
        assert_int_not_equal(decoded(i).id, DC09_ID_NULL);
    advance(61000);
    bool polled = false;
    for (unsigned i = 2; i < F.nsent; i++)
        polled |= decoded(i).id == DC09_ID_NULL;
    assert_true(polled);
}

static void test_seq_survives_restart(void **s)
{
    (void)s;
    keys(DURESS "#");                        /* duress (seq 1) */
    assert_int_equal(F.nsent, 1);
    struct dc09_frame first = decoded(0);
    /* power cut: nothing but storage survives */
    memset(&F.p, 0xA5, sizeof F.p);
    memset(&F.c, 0xA5, sizeof F.c);
    F.now += 5000;
    start_panel(false);
    assert_int_equal(comm_tick(&F.c, F.now), 0);
    unsigned again = 0;
    for (unsigned i = 1; i < F.nsent; i++)
        if (cid_event(i) == 1121)
            again = i;
    assert_true(again);
    assert_int_equal(decoded(again).seq, first.seq);   /* same sequence: stored once */
    routine_pair();                          /* the duress still unacknowledged */
    unsigned others = 0;
    for (unsigned i = again + 1; i < F.nsent; i++) {
        if (cid_event(i) == 1121)
            continue;
        others++;
        assert_int_not_equal(decoded(i).seq, first.seq);   /* never reused while unacked */
    }
    assert_true(others >= 1);
}

static void test_trouble_persisted_torn_record_falls_back(void **s)
{
    (void)s;
    F.path_down[0] = true;
    assert_int_equal(F.comm_mem.writes, 0);
    assert_int_equal(pnl_zone_set(&F.p, 6, true, F.now), 0);
    advance(8000);                           /* the path fails: trouble 1350 raised */
    assert_int_equal(F.note_count[COMM_N_PATH_FAIL], 1);
    assert_int_equal(comm_trouble_count(&F.c), 1);
    unsigned w = F.comm_mem.writes;
    assert_true(w > 0);
    /* power cut: the trouble report survives it */
    memset(&F.c, 0, sizeof F.c);
    memset(&F.p, 0, sizeof F.p);
    start_panel(false);
    assert_int_equal(comm_trouble_count(&F.c), 1);
    F.path_down[0] = false;
    F.auto_ack[0] = true;
    F.auto_from = F.nsent;
    advance(3000);
    assert_true(has_ev(1350));
    assert_int_equal(comm_trouble_count(&F.c), 0);  /* delivered: a second record */
    /* that newest record is torn by a power cut: the previous one is loaded */
    unsigned newest = F.c.save_slot;
    F.comm_mem.slot[newest][13] ^= 0xFF;
    memset(&F.c, 0, sizeof F.c);
    memset(&F.p, 0, sizeof F.p);
    start_panel(false);
    assert_int_equal(comm_trouble_count(&F.c), 1);  /* sent again: at least once */
}

static void test_no_storage_write_for_send_or_ack(void **s)
{
    (void)s;
    unsigned core0 = F.core_mem.writes;
    keys(DURESS "#");                        /* the core saves once per code entry */
    unsigned core1 = F.core_mem.writes;
    assert_true(core1 > core0);
    assert_int_equal(F.nsent, 1);
    ack(0);                                  /* delivered */
    assert_int_equal(F.core_mem.writes, core1);   /* the ACK wrote nothing... */
    assert_int_equal(F.comm_mem.writes, 0);       /* ... and neither did the send */
    assert_int_equal(F.note_count[COMM_N_ACKED], 1);
}

static void test_queue_full_duress_kept(void **s)
{
    (void)s;
    F.hold = true;                           /* the line was cut: nothing leaves */
    for (int i = 0; i < 40; i++)
        routine_pair();                      /* 80 routine events into a 64-event queue */
    assert_int_equal(pnl_queue_count(&F.p), PNL_QUEUE_MAX);
    keys(MASTER "#");
    advance(61000);
    keys(DURESS "#");                        /* queue full: a routine event gives way */
    assert_int_equal(pnl_queue_count(&F.p), PNL_QUEUE_MAX);
    struct pnl_event e;
    assert_int_equal(pnl_queue_peek(&F.p, &e), 0);
    assert_int_equal(e.cid, 121);
    for (int i = 0; i < 5; i++)
        routine_pair();                      /* more routine traffic: the duress stays */
    assert_int_equal(pnl_queue_peek(&F.p, &e), 0);
    assert_int_equal(e.cid, 121);
    F.hold = false;
    assert_int_equal(comm_tick(&F.c, F.now), 0);
    assert_true(F.nsent >= 1);
    assert_int_equal(cid_event(0), 1121);
}

static void test_periodic_test_report(void **s)
{
    (void)s;
    F.auto_ack[0] = true;
    assert_int_equal(pnl_set_setting(&F.p, PNL_SET_TEST_INTERVAL, 3600), 0);
    advance(3590 * 1000);
    assert_false(has_ev(1602));
    advance(20 * 1000);
    assert_true(has_ev(1602));               /* the core's 602, delivered */
    assert_int_equal(pnl_queue_count(&F.p), 0);
}

/* The core's programming report (CID 306 with a text) goes as SIA-DCS YG with
 * that text, area and zone, on the core's sequence; its ACK removes it. */
static void test_core_programming_report_as_sia(void **s)
{
    (void)s;
    struct pnl_policy_result r;
    assert_int_equal(pnl_user_set(&F.p, 3, "2469", 4, PNL_ROLE_USER, 1, true, 0, &r, NULL),
                     PNL_E_POLICY);
    assert_int_equal(comm_tick(&F.c, F.now), 0);
    assert_int_equal(F.nsent, 1);
    struct dc09_frame f = decoded(0);
    assert_int_equal(f.id, DC09_ID_SIA_DCS);
    assert_true(f.has_sia);
    assert_string_equal(f.sia.code, "YG");
    assert_int_equal(f.sia.area, 1);
    assert_int_equal(f.sia.zone, 3);
    assert_string_equal(f.sia.text, "duress code refused R2 one-edit slot 1");
    assert_true(f.seq < 9000);
    ack(0);
    assert_int_equal(pnl_queue_count(&F.p), 0);
}

static void test_own_sia_report(void **s)
{
    (void)s;
    assert_int_equal(comm_report_sia(&F.c, "Yg", 1, 2, "x"), COMM_E_INVAL);
    assert_int_equal(comm_report_sia(&F.c, "YG", 1, 2, "bad ^text^"), COMM_E_INVAL);
    assert_int_equal(comm_report_sia(&F.c, "YG", 1, 2, "duress code programmed"), COMM_OK);
    /* kept across a power cut until delivered */
    memset(&F.c, 0, sizeof F.c);
    memset(&F.p, 0, sizeof F.p);
    start_panel(false);
    assert_int_equal(comm_trouble_count(&F.c), 1);
    assert_int_equal(comm_tick(&F.c, F.now), 0);
    assert_int_equal(F.nsent, 1);
    struct dc09_frame f = decoded(0);
    assert_int_equal(f.id, DC09_ID_SIA_DCS);
    assert_true(f.encrypted);
    assert_true(f.has_sia);
    assert_string_equal(f.sia.code, "YG");
    assert_int_equal(f.sia.area, 1);
    assert_int_equal(f.sia.zone, 2);
    assert_string_equal(f.sia.text, "duress code programmed");
    assert_true(f.seq >= 9000);
    ack(0);
    assert_int_equal(comm_trouble_count(&F.c), 0);
    /* a full table is COMM_E_FULL (it was COMM_E_NOSPACE, "storage slot too
     * small", issue 12), and the last entries stay for path trouble */
    for (unsigned i = 0; i < COMM_TROUBLE_MAX - COMM_TROUBLE_RESERVE; i++)
        assert_int_equal(comm_report_sia(&F.c, "YG", 1, 2, "r"), COMM_OK);
    assert_int_equal(comm_report_sia(&F.c, "YG", 1, 2, "r"), COMM_E_FULL);
    assert_int_equal(comm_trouble_count(&F.c), COMM_TROUBLE_MAX - COMM_TROUBLE_RESERVE);
    assert_string_not_equal(comm_strerror(COMM_E_FULL), comm_strerror(COMM_E_NOSPACE));
    assert_null(strstr(comm_strerror(COMM_E_FULL), "storage"));
}

/* ---- fast failover for priority 1 (issue 13) ------------------------- */

static unsigned sent_on(unsigned path, uint16_t ev, unsigned from)
{
    unsigned n = 0;
    for (unsigned k = from; k < F.nsent; k++)
        if (F.sent[k].path == path && decoded(k).has_cid && cid_event(k) == ev)
            n++;
    return n;
}

static bool queued_cid(uint16_t cid)
{
    struct pnl_event e;
    for (unsigned i = 0; pnl_queue_at(&F.p, i, &e) == 0; i++)
        if (e.cid == cid)
            return true;
    return false;
}

/* The primary takes frames and never answers; the backup answers. A duress
 * goes to the backup after its FIRST timeout, within ack_timeout_ms. */
static void test_duress_other_path_after_first_timeout(void **s)
{
    (void)s;
    F.auto_ack[1] = true;
    keys(DURESS "#");
    assert_int_equal(sent_on(0, 1121, 0), 1);
    assert_int_equal(sent_on(1, 1121, 0), 0);
    uint64_t t0 = F.now;
    while (sent_on(1, 1121, 0) == 0 && F.now - t0 < 10000)
        advance(100);
    assert_true(F.now - t0 <= F.cfg.ack_timeout_ms);   /* not after path_fail_max */
    assert_false(queued_cid(121));                     /* ACKed by the backup */
    assert_int_equal(F.note_count[COMM_N_ACKED], 1);
    assert_int_equal(F.note_count[COMM_N_PATH_FAIL], 0);   /* routine rule unchanged */
    assert_int_equal(comm_active_path(&F.c), 0);
}

/* A lost connection counts as the timeout: the duress goes on the other path
 * at once, not at its timer. */
static void test_duress_other_path_on_lost_connection(void **s)
{
    (void)s;
    keys(DURESS "#");
    assert_int_equal(sent_on(0, 1121, 0), 1);
    comm_path_lost(&F.c, 0, F.now);         /* the primary's TCP closed */
    assert_int_equal(comm_tick(&F.c, F.now), 0);
    assert_int_equal(sent_on(1, 1121, 0), 1);
    assert_int_equal(comm_active_path(&F.c), 0);   /* routine: still the primary */
}

/* Routine traffic keeps the path_fail_max rule: it stays on the primary
 * for path_fail_max timeouts, then moves. */
static void test_routine_keeps_path_fail_max(void **s)
{
    (void)s;
    F.auto_ack[1] = true;
    keys(MASTER "#");
    advance(60000);
    while (sent_on(0, 3441, 0) == 0)
        advance(100);
    while (F.note_count[COMM_N_PATH_FAIL] == 0) {
        assert_int_equal(sent_on(1, 3441, 0), 0);      /* never the backup before */
        advance(100);
        assert_true(F.now < 200000);
    }
    assert_int_equal(sent_on(0, 3441, 0), F.cfg.path_fail_max);
    advance(200);
    assert_int_equal(sent_on(1, 3441, 0), 1);
    assert_false(queued_cid(441));                 /* ACKed by the backup */
}

/* While the primary failed within the hour, priority 1 goes on both paths
 * at once: the same bytes (same sequence: the station stores it once). */
static void test_duress_both_paths_while_primary_failed(void **s)
{
    (void)s;
    F.auto_ack[1] = true;
    keys(DURESS "#");
    advance(1100);                       /* failed over: the primary failed now */
    assert_false(queued_cid(121));
    F.auto_ack[1] = false;
    unsigned n0 = F.nsent;
    assert_int_equal(pnl_zone_set(&F.p, 6, true, F.now), 0);   /* hold-up */
    assert_int_equal(comm_tick(&F.c, F.now), 0);
    assert_int_equal(F.nsent, n0 + 2);
    assert_int_equal(F.sent[n0].path + F.sent[n0 + 1].path, 1);   /* one each */
    assert_int_equal(F.sent[n0].len, F.sent[n0 + 1].len);
    assert_memory_equal(F.sent[n0].bytes, F.sent[n0 + 1].bytes, F.sent[n0].len);
    assert_int_equal(cid_event(n0), 1122);
    unsigned on1 = F.sent[n0].path == 1 ? n0 : n0 + 1;
    ack(on1);                            /* the backup's ACK counts */
    assert_false(queued_cid(122));
    unsigned ign = F.note_count[COMM_N_IGNORED];
    ack_at(on1 ^ 1u ? n0 + (on1 == n0) : n0, 0, 0);   /* the primary's ACK too: harmless */
    assert_int_equal(F.note_count[COMM_N_IGNORED], ign + 1);
    assert_int_equal(F.note_count[COMM_N_ACKED], 2);

    /* more than an hour later: one path again */
    F.auto_ack[0] = true;
    assert_int_equal(pnl_zone_set(&F.p, 6, false, F.now), 0);
    advance(3600 * 1000);
    n0 = F.nsent;
    assert_int_equal(pnl_zone_set(&F.p, 6, true, F.now), 0);
    assert_int_equal(comm_tick(&F.c, F.now), 0);
    assert_int_equal(F.nsent, n0 + 1);
    assert_int_equal(F.sent[n0].path, 0);
    assert_int_equal(cid_event(n0), 1122);
}

/* ---- replies: one check (dc09_reply_check) ---------------------------- */

static void ack_of(struct dc09_frame req, unsigned path, int64_t ack_s)
{
    uint8_t out[DC09_FRAME_MAX];
    size_t n = 0;
    assert_int_equal(dc09_reply_ack(&req, &F.stnkey.base, &F.rng, ack_s, out, sizeof out, &n), 0);
    reply(path, out, n);
}

static void test_ack_checked_one_way(void **s)
{
    (void)s;
    strcpy(F.c.cfg.receiver, "1A");      /* frames carry R1A */
    keys(DURESS "#");
    struct dc09_frame f = decoded(0);
    assert_true(f.has_receiver);
    int64_t now_s = comm_wall_s(&F.c, F.now);

    ack_of(f, 0, now_s + 120);           /* dated 2 minutes ahead: refused */
    assert_string_equal(F.last_reason, dc09_verdict_name(DC09_V_FUTURE));
    ack_of(f, 0, now_s - 60);            /* behind the window */
    assert_string_equal(F.last_reason, dc09_verdict_name(DC09_V_STALE));
    struct dc09_frame w = f;
    w.has_receiver = false;              /* R not echoed */
    ack_of(w, 0, now_s);
    assert_string_equal(F.last_reason, dc09_verdict_name(DC09_V_RECEIVER));
    strcpy(w.receiver, "2B");
    w.has_receiver = true;               /* another receiver */
    ack_of(w, 0, now_s);
    assert_string_equal(F.last_reason, dc09_verdict_name(DC09_V_RECEIVER));
    w = f;
    strcpy(w.line, "7");                 /* L not echoed */
    ack_of(w, 0, now_s);
    assert_string_equal(F.last_reason, dc09_verdict_name(DC09_V_LINE));
    w = f;
    strcpy(w.account, "1235");           /* another account */
    ack_of(w, 0, now_s);
    assert_string_equal(F.last_reason, dc09_verdict_name(DC09_V_ACCOUNT));
    assert_int_equal(F.note_count[COMM_N_IGNORED], 6);
    assert_true(queued_cid(121));
    assert_int_equal(F.note_count[COMM_N_ACKED], 0);

    ack_of(f, 0, now_s + 35);            /* a station clock 35 s ahead: within the
                                            station's own window, so accepted */
    assert_int_equal(F.note_count[COMM_N_ACKED], 1);
    assert_false(queued_cid(121));
}

static void raw_reply(unsigned path, const char *body)
{
    char out[256];
    size_t bl = strlen(body);
    int n = snprintf(out, sizeof out, "\n%04X%04X%s\r", dc09_crc16((const uint8_t *)body, bl),
                     (unsigned)bl, body);
    reply(path, (const uint8_t *)out, (size_t)n);
}

static void test_nak_token_order_quirk(void **s)
{
    (void)s;
    keys(DURESS "#");
    struct dc09_frame a = decoded(0);
    char ts[24], body[80];
    assert_int_equal(dc09_time_format(a.time_s + 600, ts, sizeof ts), 0);
    snprintf(body, sizeof body, "\"NAK\"0000L0R0A0[]_%s", ts);
    raw_reply(0, body);                  /* strict: refused */
    assert_int_equal(F.note_count[COMM_N_CLOCK], 0);
    assert_string_equal(F.last_reason, "format");
    F.c.cfg.reply_quirks |= DC09_Q_NAK_TOKEN_ORDER;
    raw_reply(0, body);                  /* under the quirk: a NAK */
    assert_int_equal(F.note_count[COMM_N_CLOCK], 1);
    assert_int_equal(F.last_applied_s, 600);
    assert_int_equal(F.nsent, 2);        /* resent at once, corrected */
    snprintf(body, sizeof body, "\"NAK\"0000L0L0A0[]_%s", ts);
    raw_reply(0, body);                  /* a token twice: still refused */
    assert_int_equal(F.note_count[COMM_N_CLOCK], 1);
}

/* ---- one-in-flight --------------------------------------------------- */

static void pile_up(void)
{
    F.hold = true;
    routine_pair();                      /* closing, opening */
    keys(MASTER "#");
    keys(DURESS "#");                    /* duress */
    assert_int_equal(pnl_zone_set(&F.p, 6, true, F.now), 0);   /* hold-up */
    F.hold = false;
    assert_int_equal(comm_tick(&F.c, F.now), 0);
}

static void test_one_in_flight(void **s)
{
    (void)s;
    pile_up();                           /* without the quirk: a burst */
    assert_int_equal(F.nsent, 3);        /* duress, hold-up, oldest routine */

    teardown(NULL);
    fx_setup_cfg(1, 0, true);
    F.cfg.one_in_flight = 1;
    F.c.cfg.one_in_flight = 1;
    pile_up();
    assert_int_equal(F.nsent, 1);        /* one frame at a time */
    assert_int_equal(cid_event(0), 1121);   /* the duress first */
    assert_true(comm_next_due_ms(&F.c) > F.now);   /* no busy loop while it waits */
    advance(300);
    assert_int_equal(F.nsent, 1);
    ack(0);
    assert_int_equal(F.nsent, 2);
    assert_int_equal(cid_event(1), 1122);
    ack(1);
    assert_int_equal(F.nsent, 3);
    assert_int_equal(cid_event(2), 3441);
    advance(1300);                       /* no reply: the same frame again, alone */
    assert_int_equal(F.nsent, 4);
    assert_int_equal(cid_event(3), 3441);
    ack(3);
    assert_int_equal(cid_event(4), 1401);
    assert_int_equal(F.nsent, 5);
}

/* one-in-flight: a frame whose send failed (line down) is not on the wire and
 * holds nothing back; when the line comes back the duress goes first. */
static void test_one_in_flight_line_down(void **s)
{
    (void)s;
    F.c.cfg.one_in_flight = 1;
    F.path_down[0] = true;
    keys(MASTER "#");
    advance(61000);                      /* the closing report: its send failed */
    unsigned tx = F.note_count[COMM_N_TX];
    keys(DURESS "#");
    assert_int_equal(F.note_count[COMM_N_TX], tx + 1);   /* the duress was tried */
    assert_int_equal(F.nsent, 0);
    F.path_down[0] = false;
    comm_path_up(&F.c, 0, F.now);
    assert_true(F.nsent >= 1);
    assert_int_equal(cid_event(0), 1121);   /* first on the wire */
    assert_int_equal(F.nsent, 1);           /* and alone */
    ack(0);
    assert_int_equal(F.nsent, 2);
    assert_int_equal(cid_event(1), 3441);
}

/* ---- pnl_queue_drop and the largest frame ----------------------------- */

static void test_queue_drop_never_priority1(void **s)
{
    (void)s;
    F.hold = true;
    keys(MASTER "#");
    advance(61000);                      /* closing (routine) */
    keys(MASTER "#");
    keys(DURESS "#");                    /* duress */
    struct pnl_event e;
    assert_int_equal(pnl_queue_peek(&F.p, &e), 0);
    assert_int_equal(e.cid, 121);
    assert_int_equal(pnl_queue_drop(&F.p, e.id), PNL_E_DENIED);
    assert_true(queued_cid(121));
    unsigned q = pnl_queue_count(&F.p);
    assert_int_equal(pnl_queue_at(&F.p, 1, &e), 0);
    assert_int_not_equal(e.prio, 1);
    assert_int_equal(pnl_queue_drop(&F.p, e.id), PNL_OK);
    assert_int_equal(pnl_queue_count(&F.p), q - 1);
    assert_int_equal(pnl_queue_drop(&F.p, e.id), PNL_E_NOENT);
}

static void test_largest_frame_fits(void **s)
{
    (void)s;
    strcpy(F.c.cfg.account, "0123456789ABCDEF");
    strcpy(F.c.cfg.receiver, "ABCDEF");
    strcpy(F.c.cfg.line, "123456");
    char text[COMM_TEXT_MAX + 1];
    memset(text, 'W', COMM_TEXT_MAX);
    text[COMM_TEXT_MAX] = '\0';
    F.auto_ack[0] = true;
    for (unsigned i = 0; i < 16; i++) {  /* pads of every length */
        assert_int_equal(comm_report_sia(&F.c, "YG", 255, 999, text), COMM_OK);
        assert_int_equal(comm_tick(&F.c, F.now), 0);
        advance(100);
    }
    assert_int_equal(F.nsent, 16);
    assert_int_equal(comm_trouble_count(&F.c), 0);
    print_message("largest frame: %zu bytes (COMM_TX_MAX %u)\n", F.max_tx_len, COMM_TX_MAX);
    assert_true(F.max_tx_len <= COMM_TX_MAX);
    assert_true(F.max_tx_len + 48 > COMM_TX_MAX);   /* and not far larger (RAM) */
}

static void test_config_validation(void **s)
{
    (void)s;
    struct comm_config c;
    comm_config_defaults(&c);
    assert_int_equal(comm_config_validate(&c), COMM_E_INVAL);   /* no account */
    strcpy(c.account, "12G4");
    assert_int_equal(comm_config_validate(&c), COMM_E_INVAL);
    strcpy(c.account, "12AB");
    assert_int_equal(comm_config_validate(&c), COMM_OK);
    c.paths = 3;
    assert_int_equal(comm_config_validate(&c), COMM_E_INVAL);
    c.paths = 2;
    c.ack_timeout_ms = 0;
    assert_int_equal(comm_config_validate(&c), COMM_E_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_clear_frame_and_ack, setup_clear, teardown),
        cmocka_unit_test_setup_teardown(test_duress_first, setup_enc, teardown),
        cmocka_unit_test_setup_teardown(test_duress_never_waits_for_routine, setup_enc, teardown),
        cmocka_unit_test_setup_teardown(test_retry_same_seq_payload_fresh_time, setup_enc, teardown),
        cmocka_unit_test_setup_teardown(test_forged_acks_ignored, setup_dual, teardown),
        cmocka_unit_test_setup_teardown(test_wall_s_rounds_down, setup_clear, teardown),
        cmocka_unit_test_setup_teardown(test_nak_clock_correction_bounded, setup_enc, teardown),
        cmocka_unit_test_setup_teardown(test_duh_routine_given_up_duress_kept, setup_enc, teardown),
        cmocka_unit_test_setup_teardown(test_backup_switch_and_return, setup_dual, teardown),
        cmocka_unit_test_setup_teardown(test_poll_timing, setup_poll, teardown),
        cmocka_unit_test_setup_teardown(test_seq_survives_restart, setup_enc, teardown),
        cmocka_unit_test_setup_teardown(test_trouble_persisted_torn_record_falls_back, setup_enc,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_no_storage_write_for_send_or_ack, setup_enc, teardown),
        cmocka_unit_test_setup_teardown(test_queue_full_duress_kept, setup_enc, teardown),
        cmocka_unit_test_setup_teardown(test_periodic_test_report, setup_clear, teardown),
        cmocka_unit_test_setup_teardown(test_core_programming_report_as_sia, setup_enc, teardown),
        cmocka_unit_test_setup_teardown(test_own_sia_report, setup_enc, teardown),
        cmocka_unit_test_setup_teardown(test_duress_other_path_after_first_timeout, setup_dual,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_duress_other_path_on_lost_connection, setup_dual,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_routine_keeps_path_fail_max, setup_dual, teardown),
        cmocka_unit_test_setup_teardown(test_duress_both_paths_while_primary_failed, setup_dual,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_ack_checked_one_way, setup_enc, teardown),
        cmocka_unit_test_setup_teardown(test_nak_token_order_quirk, setup_enc, teardown),
        cmocka_unit_test_setup_teardown(test_one_in_flight, setup_enc, teardown),
        cmocka_unit_test_setup_teardown(test_one_in_flight_line_down, setup_enc, teardown),
        cmocka_unit_test_setup_teardown(test_queue_drop_never_priority1, setup_enc, teardown),
        cmocka_unit_test_setup_teardown(test_largest_frame_fits, setup_enc, teardown),
        cmocka_unit_test(test_config_validation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
