/*
 * db_sqlite.c — db.h on SQLite: each call is the SQLite call of the same
 * name. Opening sets what the store relies on: WAL, synchronous=FULL (a
 * commit is on disk before it returns), foreign keys, a 5 s busy timeout.
 *
 * Must never make a store file unless asked (a mistyped store path must not
 * show an empty queue).
 */
#include "db_impl.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct sdb {
    struct db base;
    sqlite3 *h;
    struct sstmt *stmts;        /* every statement not yet finalized */
};

struct sstmt {
    struct db_stmt base;
    sqlite3_stmt *s;
    struct sstmt *prev, *next;
};

#define SDB(d) ((struct sdb *)(d))
#define SST(t) ((struct sstmt *)(t))

static const struct db_ops sqlite_ops;

static void s_close(struct db *d)
{
    struct sdb *db = SDB(d);
    while (db->stmts)
        d->ops->finalize(&db->stmts->base);
    sqlite3_close(db->h);
    free(db);
}

static int s_prepare(struct db *d, const char *sql, struct db_stmt **out)
{
    struct sdb *db = SDB(d);
    struct sstmt *t = calloc(1, sizeof *t);
    if (!t)
        return DB_NOMEM;
    int rc = sqlite3_prepare_v3(db->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &t->s, NULL);
    if (rc != SQLITE_OK) {
        free(t);
        return rc;
    }
    t->base.ops = &sqlite_ops;
    t->base.db = d;
    t->next = db->stmts;
    if (db->stmts)
        db->stmts->prev = t;
    db->stmts = t;
    *out = &t->base;
    return DB_OK;
}

static int s_step(struct db_stmt *t) { return sqlite3_step(SST(t)->s); }
static int s_reset(struct db_stmt *t) { return sqlite3_reset(SST(t)->s); }
static int s_clear(struct db_stmt *t) { return sqlite3_clear_bindings(SST(t)->s); }

static int s_finalize(struct db_stmt *t)
{
    struct sstmt *s = SST(t);
    struct sdb *db = SDB(t->db);
    int rc = sqlite3_finalize(s->s);
    if (s->prev)
        s->prev->next = s->next;
    else
        db->stmts = s->next;
    if (s->next)
        s->next->prev = s->prev;
    free(s);
    return rc;
}

static const char *s_sql(struct db_stmt *t) { return sqlite3_sql(SST(t)->s); }
static bool s_busy(struct db_stmt *t) { return sqlite3_stmt_busy(SST(t)->s) != 0; }

static struct db_stmt *s_next(struct db *d, struct db_stmt *after)
{
    struct sstmt *n = after ? SST(after)->next : SDB(d)->stmts;
    return n ? &n->base : NULL;
}

static int s_bind_int64(struct db_stmt *t, int i, int64_t v)
{
    return sqlite3_bind_int64(SST(t)->s, i, v);
}

static int s_bind_double(struct db_stmt *t, int i, double v)
{
    return sqlite3_bind_double(SST(t)->s, i, v);
}

static int s_bind_text(struct db_stmt *t, int i, const char *p, int len, int keep)
{
    return sqlite3_bind_text(SST(t)->s, i, p, len,
                             keep == DB_STATIC ? SQLITE_STATIC : SQLITE_TRANSIENT);
}

static int s_bind_blob(struct db_stmt *t, int i, const void *p, int len, int keep)
{
    return sqlite3_bind_blob(SST(t)->s, i, p, len,
                             keep == DB_STATIC ? SQLITE_STATIC : SQLITE_TRANSIENT);
}

static int s_bind_null(struct db_stmt *t, int i) { return sqlite3_bind_null(SST(t)->s, i); }
static int s_col_count(struct db_stmt *t) { return sqlite3_column_count(SST(t)->s); }
static int s_col_type(struct db_stmt *t, int i) { return sqlite3_column_type(SST(t)->s, i); }
static int64_t s_col_int64(struct db_stmt *t, int i) { return sqlite3_column_int64(SST(t)->s, i); }
static double s_col_double(struct db_stmt *t, int i) { return sqlite3_column_double(SST(t)->s, i); }

static const unsigned char *s_col_text(struct db_stmt *t, int i)
{
    return sqlite3_column_text(SST(t)->s, i);
}

static const void *s_col_blob(struct db_stmt *t, int i) { return sqlite3_column_blob(SST(t)->s, i); }
static int s_col_bytes(struct db_stmt *t, int i) { return sqlite3_column_bytes(SST(t)->s, i); }

static int s_exec(struct db *d, const char *sql, char **err)
{
    char *e = NULL;
    int rc = sqlite3_exec(SDB(d)->h, sql, NULL, NULL, err ? &e : NULL);
    if (err && e) {
        *err = strdup(e);
        sqlite3_free(e);
    }
    return rc;
}

static int s_errcode(struct db *d) { return sqlite3_errcode(SDB(d)->h); }
static const char *s_errmsg(struct db *d) { return sqlite3_errmsg(SDB(d)->h); }
static int64_t s_changes(struct db *d) { return sqlite3_changes64(SDB(d)->h); }
static int64_t s_last_rowid(struct db *d) { return sqlite3_last_insert_rowid(SDB(d)->h); }
static bool s_autocommit(struct db *d) { return sqlite3_get_autocommit(SDB(d)->h) != 0; }
static int s_reconnect(struct db *d) { (void)d; return DB_OK; }
static int s_notify_fd(struct db *d) { (void)d; return -1; }

