/*
 * store_actions.c — the SQLite side of operators' actions and of the take
 * lease, run by the commit worker inside a batch's transaction: read the
 * alarm's state, ask the alarm engine (alarm.c), write its verdict — the
 * alarm row, a plan step, the dispatch record, one history row — and put
 * the reply for the console in the request.
 *
 * Every request decided (done or refused), the take lease's releases, the
 * accounts created and the console's own entries (views, logins) are
 * appended to the audit trail in the same savepoint (docs/audit.md).
 *
 * Must never: decide anything itself (every rule is the engine's), let one
 * request's failure undo another's or the batch's frames (each request runs
 * in its own savepoint), or store what an operator typed as a passcode.
 */
#include "stn_internal.h"
#include "vigil/alarm.h"
#include "vigil/audit.h"

#include <jansson.h>
#include "db.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    A_VIEW, A_STEPS, A_UPDATE, A_TICK, A_HISTORY, A_DISPATCH_NEW, A_PSAP, A_CANCEL,
    A_HELD, A_ACCOUNT_NEW, A_ACCOUNT_NOTE, A_SAVEPOINT, A_RELEASE_SP, A_ROLLBACK_SP, A_COUNT
};

static const char *const sql_text[A_COUNT] = {
    [A_VIEW] = "SELECT a.kind, a.priority, a.state, a.taken_by, a.escalated_at_ms IS NOT NULL,"
        " coalesce(c.police_status, 'normal'), d.psap_status, d.cancel_requested_at_ms IS NOT"
        " NULL, a.account, a.user, a.zone, c.name, c.address, c.agency, c.permit,"
        " coalesce(c.location, 'residential'), d.arrived_at_ms IS NOT NULL, d.psap_event_number,"
        " c.permit_expires_ms, a.account_id, g.name, a.test"
        " FROM alarms a LEFT JOIN accounts c ON c.number = a.account"
        " LEFT JOIN agencies g ON g.id = c.agency"
        " LEFT JOIN dispatches d ON d.alarm_id = a.id WHERE a.id = ?",
    [A_STEPS] = "SELECT step FROM alarm_steps WHERE alarm_id = ? ORDER BY done_at_ms LIMIT 8",
    [A_UPDATE] = "UPDATE alarms SET state = ?2, taken_by = ?3,"
        " taken_at_ms = CASE WHEN ?4 THEN ?8 ELSE taken_at_ms END,"
        " dispatched_at_ms = CASE WHEN ?5 THEN ?8 ELSE dispatched_at_ms END,"
        " closed_at_ms = CASE WHEN ?6 THEN ?8 ELSE closed_at_ms END,"
        " disposition = coalesce(?7, disposition), changed_at_ms = ?8 WHERE id = ?1",
    [A_TICK] = "INSERT INTO alarm_steps (alarm_id, step, done_by, done_at_ms, note)"
        " VALUES (?,?,?,?,?)",
    [A_HISTORY] = "INSERT INTO alarm_history (alarm_id, at_ms, operator, action, detail)"
        " VALUES (?,?,?,?,?)",
    /* a new request replaces the alarm's earlier record whole (as INSERT OR
     * REPLACE did): every column set, the PSAP's answers cleared */
    [A_DISPATCH_NEW] = "INSERT INTO dispatches (alarm_id, category, audible,"
        " location_category, details, agency, permit, address, callback_phone, provider_name,"
        " operator, call_to_premises, confirmation_method, call_to_premises_result,"
        " requested_at_ms, psap_status) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,'requested')"
        " ON CONFLICT (alarm_id) DO UPDATE SET category = excluded.category,"
        " audible = excluded.audible, location_category = excluded.location_category,"
        " details = excluded.details, agency = excluded.agency, permit = excluded.permit,"
        " address = excluded.address, callback_phone = excluded.callback_phone,"
        " provider_name = excluded.provider_name, operator = excluded.operator,"
        " call_to_premises = excluded.call_to_premises,"
        " confirmation_method = excluded.confirmation_method,"
        " call_to_premises_result = excluded.call_to_premises_result,"
        " requested_at_ms = excluded.requested_at_ms, psap_status = 'requested',"
        " psap_event_number = NULL, reject_reason = NULL, psap_disposition = NULL,"
        " accepted_at_ms = NULL, rejected_at_ms = NULL, dispatched_at_ms = NULL,"
        " arrived_at_ms = NULL, psap_closed_at_ms = NULL, cancel_requested_at_ms = NULL,"
        " cancel_confirmed_by = NULL",
    [A_PSAP] = "UPDATE dispatches SET psap_status = ?2,"
        " psap_event_number = coalesce(?3, psap_event_number),"
        " reject_reason = coalesce(?4, reject_reason),"
        " psap_disposition = coalesce(?5, psap_disposition),"
        " accepted_at_ms = CASE WHEN ?2 = 'accepted' THEN ?6 ELSE accepted_at_ms END,"
        " rejected_at_ms = CASE WHEN ?2 = 'rejected' THEN ?6 ELSE rejected_at_ms END,"
        " dispatched_at_ms = CASE WHEN ?2 = 'dispatched' THEN ?6 ELSE dispatched_at_ms END,"
        " arrived_at_ms = CASE WHEN ?2 = 'arrived' THEN ?6 ELSE arrived_at_ms END,"
        " psap_closed_at_ms = CASE WHEN ?2 = 'closed' THEN ?6 ELSE psap_closed_at_ms END"
        " WHERE alarm_id = ?1",
    [A_CANCEL] = "UPDATE dispatches SET cancel_requested_at_ms = ?2, cancel_confirmed_by = ?3"
        " WHERE alarm_id = ?1",
    [A_HELD] = "SELECT id, taken_by FROM alarms WHERE state != 'closed' AND taken_by IS NOT NULL"
        " AND coalesce(taken_at_ms, 0) < ?",   /* open alarms only: index alarms_open */
    [A_ACCOUNT_NEW] = "INSERT INTO accounts (number, name, address, phone, created_at_ms,"
        " updated_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
    /* the open unknown-account alarms of that number say what became of them */
    [A_ACCOUNT_NOTE] = "INSERT INTO alarm_history (alarm_id, at_ms, operator, action, detail)"
        " SELECT id, ?2, ?3, 'account_created', 'account ' || ?1 || ' created: its signals are"
        " now received' FROM alarms WHERE state != 'closed' AND kind = 'unknown_account'"
        " AND upper(account) = ?1",   /* the open alarms only (partial index alarms_open);
                                       * a panel may have sent its number in lower case */
    [A_SAVEPOINT] = "SAVEPOINT ctl",
    [A_RELEASE_SP] = "RELEASE ctl",
    [A_ROLLBACK_SP] = "ROLLBACK TO ctl",
};

