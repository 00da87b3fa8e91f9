/*
 * store_worker.c — the store: opening it on either engine (db.h), the schema
 * migrations (schema_sqlite.c, schema_pg.c), and the commit worker that
 * writes one batch per transaction.
 *
 * Performance shape (docs/PERFORMANCE.md): `events` is append-only by rowid
 * with no secondary index (duplicate detection lives in memory, dedup.c);
 * alarms are few and indexed by (account, kind) for open ones. Statements are
 * prepared once. Must never report a batch as committed unless COMMIT
 * returned DB_OK, and never log a key or passcode hash.
 */
#include "stn_internal.h"
#include "vigil/alarm.h"
#include "vigil/audit.h"

#include <errno.h>
#include <jansson.h>
#include "db.h"
#include <sqlite3.h>    /* WAL hook and checkpoints: SQLite only */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* ---- schema ----------------------------------------------------------- */

static int read_version(struct db *db, int *version, char *msg, size_t cap)
{
    if (db_user_version(db, version) != DB_OK) {
        snprintf(msg, cap, "cannot read schema version: %s", db_errmsg(db));
        return STN_E_OPEN;
    }
    if (*version > STN_SCHEMA_VERSION) {
        snprintf(msg, cap, "store schema version %d is newer than this program's %d",
                 *version, STN_SCHEMA_VERSION);
        return STN_E_OPEN;
    }
    return 0;
}

/* Each step runs in its own write transaction and reads the version again
 * inside it: two processes opening an old store at once (the daemon and a
 * `vigil` command, or two station nodes) migrate it once, the second
 * finding it done. */
int stn_schema_migrate(struct db *db, char *msg, size_t cap)
{
    const char *const *migrations =
        db_kind(db) == DB_KIND_PG ? stn_schema_pg : stn_schema_sqlite;
    int version = 0;
    int rc = read_version(db, &version, msg, cap);
    while (rc == 0 && version < STN_SCHEMA_VERSION) {
        char *err = NULL;
        if (db_exec(db, "BEGIN IMMEDIATE", &err) != DB_OK) {
            snprintf(msg, cap, "schema migration to version %d failed: %s", version + 1,
                     err ? err : db_errmsg(db));
            db_free(err);
            return STN_E_OPEN;
        }
        int now = 0;
        rc = read_version(db, &now, msg, cap);
        if (rc == 0 && now > version) {   /* another process got here first */
            version = now;
            if (db_exec(db, "COMMIT", NULL) != DB_OK)
                db_exec(db, "ROLLBACK", NULL);
            continue;
        }
        if (rc == 0 &&
            ((migrations[version][0] && db_exec(db, migrations[version], &err) != DB_OK) ||
             db_set_user_version(db, version + 1) != DB_OK ||
             db_exec(db, "COMMIT", &err) != DB_OK)) {
            snprintf(msg, cap, "schema migration to version %d failed: %s", version + 1,
                     err ? err : db_errmsg(db));
            db_free(err);
            rc = STN_E_OPEN;
        }
        if (rc != 0) {
            db_exec(db, "ROLLBACK", NULL);
            return rc;
        }
        version++;
    }
    return rc;
}

int stn_db_open(const char *where, struct db **out, char *msg, size_t cap)
{
    return stn_db_open_ex(where, true, NULL, out, msg, cap);
}

/* where: a SQLite path, or a postgresql:// URI. create false: a SQLite store
 * that does not exist is STN_E_NOTFOUND, and no file is made (a mistyped
 * store path must not show an empty queue). create true: it is made, and
 * *created (if given) says so. Then the schema is brought up to date. */
int stn_db_open_ex(const char *where, bool create, bool *created, struct db **out,
                   char *msg, size_t cap)
{
    struct db *db = NULL;
    *out = NULL;
    if (created)
        *created = false;
    int rc = db_open(db_is_pg_uri(where) ? DB_KIND_PG : DB_KIND_SQLITE, where,
                     create ? DB_OPEN_CREATE : 0, &db, msg, cap);
    if (rc == DB_NOTFOUND)
        return STN_E_NOTFOUND;
    if (rc != DB_OK)
        return STN_E_OPEN;
    if (created)
        *created = db_created(db);
    rc = stn_schema_migrate(db, msg, cap);
    if (rc) {
        db_close(db);
        return rc;
    }
    *out = db;
    return 0;
}

/* ---- the commit worker ------------------------------------------------ */

enum {
    S_INS_EVENT, S_FIND_ALARM, S_INS_ALARM, S_ATTACH_ALARM, S_INS_ALARM_EVENT,
    S_RESTORE, S_ON_TEST, S_INS_REJECTED, S_ESCALATE, S_ESCALATE_HISTORY, S_OPEN_HISTORY, S_PRUNE_FIRST,
    S_PRUNE, S_PRUNE_REJECTED, S_BEGIN, S_BEGIN_APPEND, S_COMMIT, S_ROLLBACK, S_COUNT
};

#define EVENT_COLUMNS "(account_id, account, received_at_ms, seq, id_token," \
    " encrypted, frame_time_s, cid_q, cid_event, cid_partition, cid_zone, sia_code," \
    " sia_area, sia_user, sia_zone, sia_text, kind, priority, data, raw, peer)"
#define EVENT_ROW "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
#define EVENT_PARAMS 21
/* Routine events (no alarm to link them to) wait and go in one INSERT of up
 * to EVENTS_MANY rows: on PostgreSQL each statement is a round trip. */
#define EVENTS_MANY 64
#define SEEN_MANY 64

static const char *const sql_text[S_COUNT] = {
    [S_INS_EVENT] = "INSERT INTO events " EVENT_COLUMNS " VALUES " EVENT_ROW,
    /* the open alarms of (account, kind), newest first: the engine picks */
    [S_FIND_ALARM] = "SELECT id, priority, restored_at_ms IS NOT NULL FROM alarms"
        " WHERE account=? AND kind=? AND state!='closed' AND test=? ORDER BY id DESC LIMIT 16",
    /* the account is on test when the signal was received (its end time is
     * stored: test mode ends by itself, across restarts too) */
    [S_ON_TEST] = "SELECT 1 FROM accounts WHERE id=? AND test_until_ms>?",
    [S_INS_ALARM] = "INSERT INTO alarms (account, account_id, priority, kind, event_id,"
        " received_at_ms, last_event_at_ms, cid_q, cid_event, cid_partition, cid_zone,"
        " sia_code, sia_area, sia_user, sia_zone, sia_text, partition, zone, \"user\", detail, test)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id",
    /* RETURNING, not the last insert id: the alarms' change-log trigger
     * inserts too (PostgreSQL's lastval() would be its seq) */
    [S_ATTACH_ALARM] = "UPDATE alarms SET event_count=event_count+?3,"
        " last_event_at_ms=?1 WHERE id=?2",
    [S_INS_ALARM_EVENT] = "INSERT INTO alarm_events (alarm_id, event_id) VALUES (?,?)"
        " ON CONFLICT DO NOTHING",
    [S_RESTORE] = "UPDATE alarms SET restored_at_ms=? WHERE account=? AND kind=?"
        " AND state!='closed' AND restored_at_ms IS NULL RETURNING id",
    [S_INS_REJECTED] = "INSERT INTO signals_rejected (received_at_ms, account, reason,"
        " id_token, seq, peer, raw, alarm_id) VALUES (?,?,?,?,?,?,?,?)",
    [S_ESCALATE] = "UPDATE alarms SET state='escalated', escalated_at_ms=?"
        " WHERE priority=?3 AND state='new' AND received_at_ms<=?2 AND test=0"
        " RETURNING id, account, kind",
    [S_ESCALATE_HISTORY] = "INSERT INTO alarm_history (alarm_id, at_ms, action, detail)"
        " SELECT id, ?1, 'escalated', 'untaken: supervisors alerted' FROM alarms"
        " WHERE state='escalated' AND escalated_at_ms=?1",
    [S_OPEN_HISTORY] = "INSERT INTO alarm_history (alarm_id, at_ms, action, detail)"
        " VALUES (?, ?, 'opened', ?)",
    [S_PRUNE_FIRST] = "SELECT id FROM events WHERE received_at_ms>=? ORDER BY id LIMIT 1",
    /* never past the first event of an alarm not yet closed: the evidence of
     * an open alarm (a duress among them) outlives the retention setting
     * (raise_alarm links every event of an alarm, its first included, in
     * alarm_events; one scan of alarms, one index probe per open alarm) */
    [S_PRUNE] = "DELETE FROM events WHERE id < ? AND id < (SELECT min(id) FROM events)+5000"
        " AND id < coalesce((SELECT min((SELECT min(event_id) FROM alarm_events"
        " WHERE alarm_id=a.id)) FROM alarms a WHERE a.state!='closed'), 9223372036854775807)",
    [S_PRUNE_REJECTED] = "DELETE FROM signals_rejected WHERE id IN (SELECT id FROM"
        " signals_rejected WHERE received_at_ms < ? AND (alarm_id IS NULL OR alarm_id NOT IN"
        " (SELECT id FROM alarms WHERE state!='closed')) ORDER BY id LIMIT 5000)",
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_BEGIN_APPEND] = "BEGIN",    /* appends only (routine_shared): no write lock */
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
};

