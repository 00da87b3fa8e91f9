/*
 * db.c — db.h's functions: each passes to the connection's back end.
 * Nothing here knows an engine; see db_sqlite.c and db_pg.c.
 */
#include "db_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int db_open(enum db_kind kind, const char *where, unsigned flags, struct db **out,
            char *msg, size_t cap)
{
    *out = NULL;
    return kind == DB_KIND_PG ? db_pg_open(where, flags, out, msg, cap)
                              : db_sqlite_open(where, flags, out, msg, cap);
}

void db_close(struct db *db)
{
    if (db)
        db->ops->close(db);
}

enum db_kind db_kind(const struct db *db) { return db->kind; }
bool db_created(const struct db *db) { return db->created; }

int db_prepare(struct db *db, const char *sql, struct db_stmt **out)
{
    *out = NULL;
    return db->ops->prepare(db, sql, out);
}

int db_step(struct db_stmt *st) { return st->ops->step(st); }
int db_reset(struct db_stmt *st) { return st ? st->ops->reset(st) : DB_OK; }
int db_clear_bindings(struct db_stmt *st) { return st->ops->clear_bindings(st); }
int db_finalize(struct db_stmt *st) { return st ? st->ops->finalize(st) : DB_OK; }
const char *db_sql(struct db_stmt *st) { return st->ops->sql(st); }
bool db_stmt_busy(struct db_stmt *st) { return st && st->ops->stmt_busy(st); }

struct db_stmt *db_next_stmt(struct db *db, struct db_stmt *after)
{
    return db->ops->next_stmt(db, after);
}

int db_bind_int64(struct db_stmt *st, int i, int64_t v) { return st->ops->bind_int64(st, i, v); }
int db_bind_int(struct db_stmt *st, int i, int v) { return st->ops->bind_int64(st, i, v); }
int db_bind_double(struct db_stmt *st, int i, double v) { return st->ops->bind_double(st, i, v); }
int db_bind_null(struct db_stmt *st, int i) { return st->ops->bind_null(st, i); }

int db_bind_text(struct db_stmt *st, int i, const char *s, int len, int keep)
{
    return st->ops->bind_text(st, i, s, len, keep);
}

int db_bind_blob(struct db_stmt *st, int i, const void *p, int len, int keep)
{
    return st->ops->bind_blob(st, i, p, len, keep);
}

int db_column_count(struct db_stmt *st) { return st->ops->column_count(st); }
int db_column_type(struct db_stmt *st, int i) { return st->ops->column_type(st, i); }
int64_t db_column_int64(struct db_stmt *st, int i) { return st->ops->column_int64(st, i); }
int db_column_int(struct db_stmt *st, int i) { return (int)st->ops->column_int64(st, i); }
double db_column_double(struct db_stmt *st, int i) { return st->ops->column_double(st, i); }

const unsigned char *db_column_text(struct db_stmt *st, int i)
{
    return st->ops->column_text(st, i);
}

const void *db_column_blob(struct db_stmt *st, int i) { return st->ops->column_blob(st, i); }
int db_column_bytes(struct db_stmt *st, int i) { return st->ops->column_bytes(st, i); }

int db_exec(struct db *db, const char *sql, char **err)
{
    if (err)
        *err = NULL;
    return db->ops->exec(db, sql, err);
}

void db_free(void *p) { free(p); }

int db_errcode(struct db *db) { return db->ops->errcode(db); }
const char *db_errmsg(struct db *db) { return db->ops->errmsg(db); }
int64_t db_changes(struct db *db) { return db->ops->changes(db); }
int64_t db_last_insert_rowid(struct db *db) { return db->ops->last_insert_rowid(db); }
bool db_get_autocommit(struct db *db) { return db->ops->get_autocommit(db); }
int db_reconnect(struct db *db) { return db->ops->reconnect(db); }
int db_data_version(struct db *db, int64_t *out) { return db->ops->data_version(db, out); }
int db_notify_fd(struct db *db) { return db->ops->notify_fd(db); }

int db_try_leader(struct db *db, const char *what, bool *leader)
{
    return db->ops->try_leader(db, what, leader);
}

int db_user_version(struct db *db, int *out) { return db->ops->user_version(db, out); }
int db_set_user_version(struct db *db, int v) { return db->ops->set_user_version(db, v); }
struct sqlite3 *db_sqlite_handle(struct db *db) { return db->ops->sqlite_handle(db); }

const char *db_errstr(int rc)
{
    switch (rc) {
    case DB_OK:         return "not an error";
    case DB_ERROR:      return "SQL logic error";
    case DB_BUSY:       return "database is locked";
    case DB_LOCKED:     return "database table is locked";
    case DB_NOMEM:      return "out of memory";
    case DB_READONLY:   return "attempt to write a readonly database";
    case DB_IOERR:      return "disk I/O error";
    case DB_CORRUPT:    return "database disk image is malformed";
    case DB_FULL:       return "database or disk is full";
    case DB_CANTOPEN:   return "unable to open database file";
    case DB_CONSTRAINT: return "constraint failed";
    case DB_MISMATCH:   return "datatype mismatch";
    case DB_MISUSE:     return "bad parameter or other API misuse";
    case DB_RANGE:      return "column index out of range";
    case DB_NOTADB:     return "file is not a database";
    case DB_ROW:        return "another row available";
    case DB_DONE:       return "no more rows available";
    case DB_LOST:       return "the connection to the database was lost";
    case DB_NOTFOUND:   return "no such store";
    default:            return "unknown error";
    }
}