struct stn_actstore {
    struct db *db;
    struct db_stmt *st[A_COUNT];
};

int stn_actstore_open(struct db *db, struct stn_actstore **out, char *msg, size_t cap)
{
    struct stn_actstore *a = stn_calloc(1, sizeof *a);
    if (!a) {
        snprintf(msg, cap, "out of memory");
        return STN_E_NOMEM;
    }
    a->db = db;
    for (int i = 0; i < A_COUNT; i++)
        if (db_prepare(db, sql_text[i], &a->st[i]) != DB_OK) {
            snprintf(msg, cap, "cannot prepare action statement %d: %s", i, db_errmsg(db));
            stn_actstore_close(a);
            return STN_E_OPEN;
        }
    *out = a;
    return 0;
}

void stn_actstore_close(struct stn_actstore *a)
{
    if (!a)
        return;
    for (int i = 0; i < A_COUNT; i++)
        db_finalize(a->st[i]);
    stn_free(a);
}

static int done(struct db_stmt *s)
{
    int rc = db_step(s);
    db_reset(s);
    db_clear_bindings(s);
    return rc == DB_DONE || rc == DB_ROW ? 0 : rc;
}

static void bind_str(struct db_stmt *s, int i, const char *v)
{
    if (v && v[0])
        db_bind_text(s, i, v, -1, DB_TRANSIENT);
    else
        db_bind_null(s, i);
}

/* ---- reading an alarm ------------------------------------------------- */

/* Text columns copied out of a statement (valid while the view is used). */
struct view_buf {
    struct alm_view v;
    char kind[32], taken_by[STN_OPERATOR_NAME_MAX + 1], police[16], account[32];
    char name[128], address[256], agency[128], permit[64], location[16];
    char done[ALM_STEPS_MAX][32];
    bool has_user;
    int  user, zone;
    bool arrived;                  /* the police reached the premises */
    char event_number[64];
    int64_t permit_expires_ms, account_id;
    char agency_name[128];         /* the imported agency's name ("" : none) */
};

static void col_copy(struct db_stmt *s, int i, char *out, size_t cap)
{
    const unsigned char *t = db_column_text(s, i);
    snprintf(out, cap, "%s", t ? (const char *)t : "");
}