struct stn_wstore {
    struct db *db;
    struct db_stmt *st[S_COUNT];
    int64_t data_version;
    uint64_t failures;
    uint64_t pruned;
    int64_t failure_logged_ms;
    int wal_frames;            /* from the WAL hook: frames in the WAL after the last commit */
    struct stn_keystore ks;    /* opens the account keys sealed in the store */
    struct stn_actstore *acts; /* operators' actions (store_actions.c) */
    /* a store several nodes share (PostgreSQL): the duplicate window as a
     * table (store_shared.c); NULL on SQLite, where dedup.c sees everything */
    struct stn_shared *shared;
    int64_t dup_window_ms;
    int64_t accounts_loaded_ms;  /* the last reload of the accounts */
    bool lost;                   /* the connection to the database broke */
    int64_t reconnect_ms;        /* the last attempt to reach it again */
    bool leader;                 /* this node does supervision (db_try_leader) */
    struct db_stmt *ins_many[EVENTS_MANY + 1];   /* [n]: INSERT of n events, made when used */
    struct db_stmt *seen_many[SEEN_MANY + 1];    /* [n]: last-seen UPDATE of n accounts */
    /* [form][n]: routine_shared's statement of n events; form 1 inserts the
     * window's rows plainly, form 0 upserts them */
    struct db_stmt *routine_many[2][EVENTS_MANY + 1];
    uint32_t upsert_batches;     /* routine batches left to run in form 0 (a retry was met) */
    struct stn_item *waiting[EVENTS_MANY];       /* routine events not inserted yet */
    int nwaiting;
    int64_t leader_ms;           /* when that was last asked */
    char path[STN_PATH_MAX];
};

static int wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
    (void)db;
    (void)name;
    ((struct stn_wstore *)arg)->wal_frames = frames;
    return DB_OK;
}

int stn_wstore_open(const struct stn_config *cfg, struct stn_wstore **out, char *msg, size_t cap)
{
    struct stn_wstore *w = stn_calloc(1, sizeof *w);
    if (!w) {
        snprintf(msg, cap, "out of memory");
        return STN_E_NOMEM;
    }
    snprintf(w->path, sizeof w->path, "%s", stn_store_base(cfg));   /* the head file's */
    char shown[STN_PATH_MAX];
    db_uri_redact(cfg->store_path, shown, sizeof shown);
    bool created = false;
    int rc = stn_db_open_ex(cfg->store_path, true, &created, &w->db, msg, cap);
    if (rc) {
        stn_free(w);
        return rc;
    }
    if (created)
        STN_INFO("store", "created store %s", shown);
    int sealed = 0;
    if ((rc = stn_keystore_prepare(w->db, cfg->key_store_path, &w->ks, &sealed, msg, cap)) != 0) {
        stn_wstore_close(w);
        return rc;
    }
    if (w->ks.created)
        STN_INFO("store", "key store %s created (keep a copy apart from the store's backups)",
                 cfg->key_store_path);
    if (sealed)
        STN_INFO("store", "%d account keys stored in the clear were sealed", sealed);
    for (int i = 0; i < S_COUNT; i++) {
        if (db_prepare(w->db, sql_text[i], &w->st[i]) != DB_OK) {
            snprintf(msg, cap, "store %s: cannot prepare statement %d: %s", shown,
                     i, db_errmsg(w->db));
            stn_wstore_close(w);
            return STN_E_OPEN;
        }
    }
    /* Checkpoints run beside the commits on their own connection (the
     * checkpointer below); the writer only copies the short tail left after
     * one of them (j->wal_finish), so that the WAL starts again from its
     * beginning and stays small. */
    if (stn_actstore_open(w->db, &w->acts, msg, cap) != 0) {
        stn_wstore_close(w);
        return STN_E_OPEN;
    }
    /* The one place the engine decides behaviour: only a PostgreSQL store can
     * have several nodes writing, so only it needs the shared window. */
    w->dup_window_ms = (int64_t)cfg->duplicate_window_s * 1000;
    if (db_kind(w->db) == DB_KIND_PG && stn__shared_open(w->db, &w->shared, msg, cap) != 0) {
        stn_wstore_close(w);
        return STN_E_OPEN;
    }
    sqlite3 *h = db_sqlite_handle(w->db);
    if (h) {   /* PostgreSQL: the server checkpoints on its own */
        sqlite3_wal_autocheckpoint(h, 0);
        sqlite3_wal_hook(h, wal_hook, w);
    }
    w->data_version = -1;
    *out = w;
    return 0;
}

/* ---- the checkpointer: its own connection, run on the thread pool ------ */

struct stn_ckpt {
    struct db *db;      /* first: side_open */
};

/* A struct of `size` bytes whose first member is its own connection to the
 * store (the checkpointer's, the reader's), zeroed but for it; NULL with
 * *rc and msg set. */
static void *side_open(const struct stn_config *cfg, size_t size, int *rc, char *msg,
                       size_t cap)
{
    struct db **p = stn_calloc(1, size);
    if (!p) {
        snprintf(msg, cap, "out of memory");
        *rc = STN_E_NOMEM;
        return NULL;
    }
    *rc = stn_db_open(cfg->store_path, p, msg, cap);
    if (*rc) {
        stn_free(p);
        return NULL;
    }
    return p;
}

static void side_close(void *p)
{
    if (!p)
        return;
    db_close(*(struct db **)p);
    stn_free(p);
}

int stn_ckpt_open(const struct stn_config *cfg, struct stn_ckpt **out, char *msg, size_t cap)
{
    _Static_assert(offsetof(struct stn_ckpt, db) == 0, "side_open: the connection first");
    int rc;
    struct stn_ckpt *c = side_open(cfg, sizeof *c, &rc, msg, cap);
    if (!c)
        return rc;
    if (db_sqlite_handle(c->db))
        sqlite3_wal_autocheckpoint(db_sqlite_handle(c->db), 0);
    *out = c;
    return 0;
}

void stn_ckpt_close(struct stn_ckpt *c)
{
    side_close(c);
}

/* PASSIVE only: it never waits for the writer or for readers, so it can
 * never hold a commit (a duress's) back. Whatever it cannot copy now (frames
 * a reader still needs, frames committed while it ran) waits for the next. */
bool stn_ckpt_run(struct stn_ckpt *c)
{
    int log_frames = 0, done = 0;
    sqlite3 *h = db_sqlite_handle(c->db);
    if (!h)
        return false;
    int rc = sqlite3_wal_checkpoint_v2(h, NULL, SQLITE_CHECKPOINT_PASSIVE, &log_frames, &done);
    if (rc != DB_OK && rc != DB_BUSY)
        STN_WARN("store", "checkpoint failed: %s", db_errstr(rc));
    return rc == DB_OK && log_frames > 0 && done == log_frames;
}

