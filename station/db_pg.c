/*
 * db_pg.c — db.h on PostgreSQL (libpq), for several station nodes on one
 * database.
 *
 * Statements: `?` / `?NNN` become `$N` (strings, quoted identifiers,
 * dollar quotes and comments skipped); each is prepared (PQprepare, named
 * per connection) at its first step, with the parameter types left to the
 * server; when the server cannot infer one (42P18, 42P08) that parameter takes the
 * bound value's type and the statement is prepared again. PQdescribePrepared
 * gives the inferred types: a blob or text bound for a bytea parameter goes
 * in binary format, everything else as text. Results come in text format, one
 * PGresult per execution, walked row by row by db_step.
 *
 * The SQLite idioms the store uses, translated here and only these:
 *  - "BEGIN IMMEDIATE": BEGIN plus a transaction-level advisory lock with a
 *    fixed key (one writer at a time across processes and nodes, as SQLite's
 *    write lock; waits at most 5 s, then DB_BUSY as SQLite's busy timeout);
 *  - a COMMIT that ends a transaction that wrote sends NOTIFY vigil_changes
 *    first (db_data_version of the other connections moves); a write outside
 *    a transaction is followed by one;
 *  - COMMIT of a transaction that PostgreSQL has aborted is refused (a
 *    ROLLBACK, and an error: PostgreSQL would answer "ROLLBACK" and the
 *    caller would think it committed);
 *  - SAVEPOINT / RELEASE / ROLLBACK [TO] pass through; any PRAGMA is an error.
 *
 * A lost connection (CONNECTION_BAD, SQLSTATE 08xxx, 57P0x) is DB_LOST;
 * db_reconnect() runs PQreset and bumps a generation counter, and each
 * statement is prepared again at its next step.
 *
 * Never shows the password of the URI: messages name the database by
 * db_uri_redact()'s form.
 */
#include "db_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef VIGIL_HAVE_LIBPQ

int db_pg_open(const char *uri, unsigned flags, struct db **out, char *msg, size_t cap)
{
    (void)uri;
    (void)flags;
    *out = NULL;
    snprintf(msg, cap, "this build has no PostgreSQL store (built with "
             "-DVIGIL_WITH_POSTGRESQL=OFF)");
    return DB_CANTOPEN;
}

#else

#include <ctype.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdint.h>
#include <strings.h>

/* Type OIDs (catalog/pg_type_d.h, stable since forever). */
#define OID_BOOL    16
#define OID_BYTEA   17
#define OID_INT8    20
#define OID_INT2    21
#define OID_INT4    23
#define OID_TEXT    25
#define OID_OID     26
#define OID_FLOAT4 700
#define OID_FLOAT8 701
#define OID_NUMERIC 1700

/* The store's write lock (bigint key space) and the leaders' class (the
 * two-int4 key space: the two do not overlap). "Vigil" in ASCII. */
#define WRITE_LOCK_KEY  INT64_C(0x566967696c0001)
#define LEADER_CLASS    0x56676c4c     /* "VglL" */

enum stmt_kind { SK_SQL, SK_BEGIN_WRITE, SK_BEGIN, SK_COMMIT, SK_ROLLBACK,
                 SK_PASS, SK_PRAGMA };

struct leader {
    char *name;
    unsigned gen;               /* held on this connection generation; 0: not */
};

struct pdb {
    struct db base;
    PGconn *c;
    char shown[256];            /* the URI without its password */
    struct pstmt *stmts;
    unsigned gen;               /* bumped at every (re)connection */
    unsigned names;             /* statement names: v1, v2, ... */
    int errcode;
    char errmsg[512];
    int64_t changes;
    bool write_txn;             /* inside "BEGIN IMMEDIATE" */
    bool wrote;                 /* the open transaction changed rows */
    unsigned listen_gen;        /* LISTEN vigil_changes issued on this generation */
    int64_t notices;            /* other backends' commits seen */
    unsigned lastval_gen;       /* lastval() known defined on this generation */
    struct leader *leaders;
    size_t nleaders;
};

struct pval {
    int type;                   /* DB_NULL, DB_INTEGER, DB_FLOAT, DB_TEXT, DB_BLOB */
    char *p;                    /* text (NUL-terminated) or blob bytes, owned; NULL: in num */
    int len;
    int64_t i64;                /* DB_INTEGER: the value (num is made from it at each run) */
    char num[40];               /* float as text, integer as text or bigint's 8 bytes, or a
                                 * short text or blob */
};

struct pstmt {
    struct db_stmt base;
    char *sql;                  /* as given */
    char *pgsql;                /* with $N */
    enum stmt_kind kind;
    int nparams;
    struct pval *vals;
    char name[24];
    unsigned gen;               /* prepared on this generation; 0: not */
    Oid *types;                 /* the parameters' types, from the server */
    Oid *fixed;                 /* types asked for at prepare (0: the server's choice) */
    unsigned char *keep;        /* 1: leave this parameter's type to the server */
    PGresult *res;
    int row, nrows, ncols;
    enum { ST_IDLE, ST_ROWS, ST_DONE } state;
    unsigned char **cells;      /* unescaped bytea of the current row, per column */
    size_t *cell_len;
    struct pstmt *prev, *next;
};

#define PDB(d) ((struct pdb *)(d))
#define PST(t) ((struct pstmt *)(t))

static const struct db_ops pg_ops;

/* ---- errors ------------------------------------------------------------ */

static void set_err(struct pdb *db, int rc, const char *m)
{
    db->errcode = rc;
    snprintf(db->errmsg, sizeof db->errmsg, "%s", m ? m : db_errstr(rc));
    size_t n = strlen(db->errmsg);
    while (n > 0 && (db->errmsg[n - 1] == '\n' || db->errmsg[n - 1] == ' '))
        db->errmsg[--n] = '\0';
}

static int rc_from_state(const char *state)
{
    if (!state || strlen(state) != 5)
        return DB_ERROR;
    if (strncmp(state, "08", 2) == 0 || strncmp(state, "57P0", 4) == 0)
        return DB_LOST;
    if (strncmp(state, "23", 2) == 0)
        return DB_CONSTRAINT;
    if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
        strcmp(state, "55P03") == 0)
        return DB_BUSY;
    if (strcmp(state, "53200") == 0)
        return DB_NOMEM;
    if (strncmp(state, "53", 2) == 0)
        return DB_FULL;
    if (strcmp(state, "25006") == 0)
        return DB_READONLY;
    return DB_ERROR;
}

