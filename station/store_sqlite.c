/*
 * store_sqlite.c — the SQLite store: opening (WAL, synchronous=FULL,
 * busy_timeout), the schema and its migrations, and the commit worker that
 * writes one batch per transaction.
 *
 * Performance shape (docs/PERFORMANCE.md): `events` is append-only by rowid
 * with no secondary index (duplicate detection lives in memory, dedup.c);
 * alarms are few and indexed by (account, kind) for open ones. Statements are
 * prepared once. Must never report a batch as committed unless COMMIT
 * returned SQLITE_OK, and never log a key or passcode hash.
 */
#include "stn_internal.h"
#include "vigil/alarm.h"
#include "vigil/audit.h"

#include <errno.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* ---- schema ----------------------------------------------------------- */

/* Each entry moves the schema from version i to i+1. Append only. */
static const char *const migrations[] = {
    /* 1: accounts, events, alarms, refused signals */
    "CREATE TABLE accounts ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  number TEXT NOT NULL UNIQUE,"
    "  name TEXT, address TEXT, time_zone TEXT, phone TEXT, agency TEXT, permit TEXT,"
    "  key BLOB,"                         /* AES key bytes (16/24/32) or NULL */
    "  quirks INTEGER NOT NULL DEFAULT 0,"   /* enum dc09_quirk flags */
    "  supervision_s INTEGER NOT NULL DEFAULT 0,"
    "  passcode_hash TEXT, duress_passcode_hash TEXT," /* argon2id (crypto_pwhash_str) */
    "  created_at_ms INTEGER NOT NULL, updated_at_ms INTEGER NOT NULL,"
    "  last_seen_ms INTEGER);"
    "CREATE TABLE account_users ("
    "  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
    "  user_number INTEGER NOT NULL, name TEXT NOT NULL,"
    "  PRIMARY KEY (account_id, user_number));"
    "CREATE TABLE account_zones ("
    "  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
    "  zone_number INTEGER NOT NULL, name TEXT NOT NULL,"
    "  PRIMARY KEY (account_id, zone_number));"
    "CREATE TABLE account_contacts ("
    "  id INTEGER PRIMARY KEY,"
    "  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
    "  position INTEGER NOT NULL, name TEXT NOT NULL, phone TEXT NOT NULL,"
    "  relation TEXT, lives_at_premises INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX account_contacts_account ON account_contacts(account_id, position);"
    "CREATE TABLE events ("              /* append-only: no index but the rowid */
    "  id INTEGER PRIMARY KEY,"
    "  account_id INTEGER NOT NULL, account TEXT NOT NULL,"
    "  received_at_ms INTEGER NOT NULL, seq INTEGER NOT NULL,"
    "  id_token TEXT NOT NULL, encrypted INTEGER NOT NULL,"
    "  frame_time_s INTEGER,"
    "  cid_q INTEGER, cid_event INTEGER, cid_partition INTEGER, cid_zone INTEGER,"
    "  sia_code TEXT, sia_area INTEGER, sia_user INTEGER, sia_zone INTEGER, sia_text TEXT,"
    "  kind TEXT, priority INTEGER,"
    "  data TEXT, raw BLOB NOT NULL, peer TEXT);"
    "CREATE TABLE alarms ("
    "  id INTEGER PRIMARY KEY,"
    "  account TEXT NOT NULL, account_id INTEGER NOT NULL,"
    "  priority INTEGER NOT NULL, kind TEXT NOT NULL,"
    "  state TEXT NOT NULL DEFAULT 'new'"
    "    CHECK (state IN ('new','escalated','taken','dispatched','closed')),"
    "  event_id INTEGER, received_at_ms INTEGER NOT NULL,"
    "  last_event_at_ms INTEGER NOT NULL, event_count INTEGER NOT NULL DEFAULT 1,"
    "  cid_q INTEGER, cid_event INTEGER, cid_partition INTEGER, cid_zone INTEGER,"
    "  sia_code TEXT, sia_area INTEGER, sia_user INTEGER, sia_zone INTEGER, sia_text TEXT,"
    "  partition INTEGER, zone INTEGER, user INTEGER, detail TEXT,"
    "  taken_by TEXT, taken_at_ms INTEGER, dispatched_at_ms INTEGER,"
    "  closed_at_ms INTEGER, disposition TEXT CHECK (disposition IS NULL OR disposition IN"
    "   ('real_emergency','false_user_error','false_equipment','cancelled_before_dispatch',"
    "    'cancelled_after_dispatch','test')),"
    "  escalated_at_ms INTEGER, restored_at_ms INTEGER);"
    "CREATE INDEX alarms_open ON alarms(account, kind) WHERE state != 'closed';"
    "CREATE INDEX alarms_queue ON alarms(state, priority, received_at_ms);"
    "CREATE TABLE alarm_events ("
    "  alarm_id INTEGER NOT NULL, event_id INTEGER NOT NULL,"
    "  PRIMARY KEY (alarm_id, event_id)) WITHOUT ROWID;"
    "CREATE TABLE signals_rejected ("     /* answered DUH: unknown account, wrong key... */
    "  id INTEGER PRIMARY KEY,"
    "  received_at_ms INTEGER NOT NULL, account TEXT NOT NULL, reason TEXT NOT NULL,"
    "  id_token TEXT, seq INTEGER, peer TEXT, raw BLOB NOT NULL, alarm_id INTEGER);",
    /* 2: per-account time window (DC09.md: configurable per account); NULL = the config's */
    "ALTER TABLE accounts ADD COLUMN window_past_s INTEGER;"
    "ALTER TABLE accounts ADD COLUMN window_future_s INTEGER;",
    /* 3: the operators' side (vigil-console, docs/console.md): operators, plan
     * steps, the alarm's history, the police dispatch record, and a change log
     * fed by triggers (the console's live stream reads it; SSE ids are its seq) */
    "CREATE TABLE operators ("
    "  id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    "  role TEXT NOT NULL CHECK (role IN ('operator','supervisor','admin')),"
    "  password_hash TEXT NOT NULL,"           /* argon2id (crypto_pwhash_str) */
    "  disabled INTEGER NOT NULL DEFAULT 0,"
    "  created_at_ms INTEGER NOT NULL, updated_at_ms INTEGER NOT NULL);"
    "ALTER TABLE accounts ADD COLUMN police_status TEXT NOT NULL DEFAULT 'normal'"
    "  CHECK (police_status IN ('normal','cautioned','suspended'));"
    "ALTER TABLE accounts ADD COLUMN location TEXT NOT NULL DEFAULT 'residential'"
    "  CHECK (location IN ('residential','commercial'));"
    /* the panel user a contact is: a duress by that user leaves them off the call list */
    "ALTER TABLE account_contacts ADD COLUMN user_number INTEGER;"
    "ALTER TABLE alarms ADD COLUMN changed_at_ms INTEGER;"
    "CREATE TABLE alarm_steps ("
    "  alarm_id INTEGER NOT NULL, step TEXT NOT NULL,"
    "  done_by TEXT NOT NULL, done_at_ms INTEGER NOT NULL, note TEXT,"
    "  PRIMARY KEY (alarm_id, step)) WITHOUT ROWID;"
    "CREATE TABLE alarm_history ("           /* append-only: who did what, when */
    "  id INTEGER PRIMARY KEY, alarm_id INTEGER NOT NULL, at_ms INTEGER NOT NULL,"
    "  operator TEXT, action TEXT NOT NULL, detail TEXT);"
    "CREATE INDEX alarm_history_alarm ON alarm_history(alarm_id, id);"
    "CREATE TABLE dispatches ("
    "  alarm_id INTEGER PRIMARY KEY,"
    "  category TEXT NOT NULL, audible TEXT NOT NULL, location_category TEXT NOT NULL,"
    "  details TEXT NOT NULL, agency TEXT, permit TEXT, address TEXT,"
    "  callback_phone TEXT, provider_name TEXT, operator TEXT NOT NULL,"
    "  call_to_premises INTEGER NOT NULL, confirmation_method TEXT NOT NULL,"
    "  call_to_premises_result TEXT NOT NULL,"
    "  requested_at_ms INTEGER NOT NULL,"
    "  psap_status TEXT NOT NULL DEFAULT 'requested' CHECK (psap_status IN"
    "   ('requested','accepted','rejected','dispatched','arrived','closed')),"
    "  psap_event_number TEXT, reject_reason TEXT, psap_disposition TEXT,"
    "  accepted_at_ms INTEGER, rejected_at_ms INTEGER, dispatched_at_ms INTEGER,"
    "  arrived_at_ms INTEGER, psap_closed_at_ms INTEGER,"
    "  cancel_requested_at_ms INTEGER, cancel_confirmed_by TEXT);"
    "CREATE TABLE alarm_changes ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT, alarm_id INTEGER NOT NULL, at_ms INTEGER NOT NULL);"
    "CREATE INDEX alarm_changes_alarm ON alarm_changes(alarm_id, seq);"
    "CREATE TRIGGER alarms_changed_ins AFTER INSERT ON alarms BEGIN"
    "  INSERT INTO alarm_changes (alarm_id, at_ms) VALUES (new.id,"
    "   CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)); END;"
    "CREATE TRIGGER alarms_changed_upd AFTER UPDATE ON alarms BEGIN"
    "  INSERT INTO alarm_changes (alarm_id, at_ms) VALUES (new.id,"
    "   CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)); END;",
    /* 4: police agencies' false-alarm rules (vigil/agency.h; the file as
     * imported, checked, by `vigil agency import`), the permit's expiry, and
     * the invoice lines of false dispatches (one per alarm: the police's
     * finding, the agency's rule applied, amounts in integer cents). An
     * account names its agency by id (accounts.agency). */
    "CREATE TABLE agencies ("
    "  id TEXT PRIMARY KEY, name TEXT NOT NULL, rules TEXT NOT NULL,"
    "  imported_at_ms INTEGER NOT NULL, updated_at_ms INTEGER NOT NULL);"
    "ALTER TABLE accounts ADD COLUMN permit_expires_ms INTEGER;"
    "CREATE TABLE charges ("
    "  id INTEGER PRIMARY KEY, alarm_id INTEGER NOT NULL UNIQUE,"
    "  account TEXT NOT NULL, account_id INTEGER NOT NULL, agency TEXT NOT NULL,"
    "  kind TEXT NOT NULL, location TEXT NOT NULL,"
    "  finding TEXT NOT NULL CHECK (finding IN ('false','cancelled')),"
    "  at_ms INTEGER NOT NULL, operator TEXT, psap_event_number TEXT,"
    "  counted INTEGER NOT NULL, count_in_window INTEGER NOT NULL, forgiven INTEGER NOT NULL,"
    "  billed TEXT NOT NULL CHECK (billed IN ('station','user')), currency TEXT NOT NULL,"
    "  agency_fee_cents INTEGER NOT NULL CHECK (agency_fee_cents >= 0),"
    "  admin_fee_cents INTEGER NOT NULL CHECK (admin_fee_cents >= 0),"
    "  total_cents INTEGER NOT NULL CHECK (total_cents >= 0), rule TEXT NOT NULL);"
    "CREATE INDEX charges_account ON charges(account, at_ms);"
    "CREATE INDEX charges_at ON charges(at_ms);",
    /* 5: the audit trail (docs/audit.md): append-only, each entry chained to
     * the previous by its hash; the triggers refuse UPDATE and DELETE (defence
     * in depth: the chain and the head file beside the store are the proof) */
    "CREATE TABLE audit ("
    "  seq INTEGER PRIMARY KEY,"             /* 1, 2, 3...: no gaps */
    "  at_ms INTEGER NOT NULL, actor TEXT NOT NULL, kind TEXT NOT NULL,"
    "  subject TEXT, before TEXT, after TEXT,"   /* before/after: JSON text */
    "  prev_hash TEXT NOT NULL, hash TEXT NOT NULL);"
    "CREATE INDEX audit_subject ON audit(subject, seq) WHERE subject IS NOT NULL;"
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN"
    "  SELECT RAISE(ABORT, 'the audit trail is append-only'); END;"
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN"
    "  SELECT RAISE(ABORT, 'the audit trail is append-only'); END;",
    /* 6: assisted duress set-up (docs/console.md "Set-up sessions", docs/station.md
     * "Test mode"): an account's test mode has its end time here, so the
     * station (also after a restart) ends it by itself; an alarm raised while
     * its account was on test is marked test; set-up and drill sessions */
    "ALTER TABLE accounts ADD COLUMN test_until_ms INTEGER;"
    /* the once-a-second check for test modes that ended reads only these */
    "CREATE INDEX accounts_on_test ON accounts(test_until_ms) WHERE test_until_ms IS NOT NULL;"
    "ALTER TABLE alarms ADD COLUMN test INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE setup_sessions ("
    "  id INTEGER PRIMARY KEY, account TEXT NOT NULL,"
    "  kind TEXT NOT NULL CHECK (kind IN ('setup','drill')),"
    "  operator TEXT NOT NULL, opened_at_ms INTEGER NOT NULL, ends_at_ms INTEGER NOT NULL,"
    "  closed_at_ms INTEGER, closed_by TEXT, close_reason TEXT);"
    "CREATE INDEX setup_sessions_open ON setup_sessions(ends_at_ms) WHERE closed_at_ms IS NULL;"
    "CREATE INDEX setup_sessions_account ON setup_sessions(account, id);"
    /* the console's account page: one account's alarms, without a scan of all */
    "CREATE INDEX alarms_account ON alarms(account_id, id);",
};
#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))
_Static_assert(sizeof migrations / sizeof migrations[0] == 6, "six migrations so far");

