/* test_logic.c — the station's priority table (DURESS.md), the per-account
 * token bucket, the in-memory duplicate window and the linger meter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "stn_internal.h"

static struct stn_class cid(uint8_t q, uint16_t ev)
{
    struct dc09_cid c = { .qualifier = q, .event = ev, .partition = 1, .zone = 3 };
    struct stn_class k;
    stn_classify_cid(&c, &k);
    return k;
}

static struct stn_class sia(const char *code)
{
    struct dc09_sia s;
    memset(&s, 0, sizeof s);
    memcpy(s.code, code, 2);
    struct stn_class k;
    stn_classify_sia(&s, &k);
    return k;
}

static void priority_table(void **state)
{
    (void)state;
    struct stn_class k = cid(1, 121);
    assert_string_equal(k.kind, "duress");
    assert_int_equal(k.priority, 1);
    assert_true(k.is_user);
    assert_true(stn_class_is_duress(&k));
    k = cid(1, 122);
    assert_int_equal(k.priority, 1);
    assert_true(stn_class_is_duress(&k));
    k = sia("HA");
    assert_string_equal(k.kind, "duress");
    assert_int_equal(k.priority, 1);
    for (uint16_t e = 110; e <= 118; e++)
        assert_int_equal(cid(1, e).priority, 2);
    assert_int_equal(cid(1, 119).priority, 0);
    uint16_t p3[] = { 100, 101, 102, 120, 123 };
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(cid(1, p3[i]).priority, 3);
    for (uint16_t e = 130; e <= 139; e++) {
        assert_int_equal(cid(1, e).priority, 4);
        assert_string_equal(cid(1, e).kind, "burglary");
    }
    assert_int_equal(cid(1, 301).priority, 5);
    assert_int_equal(cid(1, 302).priority, 5);
    /* openings, closings, tests: stored, no alarm */
    assert_null(cid(1, 401).kind);
    assert_null(cid(3, 401).kind);
    assert_true(cid(1, 401).is_user);
    assert_null(cid(1, 602).kind);
    assert_null(sia("OP").kind);
    assert_null(sia("CL").kind);
    assert_null(sia("RP").kind);
    /* restores mark, never open */
    k = cid(3, 130);
    assert_true(k.restore);
    assert_int_equal(k.priority, 0);
    assert_false(stn_class_is_duress(&k));
    k = sia("HH");
    assert_true(k.restore);
    assert_false(stn_class_is_duress(&k));
    /* the station's own kinds */
    assert_int_equal(stn_kind_priority("comm_failure"), 4);
    assert_int_equal(stn_kind_priority("decrypt_failure"), 4);
    assert_int_equal(stn_kind_priority("clear_on_keyed"), 4);
    assert_int_equal(stn_kind_priority("flood"), 4);
    assert_int_equal(stn_kind_priority("duress"), 1);
    assert_int_equal(stn_kind_priority("nonsense"), 0);
}

static void bucket_burst_then_rate(void **state)
{
    (void)state;
    struct stn_bucket b;
    memset(&b, 0, sizeof b);
    int64_t t = 1000000;
    for (int i = 0; i < 1000; i++)
        assert_true(stn_bucket_take(&b, t, 10, 1000));  /* a 1,000-frame burst */
    assert_false(stn_bucket_take(&b, t, 10, 1000));     /* then empty */
    assert_false(stn_bucket_full(&b, t, 10, 1000));
    t += 100;                                           /* 0.1 s at 10/s = 1 token */
    assert_true(stn_bucket_take(&b, t, 10, 1000));
    assert_false(stn_bucket_take(&b, t, 10, 1000));
    t += 1000000;                                       /* long quiet: full, capped */
    assert_true(stn_bucket_full(&b, t, 10, 1000));
    int n = 0;
    while (stn_bucket_take(&b, t, 10, 1000))
        n++;
    assert_int_equal(n, 1000);
    /* rate 0: no limit */
    struct stn_bucket u;
    memset(&u, 0, sizeof u);
    for (int i = 0; i < 5000; i++)
        assert_true(stn_bucket_take(&u, t, 0, 1));
    /* clock going backwards gives no tokens */
    assert_false(stn_bucket_take(&b, t - 5000, 10, 1000));
}

