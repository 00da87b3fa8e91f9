/*
 * db.h — the one interface every SQL statement of the store goes through,
 * with two back ends: SQLite (db_sqlite.c, the default) and PostgreSQL over
 * libpq (db_pg.c, for several station nodes on one database).
 *
 * The shape is SQLite's own (prepare, bind, step, column, reset), so that the
 * store code reads the same on both engines and there is no `if (pg)` in it.
 * Return codes and column types have SQLite's numeric values.
 *
 * SQL is written once, in the subset both engines accept: `?` and `?NNN`
 * placeholders (the PostgreSQL back end numbers them $N), `ON CONFLICT ...
 * DO NOTHING / DO UPDATE` instead of `INSERT OR ...`, `RETURNING`, CASE
 * instead of SQLite's scalar max/min/iif, integers for booleans. The few
 * statements that cannot be written once (the schema, PRAGMAs, WAL
 * checkpoints, backup) live in the back end or behind db_kind() in the one
 * file that owns them.
 *
 * Engine-level behaviour the store relies on, on both back ends:
 *  - "BEGIN IMMEDIATE" takes the store's write lock: one writing transaction
 *    at a time across every process and node (PostgreSQL: BEGIN plus a
 *    transaction-level advisory lock), so read-decide-write code (the alarm
 *    engine, the audit chain) stays correct on several nodes;
 *  - a failed statement inside a transaction is undone by ROLLBACK TO a
 *    savepoint taken before it (PostgreSQL aborts the whole transaction
 *    otherwise: code that goes on after a failure must use a savepoint);
 *  - DB_LOST: the connection to the database is gone; the caller reports
 *    the job as not committed, and the next db_reconnect() tries again.
 *
 * A connection and its statements are used by one thread at a time.
 */
#ifndef VIGIL_STATION_DB_H
#define VIGIL_STATION_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Result codes: SQLite's primary codes, plus DB_LOST. */
#define DB_OK          0
#define DB_ERROR       1
#define DB_INTERNAL    2
#define DB_PERM        3
#define DB_ABORT       4
#define DB_BUSY        5
#define DB_LOCKED      6
#define DB_NOMEM       7
#define DB_READONLY    8
#define DB_IOERR      10
#define DB_CORRUPT    11
#define DB_FULL       13
#define DB_CANTOPEN   14
#define DB_CONSTRAINT 19
#define DB_MISMATCH   20
#define DB_MISUSE     21
#define DB_RANGE      25
#define DB_NOTADB     26
#define DB_ROW       100
#define DB_DONE      101
#define DB_LOST     1000    /* PostgreSQL: the connection broke (server gone, network) */
#define DB_NOTFOUND 1001    /* db_open: no such store, and DB_OPEN_CREATE was not given */

/* Column types: SQLite's fundamental types. */
#define DB_INTEGER 1
#define DB_FLOAT   2
#define DB_TEXT    3
#define DB_BLOB    4
#define DB_NULL    5

/* How a bound text or blob is kept: STATIC, the caller's bytes stay valid
 * and unchanged until the statement is reset or rebound; TRANSIENT, copied
 * now. */
#define DB_STATIC    0
#define DB_TRANSIENT 1

enum db_kind { DB_KIND_SQLITE, DB_KIND_PG };

struct db;
struct db_stmt;

/* Opening. `where` is a config's store value without its scheme for SQLite
 * (a path, or ":memory:"), and the whole "postgresql://..." / "postgres://..."
 * URI for PostgreSQL. Flags for SQLite: */
#define DB_OPEN_CREATE 0x1      /* make the file when it does not exist */
/* 0 or a DB_ code; on failure *out is NULL and msg says why (never the
 * password of a URI). SQLite: WAL, synchronous=FULL, foreign keys on, a 5 s
 * busy timeout; PostgreSQL: synchronous_commit as the server has it. */
int  db_open(enum db_kind kind, const char *where, unsigned flags, struct db **out,
             char *msg, size_t cap);
void db_close(struct db *db);                 /* finalizes what is left */
enum db_kind db_kind(const struct db *db);
/* True when a store value names PostgreSQL (postgresql:// or postgres://). */
bool db_is_pg_uri(const char *store);
/* The store value as it may be shown (logs, messages, `vigil config`): a
 * PostgreSQL URI without its password (user:secret@ and password=... are
 * dropped); anything else as it is. */
