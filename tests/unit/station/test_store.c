/* test_store.c — the commit worker against a real SQLite store: events and
 * alarms in one transaction, alarms attach by (account, kind), a duress never
 * merges into another kind, restores mark, escalation, the duplicate window
 * read back at startup, refused signals, and the admin verbs' JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stn_internal.h"
#include "pg_testdb.h"

static char dir[64];
static char pgdb[64];           /* PostgreSQL (VIGIL_TEST_PG_URI): this test's database */
static struct stn_config cfg;

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/stn-store-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.store, sizeof cfg.store, "sqlite:%s/s.db", dir);
    snprintf(cfg.store_path, sizeof cfg.store_path, "%s/s.db", dir);
    snprintf(cfg.key_store_path, sizeof cfg.key_store_path, "%s/s.db.keys", dir);
    pgdb[0] = '\0';
    if (pg_test_uri()) {        /* the same cases on a fresh PostgreSQL database */
        if (pg_test_create("store", pgdb, cfg.store_path, sizeof cfg.store_path) != 0)
            return -1;
        snprintf(cfg.store, sizeof cfg.store, "%s", cfg.store_path);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (pg_test_drop(pgdb) != 0)
        return -1;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void add_event(struct stn_job *j, uint32_t acct_id, const char *acct, uint16_t seq,
                      uint8_t q, uint16_t ev, int64_t t)
{
    struct stn_item *it = stn_job_add(j);
    assert_non_null(it);
    it->type = STN_ITEM_EVENT;
    it->account_id = acct_id;
    snprintf(it->account, sizeof it->account, "%s", acct);
    it->received_ms = t;
    it->seq = seq;
    it->id = DC09_ID_ADM_CID;
    it->has_cid = true;
    it->cid.qualifier = q;
    it->cid.event = ev;
    it->cid.partition = 1;
    it->cid.zone = 3;
    stn_classify_cid(&it->cid, &it->cls);
    char data[64];
    int n = snprintf(data, sizeof data, "#%s|%u%03u 01 003", acct, q, ev);
    assert_int_equal(stn_job_copy(j, data, (size_t)n, &it->data_off), 0);
    it->data_len = (size_t)n;
    assert_int_equal(stn_job_copy(j, "\nRAW\r", 5, &it->raw_off), 0);
    it->raw_len = 5;
}

static json_t *alarms(void)
{
    struct stn_store *st;
    char msg[256];
    assert_int_equal(stn_store_open(&cfg, &st, msg, sizeof msg), 0);
    void *out = NULL;
    assert_int_equal(stn_alarms_json(st, false, &out), 0);
    stn_store_close(st);
    return out;
}

static json_t *find_kind(json_t *arr, const char *account, const char *kind)
{
    size_t i;
    json_t *a;
    json_array_foreach(arr, i, a)
        if (strcmp(json_string_value(json_object_get(a, "account")), account) == 0 &&
            strcmp(json_string_value(json_object_get(a, "kind")), kind) == 0)
            return a;
    return NULL;
}

static void alarms_attach_never_mix_and_order(void **state)
{
    (void)state;
    struct stn_wstore *w;
    char msg[256];
    assert_int_equal(stn_wstore_open(&cfg, &w, msg, sizeof msg), 0);
    struct stn_job j;
    assert_int_equal(stn_job_init(&j, 4, 0), 0);
    int64_t t = 1790000000000;
    add_event(&j, 1, "1234", 1, 1, 130, t);          /* burglary, priority 4 */
    add_event(&j, 1, "1234", 2, 1, 131, t + 10);     /* attaches to it */
    add_event(&j, 1, "1234", 3, 1, 121, t + 20);     /* duress: its own alarm */
    add_event(&j, 1, "1234", 4, 1, 401, t + 30);     /* opening: no alarm */
    add_event(&j, 2, "5678", 5, 1, 110, t + 40);     /* fire, priority 2 */
    add_event(&j, 1, "1234", 6, 3, 130, t + 50);     /* burglary restore: marks */
    stn_wstore_run(w, &j);
    assert_int_equal(j.rc, 0);

    json_t *arr = alarms();
    assert_int_equal(json_array_size(arr), 3);
    /* queue order: priority ascending */
    assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 0), "kind")), "duress");
    assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 1), "kind")), "fire");
    json_t *b = find_kind(arr, "1234", "burglary");
    assert_non_null(b);
    assert_int_equal(json_integer_value(json_object_get(b, "event_count")), 2);
    assert_true(json_is_true(json_object_get(b, "restored")));
    json_t *d = find_kind(arr, "1234", "duress");
    assert_int_equal(json_integer_value(json_object_get(d, "priority")), 1);
    assert_int_equal(json_integer_value(json_object_get(d, "event_count")), 1);
    assert_int_equal(json_integer_value(json_object_get(d, "user")), 3);   /* 121: ZZZ is a user */
    assert_true(json_is_null(json_object_get(d, "zone")));
    assert_true(json_is_null(json_object_get(d, "taken_by")));
    const char *ra = json_string_value(json_object_get(d, "received_at"));
    assert_non_null(ra);
    assert_int_equal(strlen(ra), 24);                                    /* ...T..:..:..mmmZ */
    assert_int_equal(ra[23], 'Z');
    assert_int_equal(ra[19], '.');
    /* each alarm's own events are linked to it: the burglary's two, the duress's one */
    struct stn_store *sto;
    char m2[256];
    assert_int_equal(stn_store_open(&cfg, &sto, m2, sizeof m2), 0);
    const int64_t ids[2] = { json_integer_value(json_object_get(b, "id")),
                             json_integer_value(json_object_get(d, "id")) };
    const size_t want_events[2] = { 2, 1 };
    const json_int_t want_seq[2] = { 2, 3 };            /* newest first */
    for (int k = 0; k < 2; k++) {
        void *det = NULL;
        assert_int_equal(stn_alarm_detail_json(sto, ids[k], &det), 0);
        json_t *evs = json_object_get(det, "events");
        assert_int_equal(json_array_size(evs), want_events[k]);
        assert_int_equal(json_integer_value(json_object_get(json_array_get(evs, 0), "seq")),
                         want_seq[k]);
        json_decref(det);
    }
    stn_store_close(sto);
    json_decref(arr);

    /* a second duress attaches to the open duress alarm, not to the burglary */
    stn_job_clear(&j);
    j.batch = 2;
    add_event(&j, 1, "1234", 7, 1, 121, t + 60);
    /* escalation: priority-1 alarms untaken since before the cut */
    j.now_ms = t + 100000;
    j.escalate_before_ms = t + 100000 - 30000;
    stn_wstore_run(w, &j);
    assert_int_equal(j.rc, 0);
    arr = alarms();
    d = find_kind(arr, "1234", "duress");
    assert_int_equal(json_integer_value(json_object_get(d, "event_count")), 2);
    assert_string_equal(json_string_value(json_object_get(d, "state")), "escalated");
    b = find_kind(arr, "1234", "burglary");
    assert_int_equal(json_integer_value(json_object_get(b, "event_count")), 2);
    assert_string_equal(json_string_value(json_object_get(b, "state")), "new");
    json_decref(arr);

    /* the duplicate window comes back from the store, oldest first */
    struct stn_dedup dd;
    assert_int_equal(stn_dedup_init(&dd, 64), 0);
    struct stn_dup_row *rows = NULL;
    size_t n = 0;
    assert_int_equal(stn_wstore_load_recent(w, t + 15, &rows, &n,
                     (uint64_t (*)(void *, const void *, size_t))stn_dedup_hash, &dd), 0);
    assert_int_equal(n, 5);          /* seq 3,4,5,6,7: received at t+20 and later */
    assert_int_equal(rows[0].seq, 3);
    assert_int_equal(rows[4].seq, 7);
    assert_int_equal(rows[0].hash, stn_dedup_hash(&dd, "#1234|1121 01 003", 17));
    stn_free(rows);
    stn_dedup_free(&dd);

    stn_job_free(&j);
    stn_wstore_close(w);
}