static int load_view(struct stn_actstore *a, int64_t id, struct view_buf *b)
{
    memset(b, 0, sizeof *b);
    struct db_stmt *s = a->st[A_VIEW];
    db_bind_int64(s, 1, id);
    int rc = db_step(s);
    if (rc == DB_ROW) {
        col_copy(s, 0, b->kind, sizeof b->kind);
        b->v.priority = db_column_int(s, 1);
        enum alm_state st = ALM_NEW;
        alm_state_parse((const char *)db_column_text(s, 2), &st);
        b->v.state = st;
        col_copy(s, 3, b->taken_by, sizeof b->taken_by);
        b->v.escalated = db_column_int(s, 4) != 0;
        col_copy(s, 5, b->police, sizeof b->police);
        enum alm_psap p = ALM_PSAP_NONE;
        if (db_column_type(s, 6) != DB_NULL)
            alm_psap_parse((const char *)db_column_text(s, 6), &p);
        b->v.psap = p;
        b->v.cancel_requested = db_column_int(s, 7) != 0;
        col_copy(s, 8, b->account, sizeof b->account);
        b->has_user = db_column_type(s, 9) != DB_NULL;
        b->user = db_column_int(s, 9);
        b->zone = db_column_int(s, 10);
        col_copy(s, 11, b->name, sizeof b->name);
        col_copy(s, 12, b->address, sizeof b->address);
        col_copy(s, 13, b->agency, sizeof b->agency);
        col_copy(s, 14, b->permit, sizeof b->permit);
        col_copy(s, 15, b->location, sizeof b->location);
        b->arrived = db_column_int(s, 16) != 0;
        col_copy(s, 17, b->event_number, sizeof b->event_number);
        b->permit_expires_ms = db_column_int64(s, 18);
        b->account_id = db_column_int64(s, 19);
        col_copy(s, 20, b->agency_name, sizeof b->agency_name);
        b->v.test = db_column_int(s, 21) != 0;
    }
    db_reset(s);
    if (rc == DB_DONE)
        return ALM_E_NOTFOUND;
    if (rc != DB_ROW)
        return rc;
    b->v.id = id;
    b->v.kind = b->kind;
    b->v.taken_by = b->taken_by;
    b->v.police_status = b->police;
    struct db_stmt *d = a->st[A_STEPS];
    db_bind_int64(d, 1, id);
    while ((rc = db_step(d)) == DB_ROW && b->v.ndone < ALM_STEPS_MAX) {
        col_copy(d, 0, b->done[b->v.ndone], sizeof b->done[0]);
        b->v.done[b->v.ndone] = b->done[b->v.ndone];
        b->v.ndone++;
    }
    db_reset(d);
    return rc == DB_DONE || rc == DB_ROW ? 0 : rc;
}

/* ---- writing a verdict ------------------------------------------------ */

struct req_extra {          /* what a request carries beside the engine's fields */
    const char *note, *details, *provider_name, *callback_phone, *psap_disposition;
    int64_t admin_fee_cents;    /* billing_admin_fee_cents when this job was made */
};

static int write_dispatch(struct stn_actstore *a, const struct view_buf *b,
                          const struct alm_request *r, const struct req_extra *x, int64_t now)
{
    struct db_stmt *s = a->st[A_DISPATCH_NEW];
    bool silent = alm_kind_is_silent(b->kind);
    char details[512];
    if (x->details && x->details[0])
        snprintf(details, sizeof details, "%s", x->details);
    else if (silent && b->has_user)
        snprintf(details, sizeof details, "Silent %s alarm, person may be under threat "
                 "(panel user %d)", b->kind, b->user);
    else if (silent)
        snprintf(details, sizeof details, "Silent %s alarm, person may be under threat",
                 b->kind);
    else
        snprintf(details, sizeof details, "%s alarm, zone %d", b->kind, b->zone);
    db_bind_int64(s, 1, b->v.id);
    db_bind_text(s, 2, alm_dispatch_category(b->kind), -1, DB_STATIC);
    db_bind_text(s, 3, silent ? "Silent" : "Audible", -1, DB_STATIC);
    db_bind_text(s, 4, b->location[0] ? b->location : "residential", -1, DB_TRANSIENT);
    db_bind_text(s, 5, details, -1, DB_TRANSIENT);
    /* the police read the agency's name (NIEM AlarmEventDispatchAgency), not our id */
    bind_str(s, 6, b->agency_name[0] ? b->agency_name : b->agency);
    bind_str(s, 7, b->permit);
    bind_str(s, 8, b->address);
    bind_str(s, 9, x->callback_phone);
    bind_str(s, 10, x->provider_name);
    db_bind_text(s, 11, r->actor, -1, DB_TRANSIENT);
    /* a duress is dispatched first and never verified by calling the premises
     * (CS-V-01 exempts duress, hold-up, panic and fire) */
    db_bind_int(s, 12, silent ? 0 : 1);
    db_bind_text(s, 13, silent ? "none" : "operator", -1, DB_STATIC);
    db_bind_text(s, 14, silent ? "none" : "not_recorded", -1, DB_STATIC);
    db_bind_int64(s, 15, now);
    return done(s);
}

