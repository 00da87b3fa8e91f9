/* test_audit.c — the audit chain's pieces: the hash against vectors computed by
 * an independent implementation (tests/integration/station/auditpy.py, from
 * docs/audit.md), NULL and "" hashed apart, the head file never going back,
 * and a commit-worker job whose savepoint is rolled back reporting the head it
 * really committed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include "db.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stn_internal.h"
#include "vigil/audit.h"
#include "pg_testdb.h"

/* The store of a test: dir/s.db, or with VIGIL_TEST_PG_URI (ctest's pg
 * fixture) a fresh PostgreSQL database, dropped by close_store. */
static char pgdb[64];

static void open_store(const char *dir, struct db **db)
{
    char store[512], msg[256];
    snprintf(store, sizeof store, "%s/s.db", dir);
    pgdb[0] = '\0';
    if (pg_test_uri())
        assert_int_equal(pg_test_create("audit", pgdb, store, sizeof store), 0);
    if (stn_db_open(store, db, msg, sizeof msg) != 0)
        fail_msg("%s", msg);
}

static void close_store(struct db *db)
{
    db_close(db);
    assert_int_equal(pg_test_drop(pgdb), 0);
}

static void hash_vectors(void **state)
{
    (void)state;
    char h[STN_AUDIT_HASH_HEX];
    struct stn_audit_entry a = { .at_ms = 1700000000000, .actor = "station",
                                 .kind = "station.start", .after = "{\"pid\":1}" };
    stn_audit_hash(1, &a, STN_AUDIT_GENESIS, h);
    assert_string_equal(h, "9a20fbb3e4e6c9605c26e67c02404f6309f05bd9e3f24153d531798a83353fd9");
    char prev[STN_AUDIT_HASH_HEX];
    for (int i = 0; i < 32; i++)
        memcpy(prev + 2 * i, "ab", 2);
    prev[64] = '\0';
    struct stn_audit_entry b = { .at_ms = 1700000000001, .actor = "olga", .kind = "alarm.take",
                                 .subject = "12", .before = "", .after = "{}" };
    stn_audit_hash(2, &b, prev, h);
    assert_string_equal(h, "90f8ebb063cebc58b4abe6947026feb9fb0fd8780cd9850230aa715cf58adcf9");
    b.before = NULL;   /* NULL is not "": they hash apart */
    stn_audit_hash(2, &b, prev, h);
    assert_string_equal(h, "daf5b0ce8cc72f635fa65f2d25ce47580aceb02e9fd741bb5f609ec0417d6d2e");
}