static void admin_accounts_and_events(void **state)
{
    (void)state;
    struct stn_store *st;
    char msg[256];
    assert_int_equal(stn_store_open(&cfg, &st, msg, sizeof msg), 0);
    uint8_t key[16] = "0123456789ABCDEF";
    struct stn_account_input in = { .name = "Smith", .address = "1 Main St",
                                    .has_key = true, .key = key, .key_len = 16,
                                    .has_supervision = true, .supervision_s = 90 };
    assert_int_equal(stn_account_add(st, "abc123", &in), 0);
    assert_int_equal(stn_account_add(st, "ABC123", &in), STN_E_EXISTS);
    assert_int_equal(stn_account_add(st, "xyz", &in), STN_E_INVAL);
    assert_int_equal(stn_account_add(st, "12", &in), STN_E_INVAL);
    struct stn_account_input bad = { .has_key = true, .key = key, .key_len = 15 };
    assert_int_equal(stn_account_add(st, "999", &bad), STN_E_INVAL);
    struct stn_account_input win = { .has_window = true, .window_past_s = 120,
                                     .window_future_s = -1 };
    assert_int_equal(stn_account_edit(st, "ABC123", &win), 0);
    win.window_past_s = 90000;
    assert_int_equal(stn_account_edit(st, "ABC123", &win), STN_E_INVAL);
    struct stn_account_input ed = { .phone = "555-0100" };
    assert_int_equal(stn_account_edit(st, "ABC123", &ed), 0);
    assert_int_equal(stn_account_edit(st, "777", &ed), STN_E_NOTFOUND);
    assert_int_equal(stn_account_user_set(st, "ABC123", 3, "Alice"), 0);
    assert_int_equal(stn_account_user_set(st, "777", 3, "Alice"), STN_E_NOTFOUND);
    assert_int_equal(stn_account_passcode_set(st, "ABC123", true, "swordfish", 9), 0);

    void *out = NULL;
    assert_int_equal(stn_account_json(st, "abc123", &out), 0);
    json_t *a = out;
    assert_string_equal(json_string_value(json_object_get(a, "number")), "ABC123");
    assert_string_equal(json_string_value(json_object_get(a, "key")), "AES-128");
    assert_string_equal(json_string_value(json_object_get(a, "phone")), "555-0100");
    assert_string_equal(json_string_value(json_object_get(a, "name")), "Smith");  /* unchanged */
    assert_true(json_is_true(json_object_get(a, "duress_passcode")));
    assert_int_equal(json_integer_value(json_object_get(a, "window_past_s")), 120);
    assert_true(json_is_null(json_object_get(a, "window_future_s")));   /* the config's */
    assert_true(json_is_false(json_object_get(a, "passcode")));
    char *dump = json_dumps(a, 0);
    assert_null(strstr(dump, "0123456789ABCDEF"));      /* never the key */
    assert_null(strstr(dump, "argon2"));                /* never the hash */
    assert_null(strstr(dump, "swordfish"));
    free(dump);
    json_decref(a);

    struct stn_event_filter f = { .account = "1234" };
    assert_int_equal(stn_events_json(st, &f, &out), 0);
    assert_int_equal(json_array_size(out), 6);          /* from the previous test */
    json_t *e = json_array_get(out, 0);
    assert_string_equal(json_string_value(json_object_get(e, "id_token")), "ADM-CID");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(e, "cid"), "event")), 130);
    assert_string_equal(json_string_value(json_object_get(e, "raw")), "\nRAW\r");
    json_decref(out);
    f.since_ms = 1790000000000 + 45;
    f.account = NULL;
    assert_int_equal(stn_events_json(st, &f, &out), 0);
    assert_int_equal(json_array_size(out), 2);          /* t+50 and t+60 */
    json_decref(out);

    char path[128];
    snprintf(path, sizeof path, "%s/backup.db", dir);
    if (pgdb[0]) {              /* PostgreSQL's own tools back it up; nothing left behind */
        assert_int_equal(stn_store_backup(st, path, msg, sizeof msg), STN_E_INVAL);
        assert_non_null(strstr(msg, "pg_dump"));
        assert_int_equal(access(path, F_OK), -1);
    } else {
        assert_int_equal(stn_store_backup(st, path, msg, sizeof msg), 0);
        assert_int_equal(stn_store_backup(st, path, msg, sizeof msg), STN_E_EXISTS);
    }
    assert_int_equal(stn_account_remove(st, "ABC123"), 0);
    assert_int_equal(stn_account_remove(st, "ABC123"), STN_E_NOTFOUND);
    stn_store_close(st);
}

