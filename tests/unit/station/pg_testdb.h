/*
 * pg_testdb.h — for the store's unit tests on PostgreSQL: a fresh database
 * per test on the cluster named by VIGIL_TEST_PG_URI (ctest's pg fixture),
 * dropped after it. Header-only; each test file includes it once.
 */
#ifndef VIGIL_TESTS_PG_TESTDB_H
#define VIGIL_TESTS_PG_TESTDB_H

#include "db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The cluster's URI, or NULL: the tests run on SQLite. */
static inline const char *pg_test_uri(void)
{
    const char *u = getenv("VIGIL_TEST_PG_URI");
    return u && *u ? u : NULL;
}

/* base with its database replaced by name. */
static inline void pg_test_uri_with_db(const char *base, const char *name, char *out,
                                       size_t cap)
{
    const char *auth = strstr(base, "://");
    auth = auth ? auth + 3 : base;
    size_t a = strcspn(auth, "/?");
    const char *rest = auth + a;
    if (*rest == '/')
        rest += strcspn(rest, "?");
    snprintf(out, cap, "%.*s/%s%s", (int)(auth + a - base), base, name, rest);
}

static inline int pg_test_admin(const char *sql)
{
    struct db *admin = NULL;
    char msg[512];
    if (db_open(DB_KIND_PG, pg_test_uri(), 0, &admin, msg, sizeof msg) != DB_OK) {
        fprintf(stderr, "pg test: %s\n", msg);
        return -1;
    }
    char *err = NULL;
    int rc = db_exec(admin, sql, &err);
    if (rc != DB_OK)
        fprintf(stderr, "pg test: %s: %s\n", sql, err ? err : "?");
    db_free(err);
    db_close(admin);
    return rc == DB_OK ? 0 : -1;
}

/* Makes database t_<tag>_<pid>_<n> (n counts up per call) and writes its URI
 * to out; name (cap 64) gets its name for pg_test_drop. */
static inline int pg_test_create(const char *tag, char name[64], char *out, size_t cap)
{
    static unsigned n;
    char sql[256];
    snprintf(name, 64, "t_%s_%ld_%u", tag, (long)getpid(), ++n);
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE); CREATE DATABASE %s",
             name, name);
    if (pg_test_admin(sql) != 0)
        return -1;
    pg_test_uri_with_db(pg_test_uri(), name, out, cap);
    return 0;
}

static inline int pg_test_drop(const char *name)
{
    char sql[256];
    if (!name[0])
        return 0;
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
    return pg_test_admin(sql);
}

#endif
