/*
 * db_impl.h — what a back end of db.h provides: one table of functions.
 * db.c dispatches through it; db_sqlite.c and db_pg.c fill it in.
 * Private to the back ends and db.c.
 */
#ifndef VIGIL_STATION_DB_IMPL_H
#define VIGIL_STATION_DB_IMPL_H

#include "db.h"

struct db_ops {
    void (*close)(struct db *db);
    int  (*prepare)(struct db *db, const char *sql, struct db_stmt **out);
    int  (*step)(struct db_stmt *st);
    int  (*reset)(struct db_stmt *st);
    int  (*clear_bindings)(struct db_stmt *st);
    int  (*finalize)(struct db_stmt *st);
    const char *(*sql)(struct db_stmt *st);
    bool (*stmt_busy)(struct db_stmt *st);
    struct db_stmt *(*next_stmt)(struct db *db, struct db_stmt *after);

    int (*bind_int64)(struct db_stmt *st, int i, int64_t v);
    int (*bind_double)(struct db_stmt *st, int i, double v);
    int (*bind_text)(struct db_stmt *st, int i, const char *s, int len, int keep);
    int (*bind_blob)(struct db_stmt *st, int i, const void *p, int len, int keep);
    int (*bind_null)(struct db_stmt *st, int i);

    int                  (*column_count)(struct db_stmt *st);
    int                  (*column_type)(struct db_stmt *st, int i);
    int64_t              (*column_int64)(struct db_stmt *st, int i);
    double               (*column_double)(struct db_stmt *st, int i);
    const unsigned char *(*column_text)(struct db_stmt *st, int i);
    const void          *(*column_blob)(struct db_stmt *st, int i);
    int                  (*column_bytes)(struct db_stmt *st, int i);

    int  (*exec)(struct db *db, const char *sql, char **err);
    int  (*errcode)(struct db *db);
    const char *(*errmsg)(struct db *db);
    int64_t (*changes)(struct db *db);
    int64_t (*last_insert_rowid)(struct db *db);
    bool (*get_autocommit)(struct db *db);
    int  (*reconnect)(struct db *db);
    int  (*data_version)(struct db *db, int64_t *out);
    int  (*notify_fd)(struct db *db);
    int  (*try_leader)(struct db *db, const char *what, bool *leader);
    int  (*user_version)(struct db *db, int *out);
    int  (*set_user_version)(struct db *db, int v);
    struct sqlite3 *(*sqlite_handle)(struct db *db);
};

/* The head of every back end's connection and statement structs. */
struct db {
    const struct db_ops *ops;
    enum db_kind kind;
    bool created;               /* db_open made the store */
};
struct db_stmt {
    const struct db_ops *ops;
    struct db *db;
};

int db_sqlite_open(const char *path, unsigned flags, struct db **out, char *msg, size_t cap);
/* db_pg.c; without libpq (VIGIL_WITH_POSTGRESQL off) a stub that says so. */
int db_pg_open(const char *uri, unsigned flags, struct db **out, char *msg, size_t cap);

#endif