static void retention_prunes_in_steps(void **state)
{
    (void)state;
    struct stn_wstore *w;
    char msg[256];
    assert_int_equal(stn_wstore_open(&cfg, &w, msg, sizeof msg), 0);
    struct stn_job j;
    assert_int_equal(stn_job_init(&j, 16, 0), 0);
    int64_t old_t = 1000000000000, new_t = 1700000000000;
    for (int k = 0; k < 12000; k++)
        add_event(&j, 3, "0333", (uint16_t)(k % 9999 + 1), 1, 602, old_t + k);
    stn_wstore_run(w, &j);
    assert_int_equal(j.rc, 0);
    stn_job_clear(&j);
    add_event(&j, 3, "0333", 1, 1, 602, new_t);
    for (int k = 0; k < 2; k++) {       /* refused signals: one old, one recent */
        struct stn_item *it = stn_job_add(&j);
        it->type = STN_ITEM_REJECTED;
        snprintf(it->account, sizeof it->account, "0999");
        it->received_ms = k ? new_t : old_t;
        it->reason = "unknown_account";
        assert_int_equal(stn_job_copy(&j, "\nRAW\r", 5, &it->raw_off), 0);
        it->raw_len = 5;
    }
    stn_wstore_run(w, &j);
    assert_int_equal(j.rc, 0);
    int steps = 0;
    do {
        stn_job_clear(&j);
        j.prune_before_ms = new_t - 1000;
        stn_wstore_run(w, &j);
        assert_int_equal(j.rc, 0);
        steps++;
    } while (j.prune_more && steps < 100);
    assert_true(steps >= 3);           /* 12,000 rows at most 5,000 per step */
    assert_true(steps <= 5);
    struct stn_store *st;
    assert_int_equal(stn_store_open(&cfg, &st, msg, sizeof msg), 0);
    struct stn_event_filter f = { .account = "0333" };
    void *out = NULL;
    assert_int_equal(stn_events_json(st, &f, &out), 0);
    assert_int_equal(json_array_size(out), 1);   /* only the recent one is kept */
    json_decref(out);
    assert_int_equal(stn_rejected_json(st, 0, &out), 0);
    assert_int_equal(json_array_size(out), 1);   /* the old refused signal is gone too */
    json_decref(out);
    stn_store_close(st);
    stn_job_free(&j);
    stn_wstore_close(w);
}

