/*
 * store_setup.c — assisted duress set-up (docs/DURESS.md "Assisted set-up",
 * docs/console.md "Set-up sessions", docs/station.md "Test mode"):
 *
 * - the control requests setup_open, setup_close, test_on, test_off, run by
 *   the commit worker in the batch's transaction (each in its own savepoint,
 *   each decided or refused, and recorded in the audit trail);
 * - the end of a session or of a test mode at its stored time, checked by
 *   the station every tick (so a restart keeps the bound: the end time is in
 *   the store, never only in memory);
 * - the read side: a session as the console shows it — the panel's
 *   programming reports (SIA YG) since it opened, turned into a result and a
 *   rule, and the alarms of the account since it opened, with their delivery
 *   time and whether their plan has a dispatch step.
 *
 * Must never: show or log a code's digits (only the panel's report, which
 * holds none, parsed into slot / rule / colliding slot), leave an account
 * on test without an end time, or touch an alarm of another account.
 */
#include "stn_internal.h"
#include "vigil/alarm.h"
#include "vigil/audit.h"
#include "vigil/station.h"

#include <ctype.h>
#include <stdarg.h>
#include <jansson.h>
#include "db.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- small helpers --------------------------------------------------- */

static const char *sval(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static int run(struct db *db, const char *sql)
{
    return db_exec(db, sql, NULL);
}

static void reply(struct stn_ctl_req *q, json_t *o)
{
    char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
    if (t && strlen(t) < sizeof q->reply)
        memcpy(q->reply, t, strlen(t) + 1);
    else
        snprintf(q->reply, sizeof q->reply, "{\"ok\":false,\"code\":\"busy\",\"error\":\"reply too long\"}");
    free(t);
    json_decref(o);
}

static void refuse(struct stn_ctl_req *q, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void refuse(struct stn_ctl_req *q, const char *code, const char *fmt, ...)
{
    char msg[240];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    reply(q, json_pack("{s:b,s:s,s:s}", "ok", 0, "code", code, "error", msg));
}

/* Appends one entry in the job's transaction (after/before: taken). */
static int audit(struct db *db, struct stn_job *j, const char *actor, const char *kind,
                 const char *subject, json_t *before, json_t *after)
{
    char *bt = before ? json_dumps(before, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    char *at = after ? json_dumps(after, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    int rc = DB_NOMEM;
    if ((!before || bt) && (!after || at)) {
        struct stn_audit_entry e = { .at_ms = j->now_ms, .actor = actor, .kind = kind,
                                     .subject = subject, .before = bt, .after = at };
        rc = stn_audit_job(db, j, &e);
    }
    json_decref(before);
    json_decref(after);
    free(bt);
    free(at);
    return rc;
}

/* ---- the panel's programming reports --------------------------------- */

static const struct { const char *name, *means; } rules[9] = {
    [1] = { "equal", "the same code as" },
    [2] = { "one edit", "one digit changed, two neighbours swapped, or one digit added or "
                        "dropped from" },
    [3] = { "prefix/suffix", "starts or ends" },
    [4] = { "numeric", "within 2 (numerically) of" },
    [5] = { "twin", "one doubled pair replaced by another in" },
    [6] = { "same digits", "the same digits reordered as" },
    [7] = { "same keys", "the same key presses (two digits per key) as" },
    [8] = { "weak", "too easy to guess (repeated digit, run, keypad line, year or common PIN)" },
};

/* A YG report's text (as the panel sent it: never digits of a code) into
 * result, code type, rule and colliding slot; the text itself is not passed
 * on (only what it was parsed into). */
static json_t *report_obj(const char *text, int slot, bool has_slot, int64_t at_ms,
                          int64_t event_id)
{
    char at[32];
    stn_iso8601_ms(at_ms, at);
    const char *t = text ? text : "";
    const char *code = strncmp(t, "duress code", 11) == 0 ? "duress"
                       : strncmp(t, "user code", 9) == 0  ? "user"
                                                          : NULL;
    const char *result = strstr(t, "refused")      ? "refused"
                         : strstr(t, "programmed") ? "programmed"
                         : strstr(t, "deleted")    ? "deleted"
                                                   : "other";
    int rule = 0, with = -1;
    /* "refused R2 one-edit slot 1", "programmed (R8 weak)" */
    for (const char *r = strchr(t, 'R'); r && !rule; r = strchr(r + 1, 'R'))
        if (r > t && (r[-1] == ' ' || r[-1] == '(') && r[1] >= '1' && r[1] <= '8' &&
            !isdigit((unsigned char)r[2]))
            rule = r[1] - '0';
    const char *w = strstr(t, " slot ");
    if (w && rule && rule != 8)
        with = atoi(w + 6);
    json_t *o = json_pack("{s:I,s:s,s:s,s:o,s:o}", "event", (json_int_t)event_id, "at", at,
                          "result", result, "code", code ? json_string(code) : json_null(),
                          "slot", has_slot ? json_integer(slot) : json_null());
    if (!o)
        return NULL;
    char say[300];
    if (rule) {
        char rn[4];
        snprintf(rn, sizeof rn, "R%d", rule);
        json_object_set_new(o, "rule", json_string(rn));
        json_object_set_new(o, "rule_name", json_string(rules[rule].name));
        json_object_set_new(o, "colliding_slot", with >= 0 ? json_integer(with) : json_null());
        if (rule == 8)
            snprintf(say, sizeof say, "%s: the code is %s", rn, rules[rule].means);
        else if (with >= 0)
            snprintf(say, sizeof say, "%s %s: the code is %s the code in slot %d", rn,
                     rules[rule].name, rules[rule].means, with);
        else
            snprintf(say, sizeof say, "%s %s", rn, rules[rule].name);
        json_object_set_new(o, "rule_text", json_string(say));
    } else {
        json_object_set_new(o, "rule", json_null());
    }
    if (strcmp(result, "refused") == 0)
        snprintf(say, sizeof say, "%s code REFUSED", code ? code : "a");
    else if (strcmp(result, "programmed") == 0 && rule == 8)
        snprintf(say, sizeof say, "%s code programmed (warned: R8 weak)", code ? code : "a");
    else if (strcmp(result, "programmed") == 0)
        snprintf(say, sizeof say, "%s code programmed", code ? code : "a");
    else if (strcmp(result, "deleted") == 0)
        snprintf(say, sizeof say, "code deleted");
    else
        snprintf(say, sizeof say, "programming report");
    say[0] = (char)toupper((unsigned char)say[0]);
    json_object_set_new(o, "summary", json_string(say));
    return o;
}

/* ---- the result of a session, for its setup.close entry -------------- */

static json_t *session_result(struct db *db, const char *account, int64_t from_ms, int64_t to_ms)
{
    json_t *res = json_pack("{s:[],s:[],s:[]}", "programmed", "refused", "test_signals");
    struct db_stmt *st;
    if (!res)
        return NULL;
    if (db_prepare(db, "SELECT sia_text, sia_zone, received_at_ms, id FROM events"
                           " WHERE account=? AND sia_code='YG' AND received_at_ms>=?"
                           " AND received_at_ms<=? ORDER BY id LIMIT 200", &st) == DB_OK) {
        db_bind_text(st, 1, account, -1, DB_TRANSIENT);
        db_bind_int64(st, 2, from_ms);
        db_bind_int64(st, 3, to_ms);
        while (db_step(st) == DB_ROW) {
            json_t *r = report_obj((const char *)db_column_text(st, 0),
                                   db_column_int(st, 1),
                                   db_column_type(st, 1) != DB_NULL,
                                   db_column_int64(st, 2), db_column_int64(st, 3));
            const char *what = json_string_value(json_object_get(r, "result"));
            if (what && strcmp(what, "programmed") == 0)
                json_array_append(json_object_get(res, "programmed"), json_object_get(r, "slot"));
            else if (what && strcmp(what, "refused") == 0)
                json_array_append_new(json_object_get(res, "refused"),
                    json_pack("{s:O,s:O}", "rule", json_object_get(r, "rule"),
                              "colliding_slot", json_object_get(r, "colliding_slot")));
            json_decref(r);
        }
        db_finalize(st);
    }
    if (db_prepare(db, "SELECT id FROM alarms WHERE account=? AND test=1"
                           " AND received_at_ms>=? AND received_at_ms<=? ORDER BY id LIMIT 50", &st) == DB_OK) {
        db_bind_text(st, 1, account, -1, DB_TRANSIENT);
        db_bind_int64(st, 2, from_ms);
        db_bind_int64(st, 3, to_ms);
        while (db_step(st) == DB_ROW)
            json_array_append_new(json_object_get(res, "test_signals"),
                                  json_integer(db_column_int64(st, 0)));
        db_finalize(st);
    }
    return res;
}

/* ---- writes: test mode ----------------------------------------------- */

static int account_exists(struct db *db, const char *number, int64_t *test_until)
{
    struct db_stmt *st;
    if (db_prepare(db, "SELECT coalesce(test_until_ms, 0) FROM accounts WHERE number=?", &st) != DB_OK)
        return -1;
    db_bind_text(st, 1, number, -1, DB_TRANSIENT);
    int rc = db_step(st);
    if (rc == DB_ROW && test_until)
        *test_until = db_column_int64(st, 0);
    db_finalize(st);
    return rc == DB_ROW ? 1 : rc == DB_DONE ? 0 : -1;
}

/* Ends an account's test mode (if on): row and audit entry. */
static int test_end(struct db *db, struct stn_job *j, const char *account, const char *actor,
                    const char *reason, bool *was_on)
{
    struct db_stmt *st;
    *was_on = false;
    int64_t until = 0;
    if (account_exists(db, account, &until) < 0)
        return db_errcode(db);
    if (!until)
        return 0;
    if (db_prepare(db, "UPDATE accounts SET test_until_ms=NULL, updated_at_ms=?2"
                           " WHERE number=?1", &st) != DB_OK)
        return db_errcode(db);
    db_bind_text(st, 1, account, -1, DB_TRANSIENT);
    db_bind_int64(st, 2, j->now_ms);
    int rc = db_step(st);
    db_finalize(st);
    if (rc != DB_DONE)
        return rc;
    *was_on = until > j->now_ms;
    char ut[32];
    stn_iso8601_ms(until, ut);
    return audit(db, j, actor, "account.test.off", account,
                 json_pack("{s:s}", "test_until", ut),
                 json_pack("{s:s,s:b}", "reason", reason, "early", until > j->now_ms));
}

static int test_on(struct db *db, struct stn_job *j, struct stn_ctl_req *q, json_t *o,
                   const char *who, const char *num)
{
    json_t *js = json_object_get(o, "seconds");
    if (!json_is_integer(js) || json_integer_value(js) < 1 ||
        json_integer_value(js) > j->test_mode_max_s) {
        refuse(q, "invalid", "test mode lasts 1 to %lld seconds (test_mode_max_s)",
               (long long)j->test_mode_max_s);
        return 0;
    }
    int64_t old = 0;
    int ex = account_exists(db, num, &old);
    if (ex < 0)
        return db_errcode(db);
    if (ex == 0) {
        refuse(q, "not_found", "no account %s", num);
        return 0;
    }
    int64_t until = j->now_ms + json_integer_value(js) * 1000;
    struct db_stmt *st;
    if (db_prepare(db, "UPDATE accounts SET test_until_ms=?2, updated_at_ms=?3"
                           " WHERE number=?1", &st) != DB_OK)
        return db_errcode(db);
    db_bind_text(st, 1, num, -1, DB_TRANSIENT);
    db_bind_int64(st, 2, until);
    db_bind_int64(st, 3, j->now_ms);
    int rc = db_step(st);
    db_finalize(st);
    if (rc != DB_DONE)
        return rc;
    char ut[32], ot[32];
    stn_iso8601_ms(until, ut);
    stn_iso8601_ms(old, ot);
    rc = audit(db, j, who, "account.test.on", num,
               old > j->now_ms ? json_pack("{s:s}", "test_until", ot) : NULL,
               json_pack("{s:s,s:I}", "test_until", ut, "seconds",
                         (json_int_t)json_integer_value(js)));
    if (rc == 0) {
        reply(q, json_pack("{s:b,s:s}", "ok", 1, "test_until", ut));
        STN_INFO("accounts", "account %s on test until %s (by %s)", num, ut, who);
    }
    return rc;
}

/* ---- writes: sessions ------------------------------------------------ */

static int setup_open(struct db *db, struct stn_job *j, struct stn_ctl_req *q, json_t *o,
                      const char *who, const char *num)
{
    const char *kind = sval(o, "kind");
    if (!kind || (strcmp(kind, "setup") != 0 && strcmp(kind, "drill") != 0)) {
        refuse(q, "invalid", "kind: \"setup\" (program a duress code) or \"drill\" "
               "(check an existing one)");
        return 0;
    }
    json_t *js = json_object_get(o, "seconds");
    int64_t secs = j->setup_session_max_s;
    if (js && !json_is_null(js)) {
        if (!json_is_integer(js) || json_integer_value(js) < 1 ||
            json_integer_value(js) > j->setup_session_max_s) {
            refuse(q, "invalid", "a set-up session lasts 1 to %lld seconds "
                   "(setup_session_max_s)", (long long)j->setup_session_max_s);
            return 0;
        }
        secs = json_integer_value(js);
    }
    int ex = account_exists(db, num, NULL);
    if (ex < 0)
        return db_errcode(db);
    if (ex == 0) {
        refuse(q, "not_found", "no account %s", num);
        return 0;
    }
    struct db_stmt *st;
    if (db_prepare(db, "SELECT id, operator FROM setup_sessions WHERE account=?"
                           " AND closed_at_ms IS NULL AND ends_at_ms>? LIMIT 1", &st) != DB_OK)
        return db_errcode(db);
    db_bind_text(st, 1, num, -1, DB_TRANSIENT);
    db_bind_int64(st, 2, j->now_ms);
    int rc = db_step(st);
    if (rc == DB_ROW) {
        refuse(q, "conflict", "account %s already has set-up session %lld open (by %s)", num,
               (long long)db_column_int64(st, 0), (const char *)db_column_text(st, 1));
        db_finalize(st);
        return 0;
    }
    db_finalize(st);
    if (rc != DB_DONE)
        return rc;
    int64_t ends = j->now_ms + secs * 1000;
    if (db_prepare(db, "INSERT INTO setup_sessions (account, kind, operator,"
                           " opened_at_ms, ends_at_ms) VALUES (?,?,?,?,?)", &st) != DB_OK)
        return db_errcode(db);
    db_bind_text(st, 1, num, -1, DB_TRANSIENT);
    db_bind_text(st, 2, kind, -1, DB_TRANSIENT);
    db_bind_text(st, 3, who, -1, DB_TRANSIENT);
    db_bind_int64(st, 4, j->now_ms);
    db_bind_int64(st, 5, ends);
    rc = db_step(st);
    db_finalize(st);
    if (rc != DB_DONE)
        return rc;
    int64_t id = db_last_insert_rowid(db);
    char et[32];
    stn_iso8601_ms(ends, et);
    rc = audit(db, j, who, "setup.open", num, NULL,
               json_pack("{s:I,s:s,s:s}", "session", (json_int_t)id, "kind", kind,
                         "ends_at", et));
    if (rc == 0) {
        reply(q, json_pack("{s:b,s:I}", "ok", 1, "session", (json_int_t)id));
        STN_INFO("setup", "set-up session %lld (%s) for account %s opened by %s", (long long)id,
                 kind, num, who);
    }
    return rc;
}

/* Closes one session (row, its test mode, audit entry with its result). */
static int session_close(struct db *db, struct stn_job *j, int64_t id, const char *account,
                         const char *kind, int64_t opened_ms, const char *actor,
                         const char *reason)
{
    struct db_stmt *st;
    if (db_prepare(db, "UPDATE setup_sessions SET closed_at_ms=?2, closed_by=?3,"
                           " close_reason=?4 WHERE id=?1 AND closed_at_ms IS NULL", &st) != DB_OK)
        return db_errcode(db);
    db_bind_int64(st, 1, id);
    db_bind_int64(st, 2, j->now_ms);
    db_bind_text(st, 3, actor, -1, DB_TRANSIENT);
    db_bind_text(st, 4, reason, -1, DB_TRANSIENT);
    int rc = db_step(st);
    db_finalize(st);
    if (rc != DB_DONE)
        return rc;
    bool was_on = false;
    /* the session's purpose is done: its account does not stay on test */
    if ((rc = test_end(db, j, account, actor, "set-up session ended", &was_on)) != 0)
        return rc;
    json_t *after = json_pack("{s:I,s:s,s:s}", "session", (json_int_t)id, "kind", kind,
                              "reason", reason);
    json_t *res = session_result(db, account, opened_ms, j->now_ms);
    if (after && res)
        json_object_set_new(after, "result", res);
    else
        json_decref(res);
    rc = audit(db, j, actor, "setup.close", account, NULL, after);
    if (rc == 0)
        STN_INFO("setup", "set-up session %lld for account %s closed (%s)", (long long)id,
                 account, reason);
    return rc;
}

static int setup_close(struct db *db, struct stn_job *j, struct stn_ctl_req *q, json_t *o,
                       const char *who)
{
    json_t *jid = json_object_get(o, "session");
    if (!json_is_integer(jid) || json_integer_value(jid) <= 0) {
        refuse(q, "invalid", "\"session\" must be a positive integer");
        return 0;
    }
    struct db_stmt *st;
    if (db_prepare(db, "SELECT account, kind, opened_at_ms, closed_at_ms IS NOT NULL"
                           " FROM setup_sessions WHERE id=?", &st) != DB_OK)
        return db_errcode(db);
    db_bind_int64(st, 1, json_integer_value(jid));
    int rc = db_step(st);
    if (rc != DB_ROW) {
        db_finalize(st);
        if (rc != DB_DONE)
            return rc;
        refuse(q, "not_found", "no set-up session %lld", (long long)json_integer_value(jid));
        return 0;
    }
    char account[32], kind[8];
    snprintf(account, sizeof account, "%s", (const char *)db_column_text(st, 0));
    snprintf(kind, sizeof kind, "%s", (const char *)db_column_text(st, 1));
    int64_t opened = db_column_int64(st, 2);
    bool closed = db_column_int(st, 3) != 0;
    db_finalize(st);
    if (closed) {
        refuse(q, "conflict", "set-up session %lld is already closed",
               (long long)json_integer_value(jid));
        return 0;
    }
    rc = session_close(db, j, json_integer_value(jid), account, kind, opened, who,
                       "closed by operator");
    if (rc == 0)
        reply(q, json_pack("{s:b}", "ok", 1));
    return rc;
}

/* setup_open, setup_close, test_on, test_off (docs/console.md, "The
 * control socket"). Returns non-zero only for a failure that loses the
 * whole transaction; a refusal is answered and recorded. */
int stn__setup_request(struct db *db, struct stn_job *j, struct stn_ctl_req *q, json_t *o,
                       const char *op)
{
    const char *who = sval(o, "operator");
    enum alm_role role = ALM_ROLE_NONE;
    if (!who || !who[0] || strlen(who) > STN_OPERATOR_NAME_MAX ||
        alm_role_parse(sval(o, "role"), &role) != 0) {
        refuse(q, "invalid", "\"operator\" and \"role\" are required");
        return 0;
    }
    char num[DC09_ACCOUNT_MAX + 1] = "";
    bool by_session = strcmp(op, "setup_close") == 0;
    if (!by_session && (!sval(o, "account") || stn_account_number_norm(sval(o, "account"), num) != 0)) {
        refuse(q, "invalid", "\"account\": 3 to 16 hex digits");
        return 0;
    }
    int rc = run(db, "SAVEPOINT setup");
    if (rc)
        return rc;
    q->reply[0] = '\0';
    if (strcmp(op, "setup_open") == 0) {
        rc = setup_open(db, j, q, o, who, num);
    } else if (by_session) {
        rc = setup_close(db, j, q, o, who);
    } else if (strcmp(op, "test_on") == 0) {
        rc = test_on(db, j, q, o, who, num);
    } else {
        int64_t until = 0;
        int ex = account_exists(db, num, &until);
        bool was_on = false;
        if (ex < 0)
            rc = db_errcode(db);
        else if (ex == 0)
            refuse(q, "not_found", "no account %s", num);
        else if (until <= j->now_ms)
            refuse(q, "conflict", "account %s is not on test", num);
        else if ((rc = test_end(db, j, num, who, "ended by operator", &was_on)) == 0)
            reply(q, json_pack("{s:b}", "ok", 1));
    }
    /* a refusal is evidence too: who tried what, and why not */
    if (rc == 0 && strstr(q->reply, "\"ok\":false")) {
        json_t *r = json_loads(q->reply, 0, NULL);
        char kind[40];
        snprintf(kind, sizeof kind, "%s", strcmp(op, "setup_open") == 0    ? "setup.open"
                                          : strcmp(op, "setup_close") == 0 ? "setup.close"
                                          : strcmp(op, "test_on") == 0     ? "account.test.on"
                                                                           : "account.test.off");
        rc = audit(db, j, who, kind, num[0] ? num : NULL, NULL,
                   json_pack("{s:O,s:O}", "refused", json_object_get(r, "code"), "reason",
                             json_object_get(r, "error")));
        json_decref(r);
    }
    if (rc != 0) {
        q->reply[0] = '\0';   /* answered as a store failure */
        STN_ERROR("setup", "%s failed in the store: %s", op, db_errstr(rc));
        rc = run(db, "ROLLBACK TO setup");
    }
    int rc2 = run(db, "RELEASE setup");
    return rc ? rc : rc2;
}

/* The station's own ends: test modes and sessions past their end time (at
 * most 64 of each per job; the next job takes the rest), in a savepoint so
 * a failure here never fails the batch's frames. */
int stn__setup_expire(struct db *db, struct stn_job *j)
{
    int rc = run(db, "SAVEPOINT setup_expire");
    if (rc)
        return rc;
    struct db_stmt *st;
    char accts[64][DC09_ACCOUNT_MAX + 1];
    size_t n = 0;
    rc = db_prepare(db, "SELECT number FROM accounts WHERE test_until_ms<=? LIMIT 64", &st);
    if (rc == DB_OK) {
        db_bind_int64(st, 1, j->now_ms);
        while ((rc = db_step(st)) == DB_ROW && n < 64)
            snprintf(accts[n++], sizeof accts[0], "%s", (const char *)db_column_text(st, 0));
        db_finalize(st);
        rc = rc == DB_DONE || rc == DB_ROW ? 0 : rc;
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        bool was_on;
        rc = test_end(db, j, accts[i], "station", "time up", &was_on);
        if (rc == 0)
            STN_INFO("accounts", "account %s left test mode (time up)", accts[i]);
    }
    struct { int64_t id, opened; char account[DC09_ACCOUNT_MAX + 1], kind[8]; } ss[64];
    n = 0;
    if (rc == 0 && (rc = db_prepare(db, "SELECT id, account, kind, opened_at_ms FROM"
                                            " setup_sessions WHERE closed_at_ms IS NULL AND"
                                            " ends_at_ms<=? LIMIT 64", &st)) == DB_OK) {
        db_bind_int64(st, 1, j->now_ms);
        while ((rc = db_step(st)) == DB_ROW && n < 64) {
            ss[n].id = db_column_int64(st, 0);
            snprintf(ss[n].account, sizeof ss[n].account, "%s",
                     (const char *)db_column_text(st, 1));
            snprintf(ss[n].kind, sizeof ss[n].kind, "%s", (const char *)db_column_text(st, 2));
            ss[n].opened = db_column_int64(st, 3);
            n++;
        }
        db_finalize(st);
        rc = rc == DB_DONE || rc == DB_ROW ? 0 : rc;
    }
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = session_close(db, j, ss[i].id, ss[i].account, ss[i].kind, ss[i].opened, "station",
                           "time up");
    if (rc != 0) {
        STN_ERROR("setup", "ending test modes and set-up sessions failed in the store: %s "
                  "(retried next second)", db_errstr(rc));
        rc = run(db, "ROLLBACK TO setup_expire");
    }
    int rc2 = run(db, "RELEASE setup_expire");
    return rc ? rc : rc2;
}

/* ---- the read side ---------------------------------------------------- */

static json_t *iso(int64_t ms)
{
    char b[32];
    stn_iso8601_ms(ms, b);
    return json_string(b);
}

static json_t *time_or_null(struct db_stmt *st, int i)
{
    if (db_column_type(st, i) == DB_NULL)
        return json_null();
    char b[32];
    stn_iso8601_ms(db_column_int64(st, i), b);
    return json_string(b);
}

static json_t *text_or_null(struct db_stmt *st, int i)
{
    const unsigned char *t = db_column_text(st, i);
    return t ? json_string((const char *)t) : json_null();
}

/* The alarms of the account since the session opened (until it closed):
 * each with its delivery (panel time → station receipt → commit, after
 * which the ACK goes) and whether its plan holds a dispatch step. */
static json_t *session_alarms(struct db *db, const char *account, int64_t from_ms, int64_t to_ms)
{
    json_t *arr = json_array();
    struct db_stmt *st;
    if (!arr || db_prepare(db, "SELECT a.id, a.kind, a.priority, a.state, a.test, a.received_at_ms,"
            " e.frame_time_s, (SELECT min(at_ms) FROM alarm_changes WHERE alarm_id=a.id),"
            " a.dispatched_at_ms, a.disposition, coalesce(c.police_status,'normal'), a.user,"
            " a.partition"
            " FROM alarms a LEFT JOIN events e ON e.id=a.event_id"
            " LEFT JOIN accounts c ON c.id=a.account_id"
            " WHERE a.account=? AND a.received_at_ms>=? AND a.received_at_ms<=?"
            " ORDER BY a.id LIMIT 50", &st) != DB_OK)
        return arr;
    db_bind_text(st, 1, account, -1, DB_TRANSIENT);
    db_bind_int64(st, 2, from_ms);
    db_bind_int64(st, 3, to_ms);
    while (db_step(st) == DB_ROW) {
        const char *kind = (const char *)db_column_text(st, 1);
        bool test = db_column_int(st, 4) != 0;
        const struct alm_step *steps[ALM_STEPS_MAX];
        size_t n = alm_plan_steps_test(kind, (const char *)db_column_text(st, 10), test,
                                       steps);
        bool has_dispatch = false;
        json_t *ids = json_array();
        for (size_t i = 0; i < n; i++) {
            has_dispatch = has_dispatch || (steps[i]->flags & ALM_STEP_DISPATCH);
            json_array_append_new(ids, json_string(steps[i]->id));
        }
        int64_t recv = db_column_int64(st, 5);
        json_t *o = json_pack("{s:I,s:s,s:i,s:o,s:b,s:o,s:o,s:o,s:s,s:o,s:b,s:o,s:o,s:o,s:o}",
            "alarm", (json_int_t)db_column_int64(st, 0), "kind", kind ? kind : "",
            "priority", db_column_int(st, 2), "state", text_or_null(st, 3), "test", test,
            "received_at", time_or_null(st, 5), "panel_time",
            db_column_type(st, 6) == DB_NULL ? json_null()
                : iso(db_column_int64(st, 6) * 1000),
            /* SQLite's clock (julianday) can read a millisecond under the
             * receipt's: never shown as stored before it was received */
            "stored_at", db_column_type(st, 7) == DB_NULL ? json_null()
                : iso(db_column_int64(st, 7) < recv ? recv : db_column_int64(st, 7)),
            "plan", alm_plan_name(kind, test),
            "steps", ids, "dispatch_step", has_dispatch,
            "dispatched_at", time_or_null(st, 8), "disposition", text_or_null(st, 9),
            "user", db_column_type(st, 11) == DB_NULL ? json_null()
                                                              : json_integer(db_column_int(st, 11)),
            "partition", db_column_type(st, 12) == DB_NULL ? json_null()
                                                              : json_integer(db_column_int(st, 12)));
        if (o && db_column_type(st, 6) != DB_NULL)
            /* the frame's timestamp has whole seconds: the delay is to within one */
            json_object_set_new(o, "delivery_ms",
                                json_integer(recv - db_column_int64(st, 6) * 1000));
        /* stored: the commit that opened it (the change log's clock, SQLite's:
         * to within a millisecond); the station ACKs the frame right after it */
        if (o && db_column_type(st, 7) != DB_NULL) {
            int64_t d = db_column_int64(st, 7) - recv;
            json_object_set_new(o, "stored_after_ms", json_integer(d < 0 ? 0 : d));
        }
        if (o)
            json_array_append_new(arr, o);
    }
    db_finalize(st);
    return arr;
}

int stn_setup_json(struct stn_store *s, int64_t id, void **out)
{
    struct db *db = stn_store_db(s);
    struct db_stmt *st;
    if (db_prepare(db, "SELECT x.id, x.account, x.kind, x.operator, x.opened_at_ms,"
                           " x.ends_at_ms, x.closed_at_ms, x.closed_by, x.close_reason, c.name,"
                           " c.test_until_ms FROM setup_sessions x"
                           " LEFT JOIN accounts c ON c.number=x.account WHERE x.id=?", &st) != DB_OK)
        return STN_E_STORE;
    db_bind_int64(st, 1, id);
    int rc = db_step(st);
    if (rc != DB_ROW) {
        db_finalize(st);
        return rc == DB_DONE ? STN_E_NOTFOUND : STN_E_STORE;
    }
    int64_t now = stn_now_ms();
    char account[DC09_ACCOUNT_MAX + 1];
    snprintf(account, sizeof account, "%s", (const char *)db_column_text(st, 1));
    int64_t opened = db_column_int64(st, 4), ends = db_column_int64(st, 5);
    bool closed = db_column_type(st, 6) != DB_NULL;
    int64_t to = closed ? db_column_int64(st, 6) : now;
    bool open = !closed && ends > now;
    int64_t test_until = db_column_int64(st, 10);
    bool on_test = db_column_type(st, 10) != DB_NULL && test_until > now;
    json_t *o = json_pack("{s:I,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:b,s:I,s:b,s:o}",
        "id", (json_int_t)id, "account", account, "account_name", text_or_null(st, 9),
        "kind", text_or_null(st, 2), "operator", text_or_null(st, 3),
        "opened_at", time_or_null(st, 4), "ends_at", time_or_null(st, 5),
        "closed_at", time_or_null(st, 6), "closed_by", text_or_null(st, 7),
        "close_reason", text_or_null(st, 8), "now", iso(now),
        "open", open, "remaining_s", (json_int_t)(open ? (ends - now + 999) / 1000 : 0),
        "on_test", on_test, "test_until", on_test ? time_or_null(st, 10) : json_null());
    db_finalize(st);
    if (!o)
        return STN_E_NOMEM;
    if (on_test)
        json_object_set_new(o, "test_remaining_s", json_integer((test_until - now + 999) / 1000));
    json_t *reports = json_array();
    if (db_prepare(db, "SELECT sia_text, sia_zone, received_at_ms, id FROM events"
                           " WHERE account=? AND sia_code='YG' AND received_at_ms>=?"
                           " AND received_at_ms<=? ORDER BY id LIMIT 200", &st) == DB_OK) {
        db_bind_text(st, 1, account, -1, DB_TRANSIENT);
        db_bind_int64(st, 2, opened);
        db_bind_int64(st, 3, to);
        while (db_step(st) == DB_ROW) {
            json_t *r = report_obj((const char *)db_column_text(st, 0),
                                   db_column_int(st, 1),
                                   db_column_type(st, 1) != DB_NULL,
                                   db_column_int64(st, 2), db_column_int64(st, 3));
            if (r)
                json_array_append_new(reports, r);
        }
        db_finalize(st);
    }
    json_object_set_new(o, "reports", reports);
    json_object_set_new(o, "alarms", session_alarms(db, account, opened, to));
    *out = o;
    return 0;
}