/* The replay index: a block under any sequence number, per account, in the window. */
static void blocks_by_ciphertext(void **state)
{
    (void)state;
    struct stn_dedup d;
    assert_int_equal(stn_dedup_init(&d, 64), 0);
    uint64_t h = stn_dedup_hash(&d, "C9AD450C98742D4A", 16);
    uint64_t h2 = stn_dedup_hash(&d, "F353D7A328DF2FFA", 16);
    int64_t t = 5000000;
    uint16_t seq = 0;
    assert_int_equal(stn_blocks_find(&d, 7, h, t, 60000, &seq), 0);
    uint64_t g = stn_blocks_insert(&d, 7, 81, h, t);
    assert_true(g != 0);
    for (int i = 0; i < 20; i++)   /* other blocks between: still found */
        stn_blocks_insert(&d, 7, (uint16_t)(100 + i), h2 + (uint64_t)i * 2, t + i);
    assert_int_equal(stn_blocks_find(&d, 7, h, t + 1000, 60000, &seq), g);
    assert_int_equal(seq, 81);
    assert_int_equal(stn_blocks_find(&d, 8, h, t + 1000, 60000, &seq), 0);    /* other account */
    assert_int_equal(stn_blocks_find(&d, 7, h, t + 60001, 60000, &seq), 0);   /* window over */
    stn_dedup_free(&d);
}

static void dedup_window(void **state)
{
    (void)state;
    struct stn_dedup d;
    assert_int_equal(stn_dedup_init(&d, 64), 0);
    uint64_t h = stn_dedup_hash(&d, "#1234|1121 01 003", 17);
    uint64_t h2 = stn_dedup_hash(&d, "#1234|1130 01 003", 17);
    assert_true(h != h2);
    int64_t t = 5000000;
    uint64_t batch = 0;
    assert_int_equal(stn_dedup_find(&d, 7, 42, h, t, 600000, &batch), 0);
    uint64_t g = stn_dedup_insert(&d, 7, 42, h, t, 9);
    assert_true(g != 0);
    /* same account, seq, payload: duplicate, with its batch */
    assert_int_equal(stn_dedup_find(&d, 7, 42, h, t + 1000, 600000, &batch), g);
    assert_int_equal(batch, 9);
    /* other payload, other seq, other account: not */
    assert_int_equal(stn_dedup_find(&d, 7, 42, h2, t + 1000, 600000, &batch), 0);
    assert_int_equal(stn_dedup_find(&d, 7, 43, h, t + 1000, 600000, &batch), 0);
    assert_int_equal(stn_dedup_find(&d, 8, 42, h, t + 1000, 600000, &batch), 0);
    /* outside the window: not */
    assert_int_equal(stn_dedup_find(&d, 7, 42, h, t + 600001, 600000, &batch), 0);
    /* a failed commit makes it forgettable */
    assert_true(stn_dedup_valid(&d, g, 9));
    stn_dedup_forget(&d, g);
    assert_false(stn_dedup_valid(&d, g, 9));
    assert_int_equal(stn_dedup_find(&d, 7, 42, h, t + 1000, 600000, &batch), 0);
    /* seq reused with a new payload: the newest decides */
    uint64_t g1 = stn_dedup_insert(&d, 7, 50, h, t, 10);
    uint64_t g2 = stn_dedup_insert(&d, 7, 50, h2, t + 10, 11);
    assert_int_equal(stn_dedup_find(&d, 7, 50, h2, t + 20, 600000, &batch), g2);
    assert_int_equal(stn_dedup_find(&d, 7, 50, h, t + 20, 600000, &batch), 0);
    /* the ring is bounded: after cap newer entries the oldest is gone */
    uint64_t old = stn_dedup_insert(&d, 9, 1, h, t, 12);
    for (uint16_t s = 100; s < 100 + 64; s++)
        stn_dedup_insert(&d, 9, s, h, t + 1, 12);
    assert_int_equal(stn_dedup_find(&d, 9, 1, h, t + 2, 600000, &batch), 0);
    assert_int_equal(stn_dedup_find(&d, 9, 163, h, t + 2, 600000, &batch) != 0, 1);
    /* An entry pushed out of the ring (a burst past duplicate_entries_max while
     * its duplicate waits in the next batch) is judged by its batch: ACKable
     * while that batch has not failed, never once it has (the entry's own
     * "failed" mark went with it). */
    assert_true(stn_dedup_valid(&d, old, 12));
    assert_true(stn_dedup_valid(&d, g1, 10));
    stn_dedup_batch_failed(&d, 12);
    assert_false(stn_dedup_valid(&d, old, 12));
    assert_true(stn_dedup_valid(&d, g1, 10));   /* batch 10 committed */
    assert_false(stn_dedup_valid(&d, 0, 10));
    assert_false(stn_dedup_valid(&d, old, 0));
    stn_dedup_free(&d);
}