/* The events of account 0444 in id order: their sequence numbers. */
static size_t seqs_of_0444(int *seq, size_t cap)
{
    struct stn_store *st;
    char msg[256];
    assert_int_equal(stn_store_open(&cfg, &st, msg, sizeof msg), 0);
    struct stn_event_filter f = { .account = "0444" };
    void *out = NULL;
    assert_int_equal(stn_events_json(st, &f, &out), 0);
    size_t n = json_array_size(out);
    for (size_t i = 0; i < n && i < cap; i++)
        seq[i] = (int)json_integer_value(json_object_get(json_array_get(out, i), "seq"));
    json_decref(out);
    stn_store_close(st);
    return n;
}

/* PostgreSQL: a routine batch notifies no one (store_worker.c,
 * routine_stmt: a NOTIFY would queue every node's routine commits on the
 * server's one notify lock); a batch under the write lock does. A connection
 * listening as the console's does counts the other connections' notices:
 * after a routine batch and then a restore (the positive control: the
 * notices arrive in commit order), it has exactly one. */
static void routine_batches_notify_no_one(const struct stn_config *c, struct stn_wstore *a,
                                          struct stn_job *j, int64_t t)
{
    struct stn_store *watch;
    char msg[256];
    assert_int_equal(stn_store_open(c, &watch, msg, sizeof msg), 0);
    int64_t v0, v;
    assert_int_equal(stn_store_data_version(watch, &v0), 0);   /* it LISTENs from here */
    stn_job_clear(j);
    add_event(j, 4, "0444", 200, 1, 401, t);            /* openings: routine */
    add_event(j, 4, "0444", 201, 1, 401, t + 1);
    stn_wstore_run(a, j);
    assert_int_equal(j->rc, 0);
    stn_job_clear(j);
    add_event(j, 4, "0444", 202, 3, 130, t + 2);        /* a restore: under the write lock */
    stn_wstore_run(a, j);
    assert_int_equal(j->rc, 0);
    v = v0;
    for (int k = 0; k < 100 && v == v0; k++) {          /* up to 10 s for the restore's */
        struct pollfd p = { .fd = stn_store_notify_fd(watch), .events = POLLIN };
        poll(&p, 1, 100);
        assert_int_equal(stn_store_data_version(watch, &v), 0);
    }
    usleep(300 * 1000);     /* a notice of the routine batch would have come first */
    assert_int_equal(stn_store_data_version(watch, &v), 0);
    assert_int_equal(v, v0 + 1);
    stn_store_close(watch);
}