/* Records a failed result (or a NULL one) and returns its DB_ code; frees res. */
static int fail(struct pdb *db, PGresult *res)
{
    int rc;
    if (PQstatus(db->c) == CONNECTION_BAD) {
        rc = DB_LOST;
        set_err(db, rc, PQerrorMessage(db->c));
    } else if (res) {
        rc = rc_from_state(PQresultErrorField(res, PG_DIAG_SQLSTATE));
        const char *m = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
        set_err(db, rc, m ? m : PQerrorMessage(db->c));
    } else {
        rc = DB_NOMEM;
        set_err(db, rc, PQerrorMessage(db->c));
    }
    if (rc == DB_LOST && db->errmsg[0] == '\0')
        set_err(db, rc, NULL);
    PQclear(res);
    return rc;
}

static bool res_ok(const PGresult *res)
{
    ExecStatusType s = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
}

/* Runs sql (no parameters, maybe several statements); DB_OK or the error. */
static int run(struct pdb *db, const char *sql)
{
    PGresult *res = PQexec(db->c, sql);
    if (!res_ok(res))
        return fail(db, res);
    PQclear(res);
    db->errcode = DB_OK;
    return DB_OK;
}

/* ---- SQL text ---------------------------------------------------------- */

/* Length of the quoted / commented run starting at s (0: none starts here). */
static size_t skip_quoted(const char *s)
{
    const char *p = s;
    if (*p == '\'' || *p == '"') {
        char q = *p++;
        for (; *p; p++) {
            if (*p == q) {
                if (p[1] == q) {
                    p++;
                    continue;
                }
                return (size_t)(p + 1 - s);
            }
        }
        return (size_t)(p - s);
    }
    if (p[0] == '-' && p[1] == '-') {
        while (*p && *p != '\n')
            p++;
        return (size_t)(p - s);
    }
    if (p[0] == '/' && p[1] == '*') {
        const char *e = strstr(p + 2, "*/");
        return e ? (size_t)(e + 2 - s) : strlen(s);
    }
    if (p[0] == '$') {          /* $tag$ ... $tag$ (not $1: a digit does not start a tag) */
        const char *t = p + 1;
        while (*t == '_' || isalpha((unsigned char)*t) ||
               (t > p + 1 && isdigit((unsigned char)*t)))
            t++;
        if (*t != '$')
            return 0;
        size_t taglen = (size_t)(t + 1 - p);
        for (const char *q = t + 1; *q; q++)
            if (*q == '$' && strncmp(q, p, taglen) == 0)
                return (size_t)(q + taglen - s);
        return strlen(s);
    }
    return 0;
}

/* `?` and `?NNN` to `$N`; *nparams gets the largest index. NULL: no memory,
 * or a bad index (*nparams -1). */
static char *translate(const char *sql, int *nparams)
{
    size_t n = strlen(sql);
    size_t cap = n * 6 + 16, o = 0;     /* "?" -> "$32766" at worst */
    char *out = malloc(cap);
    if (!out)
        return NULL;
    int max = 0;
    for (const char *p = sql; *p;) {
        size_t q = skip_quoted(p);
        if (q) {
            memcpy(out + o, p, q);
            o += q;
            p += q;
            continue;
        }
        if (*p != '?') {
            out[o++] = *p++;
            continue;
        }
        p++;
        int idx;
        if (isdigit((unsigned char)*p)) {
            long v = strtol(p, (char **)&p, 10);
            if (v < 1 || v > 32766) {
                free(out);
                *nparams = -1;
                return NULL;
            }
            idx = (int)v;
        } else {
            idx = max + 1;
        }
        if (idx > max)
            max = idx;
        o += (size_t)snprintf(out + o, cap - o, "$%d", idx);
    }
    out[o] = '\0';
    *nparams = max;
    return out;
}

/* The start of the first word after blanks and comments. */
static const char *first_word(const char *s)
{
    for (;;) {
        while (isspace((unsigned char)*s))
            s++;
        if ((s[0] == '-' && s[1] == '-') || (s[0] == '/' && s[1] == '*'))
            s += skip_quoted(s);
        else
            return s;
    }
}

/* Case-insensitive: does word w start at s (as a whole word)? Returns what
 * follows it (blanks skipped), or NULL. */
static const char *word(const char *s, const char *w)
{
    size_t n = strlen(w);
    if (strncasecmp(s, w, n) != 0 || isalnum((unsigned char)s[n]) || s[n] == '_')
        return NULL;
    return first_word(s + n);
}

static enum stmt_kind classify(const char *sql)
{
    const char *s = first_word(sql), *r;
    if ((r = word(s, "BEGIN")))
        return word(r, "IMMEDIATE") || word(r, "EXCLUSIVE") ? SK_BEGIN_WRITE : SK_BEGIN;
    if (word(s, "COMMIT") || word(s, "END"))
        return SK_COMMIT;
    if ((r = word(s, "ROLLBACK"))) {
        const char *t = word(r, "TRANSACTION");
        if (t)
            r = t;
        return word(r, "TO") ? SK_PASS : SK_ROLLBACK;
    }
    if (word(s, "SAVEPOINT") || word(s, "RELEASE"))
        return SK_PASS;
    if (word(s, "PRAGMA"))
        return SK_PRAGMA;
    return SK_SQL;
}

/* ---- transactions ------------------------------------------------------ */

static int notify_changes(struct pdb *db)
{
    return run(db, "NOTIFY vigil_changes");
}