static int pragma_int(sqlite3 *h, const char *sql, int64_t *out)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(h, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return rc;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc;
}

static int s_data_version(struct db *d, int64_t *out)
{
    return pragma_int(SDB(d)->h, "PRAGMA data_version", out);
}

static int s_try_leader(struct db *d, const char *what, bool *leader)
{
    (void)d;
    (void)what;
    *leader = true;   /* one node: it does everything */
    return DB_OK;
}

static int s_user_version(struct db *d, int *out)
{
    int64_t v = 0;
    int rc = pragma_int(SDB(d)->h, "PRAGMA user_version", &v);
    *out = rc == SQLITE_OK ? (int)v : 0;
    return rc;
}

static int s_set_user_version(struct db *d, int v)
{
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version=%d", v);
    return sqlite3_exec(SDB(d)->h, sql, NULL, NULL, NULL);
}

static struct sqlite3 *s_handle(struct db *d) { return SDB(d)->h; }

static const struct db_ops sqlite_ops = {
    .close = s_close, .prepare = s_prepare, .step = s_step, .reset = s_reset,
    .clear_bindings = s_clear, .finalize = s_finalize, .sql = s_sql, .stmt_busy = s_busy,
    .next_stmt = s_next,
    .bind_int64 = s_bind_int64, .bind_double = s_bind_double, .bind_text = s_bind_text,
    .bind_blob = s_bind_blob, .bind_null = s_bind_null,
    .column_count = s_col_count, .column_type = s_col_type, .column_int64 = s_col_int64,
    .column_double = s_col_double, .column_text = s_col_text, .column_blob = s_col_blob,
    .column_bytes = s_col_bytes,
    .exec = s_exec, .errcode = s_errcode, .errmsg = s_errmsg, .changes = s_changes,
    .last_insert_rowid = s_last_rowid, .get_autocommit = s_autocommit,
    .reconnect = s_reconnect, .data_version = s_data_version, .notify_fd = s_notify_fd,
    .try_leader = s_try_leader, .user_version = s_user_version,
    .set_user_version = s_set_user_version, .sqlite_handle = s_handle,
};

int db_sqlite_open(const char *path, unsigned flags, struct db **out, char *msg, size_t cap)
{
    sqlite3 *h = NULL;
    bool created = false;
    *out = NULL;
    /* First without SQLITE_OPEN_CREATE: only a missing file is made, and only
     * when asked (the daemon, `vigil account add`). */
    int rc = sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_CANTOPEN && path[0] != '\0' && strcmp(path, ":memory:") != 0) {
        struct stat sb;
        if (stat(path, &sb) != 0 && errno == ENOENT) {
            sqlite3_close(h);
            h = NULL;
            if (!(flags & DB_OPEN_CREATE)) {
                snprintf(msg, cap, "store %s does not exist (check the config's store key; "
                         "`vigil account add` or vigil-station creates it)", path);
                return DB_NOTFOUND;
            }
            rc = sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                 SQLITE_OPEN_NOMUTEX, NULL);
            created = rc == SQLITE_OK;
        }
    }
    if (rc != SQLITE_OK) {
        snprintf(msg, cap, "cannot open store %s: %s", path,
                 h ? sqlite3_errmsg(h) : sqlite3_errstr(rc));
        sqlite3_close(h);
        return rc;
    }
    sqlite3_busy_timeout(h, 5000);
    char *err = NULL;
    /* journal_mode returns a row; exec ignores it. WAL + FULL: a commit is on disk. */
    rc = sqlite3_exec(h, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                         "PRAGMA foreign_keys=ON;", NULL, NULL, &err);
    if (rc != SQLITE_OK) {
        snprintf(msg, cap, "cannot open store %s: %s", path, err ? err : sqlite3_errmsg(h));
        sqlite3_free(err);
        sqlite3_close(h);
        return rc;
    }
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(h, "PRAGMA journal_mode", -1, &st, NULL) == SQLITE_OK) {
        /* (":memory:", for tests and fuzzers, has no WAL) */
        bool wal = sqlite3_step(st) == SQLITE_ROW &&
                   (strcmp((const char *)sqlite3_column_text(st, 0), "wal") == 0 ||
                    strcmp(path, ":memory:") == 0);
        sqlite3_finalize(st);
        if (!wal) {
            snprintf(msg, cap, "store %s: cannot switch to WAL mode", path);
            sqlite3_close(h);
            return DB_CANTOPEN;
        }
    }
    struct sdb *db = calloc(1, sizeof *db);
    if (!db) {
        sqlite3_close(h);
        snprintf(msg, cap, "out of memory");
        return DB_NOMEM;
    }
    db->base.ops = &sqlite_ops;
    db->base.kind = DB_KIND_SQLITE;
    db->base.created = created;
    db->h = h;
    *out = &db->base;
    return DB_OK;
}