static void alloc_counts_and_fails(void **state)
{
    (void)state;
    size_t before = stn_alloc_bytes();
    void *p = stn_malloc(100);
    assert_non_null(p);
    assert_int_equal(stn_alloc_bytes(), before + 100);
    p = stn_realloc(p, 300);
    assert_int_equal(stn_alloc_bytes(), before + 300);
    stn_free(p);
    assert_int_equal(stn_alloc_bytes(), before);
    stn_alloc_fail_after(2);
    void *a = stn_malloc(8);
    void *b = stn_malloc(8);
    void *c = stn_malloc(8);
    assert_non_null(a);
    assert_null(b);
    assert_non_null(c);
    stn_free(a);
    stn_free(c);
}

/* One epoch of the linger meter: STN_LINGER_EPOCH commits of `items` each,
 * `gap_ns` apart, as the mode of the epoch makes them (the caller's model of
 * the store: how fast each way commits). Returns the mode chosen after. */
static bool run_epoch(struct stn_linger_meter *m, uint64_t *now, size_t items_linger,
                      uint64_t gap_linger, size_t items_not, uint64_t gap_not)
{
    for (unsigned i = 0; i < STN_LINGER_EPOCH; i++) {
        *now += m->mode ? gap_linger : gap_not;
        stn_linger_meter_note(m, m->mode ? items_linger : items_not, *now);
    }
    return m->mode;
}

/* How many of `epochs` epochs lingered, after `warm` epochs not counted. */
static unsigned lingered_in(struct stn_linger_meter *m, uint64_t *now, unsigned warm,
                            unsigned epochs, size_t items_linger, uint64_t gap_linger,
                            size_t items_not, uint64_t gap_not)
{
    for (unsigned e = 0; e < warm; e++)
        run_epoch(m, now, items_linger, gap_linger, items_not, gap_not);
    unsigned lingered = 0;
    for (unsigned e = 0; e < epochs; e++)
        lingered += run_epoch(m, now, items_linger, gap_linger, items_not, gap_not);
    return lingered;
}

static void linger_meter_keeps_the_faster_way(void **state)
{
    (void)state;
    struct stn_linger_meter m;
    uint64_t now = 1000000000;
    const unsigned epochs = 64, tries = epochs / STN_LINGER_EXPLORE + 1;
    /* SQLite-like: lingering fills the batch (48 a commit, 1.2 ms) where not
     * lingering commits 25 a commit in 1.0 ms: lingering is 60 % faster */
    stn_linger_meter_init(&m);
    assert_true(m.mode);                        /* lingers until measured */
    stn_linger_meter_note(&m, 10, now);         /* the first return starts the epoch */
    assert_false(run_epoch(&m, &now, 48, 1200000, 25, 1000000));   /* now the other way */
    unsigned lingered = lingered_in(&m, &now, 0, epochs, 48, 1200000, 25, 1000000);
    assert_true(lingered >= epochs - tries);    /* the other way: one epoch in 8 ... */
    assert_true(lingered < epochs);             /* ... but it is tried */

    /* PostgreSQL-like: a fuller batch costs as much longer (40 in 2.0 ms
     * lingering, 22 in 1.0 ms not): not lingering wins */
    stn_linger_meter_init(&m);
    stn_linger_meter_note(&m, 10, now);
    assert_true(lingered_in(&m, &now, 2, epochs, 40, 2000000, 22, 1000000) <= tries);

    /* a rate the panels set: both ways commit the same per second, so the
     * one that answers sooner (no linger) is kept */
    stn_linger_meter_init(&m);
    stn_linger_meter_note(&m, 10, now);
    assert_true(lingered_in(&m, &now, 2, epochs, 20, 1000000, 10, 500000) <= tries);

    /* the traffic changes: the meter follows within a few epochs */
    assert_true(lingered_in(&m, &now, 40, 16, 48, 1200000, 25, 1000000) >=
                16 - 16 / STN_LINGER_EXPLORE - 1);

    /* a pause in traffic is no measurement: the epoch starts again */
    stn_linger_meter_init(&m);
    stn_linger_meter_note(&m, 10, now);
    for (unsigned i = 0; i < STN_LINGER_EPOCH - 1; i++)
        stn_linger_meter_note(&m, 1, now += 1000000);
    now += 5ull * 1000000000;                   /* 5 s of silence */
    stn_linger_meter_note(&m, 1, now);
    assert_int_equal(m.seen[0] + m.seen[1], 0);
    assert_true(m.mode);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(priority_table),
        cmocka_unit_test(bucket_burst_then_rate),
        cmocka_unit_test(dedup_window),
        cmocka_unit_test(blocks_by_ciphertext),
        cmocka_unit_test(alloc_counts_and_fails),
        cmocka_unit_test(linger_meter_keeps_the_faster_way),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