void db_uri_redact(const char *store, char *out, size_t cap);
/* The store did not exist and this db_open made it. */
bool db_created(const struct db *db);

/* Statements: prepared once, run many times. */
int  db_prepare(struct db *db, const char *sql, struct db_stmt **out);
int  db_step(struct db_stmt *st);             /* DB_ROW, DB_DONE or an error */
int  db_reset(struct db_stmt *st);
int  db_clear_bindings(struct db_stmt *st);
int  db_finalize(struct db_stmt *st);         /* NULL is fine */
const char *db_sql(struct db_stmt *st);
bool db_stmt_busy(struct db_stmt *st);        /* stepped, not yet reset or done */
struct db_stmt *db_next_stmt(struct db *db, struct db_stmt *after);

/* Binding: i counts from 1, as in the SQL. */
int db_bind_int64(struct db_stmt *st, int i, int64_t v);
int db_bind_int(struct db_stmt *st, int i, int v);
int db_bind_double(struct db_stmt *st, int i, double v);
int db_bind_text(struct db_stmt *st, int i, const char *s, int len, int keep);  /* len -1: to NUL */
int db_bind_blob(struct db_stmt *st, int i, const void *p, int len, int keep);
int db_bind_null(struct db_stmt *st, int i);

/* The current row's columns: i counts from 0. Text is NUL-terminated and
 * valid until the next step, reset or finalize. */
int                  db_column_count(struct db_stmt *st);
int                  db_column_type(struct db_stmt *st, int i);
int64_t              db_column_int64(struct db_stmt *st, int i);
int                  db_column_int(struct db_stmt *st, int i);
double               db_column_double(struct db_stmt *st, int i);
const unsigned char *db_column_text(struct db_stmt *st, int i);
const void          *db_column_blob(struct db_stmt *st, int i);
int                  db_column_bytes(struct db_stmt *st, int i);

/* Statements without results, ';'-separated; *err (may be NULL) gets a
 * message to release with db_free. */
int  db_exec(struct db *db, const char *sql, char **err);
void db_free(void *p);

int         db_errcode(struct db *db);
const char *db_errmsg(struct db *db);
const char *db_errstr(int rc);
int64_t     db_changes(struct db *db);        /* rows changed by the last statement */
/* SQLite: the rowid of the last INSERT; PostgreSQL: lastval(), so an
 * INSERT whose trigger inserts into a table with its own id answers that id:
 * read such ids with RETURNING. */
int64_t     db_last_insert_rowid(struct db *db);
bool        db_get_autocommit(struct db *db); /* true: no transaction open */

/* A number that moves when another connection (another thread, process or
 * node) has committed a change since the last call; never for this
 * connection's own commits. SQLite: PRAGMA data_version. PostgreSQL: every
 * writing transaction ("BEGIN IMMEDIATE" ... "COMMIT") sends NOTIFY
 * vigil_changes at its commit; this connection LISTENs from its first call
 * and counts the notices from other backends (no query while none came). */
int db_data_version(struct db *db, int64_t *out);
/* The socket to wait on for those notices (poll for reading, then call
 * db_data_version); -1 on SQLite, where there is nothing to wait on. */
int db_notify_fd(struct db *db);

/* Work that one node of several must do alone (supervision, expiry):
 * *leader true while this connection holds the lock named `what`
 * (PostgreSQL: a session-level advisory lock, released when the connection
 * ends, so a dead node's share passes to another); SQLite: always true. */
int db_try_leader(struct db *db, const char *what, bool *leader);

/* The schema version stored in the database (0: empty). SQLite: PRAGMA
 * user_version; PostgreSQL: a one-row table. Set inside the migration's
 * transaction. */
int db_user_version(struct db *db, int *out);
int db_set_user_version(struct db *db, int v);

/* PostgreSQL: try again to reach the database after DB_LOST (statements are
 * prepared again on their next step). SQLite: nothing to do, DB_OK. */
int db_reconnect(struct db *db);

/* The SQLite handle, for what only SQLite has (WAL hooks and checkpoints,
 * the online backup); NULL on PostgreSQL. */
struct sqlite3 *db_sqlite_handle(struct db *db);

#endif