static int read_version(sqlite3 *db, int *version, char *msg, size_t cap)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK) {
        snprintf(msg, cap, "cannot read schema version: %s", sqlite3_errmsg(db));
        return STN_E_OPEN;
    }
    *version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_finalize(st);
    if (*version > SCHEMA_VERSION) {
        snprintf(msg, cap, "store schema version %d is newer than this program's %d",
                 *version, SCHEMA_VERSION);
        return STN_E_OPEN;
    }
    return 0;
}

/* Each step runs in its own write transaction and reads the version again
 * inside it: two processes opening an old store at once (the daemon and a
 * `vigil` command) migrate it once, the second finding it done. */
int stn_schema_migrate(sqlite3 *db, char *msg, size_t cap)
{
    int version = 0;
    int rc = read_version(db, &version, msg, cap);
    while (rc == 0 && version < SCHEMA_VERSION) {
        char *err = NULL;
        if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &err) != SQLITE_OK) {
            snprintf(msg, cap, "schema migration to version %d failed: %s", version + 1,
                     err ? err : sqlite3_errmsg(db));
            sqlite3_free(err);
            return STN_E_OPEN;
        }
        int now = 0;
        rc = read_version(db, &now, msg, cap);
        if (rc == 0 && now > version) {   /* another process got here first */
            version = now;
            if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
                sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            continue;
        }
        char setv[64];
        snprintf(setv, sizeof setv, "PRAGMA user_version=%d;", version + 1);
        if (rc == 0 &&
            (sqlite3_exec(db, migrations[version], NULL, NULL, &err) != SQLITE_OK ||
             sqlite3_exec(db, setv, NULL, NULL, &err) != SQLITE_OK ||
             sqlite3_exec(db, "COMMIT", NULL, NULL, &err) != SQLITE_OK)) {
            snprintf(msg, cap, "schema migration to version %d failed: %s", version + 1,
                     err ? err : sqlite3_errmsg(db));
            sqlite3_free(err);
            rc = STN_E_OPEN;
        }
        if (rc != 0) {
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            return rc;
        }
        version++;
    }
    return rc;
}