/* One transaction-control statement (kind != SK_SQL), already classified. */
static int control(struct pdb *db, enum stmt_kind kind, const char *sql)
{
    int rc;
    switch (kind) {
    case SK_BEGIN_WRITE:
    {
        char begin[160];
        snprintf(begin, sizeof begin, "BEGIN; SET LOCAL lock_timeout = '5s';"
                 "SELECT pg_advisory_xact_lock(%" PRId64 "); SET LOCAL lock_timeout TO DEFAULT",
                 WRITE_LOCK_KEY);
        rc = run(db, begin);
    }
        if (rc != DB_OK) {
            if (rc != DB_LOST) {        /* as SQLite: a failed BEGIN leaves no transaction */
                char keep[sizeof db->errmsg];
                memcpy(keep, db->errmsg, sizeof keep);
                run(db, "ROLLBACK");
                set_err(db, rc, keep);
            }
            return rc;
        }
        db->write_txn = true;
        db->wrote = false;
        return DB_OK;
    case SK_BEGIN:
        rc = run(db, "BEGIN");
        db->write_txn = false;
        db->wrote = false;
        return rc;
    case SK_COMMIT: {
        PGTransactionStatusType ts = PQtransactionStatus(db->c);
        if (ts == PQTRANS_INERROR) {
            run(db, "ROLLBACK");
            db->write_txn = db->wrote = false;
            set_err(db, DB_ERROR, "the transaction was aborted by an earlier error "
                    "and has been rolled back");
            return DB_ERROR;
        }
        if (ts == PQTRANS_IDLE) {
            set_err(db, DB_ERROR, "cannot commit - no transaction is active");
            return DB_ERROR;
        }
        bool tell = db->write_txn || db->wrote;
        PGresult *res = PQexec(db->c, tell ? "NOTIFY vigil_changes; COMMIT" : "COMMIT");
        db->write_txn = db->wrote = false;
        if (!res_ok(res))
            return fail(db, res);
        bool committed = strcmp(PQcmdStatus(res), "COMMIT") == 0;
        PQclear(res);
        if (!committed) {
            set_err(db, DB_ERROR, "the transaction was rolled back, not committed");
            return DB_ERROR;
        }
        db->errcode = DB_OK;
        return DB_OK;
    }
    case SK_ROLLBACK:
        db->write_txn = db->wrote = false;
        if (PQtransactionStatus(db->c) == PQTRANS_IDLE) {
            set_err(db, DB_ERROR, "cannot rollback - no transaction is active");
            return DB_ERROR;
        }
        return run(db, "ROLLBACK");
    case SK_PASS:
        return run(db, sql);
    case SK_PRAGMA:
        set_err(db, DB_ERROR, "PRAGMA is SQLite's; not sent to PostgreSQL");
        return DB_ERROR;
    case SK_SQL:
        break;
    }
    return run(db, sql);
}

/* After a statement that changed rows: inside a transaction its COMMIT
 * notifies; outside, tell the others now. */
static void after_write(struct pdb *db)
{
    if (PQtransactionStatus(db->c) == PQTRANS_IDLE)
        notify_changes(db);
    else
        db->wrote = true;
}

static bool is_write_status(const char *cmd)
{
    return strncmp(cmd, "INSERT", 6) == 0 || strncmp(cmd, "UPDATE", 6) == 0 ||
           strncmp(cmd, "DELETE", 6) == 0 || strncmp(cmd, "MERGE", 5) == 0;
}

/* ---- statements -------------------------------------------------------- */

static void drop_row(struct pstmt *s)
{
    if (s->cells) {
        for (int i = 0; i < s->ncols; i++) {
            free(s->cells[i]);
            s->cells[i] = NULL;
        }
    }
}

static void drop_result(struct pstmt *s)
{
    drop_row(s);
    free(s->cells);
    free(s->cell_len);
    s->cells = NULL;
    s->cell_len = NULL;
    PQclear(s->res);
    s->res = NULL;
    s->row = s->nrows = s->ncols = 0;
    s->state = ST_IDLE;
}

static int p_prepare(struct db *d, const char *sql, struct db_stmt **out)
{
    struct pdb *db = PDB(d);
    struct pstmt *t = calloc(1, sizeof *t);
    if (!t)
        return DB_NOMEM;
    t->sql = strdup(sql);
    t->kind = classify(sql);
    int np = 0;
    t->pgsql = t->sql && t->kind == SK_SQL ? translate(sql, &np) : NULL;
    if (!t->sql || (t->kind == SK_SQL && !t->pgsql)) {
        free(t->sql);
        free(t);
        if (np < 0) {
            set_err(db, DB_RANGE, "placeholder index out of range (1..32766)");
            return DB_RANGE;
        }
        return DB_NOMEM;
    }
    t->nparams = np;
    if (np > 0 && !(t->vals = calloc((size_t)np, sizeof *t->vals))) {
        free(t->pgsql);
        free(t->sql);
        free(t);
        return DB_NOMEM;
    }
    for (int i = 0; i < np; i++)
        t->vals[i].type = DB_NULL;
    snprintf(t->name, sizeof t->name, "v%u", ++db->names);
    t->base.ops = &pg_ops;
    t->base.db = d;
    t->next = db->stmts;
    if (db->stmts)
        db->stmts->prev = t;
    db->stmts = t;
    *out = &t->base;
    db->errcode = DB_OK;
    return DB_OK;
}

static Oid type_of_bound(const struct pval *v)
{
    switch (v->type) {
    case DB_INTEGER: return OID_INT8;
    case DB_FLOAT:   return OID_FLOAT8;
    case DB_BLOB:    return OID_BYTEA;
    default:         return OID_TEXT;
    }
}

static Oid oid_named(const char *name, size_t n)
{
    static const struct { const char *name; Oid oid; } known[] = {
        { "bytea", OID_BYTEA }, { "bigint", OID_INT8 }, { "integer", OID_INT4 },
        { "smallint", OID_INT2 }, { "double precision", OID_FLOAT8 }, { "real", OID_FLOAT4 },
        { "boolean", OID_BOOL }, { "text", OID_TEXT },
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strlen(known[i].name) == n && strncmp(known[i].name, name, n) == 0)
            return known[i].oid;
    return 0;
}

/* 42804 at prepare, 'column "c" is of type T but expression is of type U'
 * at a position: the parameters that are the expression's value there (the
 * expression itself, or what follows its THEN / ELSE), still untyped, take
 * T. PostgreSQL types `CASE WHEN ? THEN ? END` text from the SQL alone;
 * SQLite stores whatever comes. True when one was typed. */
static bool type_from_column(const struct pstmt *s, const PGresult *res, Oid *types)
{
    const char *m = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    const char *pos = PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION);
    const char *t = m ? strstr(m, " is of type ") : NULL;
    const char *but = t ? strstr(t, " but expression") : NULL;
    if (!t || !but || !pos)
        return false;
    t += strlen(" is of type ");
    Oid want = oid_named(t, (size_t)(but - t));
    long at = strtol(pos, NULL, 10) - 1;
    if (!want || at < 0 || (size_t)at >= strlen(s->pgsql))
        return false;
    bool typed = false;
    int depth = 0;
    const char *start = s->pgsql + at;
    for (const char *p = start; *p; p++) {
        size_t q = skip_quoted(p);
        if (q) {
            p += q - 1;
            continue;
        }
        if (*p == '(')
            depth++;
        else if (*p == ')' && depth-- == 0)
            break;
        else if (*p == ',' && depth == 0)
            break;
        else if (*p == '$' && isdigit((unsigned char)p[1])) {
            int k = atoi(p + 1);
            const char *b = p;
            while (b > start && isspace((unsigned char)b[-1]))
                b--;
            bool value = b == start ||
                         (b - start >= 4 && (strncasecmp(b - 4, "THEN", 4) == 0 ||
                                             strncasecmp(b - 4, "ELSE", 4) == 0));
            if (value && k >= 1 && k <= s->nparams && types[k - 1] == 0) {
                types[k - 1] = want;
                typed = true;
            }
        }
    }
    return typed;
}