void stn_wstore_close(struct stn_wstore *w)
{
    if (!w)
        return;
    for (int i = 0; i < S_COUNT; i++)
        db_finalize(w->st[i]);
    for (int i = 0; i <= EVENTS_MANY; i++) {
        db_finalize(w->routine_many[0][i]);
        db_finalize(w->routine_many[1][i]);
    }
    for (int i = 0; i <= EVENTS_MANY; i++)
        db_finalize(w->ins_many[i]);
    for (int i = 0; i <= SEEN_MANY; i++)
        db_finalize(w->seen_many[i]);
    stn_actstore_close(w->acts);
    stn__shared_close(w->shared);
    stn_audit_forget(w->db);
    db_close(w->db);
    stn_keystore_wipe(&w->ks);
    stn_free(w);
}

static int step_done(struct db_stmt *s)
{
    int rc = db_step(s);
    db_reset(s);
    return rc == DB_DONE || rc == DB_ROW ? 0 : rc;
}

static void bind_text_or_null(struct db_stmt *s, int i, const char *t, size_t len)
{
    if (t && len)
        db_bind_text(s, i, t, (int)len, DB_STATIC);
    else
        db_bind_null(s, i);
}

/* Binds cid_q..sia_text at first (9 columns). */
static void bind_payload(struct db_stmt *s, int first, const struct stn_item *it)
{
    if (it->has_cid) {
        db_bind_int(s, first, it->cid.qualifier);
        db_bind_int(s, first + 1, it->cid.event);
        db_bind_int(s, first + 2, it->cid.partition);
        db_bind_int(s, first + 3, it->cid.zone);
    } else {
        for (int k = 0; k < 4; k++)
            db_bind_null(s, first + k);
    }
    if (it->has_sia) {
        db_bind_text(s, first + 4, it->sia.code, -1, DB_STATIC);
        if (it->sia.has_area) db_bind_int(s, first + 5, it->sia.area);
        else db_bind_null(s, first + 5);
        if (it->sia.has_user) db_bind_int(s, first + 6, it->sia.user);
        else db_bind_null(s, first + 6);
        if (it->sia.has_zone) db_bind_int(s, first + 7, it->sia.zone);
        else db_bind_null(s, first + 7);
        bind_text_or_null(s, first + 8, it->sia.text, strlen(it->sia.text));
    } else {
        for (int k = 4; k < 9; k++)
            db_bind_null(s, first + k);
    }
}

/* One entry of the station's own about an alarm, in the batch's transaction
 * (after: a JSON object, taken). */