int stn_sqlite_open(const char *path, sqlite3 **out, char *msg, size_t cap)
{
    return stn_sqlite_open_ex(path, true, NULL, out, msg, cap);
}

/* create false: a store that does not exist is STN_E_NOTFOUND, and no file is
 * made (a mistyped store_path must not show an empty queue). create true: it
 * is made, and *created (if given) says so. */
int stn_sqlite_open_ex(const char *path, bool create, bool *created, sqlite3 **out,
                       char *msg, size_t cap)
{
    sqlite3 *db = NULL;
    *out = NULL;
    if (created)
        *created = false;
    /* First without SQLITE_OPEN_CREATE: only a missing file is made, and only
     * when asked (the daemon, `vigil account add`). */
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_CANTOPEN && path[0] != '\0' && strcmp(path, ":memory:") != 0) {
        struct stat sb;
        if (stat(path, &sb) != 0 && errno == ENOENT) {
            sqlite3_close(db);
            db = NULL;
            if (!create) {
                snprintf(msg, cap, "store %s does not exist (check the config's store key; "
                         "`vigil account add` or vigil-station creates it)", path);
                return STN_E_NOTFOUND;
            }
            rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                 SQLITE_OPEN_NOMUTEX, NULL);
            if (rc == SQLITE_OK && created)
                *created = true;
        }
    }
    if (rc != SQLITE_OK) {
        snprintf(msg, cap, "cannot open store %s: %s", path,
                 db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return STN_E_OPEN;
    }
    sqlite3_busy_timeout(db, 5000);
    char *err = NULL;
    /* journal_mode returns a row; exec ignores it. WAL + FULL: a commit is on disk. */
    if (sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                         "PRAGMA foreign_keys=ON;", NULL, NULL, &err) != SQLITE_OK) {
        snprintf(msg, cap, "cannot open store %s: %s", path, err ? err : sqlite3_errmsg(db));
        sqlite3_free(err);
        sqlite3_close(db);
        return STN_E_OPEN;
    }
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) != SQLITE_ROW ||
            strcmp((const char *)sqlite3_column_text(st, 0), "wal") != 0) {
            sqlite3_finalize(st);
            snprintf(msg, cap, "store %s: cannot switch to WAL mode", path);
            sqlite3_close(db);
            return STN_E_OPEN;
        }
        sqlite3_finalize(st);
    }
    rc = stn_schema_migrate(db, msg, cap);
    if (rc) {
        sqlite3_close(db);
        return rc;
    }
    *out = db;
    return 0;
}