/* PQprepare; inside a transaction under a savepoint, so that a statement
 * PostgreSQL refuses (or cannot type) leaves the transaction usable, as
 * SQLite's prepare does. A parameter the server cannot type (42P18, "could
 * not determine data type of parameter $N") takes its bound value's type. */
static int server_prepare(struct pdb *db, struct pstmt *s)
{
    Oid *types = s->nparams ? calloc((size_t)s->nparams, sizeof *types) : NULL;
    if (s->nparams && !types)
        return DB_NOMEM;
    if (s->fixed)
        memcpy(types, s->fixed, (size_t)s->nparams * sizeof *types);
    bool in_txn = PQtransactionStatus(db->c) == PQTRANS_INTRANS;
    int rc = DB_OK;
    if (in_txn && (rc = run(db, "SAVEPOINT vigil_prepare")) != DB_OK) {
        free(types);
        return rc;
    }
    for (int attempt = 0; attempt <= s->nparams + 1; attempt++) {
        PGresult *res = PQprepare(db->c, s->name, s->pgsql, s->nparams, types);
        if (res_ok(res)) {
            PQclear(res);
            rc = DB_OK;
            break;
        }
        const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
        const char *m = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
        bool typed = false;
        /* 42P18 indeterminate_datatype; 42P08 ambiguous_parameter ("$1 IS NULL") */
        if (state && (strcmp(state, "42P18") == 0 || strcmp(state, "42P08") == 0) &&
            attempt <= s->nparams) {
            const char *dollar = m ? strrchr(m, '$') : NULL;
            int k = dollar ? atoi(dollar + 1) : 0;
            if (k >= 1 && k <= s->nparams && types[k - 1] == 0) {
                types[k - 1] = type_of_bound(&s->vals[k - 1]);
                typed = true;
            } else {            /* which one is not said: every untyped from its value */
                for (int i = 0; i < s->nparams; i++)
                    if (types[i] == 0) {
                        types[i] = type_of_bound(&s->vals[i]);
                        typed = true;
                    }
            }
        } else if (state && strcmp(state, "42804") == 0 && attempt <= s->nparams) {
            typed = type_from_column(s, res, types);
        }
        rc = fail(db, res);
        if (rc == DB_LOST)
            break;
        if (in_txn && run(db, "ROLLBACK TO SAVEPOINT vigil_prepare") != DB_OK) {
            rc = db->errcode;
            break;
        }
        if (!typed)
            break;
    }
    if (rc == DB_OK) {
        PGresult *res = PQdescribePrepared(db->c, s->name);
        if (!res_ok(res)) {
            rc = fail(db, res);
        } else {
            for (int i = 0; i < s->nparams && i < PQnparams(res); i++)
                types[i] = PQparamtype(res, i);
            PQclear(res);
        }
    }
    if (in_txn && rc != DB_LOST) {
        char keep[sizeof db->errmsg];
        memcpy(keep, db->errmsg, sizeof keep);
        int r2 = run(db, "RELEASE SAVEPOINT vigil_prepare");
        if (rc == DB_OK)
            rc = r2;
        else
            set_err(db, rc, keep);
    }
    if (rc != DB_OK) {
        free(types);
        return rc;
    }
    free(s->types);
    s->types = types;
    s->gen = db->gen;
    return DB_OK;
}

/* The type a bound value needs where the server guessed another from the
 * SQL alone (0: fine). SQLite keeps any value in any expression; PostgreSQL
 * types `CASE WHEN ? THEN ? END` text and `CASE ... ELSE 0 END` int4, so a
 * blob, an int64 or a double bound there makes the statement prepared again
 * with that parameter typed bytea / int8 / float8. */
static Oid wanted_type(const struct pstmt *s, int i)
{
    if ((s->fixed && s->fixed[i]) || (s->keep && s->keep[i]) || !s->types)
        return 0;
    Oid t = s->types[i];
    switch (s->vals[i].type) {
    case DB_BLOB:
        return t != OID_BYTEA ? OID_BYTEA : 0;
    case DB_INTEGER:
        return t == OID_TEXT || t == OID_INT2 || t == OID_INT4 ? OID_INT8 : 0;
    case DB_FLOAT:
        return t == OID_TEXT || t == OID_INT2 || t == OID_INT4 || t == OID_INT8 ? OID_FLOAT8
                                                                                : 0;
    default:
        return 0;
    }
}

static void forget_server_copy(struct pdb *db, struct pstmt *s)
{
    if (s->gen == db->gen && s->gen != 0 && PQstatus(db->c) == CONNECTION_OK &&
        PQtransactionStatus(db->c) != PQTRANS_INERROR) {
        char sql[48];
        snprintf(sql, sizeof sql, "DEALLOCATE %s", s->name);
        PQclear(PQexec(db->c, sql));
    }
    s->gen = 0;
    snprintf(s->name, sizeof s->name, "v%u", ++db->names);
}

/* Prepares s again when a bound value needs another type than the server
 * chose (wanted_type); when PostgreSQL refuses that, the parameter is left
 * to the server from then on. */
static int retype(struct pdb *db, struct pstmt *s)
{
    int n = s->nparams;
    bool any = false;
    for (int i = 0; i < n && !any; i++)
        any = wanted_type(s, i) != 0;
    if (!any)
        return DB_OK;
    if (!s->fixed && !(s->fixed = calloc((size_t)n, sizeof *s->fixed)))
        return DB_NOMEM;
    if (!s->keep && !(s->keep = calloc((size_t)n, 1)))
        return DB_NOMEM;
    unsigned char *changed = calloc((size_t)n, 1);
    if (!changed)
        return DB_NOMEM;
    for (int i = 0; i < n; i++) {
        Oid w = wanted_type(s, i);
        if (w) {
            s->fixed[i] = w;
            changed[i] = 1;
        }
    }
    forget_server_copy(db, s);
    int rc = server_prepare(db, s);
    if (rc != DB_OK && rc != DB_LOST) {
        for (int i = 0; i < n; i++)
            if (changed[i]) {
                s->fixed[i] = 0;
                s->keep[i] = 1;
            }
        forget_server_copy(db, s);
        rc = server_prepare(db, s);
    }
    free(changed);
    return rc;
}