/* Routine events (no alarm to raise, restore or join) are the hot path: on
 * a store several nodes share (PostgreSQL) they go in one statement with the
 * shared duplicate window. Either engine: a batch larger than one such
 * statement (64) is stored whole, in arrival order. PostgreSQL: the same
 * event sent again to a second node within the window is ACKed and stored
 * once (stored_retry); after the window it is a new event (the sequence
 * wrapped) and is stored. */
static void routine_batches_and_retries(void **state)
{
    (void)state;
    struct stn_config c = cfg;
    c.duplicate_window_s = 600;
    struct stn_wstore *a, *b = NULL;
    char msg[256];
    assert_int_equal(stn_wstore_open(&c, &a, msg, sizeof msg), 0);
    struct stn_job j;
    assert_int_equal(stn_job_init(&j, 8, 0), 0);
    int64_t t = 1790000000000;
    for (int k = 1; k <= 70; k++)           /* 401: an opening, no alarm */
        add_event(&j, 4, "0444", (uint16_t)k, 1, 401, t + k);
    stn_wstore_run(a, &j);
    assert_int_equal(j.rc, 0);
    for (size_t i = 0; i < j.n; i++)
        assert_false(j.items[i].stored_retry);
    int seq[80];
    assert_int_equal(seqs_of_0444(seq, 80), 70);
    for (int k = 0; k < 70; k++)
        assert_int_equal(seq[k], k + 1);
    if (pgdb[0]) {
        /* node B: seq 5 again (same payload) within the window, and a new seq 71 */
        assert_int_equal(stn_wstore_open(&c, &b, msg, sizeof msg), 0);
        stn_job_clear(&j);
        add_event(&j, 4, "0444", 5, 1, 401, t + 100000);
        add_event(&j, 4, "0444", 71, 1, 401, t + 100001);
        stn_wstore_run(b, &j);
        assert_int_equal(j.rc, 0);
        assert_true(j.items[0].stored_retry);
        assert_false(j.items[1].stored_retry);
        assert_int_equal(seqs_of_0444(seq, 80), 71);
        assert_int_equal(seq[70], 71);
        /* node A: seq 5 once more, 700 s after the first: past the window */
        stn_job_clear(&j);
        add_event(&j, 4, "0444", 5, 1, 401, t + 700000);
        stn_wstore_run(a, &j);
        assert_int_equal(j.rc, 0);
        assert_false(j.items[0].stored_retry);
        assert_int_equal(seqs_of_0444(seq, 80), 72);
        assert_int_equal(seq[71], 5);
        stn_wstore_close(b);
        routine_batches_notify_no_one(&c, a, &j, t + 200000);
    }
    /* the duplicate window read back at start-up, over more than one page of
     * the store's read (1,024 rows): every event of it, oldest first */
    stn_job_clear(&j);
    int64_t t2 = t + 800000;
    for (int k = 0; k < 3000; k++)
        add_event(&j, 4, "0444", (uint16_t)(100 + k), 1, 401, t2 + k);
    stn_wstore_run(a, &j);
    assert_int_equal(j.rc, 0);
    struct stn_dedup dd;
    assert_int_equal(stn_dedup_init(&dd, 4096), 0);
    struct stn_dup_row *rows = NULL;
    size_t n = 0;
    assert_int_equal(stn_wstore_load_recent(a, t2, &rows, &n,
                     (uint64_t (*)(void *, const void *, size_t))stn_dedup_hash, &dd), 0);
    assert_int_equal(n, 3000);
    assert_int_equal(rows[0].seq, 100);
    assert_int_equal(rows[2999].seq, 3099);
    stn_free(rows);
    stn_dedup_free(&dd);
    stn_job_free(&j);
    stn_wstore_close(a);
}