/* The police's finding on a false dispatch or a cancel after acceptance:
 * the invoice line by the account's agency rules, in this same savepoint,
 * and its own history row. */
static int write_charge(struct stn_actstore *a, const struct view_buf *b,
                        const struct alm_request *r, const struct alm_verdict *v,
                        int64_t now, int64_t admin_fee_cents)
{
    struct stn_finding f = {
        .alarm_id = b->v.id, .account_id = b->account_id, .at_ms = now,
        .admin_fee_cents = admin_fee_cents, .permit_expires_ms = b->permit_expires_ms,
        .account = b->account, .kind = b->kind, .agency = b->agency, .permit = b->permit,
        .location = b->location, .operator_name = r->actor, .event_number = b->event_number,
        .finding = v->charge_finding, .arrived = b->arrived,
    };
    char detail[400];
    int rc = stn__agency_charge(a->db, &f, detail, sizeof detail);
    if (rc)
        return rc;
    struct db_stmt *h = a->st[A_HISTORY];
    db_bind_int64(h, 1, b->v.id);
    db_bind_int64(h, 2, now);
    bind_str(h, 3, r->actor);
    db_bind_text(h, 4, "charge", -1, DB_STATIC);
    bind_str(h, 5, detail);
    return done(h);
}

static int write_verdict(struct stn_actstore *a, const struct view_buf *b,
                         const struct alm_request *r, const struct req_extra *x,
                         const struct alm_verdict *v, int64_t now)
{
    struct db_stmt *s = a->st[A_UPDATE];
    int rc;
    if (v->create_dispatch && (rc = write_dispatch(a, b, r, x, now)) != 0)
        return rc;
    if (!v->create_dispatch && v->psap != ALM_PSAP_NONE) {
        struct db_stmt *p = a->st[A_PSAP];
        db_bind_int64(p, 1, b->v.id);
        db_bind_text(p, 2, alm_psap_name(v->psap), -1, DB_STATIC);
        bind_str(p, 3, v->psap == ALM_PSAP_ACCEPTED ? r->event_number : NULL);
        bind_str(p, 4, v->psap == ALM_PSAP_REJECTED ? r->reason : NULL);
        bind_str(p, 5, v->psap == ALM_PSAP_CLOSED ? x->psap_disposition : NULL);
        db_bind_int64(p, 6, now);
        if ((rc = done(p)) != 0)
            return rc;
    }
    if (v->cancel_requested) {
        struct db_stmt *c = a->st[A_CANCEL];
        db_bind_int64(c, 1, b->v.id);
        db_bind_int64(c, 2, now);
        db_bind_text(c, 3, r->actor, -1, DB_TRANSIENT);
        if ((rc = done(c)) != 0)
            return rc;
    }
    if (v->tick_step) {
        struct db_stmt *t = a->st[A_TICK];
        db_bind_int64(t, 1, b->v.id);
        db_bind_text(t, 2, v->tick_step, -1, DB_STATIC);
        db_bind_text(t, 3, r->actor ? r->actor : "station", -1, DB_TRANSIENT);
        db_bind_int64(t, 4, now);
        bind_str(t, 5, r->action == ALM_STEP ? x->note : NULL);
        if ((rc = done(t)) != 0)
            return rc;
    }
    /* every action touches the alarm row: its trigger tells the consoles */
    db_bind_int64(s, 1, b->v.id);
    db_bind_text(s, 2, alm_state_name(v->state), -1, DB_STATIC);
    bind_str(s, 3, v->taken_by);
    db_bind_int(s, 4, v->set_taken_at);
    db_bind_int(s, 5, v->set_dispatched_at);
    db_bind_int(s, 6, v->set_closed_at);
    bind_str(s, 7, v->disposition);
    db_bind_int64(s, 8, now);
    if ((rc = done(s)) != 0)
        return rc;
    struct db_stmt *h = a->st[A_HISTORY];
    char detail[600];
    snprintf(detail, sizeof detail, "%s%s%s", v->history_detail,
             x->note && x->note[0] && r->action != ALM_STEP ? (v->history_detail[0] ? "; " : "")
                                                             : "",
             x->note && r->action != ALM_STEP ? x->note : "");
    db_bind_int64(h, 1, b->v.id);
    db_bind_int64(h, 2, now);
    bind_str(h, 3, r->actor);
    db_bind_text(h, 4, v->history_action, -1, DB_STATIC);
    bind_str(h, 5, detail);
    if ((rc = done(h)) != 0)
        return rc;
    return v->charge_finding ? write_charge(a, b, r, v, now, x->admin_fee_cents) : 0;
}