/* v in decimal into out (24 bytes), by hand: snprintf was a tenth of the
 * commit worker's time on a routine batch (~1,400 parameters). */
static void int64_text(int64_t v, char *out)
{
    char tmp[24];
    int n = 0;
    uint64_t u = v < 0 ? 0u - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10u);
        u /= 10u;
    } while (u);
    int k = 0;
    if (v < 0)
        out[k++] = '-';
    while (n)
        out[k++] = tmp[--n];
    out[k] = '\0';
}

static int execute(struct pdb *db, struct pstmt *s)
{
    if (PQstatus(db->c) != CONNECTION_OK) {
        set_err(db, DB_LOST, "the connection to the database is lost");
        return DB_LOST;
    }
    if (s->kind != SK_SQL)
        return control(db, s->kind, s->sql);
    if (s->gen != db->gen) {
        int rc = server_prepare(db, s);
        if (rc != DB_OK)
            return rc;
    }
    int rc0 = retype(db, s);
    if (rc0 != DB_OK)
        return rc0;
    int n = s->nparams;
    const char **values = n ? calloc((size_t)n, sizeof *values) : NULL;
    int *lens = n ? calloc((size_t)n, sizeof *lens) : NULL;
    int *fmts = n ? calloc((size_t)n, sizeof *fmts) : NULL;
    if (n && (!values || !lens || !fmts)) {
        free(values);
        free(lens);
        free(fmts);
        return DB_NOMEM;
    }
    for (int i = 0; i < n; i++) {
        struct pval *v = &s->vals[i];
        switch (v->type) {
        case DB_NULL:
            values[i] = NULL;
            break;
        case DB_INTEGER:
            values[i] = v->num;
            if (s->types && s->types[i] == OID_INT8) {
                /* a bigint parameter goes binary: 8 bytes, most significant first (the
                 * server parses nothing, the station formats nothing) */
                uint64_t u = (uint64_t)v->i64;
                for (int k = 7; k >= 0; k--, u >>= 8)
                    v->num[k] = (char)(u & 0xff);
                lens[i] = 8;
                fmts[i] = 1;
            } else {
                int64_text(v->i64, v->num);
            }
            break;
        case DB_FLOAT:
            values[i] = v->num;
            break;
        default:
            values[i] = v->p ? v->p : v->num;
            lens[i] = v->len;
            /* bytes for a bytea parameter go as they are (binary format) */
            fmts[i] = s->types && s->types[i] == OID_BYTEA ? 1 : 0;
            break;
        }
    }
    PGresult *res = PQexecPrepared(db->c, s->name, n, values, lens, fmts, 0);
    free(values);
    free(lens);
    free(fmts);
    if (!res_ok(res)) {
        int rc = fail(db, res);
        /* a statement the server no longer knows (dropped by a DISCARD or a
         * pooler): prepare again next time */
        if (rc != DB_LOST && db->errmsg[0] && strstr(db->errmsg, "prepared statement"))
            s->gen = 0;
        return rc;
    }
    const char *cmd = PQcmdStatus(res);
    if (is_write_status(cmd)) {
        db->changes = strtoll(PQcmdTuples(res), NULL, 10);
        if (db->changes > 0)
            after_write(db);
    }
    s->res = res;
    s->nrows = PQresultStatus(res) == PGRES_TUPLES_OK ? PQntuples(res) : 0;
    s->ncols = PQnfields(res);
    s->row = -1;
    if (s->ncols > 0) {
        s->cells = calloc((size_t)s->ncols, sizeof *s->cells);
        s->cell_len = calloc((size_t)s->ncols, sizeof *s->cell_len);
        if (!s->cells || !s->cell_len) {
            drop_result(s);
            return DB_NOMEM;
        }
    }
    db->errcode = DB_OK;
    return DB_OK;
}

static int p_step(struct db_stmt *t)
{
    struct pstmt *s = PST(t);
    struct pdb *db = PDB(t->db);
    if (s->state == ST_DONE)            /* SQLite runs it again after DONE */
        drop_result(s);
    if (s->state == ST_IDLE) {
        int rc = execute(db, s);
        if (rc != DB_OK) {
            drop_result(s);
            return rc;
        }
        s->state = ST_ROWS;
    }
    drop_row(s);
    if (++s->row < s->nrows)
        return DB_ROW;
    s->state = ST_DONE;
    return DB_DONE;
}

static int p_reset(struct db_stmt *t)
{
    drop_result(PST(t));
    return DB_OK;
}

static void clear_val(struct pval *v)
{
    free(v->p);
    v->p = NULL;
    v->len = 0;
    v->type = DB_NULL;
}

static int p_clear(struct db_stmt *t)
{
    struct pstmt *s = PST(t);
    for (int i = 0; i < s->nparams; i++)
        clear_val(&s->vals[i]);
    return DB_OK;
}

static int p_finalize(struct db_stmt *t)
{
    struct pstmt *s = PST(t);
    struct pdb *db = PDB(t->db);
    drop_result(s);
    p_clear(t);
    /* free the server's copy; not inside an aborted transaction (refused) */
    forget_server_copy(db, s);
    if (s->prev)
        s->prev->next = s->next;
    else
        db->stmts = s->next;
    if (s->next)
        s->next->prev = s->prev;
    free(s->vals);
    free(s->types);
    free(s->fixed);
    free(s->keep);
    free(s->pgsql);
    free(s->sql);
    free(s);
    return DB_OK;
}

static const char *p_sql(struct db_stmt *t) { return PST(t)->sql; }
static bool p_busy(struct db_stmt *t) { return PST(t)->state == ST_ROWS; }

static struct db_stmt *p_next(struct db *d, struct db_stmt *after)
{
    struct pstmt *n = after ? PST(after)->next : PDB(d)->stmts;
    return n ? &n->base : NULL;
}

/* ---- binding ----------------------------------------------------------- */

static struct pval *slot(struct db_stmt *t, int i)
{
    struct pstmt *s = PST(t);
    if (i < 1 || i > s->nparams) {
        set_err(PDB(t->db), DB_RANGE, "bind index out of range");
        return NULL;
    }
    if (s->state != ST_IDLE)
        drop_result(s);         /* SQLite: MISUSE while busy; a rebind after DONE is fine */
    clear_val(&s->vals[i - 1]);
    return &s->vals[i - 1];
}

static int p_bind_int64(struct db_stmt *t, int i, int64_t v)
{
    struct pval *p = slot(t, i);
    if (!p)
        return DB_RANGE;
    p->type = DB_INTEGER;
    p->i64 = v;
    return DB_OK;
}