/* Another connection's change to the accounts: a batch only says so
 * (accounts_changed) and reads nothing; the reader reads them on its own
 * connection, keys opened. A read inside the batch held its ACKs for as
 * long as a read of every account takes. An operator's request
 * (force_accounts) is still read in the batch. */
static void accounts_read_beside_the_batch(void **state)
{
    (void)state;
    char msg[256];
    struct stn_wstore *w;
    assert_int_equal(stn_wstore_open(&cfg, &w, msg, sizeof msg), 0);
    struct stn_reader *r;
    assert_int_equal(stn_reader_open(&cfg, w, &r, msg, sizeof msg), 0);
    struct stn_job j;
    assert_int_equal(stn_job_init(&j, 8, 0), 0);
    int64_t now = 1790000000000;
    j.check_accounts = true;            /* the first look: the version is news */
    j.now_ms = now;
    stn_wstore_run(w, &j);
    assert_int_equal(j.rc, 0);
    stn_job_clear(&j);

    struct stn_store *st;               /* `vigil account add`, another connection */
    assert_int_equal(stn_store_open(&cfg, &st, msg, sizeof msg), 0);
    uint8_t key[16] = "FEDCBA9876543210";
    struct stn_account_input in = { .name = "Reader", .has_key = true, .key = key,
                                    .key_len = 16 };
    assert_int_equal(stn_account_add(st, "7E57", &in), 0);
    stn_store_close(st);

    bool changed = false;
    for (int k = 0; k < 50 && !changed; k++) {     /* PostgreSQL: the notice arrives */
        if (k)
            usleep(100 * 1000);
        stn_job_clear(&j);
        j.check_accounts = true;
        j.now_ms = now + 2000 * (k + 1);            /* past the once-a-second bound */
        stn_wstore_run(w, &j);
        assert_int_equal(j.rc, 0);
        assert_false(j.accounts_loaded);            /* nothing read in the batch */
        changed = j.accounts_changed;
    }
    assert_true(changed);

    struct stn_account_row *rows = NULL;
    size_t n = 0;
    assert_int_equal(stn_reader_load_accounts(r, &rows, &n), 0);
    bool found = false;
    for (size_t i = 0; i < n; i++)
        if (strcmp(rows[i].number, "7E57") == 0) {
            found = true;
            assert_int_equal(rows[i].key_len, 16);
            assert_memory_equal(rows[i].key, key, 16);
            assert_false(rows[i].key_error);
        }
    assert_true(found);
    stn_free(rows);

    stn_job_clear(&j);                  /* an operator's request: read in the batch */
    j.force_accounts = true;
    j.now_ms = now + 200000;
    stn_wstore_run(w, &j);
    assert_int_equal(j.rc, 0);
    assert_true(j.accounts_loaded);
    assert_false(j.accounts_changed);
    assert_true(j.nrows >= 1);
    stn_job_free(&j);
    stn_reader_close(r);
    stn_wstore_close(w);
}