/* ---- the commit worker ------------------------------------------------ */

enum {
    S_INS_EVENT, S_FIND_ALARM, S_INS_ALARM, S_ATTACH_ALARM, S_INS_ALARM_EVENT,
    S_RESTORE, S_ON_TEST, S_INS_REJECTED, S_SEEN, S_ESCALATE, S_ESCALATE_HISTORY, S_OPEN_HISTORY, S_DATA_VERSION, S_PRUNE_FIRST,
    S_PRUNE, S_PRUNE_REJECTED, S_BEGIN, S_COMMIT, S_ROLLBACK, S_COUNT
};

static const char *const sql_text[S_COUNT] = {
    [S_INS_EVENT] = "INSERT INTO events (account_id, account, received_at_ms, seq, id_token,"
        " encrypted, frame_time_s, cid_q, cid_event, cid_partition, cid_zone, sia_code,"
        " sia_area, sia_user, sia_zone, sia_text, kind, priority, data, raw, peer)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    /* the open alarms of (account, kind), newest first: the engine picks */
    [S_FIND_ALARM] = "SELECT id, priority, restored_at_ms IS NOT NULL FROM alarms"
        " WHERE account=? AND kind=? AND state!='closed' AND test=? ORDER BY id DESC LIMIT 16",
    /* the account is on test when the signal was received (its end time is
     * stored: test mode ends by itself, across restarts too) */
    [S_ON_TEST] = "SELECT 1 FROM accounts WHERE id=? AND test_until_ms>?",
    [S_INS_ALARM] = "INSERT INTO alarms (account, account_id, priority, kind, event_id,"
        " received_at_ms, last_event_at_ms, cid_q, cid_event, cid_partition, cid_zone,"
        " sia_code, sia_area, sia_user, sia_zone, sia_text, partition, zone, user, detail, test)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    [S_ATTACH_ALARM] = "UPDATE alarms SET event_count=event_count+?3,"
        " last_event_at_ms=?1 WHERE id=?2",
    [S_INS_ALARM_EVENT] = "INSERT OR IGNORE INTO alarm_events (alarm_id, event_id) VALUES (?,?)",
    [S_RESTORE] = "UPDATE alarms SET restored_at_ms=? WHERE account=? AND kind=?"
        " AND state!='closed' AND restored_at_ms IS NULL RETURNING id",
    [S_INS_REJECTED] = "INSERT INTO signals_rejected (received_at_ms, account, reason,"
        " id_token, seq, peer, raw, alarm_id) VALUES (?,?,?,?,?,?,?,?)",
    [S_SEEN] = "UPDATE accounts SET last_seen_ms=? WHERE id=?"
        " AND (last_seen_ms IS NULL OR last_seen_ms<?1)",
    [S_ESCALATE] = "UPDATE alarms SET state='escalated', escalated_at_ms=?"
        " WHERE priority=?3 AND state='new' AND received_at_ms<=?2 AND test=0"
        " RETURNING id, account, kind",
    [S_ESCALATE_HISTORY] = "INSERT INTO alarm_history (alarm_id, at_ms, action, detail)"
        " SELECT id, ?1, 'escalated', 'untaken: supervisors alerted' FROM alarms"
        " WHERE state='escalated' AND escalated_at_ms=?1",
    [S_OPEN_HISTORY] = "INSERT INTO alarm_history (alarm_id, at_ms, action, detail)"
        " VALUES (?, ?, 'opened', ?)",
    [S_DATA_VERSION] = "PRAGMA data_version",
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
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
};

struct stn_wstore {
    sqlite3 *db;
    sqlite3_stmt *st[S_COUNT];
    int64_t data_version;
    uint64_t failures;
    uint64_t pruned;
    int64_t failure_logged_ms;
    int wal_frames;            /* from the WAL hook: frames in the WAL after the last commit */
    struct stn_keystore ks;    /* opens the account keys sealed in the store */
    struct stn_actstore *acts; /* operators' actions (store_actions.c) */
    char path[STN_PATH_MAX];
};

static int wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
    (void)db;
    (void)name;
    ((struct stn_wstore *)arg)->wal_frames = frames;
    return SQLITE_OK;
}