static int p_bind_double(struct db_stmt *t, int i, double v)
{
    struct pval *p = slot(t, i);
    if (!p)
        return DB_RANGE;
    p->type = DB_FLOAT;
    if (isnan(v))
        snprintf(p->num, sizeof p->num, "NaN");
    else if (isinf(v))
        snprintf(p->num, sizeof p->num, v > 0 ? "Infinity" : "-Infinity");
    else
        snprintf(p->num, sizeof p->num, "%.17g", v);
    return DB_OK;
}

static int bind_bytes(struct db_stmt *t, int i, const void *b, int len, int type)
{
    struct pval *p = slot(t, i);
    if (!p)
        return DB_RANGE;
    if (!b && type == DB_TEXT)
        return DB_OK;                           /* NULL text: SQL NULL */
    if (len < 0)
        len = type == DB_TEXT ? (int)strlen(b) : 0;
    char *to = p->num;            /* a short one needs no allocation */
    if ((size_t)len >= sizeof p->num && !(to = p->p = malloc((size_t)len + 1)))
        return DB_NOMEM;
    if (len)
        memcpy(to, b, (size_t)len);
    to[len] = '\0';
    p->len = len;
    p->type = type;
    return DB_OK;
}

static int p_bind_text(struct db_stmt *t, int i, const char *s, int len, int keep)
{
    (void)keep;                                 /* always copied */
    return bind_bytes(t, i, s, len, DB_TEXT);
}

static int p_bind_blob(struct db_stmt *t, int i, const void *b, int len, int keep)
{
    (void)keep;
    if (!b) {                                   /* SQLite: a NULL blob is NULL */
        struct pval *p = slot(t, i);
        return p ? DB_OK : DB_RANGE;
    }
    return bind_bytes(t, i, b, len, DB_BLOB);
}

static int p_bind_null(struct db_stmt *t, int i)
{
    return slot(t, i) ? DB_OK : DB_RANGE;
}

/* ---- columns ----------------------------------------------------------- */

static bool have_cell(struct pstmt *s, int i)
{
    return s->res && s->row >= 0 && s->row < s->nrows && i >= 0 && i < s->ncols;
}

static int p_col_count(struct db_stmt *t)
{
    struct pstmt *s = PST(t);
    return s->res ? s->ncols : 0;
}

static int p_col_type(struct db_stmt *t, int i)
{
    struct pstmt *s = PST(t);
    if (!have_cell(s, i) || PQgetisnull(s->res, s->row, i))
        return DB_NULL;
    switch (PQftype(s->res, i)) {
    case OID_INT2: case OID_INT4: case OID_INT8: case OID_OID: case OID_BOOL:
        return DB_INTEGER;
    case OID_FLOAT4: case OID_FLOAT8:
        return DB_FLOAT;
    case OID_NUMERIC: {
        const char *v = PQgetvalue(s->res, s->row, i);
        return strchr(v, '.') || strchr(v, 'N') ? DB_FLOAT : DB_INTEGER;
    }
    case OID_BYTEA:
        return DB_BLOB;
    default:
        return DB_TEXT;
    }
}

static const char *raw(struct pstmt *s, int i)
{
    if (!have_cell(s, i) || PQgetisnull(s->res, s->row, i))
        return NULL;
    return PQgetvalue(s->res, s->row, i);
}

static bool is_bool(struct pstmt *s, int i) { return PQftype(s->res, i) == OID_BOOL; }

static int64_t p_col_int64(struct db_stmt *t, int i)
{
    struct pstmt *s = PST(t);
    const char *v = raw(s, i);
    if (!v)
        return 0;
    if (is_bool(s, i))
        return v[0] == 't';
    Oid ty = PQftype(s->res, i);
    if (ty == OID_FLOAT4 || ty == OID_FLOAT8 || (ty == OID_NUMERIC && strchr(v, '.'))) {
        double dv = strtod(v, NULL);
        if (!(dv == dv))
            return 0;
        if (dv >= 9223372036854775807.0)
            return INT64_MAX;
        if (dv <= -9223372036854775808.0)
            return INT64_MIN;
        return (int64_t)dv;
    }
    return strtoll(v, NULL, 10);
}

static double p_col_double(struct db_stmt *t, int i)
{
    struct pstmt *s = PST(t);
    const char *v = raw(s, i);
    if (!v)
        return 0.0;
    if (is_bool(s, i))
        return v[0] == 't' ? 1.0 : 0.0;
    return strtod(v, NULL);
}

/* A bytea cell as bytes (NUL-terminated too), kept until the next step. */
static const unsigned char *bytea_cell(struct pstmt *s, int i, size_t *len)
{
    if (!s->cells[i]) {
        size_t n = 0;
        unsigned char *u = PQunescapeBytea((const unsigned char *)PQgetvalue(s->res, s->row, i),
                                           &n);
        if (!u)
            return NULL;
        /* room for a terminating NUL, as sqlite3_column_text gives */
        unsigned char *c = malloc(n + 1);
        if (!c) {
            PQfreemem(u);
            return NULL;
        }
        memcpy(c, u, n);
        c[n] = '\0';
        PQfreemem(u);
        s->cells[i] = c;
        s->cell_len[i] = n;
    }
    *len = s->cell_len[i];
    return s->cells[i];
}

static const unsigned char *p_col_text(struct db_stmt *t, int i)
{
    struct pstmt *s = PST(t);
    const char *v = raw(s, i);
    if (!v)
        return NULL;
    if (is_bool(s, i))
        return (const unsigned char *)(v[0] == 't' ? "1" : "0");
    if (PQftype(s->res, i) == OID_BYTEA) {
        size_t n;
        return bytea_cell(s, i, &n);
    }
    return (const unsigned char *)v;
}

static const void *p_col_blob(struct db_stmt *t, int i)
{
    struct pstmt *s = PST(t);
    const char *v = raw(s, i);
    if (!v)
        return NULL;
    if (PQftype(s->res, i) == OID_BYTEA) {
        size_t n;
        const unsigned char *b = bytea_cell(s, i, &n);
        return n ? b : NULL;            /* SQLite: a zero-length blob is NULL */
    }
    return p_col_text(t, i);
}

static int p_col_bytes(struct db_stmt *t, int i)
{
    struct pstmt *s = PST(t);
    const char *v = raw(s, i);
    if (!v)
        return 0;
    if (is_bool(s, i))
        return 1;
    if (PQftype(s->res, i) == OID_BYTEA) {
        size_t n = 0;
        bytea_cell(s, i, &n);
        return (int)n;
    }
    return PQgetlength(s->res, s->row, i);
}

