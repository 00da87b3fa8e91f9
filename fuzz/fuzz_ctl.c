/*
 * fuzz_ctl.c — libFuzzer target for vigil-station's control-socket requests
 * (the operators' actions that vigil-console and `vigil` send): the request
 * parsing and everything behind it in station/store_actions.c — parse_request
 * and create_account (static, reached by including the .c file, the way
 * Mosquitto's unit tests reach static functions), the alarm engine's verdict
 * (alm_decide) and the SQL that writes it — against an in-memory SQLite store
 * made by stn_schema_migrate and filled with accounts and alarms in every
 * state (new, escalated, taken, dispatched with a dispatch record, closed,
 * an unknown account's).
 *
 * Why here and not console/actions.c: the console's field checks are ~80
 * lines of jansson lookups in front of an MHD connection; every body they
 * accept becomes one of these requests, and the station — which decides and
 * writes — must hold against any request line on its socket (`vigil` and any
 * local process with access to it send them too).
 *
 * Input: byte 0 = flags (bit 0: run the take-lease check too, with operators
 * "alice" present and "bob" gone), then up to 8 request lines separated by
 * '\n', each handed to the worker as one control request; the whole job runs
 * in a transaction rolled back afterwards, so every input meets the same store.
 *
 * Aborts (besides ASan/UBSan) when: stn_actstore_run fails the job (a failure
 * that would lose the whole batch — frames included — for one bad request);
 * a reply is not one JSON object {"ok":true} or {"ok":false,"code":KNOWN,
 * "error":TEXT}; PRAGMA foreign_key_check finds a row afterwards; a closed
 * alarm has no disposition or no closing time.
 */
#include "../station/store_actions.c"

#include <sqlite3.h>

#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)
#define MAX_REQ 8u
#define NOW_MS 1795698568000LL

static struct db *db;     /* the store's interface (station/db.h) */
static sqlite3 *raw;       /* the same connection, for the checks */
static struct stn_actstore *as;

static const char seed_sql[] =
    "INSERT INTO accounts (id, number, name, address, agency, permit, created_at_ms, updated_at_ms)"
    " VALUES (1, '1234', 'Casa Rossi', 'Via Roma 1', 'PD Nord', 'P-77', 0, 0),"
    "        (2, '5678', 'Bar Centrale', 'Piazza 2', NULL, NULL, 0, 0);"
    "UPDATE accounts SET police_status = 'cautioned' WHERE id = 2;"
    "INSERT INTO alarms (id, account, account_id, priority, kind, state, received_at_ms,"
    "  last_event_at_ms, user, zone, taken_by, taken_at_ms, escalated_at_ms, dispatched_at_ms,"
    "  closed_at_ms, disposition) VALUES"
    " (1, '1234', 1, 1, 'duress', 'new', 1000, 1000, 3, NULL, NULL, NULL, NULL, NULL, NULL, NULL),"
    " (2, '1234', 1, 4, 'burglary', 'taken', 1000, 1000, NULL, 7, 'alice', 2000, NULL, NULL, NULL, NULL),"
    " (3, '5678', 2, 2, 'fire', 'dispatched', 1000, 1000, NULL, 2, 'alice', 2000, NULL, 3000, NULL, NULL),"
    " (4, '5678', 2, 1, 'holdup', 'escalated', 1000, 1000, NULL, 1, NULL, NULL, 1500, NULL, NULL, NULL),"
    " (5, '1234', 1, 3, 'panic', 'closed', 1000, 1000, NULL, 4, 'bob', 2000, NULL, NULL, 4000, 'test'),"
    " (6, '9999', 0, 1, 'unknown_account', 'new', 1000, 1000, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),"
    " (7, '1234', 1, 1, 'duress', 'taken', 1000, 1000, 2, NULL, 'bob', 1000, NULL, NULL, NULL, NULL);"
    "INSERT INTO alarm_steps (alarm_id, step, done_by, done_at_ms, note)"
    " VALUES (2, 'call_premises', 'alice', 2100, NULL);"
    "INSERT INTO dispatches (alarm_id, category, audible, location_category, details, operator,"
    "  call_to_premises, confirmation_method, call_to_premises_result, requested_at_ms)"
    " VALUES (3, 'Fire', 'Audible', 'Residential', 'smoke', 'alice', 1, 'None', 'no_answer', 3000);";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    stn_log_set_level(STN_LOG_ERROR + 1);   /* quiet: nothing of the requests is printed */
    char msg[256];
    CHECK(db_open(DB_KIND_SQLITE, ":memory:", DB_OPEN_CREATE, &db, msg, sizeof msg) == DB_OK);
    raw = db_sqlite_handle(db);
    if (stn_schema_migrate(db, msg, sizeof msg) != 0)
        abort();
    char *err = NULL;
    if (sqlite3_exec(raw, seed_sql, NULL, NULL, &err) != SQLITE_OK)
        abort();
    sqlite3_exec(raw, "PRAGMA foreign_keys=ON", NULL, NULL, NULL);
    CHECK(stn_actstore_open(db, &as, msg, sizeof msg) == 0);
    return 0;
}