/* ---- the audit trail ------------------------------------------------- */

static json_t *jstr(const char *v)
{
    return v && v[0] ? json_string(v) : json_null();
}

/* An alarm's state before an action, as the engine saw it. */
static json_t *before_obj(const struct view_buf *b)
{
    return json_pack("{s:s,s:o,s:o,s:b}", "state", alm_state_name(b->v.state),
                     "taken_by", jstr(b->taken_by),
                     "psap", b->v.psap != ALM_PSAP_NONE ? json_string(alm_psap_name(b->v.psap))
                                                        : json_null(),
                     "escalated", b->v.escalated);
}

/* What the action changed (nothing the operator typed as a passcode: the
 * console sends only its verdict, "result"). */
static json_t *after_obj(const struct alm_request *r, const struct req_extra *x,
                         const struct alm_verdict *v)
{
    json_t *o = json_pack("{s:s,s:o,s:s}", "state", alm_state_name(v->state),
                          "taken_by", jstr(v->taken_by), "history", v->history_action);
    if (!o)
        return NULL;
    if (v->history_detail[0])
        json_object_set_new(o, "detail", json_string(v->history_detail));
    if (v->disposition)
        json_object_set_new(o, "disposition", json_string(v->disposition));
    if (v->tick_step)
        json_object_set_new(o, "step", json_string(v->tick_step));
    if (v->psap != ALM_PSAP_NONE)
        json_object_set_new(o, "psap", json_string(alm_psap_name(v->psap)));
    if (v->cancel_requested)
        json_object_set_new(o, "cancel_requested", json_true());
    if (r->action == ALM_PASSCODE && r->passcode_result)
        json_object_set_new(o, "result", json_string(r->passcode_result));
    if (r->action == ALM_PSAP && r->event_number)
        json_object_set_new(o, "event_number", json_string(r->event_number));
    if (r->action == ALM_PSAP && r->finding)
        json_object_set_new(o, "finding", json_string(r->finding));
    if (r->action == ALM_PSAP && r->reason)
        json_object_set_new(o, "reason", json_string(r->reason));
    if (r->force)
        json_object_set_new(o, "force", json_true());
    if (r->override)
        json_object_set_new(o, "override", json_true());
    if (x && x->note && x->note[0])
        json_object_set_new(o, "note", json_string(x->note));
    return o;
}