/* Account keys at rest: sealed with the key store, bound to the account
 * number, never in the clear in the store file; a store whose keys are
 * sealed never gets a new key store made for it. */
static bool file_contains(const char *path, const void *needle, size_t n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    static uint8_t buf[1 << 20];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(buf + i, needle, n) == 0)
            return true;
    return false;
}

static void keys_sealed_at_rest(void **state)
{
    (void)state;
    struct stn_config kc = cfg;   /* a store of its own beside the group's */
    snprintf(kc.store_path, sizeof kc.store_path, "%s/k.db", dir);
    snprintf(kc.key_store_path, sizeof kc.key_store_path, "%s/k.db.keys", dir);
    struct stn_keystore ks;
    char msg[512];
    assert_int_equal(stn_keystore_load(kc.key_store_path, false, &ks, msg, sizeof msg),
                     STN_E_NOTFOUND);
    assert_int_equal(stn_keystore_load(kc.key_store_path, true, &ks, msg, sizeof msg), 0);
    assert_true(ks.created);
    struct stat stt;
    assert_int_equal(stat(kc.key_store_path, &stt), 0);
    assert_int_equal(stt.st_mode & 0777, 0600);

    const uint8_t key[32] = "0123456789abcdefFEDCBA9876543210";
    for (size_t len = 16; len <= 32; len += 8) {
        uint8_t blob[STN_SEALED_KEY_MAX], out[32];
        size_t bl = 0, ol = 0;
        assert_int_equal(stn_key_seal(&ks, "1234", key, len, blob, &bl), 0);
        assert_true(stn_key_is_sealed(blob, bl));
        assert_int_equal(stn_key_bits_of_stored(bl), (int)len * 8);
        assert_int_equal(stn_key_open(&ks, "1234", blob, bl, out, &ol), 0);
        assert_int_equal(ol, len);
        assert_memory_equal(out, key, len);
        /* bound to its account */
        assert_int_not_equal(stn_key_open(&ks, "1235", blob, bl, out, &ol), 0);
        /* any changed byte refuses */
        blob[bl - 1] ^= 1;
        assert_int_not_equal(stn_key_open(&ks, "1234", blob, bl, out, &ol), 0);
        blob[bl - 1] ^= 1;
        /* another key store refuses */
        struct stn_keystore other = ks;
        other.key[0] ^= 0x80;
        assert_int_not_equal(stn_key_open(&other, "1234", blob, bl, out, &ol), 0);
        uint8_t b2[STN_SEALED_KEY_MAX];
        size_t bl2 = 0;
        assert_int_equal(stn_key_seal(&ks, "1234", key, len, b2, &bl2), 0);
        assert_memory_not_equal(blob, b2, bl);          /* a fresh nonce each time */
    }
    /* the same file loads the same key; a second load creates nothing */
    struct stn_keystore again;
    assert_int_equal(stn_keystore_load(kc.key_store_path, true, &again, msg, sizeof msg), 0);
    assert_false(again.created);
    assert_memory_equal(again.key, ks.key, sizeof ks.key);
    stn_keystore_wipe(&again);
    /* a key store readable by others is refused, naming the fix */
    chmod(kc.key_store_path, 0644);
    assert_int_equal(stn_keystore_load(kc.key_store_path, true, &again, msg, sizeof msg),
                     STN_E_CONFIG);
    assert_non_null(strstr(msg, "chmod 600"));
    /* refused, not taken for missing, whether or not a missing one may be made */
    assert_int_equal(stn_keystore_load(kc.key_store_path, false, &again, msg, sizeof msg),
                     STN_E_CONFIG);
    chmod(kc.key_store_path, 0600);
    stn_keystore_wipe(&ks);
    remove(kc.key_store_path);

    /* through the admin side and the daemon's loader */
    struct stn_store *st;
    assert_int_equal(stn_store_open(&kc, &st, msg, sizeof msg), 0);
    struct stn_account_input in = { .name = "Sealed", .has_key = true, .key = (uint8_t *)key,
                                    .key_len = 24 };
    assert_int_equal(stn_account_add(st, "5E1", &in), 0);
    stn_store_close(st);
    struct stn_wstore *w;
    assert_int_equal(stn_wstore_open(&kc, &w, msg, sizeof msg), 0);
    struct stn_account_row *rows;
    size_t n;
    assert_int_equal(stn_wstore_load_accounts(w, &rows, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].key_len, 24);
    assert_memory_equal(rows[0].key, key, 24);
    assert_false(rows[0].key_error);
    stn_free(rows);
    stn_wstore_close(w);
    assert_false(file_contains(kc.store_path, key, 24));
    char wal[600];
    snprintf(wal, sizeof wal, "%s-wal", kc.store_path);
    assert_false(file_contains(wal, key, 24));

    /* the key store replaced: the key does not open, and is never taken as no key */
    remove(kc.key_store_path);
    assert_int_equal(stn_wstore_open(&kc, &w, msg, sizeof msg), STN_E_CONFIG);
    assert_non_null(strstr(msg, "does not exist"));
    assert_int_equal(access(kc.key_store_path, F_OK), -1);   /* none made in its place */
    assert_int_equal(stn_keystore_load(kc.key_store_path, true, &ks, msg, sizeof msg), 0);
    stn_keystore_wipe(&ks);
    assert_int_equal(stn_wstore_open(&kc, &w, msg, sizeof msg), 0);
    assert_int_equal(stn_wstore_load_accounts(w, &rows, &n), 0);
    assert_int_equal(n, 1);
    assert_true(rows[0].key_error);
    assert_int_equal(rows[0].key_len, 0);
    stn_free(rows);
    stn_wstore_close(w);
}