static void check_reply(const char *reply)
{
    CHECK(memchr(reply, '\0', STN_CTL_REPLY_MAX) != NULL);
    CHECK(reply[0] != '\0');   /* "" means the store failed (answered as such) */
    json_error_t e;
    json_t *o = json_loads(reply, 0, &e);
    CHECK(json_is_object(o));
    json_t *ok = json_object_get(o, "ok");
    CHECK(json_is_boolean(ok));
    if (!json_is_true(ok)) {
        const char *code = json_string_value(json_object_get(o, "code"));
        CHECK(code != NULL);
        CHECK(strcmp(code, "invalid") == 0 || strcmp(code, "forbidden") == 0 ||
              strcmp(code, "conflict") == 0 || strcmp(code, "not_found") == 0);
        CHECK(json_is_string(json_object_get(o, "error")));
    }
    json_decref(o);
}

static int count_rows(void *ctx, int n, char **v, char **names)
{
    (void)names;
    long *cnt = ctx;
    if (n == 1 && v[0] && v[0][0] >= '0' && v[0][0] <= '9')
        *cnt += strtol(v[0], NULL, 10);   /* a count(*) */
    else
        (*cnt)++;                         /* a row of a check */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 16384)
        return 0;
    unsigned flags = data[0];
    data++;
    size--;

    static uint8_t arena[16384 + 64];
    static struct stn_ctl_req reqs[MAX_REQ];
    struct stn_job j;
    memset(&j, 0, sizeof j);
    j.arena = arena;
    j.arena_cap = sizeof arena;
    j.ctl = reqs;
    j.ctl_cap = MAX_REQ;
    j.now_ms = NOW_MS;
    memcpy(arena, data, size);
    size_t pos = 0;
    while (pos <= size && j.nctl < MAX_REQ) {
        const uint8_t *nl = memchr(data + pos, '\n', size - pos);
        size_t end = nl ? (size_t)(nl - data) : size;
        struct stn_ctl_req *q = &reqs[j.nctl++];
        memset(q, 0, sizeof *q);
        q->line_off = pos;
        q->line_len = end - pos;
        if (!nl)
            break;
        pos = end + 1;
    }
    size_t names = size + 1;
    if (flags & 1u) {
        memcpy(arena + names, "alice", 6);
        j.present_off[0] = names;
        j.npresent = 1;
        j.lease_check = true;
        j.lease_before_ms = 1500;
    }

    CHECK(sqlite3_exec(raw, "BEGIN", NULL, NULL, NULL) == SQLITE_OK);
    int rc = stn_actstore_run(as, &j);
    CHECK(rc == 0);
    for (size_t i = 0; i < j.nctl; i++)
        check_reply(reqs[i].reply);
    long bad = 0;
    CHECK(sqlite3_exec(raw, "PRAGMA foreign_key_check", count_rows, &bad, NULL) == SQLITE_OK);
    CHECK(sqlite3_exec(raw, "SELECT count(*) FROM alarms WHERE state = 'closed' AND"
                           " (disposition IS NULL OR closed_at_ms IS NULL)",
                       count_rows, &bad, NULL) == SQLITE_OK);
    CHECK(bad == 0);
    CHECK(sqlite3_exec(raw, "ROLLBACK", NULL, NULL, NULL) == SQLITE_OK);
    return 0;
}