/* Appends one entry (before, after: taken). */
static int audit(struct stn_actstore *a, struct stn_job *j, const char *actor, const char *kind,
                 const char *subject, json_t *before, json_t *after)
{
    char *bt = before ? json_dumps(before, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    char *at = after ? json_dumps(after, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    int rc = DB_NOMEM;
    if ((!before || bt) && (!after || at)) {
        struct stn_audit_entry e = { .at_ms = j->now_ms, .actor = actor, .kind = kind,
                                     .subject = subject, .before = bt, .after = at };
        rc = stn_audit_job(a->db, j, &e);
    }
    json_decref(before);
    json_decref(after);
    free(bt);
    free(at);
    return rc;
}

static int audit_alarm_action(struct stn_actstore *a, struct stn_job *j, int64_t id,
                              const struct alm_request *r, json_t *before, json_t *after)
{
    char kind[48], subject[24];
    snprintf(kind, sizeof kind, "alarm.%s", alm_action_name(r->action));
    snprintf(subject, sizeof subject, "%lld", (long long)id);
    return audit(a, j, r->actor ? r->actor : "station", kind, subject, before, after);
}

/* ---- one request ------------------------------------------------------ */

static const char *code_of(int err)
{
    switch (err) {
    case ALM_E_INVALID:   return "invalid";
    case ALM_E_FORBIDDEN: return "forbidden";
    case ALM_E_CONFLICT:  return "conflict";
    case ALM_E_NOTFOUND:  return "not_found";
    default:              return "store";
    }
}

static void set_reply(struct stn_ctl_req *q, int err, const char *msg)
{
    json_t *o = err == 0 ? json_pack("{s:b}", "ok", 1)
                         : json_pack("{s:b,s:s,s:s}", "ok", 0, "code", code_of(err),
                                     "error", msg ? msg : alm_strerror(err));
    char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
    if (t && strlen(t) < sizeof q->reply)
        memcpy(q->reply, t, strlen(t) + 1);
    else
        snprintf(q->reply, sizeof q->reply, "{\"ok\":false,\"code\":\"%s\",\"error\":\"%s\"}",
                 code_of(err), alm_strerror(err));
    free(t);
    json_decref(o);
}

static const char *str(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* Parses a request into the engine's terms; 0 or ALM_E_INVALID with msg. */
static int parse_request(json_t *o, int64_t *id, struct alm_request *r, struct req_extra *x,
                         char *msg, size_t cap)
{
    memset(r, 0, sizeof *r);
    memset(x, 0, sizeof *x);
    const char *op = str(o, "op");
    json_t *jid = json_object_get(o, "alarm");
    if (!op || alm_action_parse(op, &r->action) != 0 || r->action == ALM_LEASE_EXPIRED) {
        snprintf(msg, cap, "unknown op");
        return ALM_E_INVALID;
    }
    if (!json_is_integer(jid) || json_integer_value(jid) <= 0) {
        snprintf(msg, cap, "\"alarm\" must be a positive integer");
        return ALM_E_INVALID;
    }
    *id = json_integer_value(jid);
    r->actor = str(o, "operator");
    if (!r->actor || !r->actor[0] || strlen(r->actor) > STN_OPERATOR_NAME_MAX ||
        alm_role_parse(str(o, "role"), &r->role) != 0) {
        snprintf(msg, cap, "\"operator\" and \"role\" are required");
        return ALM_E_INVALID;
    }
    r->force = json_is_true(json_object_get(o, "force"));
    r->override = json_is_true(json_object_get(o, "override"));
    r->step = str(o, "step");
    r->passcode_result = str(o, "result");
    r->disposition = str(o, "disposition");
    r->psap_status = str(o, "status");
    r->event_number = str(o, "event_number");
    r->reason = str(o, "reason");
    r->finding = str(o, "finding");
    x->note = str(o, "note");
    x->details = str(o, "details");
    x->provider_name = str(o, "provider_name");
    x->callback_phone = str(o, "callback_phone");
    x->psap_disposition = r->action == ALM_PSAP ? r->disposition : NULL;
    return 0;
}

static int sp(struct stn_actstore *a, int which)
{
    return done(a->st[which]);
}

/* An unknown account's signals, assigned to a new account by a supervisor
 * (docs/console.md, POST /api/accounts). Keyless until an installer keys it
 * with `vigil account edit`: a key never travels through the web. */
static int create_account(struct stn_actstore *a, struct stn_job *j, struct stn_ctl_req *q,
                          json_t *o)
{
    char num[DC09_ACCOUNT_MAX + 1];
    const char *number = str(o, "number"), *name = str(o, "name"), *who = str(o, "operator");
    enum alm_role role = ALM_ROLE_NONE;
    if (!number || stn_account_number_norm(number, num) != 0 || !name || !name[0] || !who ||
        alm_role_parse(str(o, "role"), &role) != 0) {
        set_reply(q, ALM_E_INVALID, "account_create needs number (3-16 hex digits), name, "
                  "operator and role");
        return 0;
    }
    if (role < ALM_ROLE_SUPERVISOR) {
        set_reply(q, ALM_E_FORBIDDEN, "creating an account needs a supervisor");
        return 0;
    }
    int rc = sp(a, A_SAVEPOINT);
    if (rc)
        return rc;
    struct db_stmt *s = a->st[A_ACCOUNT_NEW];
    db_bind_text(s, 1, num, -1, DB_TRANSIENT);
    db_bind_text(s, 2, name, -1, DB_TRANSIENT);
    bind_str(s, 3, str(o, "address"));
    bind_str(s, 4, str(o, "phone"));
    db_bind_int64(s, 5, j->now_ms);
    rc = db_step(s);
    db_reset(s);
    db_clear_bindings(s);
    if ((rc & 0xff) == DB_CONSTRAINT) {
        char msg[96];
        snprintf(msg, sizeof msg, "account %s exists", num);
        set_reply(q, ALM_E_CONFLICT, msg);
        rc = sp(a, A_ROLLBACK_SP);
    } else if (rc == DB_DONE) {
        struct db_stmt *n = a->st[A_ACCOUNT_NOTE];
        db_bind_text(n, 1, num, -1, DB_TRANSIENT);
        db_bind_int64(n, 2, j->now_ms);
        db_bind_text(n, 3, who, -1, DB_TRANSIENT);
        rc = done(n);
        if (rc == 0)
            rc = audit(a, j, who, "account.create", num, NULL,
                       json_pack("{s:s,s:s,s:o,s:o}", "number", num, "name", name,
                                 "address", jstr(str(o, "address")),
                                 "phone", jstr(str(o, "phone"))));
        if (rc == 0) {
            set_reply(q, 0, NULL);
            j->force_accounts = true;   /* the receiver takes it on after this commit */
            STN_INFO("accounts", "account %s created by %s", num, who);
        } else {
            q->reply[0] = '\0';
            rc = sp(a, A_ROLLBACK_SP);
        }
    } else {
        q->reply[0] = '\0';
        rc = sp(a, A_ROLLBACK_SP);
    }
    int rc2 = sp(a, A_RELEASE_SP);
    return rc ? rc : rc2;
}

/* The console's own entries: what it alone sees (an alarm's detail read, a
 * dispute packet downloaded, a login, a failed login, a logout). Only these kinds: the console cannot
 * write an entry that claims to be the station's or an action's. */
static bool console_kind(const char *k)
{
    static const char *const kinds[] = { "alarm.view", "alarm.dispute", "login", "login.failed",
                                         "logout" };
    for (size_t i = 0; k && i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(k, kinds[i]) == 0)
            return true;
    return false;
}

static bool secret_key(const char *k)
{
    return strstr(k, "password") || strstr(k, "passcode") || strstr(k, "token") ||
           strstr(k, "key");
}

static int console_audit(struct stn_actstore *a, struct stn_job *j, struct stn_ctl_req *q,
                         json_t *o)
{
    const char *kind = str(o, "kind"), *who = str(o, "operator"), *subject = str(o, "subject");
    json_t *detail = json_object_get(o, "detail");
    bool failed = kind && strcmp(kind, "login.failed") == 0;
    const char *k;
    json_t *v;
    bool clean = true;
    if (json_is_object(detail))
        json_object_foreach(detail, k, v)
            if (secret_key(k))
                clean = false;
    if (!console_kind(kind) || (!failed && (!who || !who[0])) ||
        (who && strlen(who) > STN_OPERATOR_NAME_MAX) || (subject && strlen(subject) > 64) ||
        (detail && !json_is_object(detail)) || !clean) {
        set_reply(q, ALM_E_INVALID, "audit needs kind (alarm.view, alarm.dispute, login, "
                  "login.failed, logout), "
                  "operator, optional subject and detail (an object, never a secret)");
        return 0;
    }
    int rc = sp(a, A_SAVEPOINT);
    if (rc)
        return rc;
    rc = audit(a, j, failed ? "vigil-console" : who, kind, subject && subject[0] ? subject : NULL,
               NULL, detail ? json_incref(detail) : NULL);
    if (rc == 0) {
        set_reply(q, 0, NULL);
    } else {
        q->reply[0] = '\0';
        rc = sp(a, A_ROLLBACK_SP);
    }
    int rc2 = sp(a, A_RELEASE_SP);
    return rc ? rc : rc2;
}

/* Returns non-zero only for a failure that loses the whole transaction. */
static int run_request(struct stn_actstore *a, struct stn_job *j, struct stn_ctl_req *q)
{
    char msg[256] = "";
    json_error_t jerr;
    json_t *o = json_loadb((const char *)j->arena + q->line_off, q->line_len, 0, &jerr);
    const char *op = o ? str(o, "op") : NULL;
    if (op && strcmp(op, "account_create") == 0) {
        int rc = create_account(a, j, q, o);
        json_decref(o);
        return rc;
    }
    if (op && strcmp(op, "audit") == 0) {
        int rc = console_audit(a, j, q, o);
        json_decref(o);
        return rc;
    }
    if (op && (strcmp(op, "setup_open") == 0 || strcmp(op, "setup_close") == 0 ||
               strcmp(op, "test_on") == 0 || strcmp(op, "test_off") == 0)) {
        int rc = stn__setup_request(a->db, j, q, o, op);   /* store_setup.c */
        json_decref(o);
        return rc;
    }
    int64_t id = 0;
    struct alm_request r;
    struct req_extra x;
    int err = o ? parse_request(o, &id, &r, &x, msg, sizeof msg) : ALM_E_INVALID;
    if (!o)
        snprintf(msg, sizeof msg, "the request is not JSON");
    if (err) {
        set_reply(q, err, msg);
        json_decref(o);
        return 0;
    }
    int rc = sp(a, A_SAVEPOINT);
    if (rc) {
        json_decref(o);
        return rc;
    }
    struct view_buf b;
    struct alm_verdict v;
    rc = load_view(a, id, &b);
    if (rc == ALM_E_NOTFOUND) {
        snprintf(msg, sizeof msg, "no alarm %lld", (long long)id);
        set_reply(q, ALM_E_NOTFOUND, msg);
        rc = 0;
    } else if (rc == 0 && (err = alm_decide(&b.v, &r, &v)) != 0) {
        /* a refusal is evidence too: who tried what, and why not */
        rc = audit_alarm_action(a, j, id, &r, before_obj(&b),
                                json_pack("{s:s,s:s}", "refused", code_of(err),
                                          "reason", v.reason));
        if (rc == 0)
            set_reply(q, err, v.reason);
    } else if (rc == 0 && (x.admin_fee_cents = j->admin_fee_cents,
                           rc = write_verdict(a, &b, &r, &x, &v, j->now_ms)) == 0 &&
               (rc = audit_alarm_action(a, j, id, &r, before_obj(&b), after_obj(&r, &x, &v))) == 0) {
        set_reply(q, 0, NULL);
        STN_INFO("alarm", "alarm %lld: %s by %s alarm=%lld account=%s kind=%s priority=%d "
                 "event=%s operator=%s", (long long)id, v.history_action, r.actor,
                 (long long)id, b.account, b.kind, b.v.priority, v.history_action, r.actor);
    }
    if (rc != 0) {
        q->reply[0] = '\0';   /* answered as a store failure */
        STN_ERROR("alarm", "alarm %lld: action failed in the store: %s", (long long)id,
                  db_errstr(rc));
        rc = sp(a, A_ROLLBACK_SP);
    }
    int rc2 = sp(a, A_RELEASE_SP);
    json_decref(o);
    return rc ? rc : rc2;
}

/* ---- the take lease --------------------------------------------------- */

static bool present(const struct stn_job *j, const char *name)
{
    for (size_t i = 0; i < j->npresent; i++)
        if (strcmp((const char *)j->arena + j->present_off[i], name) == 0)
            return true;
    return false;
}

/* Alarms held since before the lease by someone not present go back to the
 * queue: at most 64 per job (the next job takes the rest), and all of it in a
 * savepoint, so a failure here never fails the batch's frames. */
static int lease_release(struct stn_actstore *a, struct stn_job *j)
{
    int64_t gone[64];
    size_t n = 0;
    struct db_stmt *s = a->st[A_HELD];
    db_bind_int64(s, 1, j->lease_before_ms);
    int rc;
    while (n < 64 && (rc = db_step(s)) == DB_ROW)
        if (!present(j, (const char *)db_column_text(s, 1)))
            gone[n++] = db_column_int64(s, 0);
    db_reset(s);
    if (n < 64 && rc != DB_DONE)
        return rc;
    for (size_t i = 0; i < n; i++) {
        struct view_buf b;
        struct alm_verdict v;
        struct alm_request r = { .action = ALM_LEASE_EXPIRED };
        struct req_extra x = { 0 };
        rc = load_view(a, gone[i], &b);
        if (rc == ALM_E_NOTFOUND)
            continue;
        if (rc != 0)
            return rc;
        if (alm_decide(&b.v, &r, &v) != 0)
            continue;
        if ((rc = write_verdict(a, &b, &r, &x, &v, j->now_ms)) != 0)
            return rc;
        if ((rc = audit_alarm_action(a, j, gone[i], &r, before_obj(&b),
                                     after_obj(&r, &x, &v))) != 0)
            return rc;
        STN_WARN("alarm", "alarm %lld: %s alarm=%lld account=%s kind=%s priority=%d "
                 "event=%s", (long long)gone[i], v.history_detail, (long long)gone[i],
                 b.account, b.kind, b.v.priority, v.history_action);
    }
    return 0;
}

static int lease_check(struct stn_actstore *a, struct stn_job *j)
{
    int rc = sp(a, A_SAVEPOINT);
    if (rc)
        return rc;
    rc = lease_release(a, j);
    if (rc != 0) {
        STN_ERROR("alarm", "take lease check failed in the store: %s (retried next second)",
                  db_errstr(rc));
        rc = sp(a, A_ROLLBACK_SP);
    }
    int rc2 = sp(a, A_RELEASE_SP);
    return rc ? rc : rc2;
}

int stn_actstore_run(struct stn_actstore *a, struct stn_job *j)
{
    int rc = 0;
    for (size_t i = 0; i < j->nctl && rc == 0; i++)
        rc = run_request(a, j, &j->ctl[i]);
    if (rc == 0 && j->lease_check)
        rc = lease_check(a, j);
    if (rc == 0 && j->setup_check)
        rc = stn__setup_expire(a->db, j);   /* store_setup.c */
    return rc;
}