int stn_wstore_open(const struct stn_config *cfg, struct stn_wstore **out, char *msg, size_t cap)
{
    struct stn_wstore *w = stn_calloc(1, sizeof *w);
    if (!w) {
        snprintf(msg, cap, "out of memory");
        return STN_E_NOMEM;
    }
    snprintf(w->path, sizeof w->path, "%s", cfg->store_path);
    bool created = false;
    int rc = stn_sqlite_open_ex(cfg->store_path, true, &created, &w->db, msg, cap);
    if (rc) {
        stn_free(w);
        return rc;
    }
    if (created)
        STN_INFO("store", "created store %s", cfg->store_path);
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
        if (sqlite3_prepare_v3(w->db, sql_text[i], -1, SQLITE_PREPARE_PERSISTENT,
                               &w->st[i], NULL) != SQLITE_OK) {
            snprintf(msg, cap, "store %s: cannot prepare statement %d: %s", cfg->store_path,
                     i, sqlite3_errmsg(w->db));
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
    sqlite3_wal_autocheckpoint(w->db, 0);
    sqlite3_wal_hook(w->db, wal_hook, w);
    w->data_version = -1;
    *out = w;
    return 0;
}

/* ---- the checkpointer: its own connection, run on the thread pool ------ */

struct stn_ckpt {
    sqlite3 *db;
};

int stn_ckpt_open(const struct stn_config *cfg, struct stn_ckpt **out, char *msg, size_t cap)
{
    struct stn_ckpt *c = stn_calloc(1, sizeof *c);
    if (!c) {
        snprintf(msg, cap, "out of memory");
        return STN_E_NOMEM;
    }
    int rc = stn_sqlite_open(cfg->store_path, &c->db, msg, cap);
    if (rc) {
        stn_free(c);
        return rc;
    }
    sqlite3_wal_autocheckpoint(c->db, 0);
    *out = c;
    return 0;
}

void stn_ckpt_close(struct stn_ckpt *c)
{
    if (!c)
        return;
    sqlite3_close(c->db);
    stn_free(c);
}

/* PASSIVE only: it never waits for the writer or for readers, so it can
 * never hold a commit (a duress's) back. Whatever it cannot copy now (frames
 * a reader still needs, frames committed while it ran) waits for the next. */
bool stn_ckpt_run(struct stn_ckpt *c)
{
    int log_frames = 0, done = 0;
    int rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log_frames, &done);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY)
        STN_WARN("store", "checkpoint failed: %s", sqlite3_errstr(rc));
    return rc == SQLITE_OK && log_frames > 0 && done == log_frames;
}

void stn_wstore_close(struct stn_wstore *w)
{
    if (!w)
        return;
    for (int i = 0; i < S_COUNT; i++)
        sqlite3_finalize(w->st[i]);
    stn_actstore_close(w->acts);
    stn_audit_forget(w->db);
    sqlite3_close(w->db);
    stn_keystore_wipe(&w->ks);
    stn_free(w);
}

static int step_done(sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : rc;
}

static void bind_text_or_null(sqlite3_stmt *s, int i, const char *t, size_t len)
{
    if (t && len)
        sqlite3_bind_text(s, i, t, (int)len, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, i);
}