static int audit_alarm(struct stn_wstore *w, struct stn_job *j, const char *kind, int64_t alarm_id,
                       json_t *after)
{
    char subject[24];
    snprintf(subject, sizeof subject, "%lld", (long long)alarm_id);
    char *text = after ? json_dumps(after, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(after);
    if (!text)
        return DB_NOMEM;
    struct stn_audit_entry e = { .at_ms = j->now_ms, .actor = "station", .kind = kind,
                                 .subject = subject, .after = text };
    int rc = stn_audit_job(w->db, j, &e);
    free(text);
    return rc;
}

/* One event's 21 values from parameter first + 1 on. */
static void bind_event(struct db_stmt *s, int first, struct stn_job *j, const struct stn_item *it)
{
    db_bind_int64(s, first + 1, it->account_id);
    db_bind_text(s, first + 2, it->account, -1, DB_STATIC);
    db_bind_int64(s, first + 3, it->received_ms);
    db_bind_int(s, first + 4, it->seq);
    db_bind_text(s, first + 5, dc09_id_name((enum dc09_id)it->id), -1, DB_STATIC);
    db_bind_int(s, first + 6, it->encrypted);
    if (it->has_frame_time) db_bind_int64(s, first + 7, it->frame_time_s);
    else db_bind_null(s, first + 7);
    bind_payload(s, first + 8, it);
    if (it->cls.kind) {
        db_bind_text(s, first + 17, it->cls.kind, -1, DB_STATIC);
        db_bind_int(s, first + 18, it->cls.priority);
    } else {
        db_bind_null(s, first + 17);
        db_bind_null(s, first + 18);
    }
    bind_text_or_null(s, first + 19, (const char *)j->arena + it->data_off, it->data_len);
    db_bind_blob(s, first + 20, j->arena + it->raw_off, (int)it->raw_len, DB_STATIC);
    bind_text_or_null(s, first + 21, (const char *)j->arena + it->peer_off, it->peer_len);
}

/* The routine events waiting, in one statement (in arrival order: ids stay in
 * the order the events were received). */
static int flush_events(struct stn_wstore *w, struct stn_job *j)
{
    int n = w->nwaiting;
    if (n == 0)
        return 0;
    w->nwaiting = 0;
    struct db_stmt *s = n == 1 ? w->st[S_INS_EVENT] : w->ins_many[n];
    if (!s) {
        char sql[sizeof EVENT_COLUMNS + 32 + EVENTS_MANY * sizeof EVENT_ROW];
        int off = snprintf(sql, sizeof sql, "INSERT INTO events %s VALUES ", EVENT_COLUMNS);
        for (int i = 0; i < n; i++)
            off += snprintf(sql + off, sizeof sql - (size_t)off, "%s%s", i ? "," : "", EVENT_ROW);
        int rc = db_prepare(w->db, sql, &w->ins_many[n]);
        if (rc != DB_OK)
            return rc;
        s = w->ins_many[n];
    }
    for (int i = 0; i < n; i++)
        bind_event(s, i * EVENT_PARAMS, j, w->waiting[i]);
    int rc = step_done(s);
    db_clear_bindings(s);
    return rc;
}

/* event_id: NULL when the caller does not need the new row's id (a routine
 * event that raises and restores nothing): it waits for flush_events. Else
 * the waiting ones go first, then this one alone. */
static int insert_event(struct stn_wstore *w, struct stn_job *j, struct stn_item *it,
                        int64_t *event_id)
{
    if (!event_id) {
        w->waiting[w->nwaiting++] = it;
        return w->nwaiting == EVENTS_MANY ? flush_events(w, j) : 0;
    }
    int rc = flush_events(w, j);
    if (rc)
        return rc;
    struct db_stmt *s = w->st[S_INS_EVENT];
    bind_event(s, 0, j, it);
    rc = step_done(s);
    db_clear_bindings(s);
    if (rc)
        return rc;
    *event_id = db_last_insert_rowid(w->db);
    return 0;
}

/* Opens an alarm for (account, kind, priority) or attaches to the open one.
 * A duress only ever finds duress alarms: kinds never mix, and neither do
 * priorities — an unregistered panel's readable duress is kind
 * `unknown_account` at priority 1, and must neither vanish into that panel's
 * open priority-4 alarm nor take its routine signals in. An alarm already
 * restored takes nothing more: a new duress or a new communication failure
 * after a restore opens an alarm of its own, never one that reads "restored".
 * An unknown account's signals are raised under it->alarm_account: the number
 * their source address's alarm of the window carries (rx.c). Nothing is
 * logged here: the transaction may yet roll back; commit.c logs what the
 * item records (alarm_id, alarm_opened) once the batch has committed. */
static int raise_alarm(struct stn_wstore *w, struct stn_job *j, struct stn_item *it,
                       const char *kind, int priority, int64_t event_id, int64_t *alarm_id)
{
    const char *account = it->alarm_account[0] ? it->alarm_account : it->account;
    int64_t count = it->count > 1 ? (int64_t)it->count : 1;
    int rc;
    /* test alarms and real ones never join each other: a real alarm opened
     * before the test began stays real, a test signal never hides in it */
    bool test = false;
    if (it->account_id > 0 && !it->alarm_account[0]) {
        struct db_stmt *t = w->st[S_ON_TEST];
        db_bind_int64(t, 1, it->account_id);
        db_bind_int64(t, 2, it->received_ms);
        rc = db_step(t);
        db_reset(t);
        if (rc != DB_ROW && rc != DB_DONE)
            return rc;
        test = rc == DB_ROW;
    }
    struct db_stmt *f = w->st[S_FIND_ALARM];
    db_bind_text(f, 1, account, -1, DB_STATIC);
    db_bind_text(f, 2, kind, -1, DB_STATIC);
    db_bind_int(f, 3, test);
    int64_t open_id = 0;
    while ((rc = db_step(f)) == DB_ROW) {
        struct alm_open o = { .id = db_column_int64(f, 0),
                              .priority = db_column_int(f, 1),
                              .restored = db_column_int(f, 2) != 0 };
        if (alm_raise_decide(&o, priority) == ALM_RAISE_JOIN) {
            open_id = o.id;
            break;
        }
    }
    db_reset(f);
    if (rc != DB_ROW && rc != DB_DONE)
        return rc;
    bool opened = false;
    if (open_id) {
        struct db_stmt *a = w->st[S_ATTACH_ALARM];
        db_bind_int64(a, 1, it->received_ms);
        db_bind_int64(a, 2, open_id);
        db_bind_int64(a, 3, count);
        if ((rc = step_done(a)) != 0)
            return rc;
    } else {
        opened = true;
        struct db_stmt *s = w->st[S_INS_ALARM];
        db_bind_text(s, 1, account, -1, DB_STATIC);
        db_bind_int64(s, 2, it->account_id);
        db_bind_int(s, 3, priority);
        db_bind_text(s, 4, kind, -1, DB_STATIC);
        if (event_id) db_bind_int64(s, 5, event_id);
        else db_bind_null(s, 5);
        db_bind_int64(s, 6, it->received_ms);
        db_bind_int64(s, 7, it->received_ms);
        bind_payload(s, 8, it);
        db_bind_null(s, 17);
        db_bind_null(s, 18);
        db_bind_null(s, 19);
        if (it->has_cid) {
            db_bind_int(s, 17, it->cid.partition);
            db_bind_int(s, it->cls.is_user ? 19 : 18, it->cid.zone);
        } else if (it->has_sia) {
            if (it->sia.has_area) db_bind_int(s, 17, it->sia.area);
            if (it->sia.has_zone) db_bind_int(s, 18, it->sia.zone);
            if (it->sia.has_user) db_bind_int(s, 19, it->sia.user);
        }
        bind_text_or_null(s, 20, (const char *)j->arena + it->detail_off, it->detail_len);
        db_bind_int(s, 21, test);
        rc = db_step(s);
        open_id = rc == DB_ROW ? db_column_int64(s, 0) : 0;
        rc = rc == DB_ROW ? 0 : rc == DB_DONE ? DB_ERROR : rc;
        db_reset(s);
        db_clear_bindings(s);
        if (rc)
            return rc;
        json_t *after = json_pack("{s:s,s:s,s:i,s:I}", "account", account, "kind", kind,
                                  "priority", priority, "received_at_ms",
                                  (json_int_t)it->received_ms);
        if (after && event_id)
            json_object_set_new(after, "event", json_integer(event_id));
        if (after && test)   /* the test signal received: in the trail as such */
            json_object_set_new(after, "test", json_true());
        if (after && it->type == STN_ITEM_REJECTED && it->reason)
            json_object_set_new(after, "refused", json_string(it->reason));
        if ((rc = audit_alarm(w, j, "alarm.opened", open_id, after)) != 0)
            return rc;
        char what[96];
        snprintf(what, sizeof what, "priority %d %s received%s", priority, kind,
                 test ? " (TEST: account on test, no dispatch step)" : "");
        struct db_stmt *h = w->st[S_OPEN_HISTORY];
        db_bind_int64(h, 1, open_id);
        db_bind_int64(h, 2, it->received_ms);
        db_bind_text(h, 3, what, -1, DB_TRANSIENT);
        if ((rc = step_done(h)) != 0)
            return rc;
        if (count > 1) {   /* signals counted, not stored, beyond the limits */
            struct db_stmt *a = w->st[S_ATTACH_ALARM];
            db_bind_int64(a, 1, it->received_ms);
            db_bind_int64(a, 2, open_id);
            db_bind_int64(a, 3, count - 1);
            if ((rc = step_done(a)) != 0)
                return rc;
        }
    }
    if (event_id) {
        struct db_stmt *l = w->st[S_INS_ALARM_EVENT];
        db_bind_int64(l, 1, open_id);
        db_bind_int64(l, 2, event_id);
        if ((rc = step_done(l)) != 0)
            return rc;
    }
    *alarm_id = open_id;
    it->alarm_id = open_id;
    it->alarm_opened = opened;
    return 0;
}

/* The open alarms of (account, kind) restored: one entry each (at most a
 * few: one open alarm per kind and priority). */
static int restore_alarm(struct stn_wstore *w, struct stn_job *j, const struct stn_item *it,
                         const char *kind)
{
    struct db_stmt *s = w->st[S_RESTORE];
    db_bind_int64(s, 1, it->received_ms);
    db_bind_text(s, 2, it->account, -1, DB_STATIC);
    db_bind_text(s, 3, kind, -1, DB_STATIC);
    int64_t ids[16];
    size_t n = 0;
    int rc;
    while ((rc = db_step(s)) == DB_ROW)
        if (n < sizeof ids / sizeof ids[0])
            ids[n++] = db_column_int64(s, 0);
    db_reset(s);
    if (rc != DB_DONE)
        return rc;
    for (size_t i = 0; i < n; i++) {
        json_t *after = json_pack("{s:s,s:I}", "kind", kind, "restored_at_ms",
                                  (json_int_t)it->received_ms);
        if ((rc = audit_alarm(w, j, "alarm.restored", ids[i], after)) != 0)
            return rc;
    }
    return 0;
}

/* Signals joined to alarms already open, one entry per alarm per batch (a
 * flood is one line in the trail, not one per frame). */
struct joins { int64_t id[32]; int64_t n[32]; size_t len; };

static int joins_flush(struct stn_wstore *w, struct stn_job *j, struct joins *jn)
{
    for (size_t i = 0; i < jn->len; i++) {
        int rc = audit_alarm(w, j, "alarm.joined", jn->id[i],
                             json_pack("{s:I}", "signals", (json_int_t)jn->n[i]));
        if (rc)
            return rc;
    }
    jn->len = 0;
    return 0;
}

static int joins_add(struct stn_wstore *w, struct stn_job *j, struct joins *jn,
                     const struct stn_item *it)
{
    if (!it->alarm_id || it->alarm_opened)
        return 0;
    int64_t count = it->count > 1 ? (int64_t)it->count : 1;
    for (size_t i = 0; i < jn->len; i++)
        if (jn->id[i] == it->alarm_id) {
            jn->n[i] += count;
            return 0;
        }
    if (jn->len == sizeof jn->id / sizeof jn->id[0]) {
        int rc = joins_flush(w, j, jn);
        if (rc)
            return rc;
    }
    jn->id[jn->len] = it->alarm_id;
    jn->n[jn->len++] = count;
    return 0;
}

static int insert_rejected(struct stn_wstore *w, struct stn_job *j, const struct stn_item *it,
                           int64_t alarm_id)
{
    struct db_stmt *s = w->st[S_INS_REJECTED];
    db_bind_int64(s, 1, it->received_ms);
    db_bind_text(s, 2, it->account, -1, DB_STATIC);
    db_bind_text(s, 3, it->reason ? it->reason : "unknown", -1, DB_STATIC);
    if (it->id) db_bind_text(s, 4, dc09_id_name((enum dc09_id)it->id), -1, DB_STATIC);
    else db_bind_null(s, 4);
    db_bind_int(s, 5, it->seq);
    bind_text_or_null(s, 6, (const char *)j->arena + it->peer_off, it->peer_len);
    db_bind_blob(s, 7, j->arena + it->raw_off, (int)it->raw_len, DB_STATIC);
    if (alarm_id) db_bind_int64(s, 8, alarm_id);
    else db_bind_null(s, 8);
    int rc = step_done(s);
    db_clear_bindings(s);
    return rc;
}

/* The panels' last-seen times, SEEN_MANY accounts a statement (one UPDATE
 * from a list of (id, ms) rows; on PostgreSQL each statement is a round trip,
 * and at one poll per panel every 90 s these are most of a busy store's
 * writes: docs/scale.md). */
static int store_seen(struct stn_wstore *w, struct stn_job *j)
{
    for (size_t i = 0; i < j->nseen;) {
        size_t n = j->nseen - i < SEEN_MANY ? j->nseen - i : SEEN_MANY;
        struct db_stmt *s = w->seen_many[n];
        if (!s) {
            char sql[256 + SEEN_MANY * 64];
            int off = snprintf(sql, sizeof sql, "UPDATE accounts SET last_seen_ms = v.ms FROM (");
            for (size_t k = 0; k < n; k++)
                off += snprintf(sql + off, sizeof sql - (size_t)off,
                                k ? " UNION ALL SELECT CAST(? AS BIGINT), CAST(? AS BIGINT)"
                                  : "SELECT CAST(? AS BIGINT) AS id, CAST(? AS BIGINT) AS ms");
            snprintf(sql + off, sizeof sql - (size_t)off, ") AS v WHERE accounts.id = v.id AND"
                     " (accounts.last_seen_ms IS NULL OR accounts.last_seen_ms < v.ms)");
            int rc = db_prepare(w->db, sql, &w->seen_many[n]);
            if (rc != DB_OK)
                return rc;
            s = w->seen_many[n];
        }
        for (size_t k = 0; k < n; k++) {
            db_bind_int64(s, (int)(2 * k + 1), j->seen[i + k].account_id);
            db_bind_int64(s, (int)(2 * k + 2), j->seen[i + k].ms);
        }
        int rc = step_done(s);
        if (rc != 0)
            return rc;
        i += n;
    }
    return 0;
}

static int run_items(struct stn_wstore *w, struct stn_job *j)
{
    int rc;
    struct joins jn = { .len = 0 };
    w->nwaiting = 0;
    for (size_t i = 0; i < j->n; i++)
        j->items[i].stored_retry = false;
    /* a shared store: which events another node has stored already */
    if (w->shared && (rc = stn__shared_seen_job(w->shared, j, w->dup_window_ms)) != 0)
        return rc;
    for (size_t i = 0; i < j->n; i++) {
        struct stn_item *it = &j->items[i];
        it->alarm_id = 0;
        it->alarm_opened = false;
        int64_t event_id = 0, alarm_id = 0;
        switch (it->type) {
        case STN_ITEM_EVENT:
            if (it->stored_retry)
                break;   /* a retry another node has stored: ACKed, not stored again */
            if ((rc = insert_event(w, j, it, it->cls.kind && !it->cls.restore &&
                                   it->cls.priority > 0 ? &event_id : NULL)) != 0)
                return rc;
            if (it->cls.kind && it->cls.restore) {
                if ((rc = restore_alarm(w, j, it, it->cls.kind)) != 0)
                    return rc;
            } else if (it->cls.kind && it->cls.priority > 0) {
                if ((rc = raise_alarm(w, j, it, it->cls.kind, it->cls.priority, event_id,
                                      &alarm_id)) != 0)
                    return rc;
            }
            break;
        case STN_ITEM_REJECTED:
            if (it->kind && (rc = raise_alarm(w, j, it, it->kind, it->priority, 0,
                                              &alarm_id)) != 0)
                return rc;
            if ((rc = insert_rejected(w, j, it, alarm_id)) != 0)
                return rc;
            break;
        case STN_ITEM_ALARM:
            if ((rc = raise_alarm(w, j, it, it->kind, it->priority, 0, &alarm_id)) != 0)
                return rc;
            break;
        case STN_ITEM_RESTORE:
            if ((rc = restore_alarm(w, j, it, it->kind)) != 0)
                return rc;
            break;
        case STN_ITEM_POLL:
        case STN_ITEM_ACK_ONLY:
        default:
            break;
        }
        if ((rc = joins_add(w, j, &jn, it)) != 0)
            return rc;
    }
    if ((rc = flush_events(w, j)) != 0 || (rc = joins_flush(w, j, &jn)) != 0)
        return rc;
    for (size_t i = 0; i < j->nnotes; i++) {
        const char *kind = (const char *)j->arena + j->note_off[i];
        struct stn_audit_entry e = { .at_ms = j->now_ms, .actor = "station", .kind = kind,
                                     .after = kind + strlen(kind) + 1 };
        if ((rc = stn_audit_job(w->db, j, &e)) != 0)
            return rc;
    }
    if ((rc = store_seen(w, j)) != 0)
        return rc;
    if (j->escalate_before_ms) {
        struct db_stmt *s = w->st[S_ESCALATE];
        db_bind_int64(s, 1, j->now_ms);
        db_bind_int64(s, 2, j->escalate_before_ms);
        db_bind_int(s, 3, alm_escalate_priority());
        int64_t ids[64];
        size_t n = 0;
        while ((rc = db_step(s)) == DB_ROW) {
            STN_WARN("alarm", "alarm %lld escalated: priority 1 %s account %s untaken "
                     "alarm=%lld account=%s kind=%s priority=1 event=escalated",
                     (long long)db_column_int64(s, 0),
                     (const char *)db_column_text(s, 2),
                     (const char *)db_column_text(s, 1),
                     (long long)db_column_int64(s, 0),
                     (const char *)db_column_text(s, 1),
                     (const char *)db_column_text(s, 2));
            if (n < sizeof ids / sizeof ids[0])
                ids[n++] = db_column_int64(s, 0);
        }
        db_reset(s);
        if (rc != DB_DONE)
            return rc;
        for (size_t k = 0; k < n; k++)
            if ((rc = audit_alarm(w, j, "alarm.escalated", ids[k],
                                  json_pack("{s:s,s:s}", "state", "escalated", "why",
                                            "untaken: supervisors alerted"))) != 0)
                return rc;
        if (db_changes(w->db) > 0) {
            struct db_stmt *h = w->st[S_ESCALATE_HISTORY];
            db_bind_int64(h, 1, j->now_ms);
            if ((rc = step_done(h)) != 0)
                return rc;
        }
    }
    return 0;
}

static bool prune(struct stn_wstore *w, int64_t before_ms, int64_t now_ms)
{
    struct db_stmt *f = w->st[S_PRUNE_FIRST];
    db_bind_int64(f, 1, before_ms);
    int rc = db_step(f);
    int64_t first_kept = rc == DB_ROW ? db_column_int64(f, 0) : INT64_MAX;
    db_reset(f);
    if (rc != DB_ROW && rc != DB_DONE)
        return false;
    /* one bounded step per job (at most 5,000 rows), so a batch's ACKs never
     * wait behind a big prune; the loop asks again while more remain */
    struct db_stmt *d = w->st[S_PRUNE];
    db_bind_int64(d, 1, first_kept);
    if (step_done(d) != 0)
        return false;
    int ch = db_changes(w->db);
    /* refused signals age out with the events */
    struct db_stmt *r = w->st[S_PRUNE_REJECTED];
    db_bind_int64(r, 1, before_ms);
    if (step_done(r) == 0)
        ch += db_changes(w->db);
    /* the shared window keeps only what a retry can still match */
    if (w->shared && stn__shared_prune(w->shared, now_ms - w->dup_window_ms) != 0)
        return false;
    w->pruned += (uint64_t)ch;
    if (ch == 0 && w->pruned) {
        STN_INFO("store", "pruned %llu events and refused signals past retention",
                 (unsigned long long)w->pruned);
        w->pruned = 0;
    }
    return ch > 0;
}

/* The accounts again when another connection has committed since the last
 * load (an account changed by `vigil` or the console; on a shared store,
 * another node's commits too, which carry its panels' last-seen times): at
 * most once a second, so that two busy nodes do not reload on every batch.
 * Only an operator's request through the control socket (force_accounts:
 * the account it created is served from this batch's replies on) is read
 * here, in the batch. Otherwise the job only says that something changed
 * (accounts_changed) and the loop has the reader (below) read them on its
 * own connection: a read of every account grows with the store (~5 us an
 * account: half a second at 100,000) and would hold back this batch's ACKs,
 * a duress's among them, for as long. */
static void load_accounts_if_changed(struct stn_wstore *w, struct stn_job *j)
{
    int64_t v = -1;
    if (db_data_version(w->db, &v) != DB_OK)
        return;
    if (j->force_accounts) {
        j->accounts_loaded = stn_wstore_load_accounts(w, &j->rows, &j->nrows) == 0;
        if (j->accounts_loaded)
            w->accounts_loaded_ms = j->now_ms;
        return;
    }
    if (v == w->data_version || j->now_ms - w->accounts_loaded_ms < 1000)
        return;
    j->accounts_changed = true;
    w->data_version = v;
    w->accounts_loaded_ms = j->now_ms;
}

/* After DB_LOST: one attempt a second to reach the database again; until
 * then every job fails at once (nothing is ACKed: panels use their backup
 * path). Returns true when the connection is usable. */
static bool reachable(struct stn_wstore *w, struct stn_job *j)
{
    if (!w->lost)
        return true;
    if (j->now_ms - w->reconnect_ms < 1000)
        return false;
    w->reconnect_ms = j->now_ms;
    if (db_reconnect(w->db) != DB_OK)
        return false;
    w->lost = false;
    w->leader_ms = 0;
    STN_WARN("store", "the database answers again: storing and acknowledging resume "
             "event=store_up");
    return true;
}

/* ---- routine batches on a shared store --------------------------------- */

/* A batch of routine events only — nothing to raise, restore, join or audit,
 * no last-seen times, requests or checks — the hot path of a busy station. */
static bool routine_only(const struct stn_job *j)
{
    if (j->n == 0 || j->nseen || j->escalate_before_ms || j->nctl || j->nnotes ||
        j->lease_check || j->setup_check)
        return false;
    for (size_t i = 0; i < j->n; i++) {
        const struct stn_item *it = &j->items[i];
        if (it->type == STN_ITEM_POLL || it->type == STN_ITEM_ACK_ONLY)
            continue;
        if (it->type != STN_ITEM_EVENT || (it->cls.kind && (it->cls.restore || it->cls.priority > 0)))
            return false;
    }
    return true;
}

/* The events' columns with their types: the VALUES of routine_shared's
 * statement carry no column to infer a parameter's type from. */
static const char *const event_col[EVENT_PARAMS][2] = {
    { "account_id", "BIGINT" }, { "account", "TEXT" }, { "received_at_ms", "BIGINT" },
    { "seq", "BIGINT" }, { "id_token", "TEXT" }, { "encrypted", "BIGINT" },
    { "frame_time_s", "BIGINT" }, { "cid_q", "BIGINT" }, { "cid_event", "BIGINT" },
    { "cid_partition", "BIGINT" }, { "cid_zone", "BIGINT" }, { "sia_code", "TEXT" },
    { "sia_area", "BIGINT" }, { "sia_user", "BIGINT" }, { "sia_zone", "BIGINT" },
    { "sia_text", "TEXT" }, { "kind", "TEXT" }, { "priority", "BIGINT" }, { "data", "TEXT" },
    { "raw", "BYTEA" }, { "peer", "TEXT" },
};
#define ROUTINE_PARAMS (1 + EVENT_PARAMS)   /* per row: the payload hash, the event */

/* The statement for n events: the shared duplicate window's rows and the
 * INSERT of the events they name new, in arrival order; it returns the keys
 * of the new ones. ?1: the window; then per row the hash and the event.
 * It notifies no one, and its outer statement is a SELECT so that db_pg.c
 * adds no NOTIFY of its own either: routine events change nothing another
 * connection follows (the consoles' live view follows alarms, the other
 * nodes reload accounts and last-seen times), and a NOTIFY takes
 * PostgreSQL's one notify lock for the whole cluster and holds it through
 * the commit's WAL flush (and a synchronous standby's answer), so every
 * node's routine commits would queue behind one another on it.
 * Two forms. The upsert (store_shared.c's): a key seen within the window is
 * left alone (a retry: not returned), one older than the window takes the
 * new time. The plain INSERT: ~40 % less of the server's work per row, and
 * any key already there fails the whole statement (unique violation) —
 * nothing of it is stored, and the batch runs again in the upsert form.
 * Retries that reach the store are rare (the node's own window, dedup.c,
 * answers those it has seen), so the plain form is tried first. */
static struct db_stmt *routine_stmt(struct stn_wstore *w, int n, bool plain)
{
    if (w->routine_many[plain][n])
        return w->routine_many[plain][n];
    size_t cap = 2048 + (size_t)n * (EVENT_PARAMS * 28 + 40);
    char *sql = stn_malloc(cap);
    if (!sql)
        return NULL;
    size_t off = (size_t)snprintf(sql, cap, "WITH v (k, h");
    for (int c = 0; c < EVENT_PARAMS; c++)
        off += (size_t)snprintf(sql + off, cap - off, ", %s", event_col[c][0]);
    off += (size_t)snprintf(sql + off, cap - off, ") AS (VALUES ");
    for (int i = 0; i < n; i++) {
        int p = 2 + i * ROUTINE_PARAMS;
        off += (size_t)snprintf(sql + off, cap - off, "%s(%d, CAST(?%d AS BIGINT)", i ? "," : "",
                                i, p);
        for (int c = 0; c < EVENT_PARAMS; c++)
            off += (size_t)snprintf(sql + off, cap - off, ", CAST(?%d AS %s)", p + 1 + c,
                                    event_col[c][1]);
        off += (size_t)snprintf(sql + off, cap - off, ")");
    }
    off += (size_t)snprintf(sql + off, cap - off, "),"
        " fr AS (INSERT INTO recent_frames (account_id, seq, data_hash, received_at_ms)"
        " SELECT account_id, seq, h, received_at_ms FROM v");
    if (plain)      /* all or nothing: every event goes in, no key to join on */
        off += (size_t)snprintf(sql + off, cap - off, " WHERE CAST(?1 AS BIGINT) IS NOT NULL),"
                                " ev AS (INSERT INTO events %s SELECT ", EVENT_COLUMNS);
    else
        off += (size_t)snprintf(sql + off, cap - off, STN_SHARED_UPSERT
            " RETURNING account_id, seq, data_hash),"
            " ev AS (INSERT INTO events %s SELECT ", EVENT_COLUMNS);
    for (int c = 0; c < EVENT_PARAMS; c++)
        off += (size_t)snprintf(sql + off, cap - off, "%sv.%s", c ? ", " : "", event_col[c][0]);
    if (plain)
        snprintf(sql + off, cap - off, " FROM v ORDER BY v.k) SELECT 1");
    else
        snprintf(sql + off, cap - off, " FROM v JOIN fr ON fr.account_id = v.account_id"
                 " AND fr.seq = v.seq AND fr.data_hash = v.h ORDER BY v.k)"
                 " SELECT fr.account_id, fr.seq, fr.data_hash FROM fr");
    int rc = db_prepare(w->db, sql, &w->routine_many[plain][n]);
    stn_free(sql);
    return rc == DB_OK ? w->routine_many[plain][n] : NULL;
}

/* One statement of up to EVENTS_MANY events: the ones whose key was already
 * in the window stay marked stored_retry (ACKed, not stored again). */
static int routine_chunk(struct stn_wstore *w, struct stn_job *j, struct stn_item **items,
                         const int64_t *hash, int n, bool plain)
{
    struct db_stmt *s = routine_stmt(w, n, plain);
    if (!s)
        return db_errcode(w->db) ? db_errcode(w->db) : DB_NOMEM;
    db_bind_int64(s, 1, w->dup_window_ms);
    for (int k = 0; k < n; k++) {
        int p = 2 + k * ROUTINE_PARAMS;
        db_bind_int64(s, p, hash[k]);
        bind_event(s, p, j, items[k]);
    }
    int rc;
    while ((rc = db_step(s)) == DB_ROW)
        if (!plain)         /* (the plain form's one row says nothing) */
            stn__shared_new(items, hash, n, db_column_int64(s, 0), db_column_int64(s, 1),
                            db_column_int64(s, 2));
    db_reset(s);
    db_clear_bindings(s);
    if (rc != DB_DONE)
        return rc;
    for (int k = 0; plain && k < n; k++)
        items[k]->stored_retry = false;           /* the plain form stored them all */
    return 0;
}

/* A routine batch on a shared store (PostgreSQL): the duplicate window and
 * the events in one statement per 64 events — a batch of up to 64 is one
 * round trip and its own transaction, instead of the four of BEGIN IMMEDIATE,
 * the upsert, the INSERT and COMMIT. No write lock: these rows are only
 * appended (the alarm engine and the audit chain, which need it, are not
 * touched), and a retry that reaches two nodes at once is settled by
 * recent_frames' unique key — the second waits for the first's commit and
 * finds its row. More than 64: the statements in one plain transaction. */
static int routine_shared(struct stn_wstore *w, struct stn_job *j)
{
    struct stn_item *items[EVENTS_MANY];
    int64_t hash[EVENTS_MANY];
    size_t events = 0;
    for (size_t i = 0; i < j->n; i++) {
        events += j->items[i].type == STN_ITEM_EVENT;
        j->items[i].stored_retry = false;
        j->items[i].alarm_id = 0;
        j->items[i].alarm_opened = false;
    }
    bool txn = events > EVENTS_MANY;
    int rc = txn ? step_done(w->st[S_BEGIN_APPEND]) : 0;
    size_t i = 0;
    while (rc == 0 && i < j->n) {
        int n = stn__shared_next(j, &i, items, hash, EVENTS_MANY);
        if (!n)
            continue;
        /* the plain form on its own only: in a transaction its failure would
         * abort the rest */
        bool plain = !txn && w->upsert_batches == 0;
        if (w->upsert_batches)
            w->upsert_batches--;
        rc = routine_chunk(w, j, items, hash, n, plain);
        if (plain && rc == DB_CONSTRAINT) {
            w->upsert_batches = 64;     /* retries come in runs (a path switched) */
            rc = routine_chunk(w, j, items, hash, n, false);
        }
    }
    j->rows_us = (int64_t)((stn_mono_ns() - j->t_start_ns) / 1000u);
    if (rc == 0 && txn)
        rc = step_done(w->st[S_COMMIT]);
    return rc;
}

static void note_lost(struct stn_wstore *w, struct stn_job *j, int rc)
{
    if (w->lost || (rc != DB_LOST && db_errcode(w->db) != DB_LOST))
        return;
    w->lost = true;
    w->leader = false;
    w->reconnect_ms = j->now_ms;
    STN_ERROR("store", "the connection to the database is lost: nothing is acknowledged "
              "until it returns (panels turn to their backup path); trying again every "
              "second event=store_down");
}

void stn_wstore_run(struct stn_wstore *w, struct stn_job *j)
{
    j->t_start_ns = stn_mono_ns();
    j->rc = 0;
    bool has_work = j->n > 0 || j->nseen > 0 || j->escalate_before_ms || j->nctl > 0 ||
                    j->nnotes > 0 ||
                    j->lease_check || j->setup_check;
    j->leader = false;
    if (!reachable(w, j)) {
        if (has_work) {
            w->failures++;
            j->rc = STN_E_STORE;
        }
        j->t_end_ns = stn_mono_ns();
        return;
    }
    /* supervision on one node of several: asked once a second */
    if (j->now_ms - w->leader_ms >= 1000) {
        bool leader = false;
        if (db_try_leader(w->db, "vigil-supervision", &leader) == DB_OK)
            w->leader = leader;
        else
            note_lost(w, j, db_errcode(w->db));
        w->leader_ms = j->now_ms;
    }
    j->leader = w->leader && !w->lost;
    int rc = 0;
    if (has_work && w->shared && routine_only(j)) {
        rc = routine_shared(w, j);      /* its own transaction: committed or not */
    } else if (has_work) {
        rc = step_done(w->st[S_BEGIN]);
        if (rc == 0)
            rc = run_items(w, j);
        if (rc == 0)
            rc = stn_actstore_run(w->acts, j);
        /* the head as this transaction will commit it (a savepoint rolled
         * back may have taken an entry appended in it away again) */
        if (rc == 0 && j->audited && stn_audit_last(w->db, &j->audit_seq, j->audit_hash) != 0)
            j->audit_seq = 0;   /* no head written for it: never the batch's failure */
        /* the head this station appended last must still be in the trail,
         * else the trail was rewritten under it: the head file stays put */
        if (rc == 0 && j->audited && j->known_seq > 0 &&
            stn_audit_has(w->db, j->known_seq, j->known_hash) != 1)
            j->audit_broken = true;
        j->rows_us = (int64_t)((stn_mono_ns() - j->t_start_ns) / 1000u);
        if (rc == 0)
            rc = step_done(w->st[S_COMMIT]);
    }
    if (has_work) {
        if (rc != 0) {
            /* one line per failure, but at most one per second while it lasts */
            w->failures++;
            if (j->now_ms - w->failure_logged_ms >= 1000) {
                STN_ERROR("store", "commit of batch %llu (%zu items) failed: %s; nothing of it "
                          "is acknowledged (%llu failed commits so far)",
                          (unsigned long long)j->batch, j->n, db_errstr(rc),
                          (unsigned long long)w->failures);
                w->failure_logged_ms = j->now_ms;
            }
            note_lost(w, j, rc);
            if (!w->lost && !db_get_autocommit(w->db))
                step_done(w->st[S_ROLLBACK]);
            j->rc = STN_E_STORE;
            j->audit_seq = 0;   /* nothing of it is in the chain */
        }
        j->commit_us = (int64_t)((stn_mono_ns() - j->t_start_ns) / 1000u);
    }
    if (j->wal_finish && db_sqlite_handle(w->db)) {
        /* The checkpointer has just copied what the WAL held when it began;
         * copy the few frames committed since, from the only connection that
         * writes, so nothing new arrives meanwhile. The next transaction then
         * writes the WAL from its start again: overwriting blocks the file
         * already has, which fdatasync commits without a journal update. */
        int log_frames = 0, done = 0;
        int crc = sqlite3_wal_checkpoint_v2(db_sqlite_handle(w->db), NULL, SQLITE_CHECKPOINT_PASSIVE, &log_frames,
                                            &done);
        if (crc != DB_OK && crc != DB_BUSY)
            STN_WARN("store", "checkpoint of the WAL's tail failed: %s", db_errstr(crc));
        /* Everything copied: nothing is left for a checkpoint to do until the
         * next commit (the WAL hook reports only commits, so without this an
         * idle daemon would go on asking for checkpoints of a WAL already
         * copied, back to back, for as long as no frame arrives). */
        if (crc == DB_OK && done == log_frames)
            w->wal_frames = 0;
    }
    j->wal_frames = w->wal_frames;
    if (j->prune_before_ms && !w->lost)
        j->prune_more = prune(w, j->prune_before_ms, j->now_ms);
    if ((j->check_accounts || j->force_accounts) && !w->lost)
        load_accounts_if_changed(w, j);
    j->t_end_ns = stn_mono_ns();
}

int stn_wstore_audit_last(struct stn_wstore *w, int64_t *seq, char hash[65])
{
    return stn_audit_last(w->db, seq, hash);
}

int stn_wstore_audit_has(struct stn_wstore *w, int64_t seq, const char *hash)
{
    return stn_audit_has(w->db, seq, hash);
}

const char *stn_wstore_path(const struct stn_wstore *w)
{
    return w->path;
}

/* The station's own entries outside a batch (start, stop): their own
 * transaction, on the loop thread while no job runs. */
int stn_wstore_audit(struct stn_wstore *w, const char *kind, const char *after, int64_t *seq,
                     char hash[65])
{
    struct stn_audit_entry e = { .at_ms = stn_now_ms(), .actor = "station", .kind = kind,
                                 .after = after };
    int rc = step_done(w->st[S_BEGIN]);
    if (rc == 0)
        rc = stn_audit_append(w->db, &e, seq, hash);
    if (rc == 0)
        rc = step_done(w->st[S_COMMIT]);
    if (rc != 0 && !db_get_autocommit(w->db))
        step_done(w->st[S_ROLLBACK]);
    return rc ? STN_E_STORE : 0;
}

/* An array of *cap elements of `size` bytes, full: twice the room, or NULL
 * (and the array freed) when memory ran out. */
static void *grow(void *p, size_t *cap, size_t size)
{
    void *np = stn_realloc(p, *cap * 2 * size);
    if (!np) {
        stn_free(p);
        return NULL;
    }
    *cap *= 2;
    return np;
}

static int load_accounts(struct db *db, const struct stn_keystore *ks,
                         struct stn_account_row **rows, size_t *n)
{
    struct db_stmt *s;
    *rows = NULL;
    *n = 0;
    if (db_prepare(db, "SELECT id, number, key, quirks, supervision_s,"
                           " last_seen_ms, coalesce(window_past_s, -1),"
                           " coalesce(window_future_s, -1), EXISTS (SELECT 1 FROM alarms WHERE"
                           " account=accounts.number AND kind='comm_failure'"
                           " AND state!='closed' AND restored_at_ms IS NULL)"
                           " FROM accounts ORDER BY id", &s) != DB_OK)
        return STN_E_STORE;
    size_t cap = 64, cnt = 0;
    struct stn_account_row *r = stn_calloc(cap, sizeof *r);
    int rc;
    while (r && (rc = db_step(s)) == DB_ROW) {
        if (cnt == cap && !(r = grow(r, &cap, sizeof *r)))
            break;
        struct stn_account_row *a = &r[cnt];
        memset(a, 0, sizeof *a);
        a->id = (uint32_t)db_column_int64(s, 0);
        snprintf(a->number, sizeof a->number, "%s", (const char *)db_column_text(s, 1));
        int kl = db_column_bytes(s, 2);
        const void *kb = db_column_blob(s, 2);
        if (kl == 16 || kl == 24 || kl == 32) {
            memcpy(a->key, kb, (size_t)kl);     /* stored before sealing (or by hand) */
            a->key_len = (uint8_t)kl;
        } else if (kl > 0) {
            size_t len = 0;
            if (stn_key_open(ks, a->number, kb, (size_t)kl, a->key, &len) == 0)
                a->key_len = (uint8_t)len;
            else
                a->key_error = true;            /* never as a keyless account */
        }
        a->quirks = (uint32_t)db_column_int64(s, 3);
        a->supervision_s = db_column_int64(s, 4);
        a->last_seen_ms = db_column_int64(s, 5);
        a->window_past_s = (int32_t)db_column_int(s, 6);
        a->window_future_s = (int32_t)db_column_int(s, 7);
        a->comm_failed = db_column_int(s, 8) != 0;
        cnt++;
    }
    db_finalize(s);
    if (!r)
        return STN_E_NOMEM;
    if (rc != DB_DONE) {
        stn_free(r);
        return STN_E_STORE;
    }
    *rows = r;
    *n = cnt;
    return 0;
}

/* Startup, and an operator's request (force_accounts): the version of the
 * store read first, so that a change committed during the read is news at
 * the next check, and the read is not made twice for nothing. */
int stn_wstore_load_accounts(struct stn_wstore *w, struct stn_account_row **rows, size_t *n)
{
    int64_t v = -1;
    bool known = db_data_version(w->db, &v) == DB_OK;
    int rc = load_accounts(w->db, &w->ks, rows, n);
    if (rc == 0 && known)
        w->data_version = v;
    return rc;
}

/* ---- the accounts reader: its own connection, run on the thread pool -- */

struct stn_reader {
    struct db *db;                   /* first: side_open */
    const struct stn_keystore *ks;   /* the worker's: only read, by both */
};

int stn_reader_open(const struct stn_config *cfg, const struct stn_wstore *w,
                    struct stn_reader **out, char *msg, size_t cap)
{
    _Static_assert(offsetof(struct stn_reader, db) == 0, "side_open: the connection first");
    int rc;
    struct stn_reader *r = side_open(cfg, sizeof *r, &rc, msg, cap);
    if (!r)
        return rc;
    r->ks = &w->ks;
    *out = r;
    return 0;
}

void stn_reader_close(struct stn_reader *r)
{
    side_close(r);
}

int stn_reader_load_accounts(struct stn_reader *r, struct stn_account_row **rows, size_t *n)
{
    *rows = NULL;
    *n = 0;
    /* a connection that broke (the database restarted, a failover): once
     * more, then the loop asks again at its next tick */
    if (db_errcode(r->db) == DB_LOST && db_reconnect(r->db) != DB_OK)
        return STN_E_STORE;
    return load_accounts(r->db, r->ks, rows, n);
}

int stn_wstore_load_recent(struct stn_wstore *w, int64_t since_ms,
                           struct stn_dup_row **rows, size_t *n,
                           uint64_t (*hash)(void *ctx, const void *p, size_t len), void *ctx)
{
    struct db_stmt *s;
    *rows = NULL;
    *n = 0;
    /* Newest first by id, a page at a time; stop at the window's edge (ids
     * follow time, but for a little disorder). Pages rather than one
     * statement: PostgreSQL hands over a statement's whole result before its
     * first row, so one unbounded SELECT read the whole events table into
     * memory at every start (5 million rows: 5 s). */
    if (db_prepare(w->db, "SELECT id, account_id, seq, data, received_at_ms FROM events"
                           " WHERE id < ? ORDER BY id DESC LIMIT 1024", &s) != DB_OK)
        return STN_E_STORE;
    const int page = 1024;
    size_t cap = 256, cnt = 0;
    struct stn_dup_row *r = stn_malloc(cap * sizeof *r);
    int rc = DB_DONE;
    int older = 0, got = page;
    int64_t before = INT64_MAX;
    while (r && got == page && older <= 1000 && rc == DB_DONE) {
        db_bind_int64(s, 1, before);
        got = 0;
        while (r && (rc = db_step(s)) == DB_ROW) {
            got++;
            before = db_column_int64(s, 0);
            int64_t t = db_column_int64(s, 4);
            if (t < since_ms) {
                if (++older > 1000)   /* tolerate a little clock disorder */
                    break;
                continue;
            }
            if (cnt == cap && !(r = grow(r, &cap, sizeof *r)))
                break;
            r[cnt].account_id = (uint32_t)db_column_int64(s, 1);
            r[cnt].seq = (uint16_t)db_column_int(s, 2);
            const void *d = db_column_text(s, 3);
            int dl = db_column_bytes(s, 3);
            r[cnt].hash = hash(ctx, d ? d : "", (size_t)dl);
            r[cnt].time_ms = t;
            cnt++;
        }
        db_reset(s);
    }
    db_finalize(s);
    if (!r)
        return STN_E_NOMEM;
    if (rc != DB_DONE && rc != DB_ROW) {
        stn_free(r);
        return STN_E_STORE;
    }
    /* oldest first, as the ring wants them */
    for (size_t i = 0; i < cnt / 2; i++) {
        struct stn_dup_row t = r[i];
        r[i] = r[cnt - 1 - i];
        r[cnt - 1 - i] = t;
    }
    *rows = r;
    *n = cnt;
    return 0;
}