static void time_formats(void **state)
{
    (void)state;
    char b[32];
    stn_iso8601_ms(1795701785123, b);
    assert_string_equal(b, "2026-11-26T14:03:05.123Z");
    int64_t ms;
    assert_int_equal(stn_parse_since("2026-11-26T14:03:05.123Z", 0, &ms), 0);
    assert_int_equal(ms, 1795701785123);
    assert_int_equal(stn_parse_since("2026-11-26T14:03:05Z", 0, &ms), 0);
    assert_int_equal(ms, 1795701785000);
    assert_int_equal(stn_parse_since("2026-11-26", 0, &ms), 0);
    assert_int_equal(ms, 1795651200000);
    assert_int_equal(stn_parse_since("10m", 1000000, &ms), 0);
    assert_int_equal(ms, 1000000 - 600000);
    assert_int_equal(stn_parse_since("2h", 10000000, &ms), 0);
    assert_int_equal(ms, 10000000 - 7200000);
    assert_int_equal(stn_parse_since("yesterday", 0, &ms), STN_E_INVAL);
    assert_int_equal(stn_parse_since("10x", 0, &ms), STN_E_INVAL);
    assert_int_equal(stn_parse_since("2026-11-26T14:03:05+01:00", 0, &ms), STN_E_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* first: pruning goes by rowid, and rowids follow time only in a live store */
        cmocka_unit_test(retention_prunes_in_steps),
        cmocka_unit_test(alarms_attach_never_mix_and_order),
        cmocka_unit_test(admin_accounts_and_events),
        /* after it: admin_accounts_and_events counts every account's events */
        cmocka_unit_test(routine_batches_and_retries),
        cmocka_unit_test(accounts_read_beside_the_batch),
        cmocka_unit_test(time_formats),
        cmocka_unit_test(keys_sealed_at_rest),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