/* Binds cid_q..sia_text at first (9 columns). */
static void bind_payload(sqlite3_stmt *s, int first, const struct stn_item *it)
{
    if (it->has_cid) {
        sqlite3_bind_int(s, first, it->cid.qualifier);
        sqlite3_bind_int(s, first + 1, it->cid.event);
        sqlite3_bind_int(s, first + 2, it->cid.partition);
        sqlite3_bind_int(s, first + 3, it->cid.zone);
    } else {
        for (int k = 0; k < 4; k++)
            sqlite3_bind_null(s, first + k);
    }
    if (it->has_sia) {
        sqlite3_bind_text(s, first + 4, it->sia.code, -1, SQLITE_STATIC);
        if (it->sia.has_area) sqlite3_bind_int(s, first + 5, it->sia.area);
        else sqlite3_bind_null(s, first + 5);
        if (it->sia.has_user) sqlite3_bind_int(s, first + 6, it->sia.user);
        else sqlite3_bind_null(s, first + 6);
        if (it->sia.has_zone) sqlite3_bind_int(s, first + 7, it->sia.zone);
        else sqlite3_bind_null(s, first + 7);
        bind_text_or_null(s, first + 8, it->sia.text, strlen(it->sia.text));
    } else {
        for (int k = 4; k < 9; k++)
            sqlite3_bind_null(s, first + k);
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
        return SQLITE_NOMEM;
    struct stn_audit_entry e = { .at_ms = j->now_ms, .actor = "station", .kind = kind,
                                 .subject = subject, .after = text };
    int rc = stn_audit_job(w->db, j, &e);
    free(text);
    return rc;
}

static int insert_event(struct stn_wstore *w, struct stn_job *j, struct stn_item *it,
                        int64_t *event_id)
{
    sqlite3_stmt *s = w->st[S_INS_EVENT];
    sqlite3_bind_int64(s, 1, it->account_id);
    sqlite3_bind_text(s, 2, it->account, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, it->received_ms);
    sqlite3_bind_int(s, 4, it->seq);
    sqlite3_bind_text(s, 5, dc09_id_name((enum dc09_id)it->id), -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 6, it->encrypted);
    if (it->has_frame_time) sqlite3_bind_int64(s, 7, it->frame_time_s);
    else sqlite3_bind_null(s, 7);
    bind_payload(s, 8, it);
    if (it->cls.kind) {
        sqlite3_bind_text(s, 17, it->cls.kind, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 18, it->cls.priority);
    } else {
        sqlite3_bind_null(s, 17);
        sqlite3_bind_null(s, 18);
    }
    bind_text_or_null(s, 19, (const char *)j->arena + it->data_off, it->data_len);
    sqlite3_bind_blob(s, 20, j->arena + it->raw_off, (int)it->raw_len, SQLITE_STATIC);
    bind_text_or_null(s, 21, (const char *)j->arena + it->peer_off, it->peer_len);
    int rc = step_done(s);
    sqlite3_clear_bindings(s);
    if (rc)
        return rc;
    *event_id = sqlite3_last_insert_rowid(w->db);
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
        sqlite3_stmt *t = w->st[S_ON_TEST];
        sqlite3_bind_int64(t, 1, it->account_id);
        sqlite3_bind_int64(t, 2, it->received_ms);
        rc = sqlite3_step(t);
        sqlite3_reset(t);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            return rc;
        test = rc == SQLITE_ROW;
    }
    sqlite3_stmt *f = w->st[S_FIND_ALARM];
    sqlite3_bind_text(f, 1, account, -1, SQLITE_STATIC);
    sqlite3_bind_text(f, 2, kind, -1, SQLITE_STATIC);
    sqlite3_bind_int(f, 3, test);
    int64_t open_id = 0;
    while ((rc = sqlite3_step(f)) == SQLITE_ROW) {
        struct alm_open o = { .id = sqlite3_column_int64(f, 0),
                              .priority = sqlite3_column_int(f, 1),
                              .restored = sqlite3_column_int(f, 2) != 0 };
        if (alm_raise_decide(&o, priority) == ALM_RAISE_JOIN) {
            open_id = o.id;
            break;
        }
    }
    sqlite3_reset(f);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return rc;
    bool opened = false;
    if (open_id) {
        sqlite3_stmt *a = w->st[S_ATTACH_ALARM];
        sqlite3_bind_int64(a, 1, it->received_ms);
        sqlite3_bind_int64(a, 2, open_id);
        sqlite3_bind_int64(a, 3, count);
        if ((rc = step_done(a)) != 0)
            return rc;
    } else {
        opened = true;
        sqlite3_stmt *s = w->st[S_INS_ALARM];
        sqlite3_bind_text(s, 1, account, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, it->account_id);
        sqlite3_bind_int(s, 3, priority);
        sqlite3_bind_text(s, 4, kind, -1, SQLITE_STATIC);
        if (event_id) sqlite3_bind_int64(s, 5, event_id);
        else sqlite3_bind_null(s, 5);
        sqlite3_bind_int64(s, 6, it->received_ms);
        sqlite3_bind_int64(s, 7, it->received_ms);
        bind_payload(s, 8, it);
        sqlite3_bind_null(s, 17);
        sqlite3_bind_null(s, 18);
        sqlite3_bind_null(s, 19);
        if (it->has_cid) {
            sqlite3_bind_int(s, 17, it->cid.partition);
            sqlite3_bind_int(s, it->cls.is_user ? 19 : 18, it->cid.zone);
        } else if (it->has_sia) {
            if (it->sia.has_area) sqlite3_bind_int(s, 17, it->sia.area);
            if (it->sia.has_zone) sqlite3_bind_int(s, 18, it->sia.zone);
            if (it->sia.has_user) sqlite3_bind_int(s, 19, it->sia.user);
        }
        bind_text_or_null(s, 20, (const char *)j->arena + it->detail_off, it->detail_len);
        sqlite3_bind_int(s, 21, test);
        rc = step_done(s);
        sqlite3_clear_bindings(s);
        if (rc)
            return rc;
        open_id = sqlite3_last_insert_rowid(w->db);
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
        sqlite3_stmt *h = w->st[S_OPEN_HISTORY];
        sqlite3_bind_int64(h, 1, open_id);
        sqlite3_bind_int64(h, 2, it->received_ms);
        sqlite3_bind_text(h, 3, what, -1, SQLITE_TRANSIENT);
        if ((rc = step_done(h)) != 0)
            return rc;
        if (count > 1) {   /* signals counted, not stored, beyond the limits */
            sqlite3_stmt *a = w->st[S_ATTACH_ALARM];
            sqlite3_bind_int64(a, 1, it->received_ms);
            sqlite3_bind_int64(a, 2, open_id);
            sqlite3_bind_int64(a, 3, count - 1);
            if ((rc = step_done(a)) != 0)
                return rc;
        }
    }
    if (event_id) {
        sqlite3_stmt *l = w->st[S_INS_ALARM_EVENT];
        sqlite3_bind_int64(l, 1, open_id);
        sqlite3_bind_int64(l, 2, event_id);
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
    sqlite3_stmt *s = w->st[S_RESTORE];
    sqlite3_bind_int64(s, 1, it->received_ms);
    sqlite3_bind_text(s, 2, it->account, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, kind, -1, SQLITE_STATIC);
    int64_t ids[16];
    size_t n = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        if (n < sizeof ids / sizeof ids[0])
            ids[n++] = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
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
    sqlite3_stmt *s = w->st[S_INS_REJECTED];
    sqlite3_bind_int64(s, 1, it->received_ms);
    sqlite3_bind_text(s, 2, it->account, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, it->reason ? it->reason : "unknown", -1, SQLITE_STATIC);
    if (it->id) sqlite3_bind_text(s, 4, dc09_id_name((enum dc09_id)it->id), -1, SQLITE_STATIC);
    else sqlite3_bind_null(s, 4);
    sqlite3_bind_int(s, 5, it->seq);
    bind_text_or_null(s, 6, (const char *)j->arena + it->peer_off, it->peer_len);
    sqlite3_bind_blob(s, 7, j->arena + it->raw_off, (int)it->raw_len, SQLITE_STATIC);
    if (alarm_id) sqlite3_bind_int64(s, 8, alarm_id);
    else sqlite3_bind_null(s, 8);
    int rc = step_done(s);
    sqlite3_clear_bindings(s);
    return rc;
}

static int run_items(struct stn_wstore *w, struct stn_job *j)
{
    int rc;
    struct joins jn = { .len = 0 };
    for (size_t i = 0; i < j->n; i++) {
        struct stn_item *it = &j->items[i];
        it->alarm_id = 0;
        it->alarm_opened = false;
        int64_t event_id = 0, alarm_id = 0;
        switch (it->type) {
        case STN_ITEM_EVENT:
            if ((rc = insert_event(w, j, it, &event_id)) != 0)
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
    if ((rc = joins_flush(w, j, &jn)) != 0)
        return rc;
    for (size_t i = 0; i < j->nnotes; i++) {
        const char *kind = (const char *)j->arena + j->note_off[i];
        struct stn_audit_entry e = { .at_ms = j->now_ms, .actor = "station", .kind = kind,
                                     .after = kind + strlen(kind) + 1 };
        if ((rc = stn_audit_job(w->db, j, &e)) != 0)
            return rc;
    }
    for (size_t i = 0; i < j->nseen; i++) {
        sqlite3_stmt *s = w->st[S_SEEN];
        sqlite3_bind_int64(s, 1, j->seen[i].ms);
        sqlite3_bind_int64(s, 2, j->seen[i].account_id);
        if ((rc = step_done(s)) != 0)
            return rc;
    }
    if (j->escalate_before_ms) {
        sqlite3_stmt *s = w->st[S_ESCALATE];
        sqlite3_bind_int64(s, 1, j->now_ms);
        sqlite3_bind_int64(s, 2, j->escalate_before_ms);
        sqlite3_bind_int(s, 3, alm_escalate_priority());
        int64_t ids[64];
        size_t n = 0;
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            STN_WARN("alarm", "alarm %lld escalated: priority 1 %s account %s untaken "
                     "alarm=%lld account=%s kind=%s priority=1 event=escalated",
                     (long long)sqlite3_column_int64(s, 0),
                     (const char *)sqlite3_column_text(s, 2),
                     (const char *)sqlite3_column_text(s, 1),
                     (long long)sqlite3_column_int64(s, 0),
                     (const char *)sqlite3_column_text(s, 1),
                     (const char *)sqlite3_column_text(s, 2));
            if (n < sizeof ids / sizeof ids[0])
                ids[n++] = sqlite3_column_int64(s, 0);
        }
        sqlite3_reset(s);
        if (rc != SQLITE_DONE)
            return rc;
        for (size_t k = 0; k < n; k++)
            if ((rc = audit_alarm(w, j, "alarm.escalated", ids[k],
                                  json_pack("{s:s,s:s}", "state", "escalated", "why",
                                            "untaken: supervisors alerted"))) != 0)
                return rc;
        if (sqlite3_changes(w->db) > 0) {
            sqlite3_stmt *h = w->st[S_ESCALATE_HISTORY];
            sqlite3_bind_int64(h, 1, j->now_ms);
            if ((rc = step_done(h)) != 0)
                return rc;
        }
    }
    return 0;
}

static bool prune(struct stn_wstore *w, int64_t before_ms)
{
    sqlite3_stmt *f = w->st[S_PRUNE_FIRST];
    sqlite3_bind_int64(f, 1, before_ms);
    int rc = sqlite3_step(f);
    int64_t first_kept = rc == SQLITE_ROW ? sqlite3_column_int64(f, 0) : INT64_MAX;
    sqlite3_reset(f);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return false;
    /* one bounded step per job (at most 5,000 rows), so a batch's ACKs never
     * wait behind a big prune; the loop asks again while more remain */
    sqlite3_stmt *d = w->st[S_PRUNE];
    sqlite3_bind_int64(d, 1, first_kept);
    if (step_done(d) != 0)
        return false;
    int ch = sqlite3_changes(w->db);
    /* refused signals age out with the events */
    sqlite3_stmt *r = w->st[S_PRUNE_REJECTED];
    sqlite3_bind_int64(r, 1, before_ms);
    if (step_done(r) == 0)
        ch += sqlite3_changes(w->db);
    w->pruned += (uint64_t)ch;
    if (ch == 0 && w->pruned) {
        STN_INFO("store", "pruned %llu events and refused signals past retention",
                 (unsigned long long)w->pruned);
        w->pruned = 0;
    }
    return ch > 0;
}

static void load_accounts_if_changed(struct stn_wstore *w, struct stn_job *j)
{
    sqlite3_stmt *s = w->st[S_DATA_VERSION];
    int64_t v = -1;
    if (sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    if (!j->force_accounts && v == w->data_version)
        return;
    if (stn_wstore_load_accounts(w, &j->rows, &j->nrows) == 0) {
        j->accounts_loaded = true;
        w->data_version = v;
    }
}

void stn_wstore_run(struct stn_wstore *w, struct stn_job *j)
{
    j->t_start_ns = stn_mono_ns();
    j->rc = 0;
    bool has_work = j->n > 0 || j->nseen > 0 || j->escalate_before_ms || j->nctl > 0 ||
                    j->nnotes > 0 ||
                    j->lease_check || j->setup_check;
    if (has_work) {
        int rc = step_done(w->st[S_BEGIN]);
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
        if (rc != 0) {
            /* one line per failure, but at most one per second while it lasts */
            w->failures++;
            if (j->now_ms - w->failure_logged_ms >= 1000) {
                STN_ERROR("store", "commit of batch %llu (%zu items) failed: %s; nothing of it "
                          "is acknowledged (%llu failed commits so far)",
                          (unsigned long long)j->batch, j->n, sqlite3_errstr(rc),
                          (unsigned long long)w->failures);
                w->failure_logged_ms = j->now_ms;
            }
            if (!sqlite3_get_autocommit(w->db))
                step_done(w->st[S_ROLLBACK]);
            j->rc = STN_E_STORE;
            j->audit_seq = 0;   /* nothing of it is in the chain */
        }
        j->commit_us = (int64_t)((stn_mono_ns() - j->t_start_ns) / 1000u);
    }
    if (j->wal_finish) {
        /* The checkpointer has just copied what the WAL held when it began;
         * copy the few frames committed since, from the only connection that
         * writes, so nothing new arrives meanwhile. The next transaction then
         * writes the WAL from its start again: overwriting blocks the file
         * already has, which fdatasync commits without a journal update. */
        int log_frames = 0, done = 0;
        int rc = sqlite3_wal_checkpoint_v2(w->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log_frames,
                                           &done);
        if (rc != SQLITE_OK && rc != SQLITE_BUSY)
            STN_WARN("store", "checkpoint of the WAL's tail failed: %s", sqlite3_errstr(rc));
        /* Everything copied: nothing is left for a checkpoint to do until the
         * next commit (the WAL hook reports only commits, so without this an
         * idle daemon would go on asking for checkpoints of a WAL already
         * copied, back to back, for as long as no frame arrives). */
        if (rc == SQLITE_OK && done == log_frames)
            w->wal_frames = 0;
    }
    j->wal_frames = w->wal_frames;
    if (j->prune_before_ms)
        j->prune_more = prune(w, j->prune_before_ms);
    if (j->check_accounts || j->force_accounts)
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
    if (rc != 0 && !sqlite3_get_autocommit(w->db))
        step_done(w->st[S_ROLLBACK]);
    return rc ? STN_E_STORE : 0;
}

int stn_wstore_load_accounts(struct stn_wstore *w, struct stn_account_row **rows, size_t *n)
{
    sqlite3_stmt *s;
    *rows = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(w->db, "SELECT id, number, key, quirks, supervision_s,"
                           " last_seen_ms, coalesce(window_past_s, -1),"
                           " coalesce(window_future_s, -1), EXISTS (SELECT 1 FROM alarms WHERE"
                           " account=accounts.number AND kind='comm_failure'"
                           " AND state!='closed' AND restored_at_ms IS NULL)"
                           " FROM accounts ORDER BY id", -1, &s, NULL) != SQLITE_OK)
        return STN_E_STORE;
    size_t cap = 64, cnt = 0;
    struct stn_account_row *r = stn_calloc(cap, sizeof *r);
    int rc;
    while (r && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (cnt == cap) {
            struct stn_account_row *nr = stn_realloc(r, cap * 2 * sizeof *r);
            if (!nr) {
                stn_free(r);
                r = NULL;
                break;
            }
            r = nr;
            cap *= 2;
        }
        struct stn_account_row *a = &r[cnt];
        memset(a, 0, sizeof *a);
        a->id = (uint32_t)sqlite3_column_int64(s, 0);
        snprintf(a->number, sizeof a->number, "%s", (const char *)sqlite3_column_text(s, 1));
        int kl = sqlite3_column_bytes(s, 2);
        const void *kb = sqlite3_column_blob(s, 2);
        if (kl == 16 || kl == 24 || kl == 32) {
            memcpy(a->key, kb, (size_t)kl);     /* stored before sealing (or by hand) */
            a->key_len = (uint8_t)kl;
        } else if (kl > 0) {
            size_t len = 0;
            if (stn_key_open(&w->ks, a->number, kb, (size_t)kl, a->key, &len) == 0)
                a->key_len = (uint8_t)len;
            else
                a->key_error = true;            /* never as a keyless account */
        }
        a->quirks = (uint32_t)sqlite3_column_int64(s, 3);
        a->supervision_s = sqlite3_column_int64(s, 4);
        a->last_seen_ms = sqlite3_column_int64(s, 5);
        a->window_past_s = (int32_t)sqlite3_column_int(s, 6);
        a->window_future_s = (int32_t)sqlite3_column_int(s, 7);
        a->comm_failed = sqlite3_column_int(s, 8) != 0;
        cnt++;
    }
    sqlite3_finalize(s);
    if (!r)
        return STN_E_NOMEM;
    if (rc != SQLITE_DONE) {
        stn_free(r);
        return STN_E_STORE;
    }
    *rows = r;
    *n = cnt;
    return 0;
}

int stn_wstore_load_recent(struct stn_wstore *w, int64_t since_ms,
                           struct stn_dup_row **rows, size_t *n,
                           uint64_t (*hash)(void *ctx, const void *p, size_t len), void *ctx)
{
    sqlite3_stmt *s;
    *rows = NULL;
    *n = 0;
    /* Newest first by rowid; stop at the window's edge (rowid follows time). */
    if (sqlite3_prepare_v2(w->db, "SELECT account_id, seq, data, received_at_ms FROM events"
                           " ORDER BY id DESC", -1, &s, NULL) != SQLITE_OK)
        return STN_E_STORE;
    size_t cap = 256, cnt = 0;
    struct stn_dup_row *r = stn_malloc(cap * sizeof *r);
    int rc = SQLITE_DONE;
    int older = 0;
    while (r && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t t = sqlite3_column_int64(s, 3);
        if (t < since_ms) {
            if (++older > 1000)   /* tolerate a little clock disorder */
                break;
            continue;
        }
        if (cnt == cap) {
            struct stn_dup_row *nr = stn_realloc(r, cap * 2 * sizeof *r);
            if (!nr) {
                stn_free(r);
                r = NULL;
                break;
            }
            r = nr;
            cap *= 2;
        }
        r[cnt].account_id = (uint32_t)sqlite3_column_int64(s, 0);
        r[cnt].seq = (uint16_t)sqlite3_column_int(s, 1);
        const void *d = sqlite3_column_text(s, 2);
        int dl = sqlite3_column_bytes(s, 2);
        r[cnt].hash = hash(ctx, d ? d : "", (size_t)dl);
        r[cnt].time_ms = t;
        cnt++;
    }
    sqlite3_finalize(s);
    if (!r)
        return STN_E_NOMEM;
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
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