/* ---- whole scripts ----------------------------------------------------- */

/* One statement of a script outside a transaction: alone, as SQLite runs
 * it (its own autocommit; CREATE DATABASE and the like refuse a block), and
 * the others told when it changed something. */
static int run_alone(struct pdb *db, const char *sql)
{
    PGresult *res = PQexec(db->c, sql);
    if (!res_ok(res))
        return fail(db, res);
    const char *cmd = PQcmdStatus(res);
    bool changed = false;
    if (is_write_status(cmd)) {
        db->changes = strtoll(PQcmdTuples(res), NULL, 10);
        changed = db->changes > 0;
    } else {
        changed = strncmp(cmd, "CREATE", 6) == 0 || strncmp(cmd, "ALTER", 5) == 0 ||
                  strncmp(cmd, "DROP", 4) == 0;
    }
    PQclear(res);
    db->errcode = DB_OK;
    if (changed)
        after_write(db);
    return DB_OK;
}

/* Splits sql at top-level ';' and runs each piece: transaction control
 * through control(); inside a transaction, runs of plain statements in one
 * round trip; outside one, each alone. */
static int p_exec(struct db *d, const char *sql, char **err)
{
    struct pdb *db = PDB(d);
    if (PQstatus(db->c) != CONNECTION_OK) {
        set_err(db, DB_LOST, "the connection to the database is lost");
        if (err)
            *err = strdup(db->errmsg);
        return DB_LOST;
    }
    char *buf = strdup(sql);
    if (!buf)
        return DB_NOMEM;
    int rc = DB_OK;
    char *p = buf, *run_start = NULL;
    for (;;) {
        char *e = p;                    /* the end of this statement */
        while (*e && *e != ';') {
            size_t q = skip_quoted(e);
            e += q ? q : 1;
        }
        bool last = *e == '\0';
        bool empty = *first_word(p) == '\0' || *first_word(p) == ';';
        enum stmt_kind k = empty ? SK_SQL : classify(p);
        bool batch = !empty && k == SK_SQL &&
                     PQtransactionStatus(db->c) == PQTRANS_INTRANS;
        if (run_start && !batch && !empty) {    /* flush the run before this one */
            char c0 = *p;
            *p = '\0';
            rc = run(db, run_start);
            *p = c0;
            run_start = NULL;
            if (rc != DB_OK)
                break;
            db->wrote = true;
        }
        if (batch) {
            if (!run_start)
                run_start = p;
        } else if (!empty) {
            char c0 = *e;
            *e = '\0';
            rc = k == SK_SQL ? run_alone(db, p) : control(db, k, p);
            *e = c0;
            if (rc != DB_OK)
                break;
        }
        if (last)
            break;
        p = e + 1;
    }
    if (rc == DB_OK && run_start) {
        rc = run(db, run_start);
        if (rc == DB_OK)
            db->wrote = true;
    }
    free(buf);
    if (rc != DB_OK && err)
        *err = strdup(db->errmsg);
    return rc;
}

/* ---- the rest of db.h -------------------------------------------------- */

static int p_errcode(struct db *d) { return PDB(d)->errcode; }
static const char *p_errmsg(struct db *d)
{
    struct pdb *db = PDB(d);
    return db->errcode == DB_OK ? "not an error" : db->errmsg;
}
static int64_t p_changes(struct db *d) { return PDB(d)->changes; }

static int64_t query_int(struct pdb *db, const char *sql, int *rc)
{
    PGresult *res = PQexec(db->c, sql);
    if (!res_ok(res)) {
        *rc = fail(db, res);
        return 0;
    }
    if (PQntuples(res) < 1 || PQnfields(res) < 1) {
        PQclear(res);
        set_err(db, DB_ERROR, "no row");
        *rc = DB_ERROR;
        return 0;
    }
    const char *v = PQgetvalue(res, 0, 0);
    int64_t out = v[0] == 't' ? 1 : v[0] == 'f' ? 0 : strtoll(v, NULL, 10);
    PQclear(res);
    *rc = DB_OK;
    return out;
}

static int64_t p_last_rowid(struct db *d)
{
    struct pdb *db = PDB(d);
    int rc;
    if (db->lastval_gen == db->gen)
        return query_int(db, "SELECT lastval()", &rc);
    /* lastval() fails until this session has used a sequence: under a
     * savepoint inside a transaction, so the failure does not abort it */
    bool in_txn = PQtransactionStatus(db->c) == PQTRANS_INTRANS;
    if (in_txn && run(db, "SAVEPOINT vigil_lastval") != DB_OK)
        return 0;
    int64_t v = query_int(db, "SELECT lastval()", &rc);
    if (rc == DB_OK)
        db->lastval_gen = db->gen;
    if (in_txn && rc != DB_LOST)
        run(db, rc == DB_OK ? "RELEASE SAVEPOINT vigil_lastval"
                            : "ROLLBACK TO SAVEPOINT vigil_lastval;"
                              "RELEASE SAVEPOINT vigil_lastval");
    return rc == DB_OK ? v : 0;
}

static bool p_autocommit(struct db *d)
{
    PGTransactionStatusType ts = PQtransactionStatus(PDB(d)->c);
    return ts == PQTRANS_IDLE || ts == PQTRANS_UNKNOWN;
}

static int p_reconnect(struct db *d)
{
    struct pdb *db = PDB(d);
    if (PQstatus(db->c) == CONNECTION_OK) {
        /* a connection that looks fine: ask it */
        PGresult *res = PQexec(db->c, "SELECT 1");
        bool ok = res_ok(res);
        PQclear(res);
        if (ok)
            return DB_OK;
    }
    for (struct pstmt *s = db->stmts; s; s = s->next)
        drop_result(s);
    PQreset(db->c);
    db->write_txn = db->wrote = false;
    if (PQstatus(db->c) != CONNECTION_OK) {
        char m[sizeof db->errmsg];
        snprintf(m, sizeof m, "cannot connect to %s: %s", db->shown, PQerrorMessage(db->c));
        set_err(db, DB_LOST, m);
        return DB_LOST;
    }
    db->gen++;                  /* every statement prepared again at its next step */
    db->errcode = DB_OK;
    return DB_OK;
}