static void head_never_goes_back(void **state)
{
    (void)state;
    char dir[] = "/tmp/stn-audit-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char store[64];
    snprintf(store, sizeof store, "%s/s.db", dir);
    int64_t seq = 0;
    char h[STN_AUDIT_HASH_HEX];
    assert_int_equal(stn_audit_head_read(store, &seq, h), -ENOENT);
    const char *h5 = "5555555555555555555555555555555555555555555555555555555555555555";
    const char *h3 = "3333333333333333333333333333333333333333333333333333333333333333";
    /* a missing head file is created for entry 1 only: a head file removed
     * later is evidence, never recreated */
    assert_int_equal(stn_audit_head_write(store, 5, h5), -ENOENT);
    assert_int_equal(stn_audit_head_read(store, &seq, h), -ENOENT);
    assert_int_equal(stn_audit_head_write(store, 1, h3), 0);
    assert_int_equal(stn_audit_head_write(store, 5, h5), 0);
    assert_int_equal(stn_audit_head_write(store, 3, h3), 0);   /* a late writer: ignored */
    assert_int_equal(stn_audit_head_read(store, &seq, h), 0);
    assert_int_equal(seq, 5);
    assert_string_equal(h, h5);
    assert_int_equal(stn_audit_head_write(":memory:", 9, h3), 0);   /* no file for it */
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* An entry appended inside a savepoint that is rolled back is not the head:
 * the worker reads the head back before COMMIT (store_worker.c). */
static void rolled_back_entry_is_not_the_head(void **state)
{
    (void)state;
    struct db *db;
    char dir[] = "/tmp/stn-audit-XXXXXX";
    assert_non_null(mkdtemp(dir));
    open_store(dir, &db);
    assert_int_equal(db_exec(db, "BEGIN IMMEDIATE", NULL), DB_OK);
    struct stn_job j;
    memset(&j, 0, sizeof j);
    struct stn_audit_entry e = { .at_ms = 1, .actor = "station", .kind = "alarm.opened",
                                 .subject = "1" };
    assert_int_equal(stn_audit_job(db, &j, &e), 0);
    assert_int_equal(db_exec(db, "SAVEPOINT ctl", NULL), DB_OK);
    e.kind = "alarm.take";
    assert_int_equal(stn_audit_job(db, &j, &e), 0);
    assert_int_equal(db_exec(db, "ROLLBACK TO ctl; RELEASE ctl", NULL), DB_OK);
    int64_t seq = 0;
    char h[STN_AUDIT_HASH_HEX], want[STN_AUDIT_HASH_HEX];
    assert_int_equal(stn_audit_last(db, &seq, h), 0);
    assert_int_equal(seq, 1);
    e.kind = "alarm.opened";
    stn_audit_hash(1, &e, STN_AUDIT_GENESIS, want);
    assert_string_equal(h, want);
    /* the next append links to entry 1, not to the one rolled back */
    e.kind = "alarm.release";
    int64_t s2 = 0;
    char h2[STN_AUDIT_HASH_HEX];
    assert_int_equal(stn_audit_append(db, &e, &s2, h2), 0);
    assert_int_equal(s2, 2);
    stn_audit_hash(2, &e, want, want);
    assert_string_equal(h2, want);
    assert_int_equal(db_exec(db, "COMMIT", NULL), DB_OK);
    /* the table refuses edits */
    assert_int_not_equal(db_exec(db, "UPDATE audit SET actor='x' WHERE seq=1", NULL), DB_OK);
    assert_int_not_equal(db_exec(db, "DELETE FROM audit", NULL), DB_OK);
    stn_audit_forget(db);
    assert_null(db_next_stmt(db, NULL));   /* no statement left behind */
    close_store(db);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* A broken audit table never fails the batch (a duress's frames and the
 * actions on it must not wait on the trail): the entry is rolled back
 * alone and counted. */
static void broken_table_never_fails_the_batch(void **state)
{
    (void)state;
    struct db *db;
    char dir[] = "/tmp/stn-audit-XXXXXX";
    assert_non_null(mkdtemp(dir));
    open_store(dir, &db);
    assert_int_equal(db_exec(db, "DROP TABLE audit; CREATE TABLE audit (x BIGINT);"
                                  "CREATE TABLE t (v BIGINT)", NULL), DB_OK);
    assert_int_equal(db_exec(db, "BEGIN IMMEDIATE; INSERT INTO t VALUES (1)", NULL), DB_OK);
    struct stn_job j;
    memset(&j, 0, sizeof j);
    struct stn_audit_entry e = { .at_ms = 1, .actor = "station", .kind = "alarm.opened" };
    assert_int_equal(stn_audit_job(db, &j, &e), 0);
    assert_int_equal(j.audit_failed, 1);
    assert_false(j.audited);
    assert_int_equal(db_exec(db, "INSERT INTO t VALUES (2); COMMIT", NULL),
                     DB_OK);
    struct db_stmt *s;
    assert_int_equal(db_prepare(db, "SELECT count(*) FROM t", &s), DB_OK);
    assert_int_equal(db_step(s), DB_ROW);
    assert_int_equal(db_column_int(s, 0), 2);   /* the batch's own rows committed */
    db_finalize(s);
    stn_audit_forget(db);
    assert_null(db_next_stmt(db, NULL));
    close_store(db);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hash_vectors),
        cmocka_unit_test(head_never_goes_back),
        cmocka_unit_test(rolled_back_entry_is_not_the_head),
        cmocka_unit_test(broken_table_never_fails_the_batch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