static int p_data_version(struct db *d, int64_t *out)
{
    struct pdb *db = PDB(d);
    *out = db->notices;
    if (PQstatus(db->c) != CONNECTION_OK) {
        set_err(db, DB_LOST, "the connection to the database is lost");
        return DB_LOST;
    }
    if (db->listen_gen != db->gen) {
        int rc = run(db, "LISTEN vigil_changes");
        if (rc != DB_OK)
            return rc;
        if (db->listen_gen != 0)
            db->notices++;      /* reconnected: what happened meanwhile is unknown */
        db->listen_gen = db->gen;
    }
    if (!PQconsumeInput(db->c)) {
        set_err(db, PQstatus(db->c) == CONNECTION_BAD ? DB_LOST : DB_ERROR,
                PQerrorMessage(db->c));
        return db->errcode;
    }
    int self = PQbackendPID(db->c);
    PGnotify *n;
    while ((n = PQnotifies(db->c)) != NULL) {
        if (n->be_pid != self)
            db->notices++;
        PQfreemem(n);
    }
    *out = db->notices;
    return DB_OK;
}

static int p_notify_fd(struct db *d) { return PQsocket(PDB(d)->c); }

static uint32_t name_key(const char *s)
{
    uint32_t h = 2166136261u;           /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static int p_try_leader(struct db *d, const char *what, bool *leader)
{
    struct pdb *db = PDB(d);
    *leader = false;
    if (PQstatus(db->c) != CONNECTION_OK) {
        set_err(db, DB_LOST, "the connection to the database is lost");
        return DB_LOST;
    }
    struct leader *l = NULL;
    for (size_t i = 0; i < db->nleaders; i++)
        if (strcmp(db->leaders[i].name, what) == 0)
            l = &db->leaders[i];
    if (l && l->gen == db->gen) {
        *leader = true;         /* a session lock is kept while the connection lives */
        return DB_OK;
    }
    if (!l) {
        struct leader *nl = realloc(db->leaders, (db->nleaders + 1) * sizeof *nl);
        if (!nl)
            return DB_NOMEM;
        db->leaders = nl;
        l = &nl[db->nleaders];
        if (!(l->name = strdup(what)))
            return DB_NOMEM;
        l->gen = 0;
        db->nleaders++;
    }
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT pg_try_advisory_lock(%d, %d)", (int)LEADER_CLASS,
             (int)(int32_t)name_key(what));
    int rc;
    int64_t got = query_int(db, sql, &rc);
    if (rc != DB_OK)
        return rc;
    if (got) {
        l->gen = db->gen;
        *leader = true;
    }
    return DB_OK;
}

static int p_user_version(struct db *d, int *out)
{
    struct pdb *db = PDB(d);
    int rc;
    *out = 0;
    int64_t there = query_int(db, "SELECT to_regclass('vigil_schema') IS NOT NULL", &rc);
    if (rc != DB_OK || !there)
        return rc;
    int64_t v = query_int(db, "SELECT version FROM vigil_schema", &rc);
    if (rc == DB_OK)
        *out = (int)v;
    return rc;
}

static int p_set_user_version(struct db *d, int v)
{
    char sql[320];
    snprintf(sql, sizeof sql,
             "CREATE TABLE IF NOT EXISTS vigil_schema ("
             " one BOOLEAN PRIMARY KEY DEFAULT true CHECK (one), version INTEGER NOT NULL);"
             "INSERT INTO vigil_schema (version) VALUES (%d)"
             " ON CONFLICT (one) DO UPDATE SET version = excluded.version", v);
    struct pdb *db = PDB(d);
    int rc = run(db, sql);
    if (rc == DB_OK)
        after_write(db);
    return rc;
}

static struct sqlite3 *p_handle(struct db *d) { (void)d; return NULL; }

static void p_close(struct db *d)
{
    struct pdb *db = PDB(d);
    while (db->stmts)
        p_finalize(&db->stmts->base);
    PQfinish(db->c);
    for (size_t i = 0; i < db->nleaders; i++)
        free(db->leaders[i].name);
    free(db->leaders);
    free(db);
}

static const struct db_ops pg_ops = {
    .close = p_close, .prepare = p_prepare, .step = p_step, .reset = p_reset,
    .clear_bindings = p_clear, .finalize = p_finalize, .sql = p_sql, .stmt_busy = p_busy,
    .next_stmt = p_next,
    .bind_int64 = p_bind_int64, .bind_double = p_bind_double, .bind_text = p_bind_text,
    .bind_blob = p_bind_blob, .bind_null = p_bind_null,
    .column_count = p_col_count, .column_type = p_col_type, .column_int64 = p_col_int64,
    .column_double = p_col_double, .column_text = p_col_text, .column_blob = p_col_blob,
    .column_bytes = p_col_bytes,
    .exec = p_exec, .errcode = p_errcode, .errmsg = p_errmsg, .changes = p_changes,
    .last_insert_rowid = p_last_rowid, .get_autocommit = p_autocommit,
    .reconnect = p_reconnect, .data_version = p_data_version, .notify_fd = p_notify_fd,
    .try_leader = p_try_leader, .user_version = p_user_version,
    .set_user_version = p_set_user_version, .sqlite_handle = p_handle,
};

static void quiet(void *arg, const char *message)
{
    (void)arg;                  /* NOTICEs ("relation exists, skipping"): not for stderr */
    (void)message;
}

int db_pg_open(const char *uri, unsigned flags, struct db **out, char *msg, size_t cap)
{
    (void)flags;                /* the database is made by its administrator */
    *out = NULL;
    struct pdb *db = calloc(1, sizeof *db);
    if (!db) {
        snprintf(msg, cap, "out of memory");
        return DB_NOMEM;
    }
    db_uri_redact(uri, db->shown, sizeof db->shown);
    const char *const keys[] = { "dbname", "fallback_application_name", NULL };
    const char *const vals[] = { uri, "vigil", NULL };
    db->c = PQconnectdbParams(keys, vals, 1);
    if (!db->c || PQstatus(db->c) != CONNECTION_OK) {
        const char *e = db->c ? PQerrorMessage(db->c) : "out of memory";
        bool missing = strstr(e, "does not exist") != NULL && strstr(e, "database") != NULL;
        snprintf(msg, cap, "cannot connect to store %s: %.*s", db->shown,
                 (int)strcspn(e, "\n"), e);
        PQfinish(db->c);
        free(db);
        return missing ? DB_NOTFOUND : DB_CANTOPEN;
    }
    PQsetNoticeProcessor(db->c, quiet, NULL);
    db->base.ops = &pg_ops;
    db->base.kind = DB_KIND_PG;
    db->base.created = false;
    db->gen = 1;
    *out = &db->base;
    return DB_OK;
}

#endif
