/*
 * store_agency.c — the SQLite side of police agencies' rules (vigil/agency.h):
 * the agencies table, an account's past findings, the invoice line written
 * when an operator records the police's finding (inside the commit worker's
 * savepoint, store_actions.c), the standing shown before dispatch, and the
 * month's charges for `vigil billing export`.
 *
 * Must never: decide a fee or a threshold itself (agency.c does), write an
 * invoice line outside the station's transaction, or use floating point for
 * money.
 */
#include "stn_internal.h"
#include "vigil/agency.h"

#include <jansson.h>
#include "db.h"
#include <stdio.h>
#include <string.h>

int stn__agency_rules(struct db *db, const char *id, struct agy_rules *out)
{
    struct db_stmt *st;
    if (!id || !id[0])
        return STN_E_NOTFOUND;
    if (db_prepare(db, "SELECT rules FROM agencies WHERE id=?", &st))
        return STN_E_STORE;
    db_bind_text(st, 1, id, -1, DB_TRANSIENT);
    int rc = db_step(st);
    if (rc == DB_ROW) {
        char msg[256];
        const char *t = (const char *)db_column_text(st, 0);
        /* checked at import: a failure here means the row was edited by hand */
        rc = agy_from_json(t, (size_t)db_column_bytes(st, 0), out, msg, sizeof msg) == 0
                 ? 0 : STN_E_STORE;
        if (rc)
            STN_ERROR("agency", "agency %s: stored rules unreadable: %s", id, msg);
    } else {
        rc = rc == DB_DONE ? STN_E_NOTFOUND : STN_E_STORE;
    }
    db_finalize(st);
    return rc;
}

/* An account's past findings, oldest first: the newest HIST_MAX (a window is
 * at most 3,650 days; no premises has this many false dispatches in one). */
#define HIST_MAX 512
struct hist {
    struct agy_past p[HIST_MAX];
    char   kind[HIST_MAX][AGY_KIND_MAX];
    size_t n;
};

static int load_hist(struct db *db, const char *account, struct hist *h)
{
    struct db_stmt *st;
    h->n = 0;
    if (db_prepare(db, "SELECT at_ms, kind, finding FROM (SELECT at_ms, kind, finding,"
                           " id FROM charges WHERE account=? ORDER BY at_ms DESC, id DESC"
                           " LIMIT 512) AS recent ORDER BY at_ms, id", &st))
        return DB_ERROR;
    db_bind_text(st, 1, account, -1, DB_TRANSIENT);
    int rc;
    while ((rc = db_step(st)) == DB_ROW && h->n < HIST_MAX) {
        const char *k = (const char *)db_column_text(st, 1);
        snprintf(h->kind[h->n], AGY_KIND_MAX, "%s", k ? k : "");
        enum agy_finding f = AGY_FINDING_FALSE;
        agy_finding_parse((const char *)db_column_text(st, 2), &f);
        h->p[h->n] = (struct agy_past){ db_column_int64(st, 0), h->kind[h->n], f };
        h->n++;
    }
    db_finalize(st);
    return rc == DB_DONE || rc == DB_ROW ? 0 : rc;
}

static int raise_police_status(struct db *db, int64_t account_id, const char *status)
{
    if (strcmp(status, "normal") == 0)
        return 0;
    struct db_stmt *st;
    /* raised, never lowered here: a supervisor lowers it (`vigil account edit`) */
    if (db_prepare(db, "UPDATE accounts SET police_status=?2 WHERE id=?1 AND"
                           " (police_status='normal' OR ?2='suspended')", &st))
        return DB_ERROR;
    db_bind_int64(st, 1, account_id);
    db_bind_text(st, 2, status, -1, DB_STATIC);
    int rc = db_step(st);
    db_finalize(st);
    return rc == DB_DONE ? 0 : rc;
}

static int insert_charge(struct db *db, const struct stn_finding *f, const struct agy_rules *r,
                         const struct agy_charge *c)
{
    struct db_stmt *st;
    if (db_prepare(db, "INSERT INTO charges (alarm_id, account, account_id, agency,"
                           " kind, location, finding, at_ms, operator, psap_event_number,"
                           " counted, count_in_window, forgiven, billed, currency,"
                           " agency_fee_cents, admin_fee_cents, total_cents, rule)"
                           " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", &st))
        return DB_ERROR;
    int i = 1;
    db_bind_int64(st, i++, f->alarm_id);
    db_bind_text(st, i++, f->account, -1, DB_TRANSIENT);
    db_bind_int64(st, i++, f->account_id);
    db_bind_text(st, i++, r->id, -1, DB_TRANSIENT);
    db_bind_text(st, i++, f->kind, -1, DB_TRANSIENT);
    db_bind_text(st, i++, f->location && f->location[0] ? f->location : "residential", -1,
                      DB_TRANSIENT);
    db_bind_text(st, i++, f->finding, -1, DB_TRANSIENT);
    db_bind_int64(st, i++, f->at_ms);
    db_bind_text(st, i++, f->operator_name, -1, DB_TRANSIENT);
    if (f->event_number && f->event_number[0])
        db_bind_text(st, i++, f->event_number, -1, DB_TRANSIENT);
    else
        db_bind_null(st, i++);
    db_bind_int(st, i++, c->counted);
    db_bind_int(st, i++, (int)c->count);
    db_bind_int(st, i++, c->forgiven);
    db_bind_text(st, i++, agy_billed_name(c->billed), -1, DB_STATIC);
    db_bind_text(st, i++, r->currency, -1, DB_TRANSIENT);
    db_bind_int64(st, i++, c->agency_cents);
    db_bind_int64(st, i++, c->admin_cents);
    db_bind_int64(st, i++, c->total_cents);
    db_bind_text(st, i++, c->rule, -1, DB_TRANSIENT);
    int rc = db_step(st);
    db_finalize(st);
    return rc == DB_DONE ? 0 : rc;
}

static void premises_of(const struct stn_finding *f, struct agy_premises *p)
{
    p->commercial = f->location && strcmp(f->location, "commercial") == 0;
    p->permit = f->permit;
    p->permit_expires_ms = f->permit_expires_ms;
}

int stn__agency_charge(struct db *db, const struct stn_finding *f, char *detail, size_t cap)
{
    struct agy_rules r;
    enum agy_finding fin;
    if (agy_finding_parse(f->finding, &fin) != 0)
        return DB_MISUSE;   /* the engine let only false / cancelled through */
    int rc = stn__agency_rules(db, f->agency, &r);
    if (rc == STN_E_NOTFOUND) {
        snprintf(detail, cap, "no invoice line: account %s names no agency with imported "
                 "rules%s%s", f->account, f->agency && f->agency[0] ? " (agency: " : "",
                 f->agency && f->agency[0] ? "set but unknown)" : "");
        return 0;
    }
    if (rc)
        return DB_CORRUPT;
    static _Thread_local struct hist h;   /* 20 KB: off the commit worker's stack */
    if ((rc = load_hist(db, f->account, &h)) != 0)
        return rc;
    struct agy_premises p;
    premises_of(f, &p);
    struct agy_charge c;
    agy_charge(&r, &p, h.p, h.n, f->kind, fin, f->arrived, f->at_ms, f->admin_fee_cents, &c);
    if ((rc = insert_charge(db, f, &r, &c)) != 0)
        return rc;
    /* the standing it leaves, for the plans' call_911 step and the queue */
    if (h.n < HIST_MAX) {
        h.kind[h.n][0] = '\0';
        snprintf(h.kind[h.n], AGY_KIND_MAX, "%s", f->kind);
        h.p[h.n] = (struct agy_past){ f->at_ms, h.kind[h.n], fin };
        h.n++;
    }
    struct agy_standing s;
    agy_standing(&r, &p, h.p, h.n, NULL, f->at_ms, &s);
    if ((rc = raise_police_status(db, f->account_id, s.status)) != 0)
        return rc;
    char total[32];
    snprintf(detail, cap, "invoice line %s %s (%s); %u in window", r.currency,
             agy_format_cents(c.total_cents, total, sizeof total), c.rule, (unsigned)s.count);
    return 0;
}

/* ---- standing, for the console ---------------------------------------- */

static json_t *time_or_null(int64_t ms)
{
    if (!ms)
        return json_null();
    char b[32];
    stn_iso8601_ms(ms, b);
    return json_string(b);
}

static json_t *money(int64_t cents)
{
    char b[32];
    return json_string(agy_format_cents(cents, b, sizeof b));
}

static json_t *next_false_obj(const struct agy_rules *r, const struct agy_charge *c)
{
    return json_pack("{s:b,s:b,s:I,s:I,s:I,s:o,s:o,s:s,s:s,s:s,s:I}", "billable", c->billable,
                     "forgiven", c->forgiven, "agency_fee_cents", (json_int_t)c->agency_cents,
                     "admin_fee_cents", (json_int_t)c->admin_cents,
                     "total_cents", (json_int_t)c->total_cents, "agency_fee",
                     money(c->agency_cents), "total", money(c->total_cents), "currency",
                     r->currency, "billed", agy_billed_name(c->billed), "rule", c->rule,
                     "count", (json_int_t)c->count);
}

/* Warnings before each threshold: the next counted false alarm crosses it. */
static json_t *warnings(const struct agy_rules *r, const struct agy_standing *s)
{
    json_t *w = json_array();
    char b[200];
    if (s->to_caution == 1) {
        snprintf(b, sizeof b, "the next false alarm brings a caution from %s (%u in the "
                 "window)", r->name, (unsigned)r->caution_at);
        json_array_append_new(w, json_string(b));
    }
    if (s->to_suspension == 1) {
        snprintf(b, sizeof b, "the next false alarm suspends police response for %u days "
                 "(%u in the window)", (unsigned)r->suspension.days, (unsigned)r->suspension.at);
        json_array_append_new(w, json_string(b));
    }
    if (s->to_revocation == 1) {
        snprintf(b, sizeof b, "the next false alarm revokes the alarm permit (%u in the window)",
                 (unsigned)r->revocation.at);
        json_array_append_new(w, json_string(b));
    }
    return w;
}

static json_t *standing_obj(const struct agy_rules *r, const struct agy_premises *p,
                            const struct agy_standing *s, const struct agy_charge *c)
{
    json_t *o = json_pack("{s:{s:s,s:s,s:s,s:s,s:s},s:I,s:{s:s,s:I,s:o,s:o},s:b,s:I,s:b,s:o,s:I}",
        "agency", "id", r->id, "name", r->name, "currency", r->currency,
        "billed", agy_billed_name(r->billed), "source", r->source,
        "count", (json_int_t)s->count, "window", "type", agy_window_name(r->window),
        "days", (json_int_t)r->window_days, "start", time_or_null(s->window_start_ms),
        "end", time_or_null(s->window_end_ms), "cautioned", s->cautioned,
        "caution_at", (json_int_t)r->caution_at, "suspended", s->suspended,
        "suspended_until", time_or_null(s->suspended ? s->suspended_until_ms : 0),
        "suspension_at", (json_int_t)r->suspension.at);
    if (!o)
        return json_null();
    json_object_set_new(o, "permit_required", json_boolean(s->permit_required));
    json_object_set_new(o, "permit_missing", json_boolean(s->permit_missing));
    json_object_set_new(o, "permit_expired", json_boolean(s->permit_expired));
    json_object_set_new(o, "permit_revoked", json_boolean(s->permit_revoked));
    json_object_set_new(o, "permit_expires", time_or_null(p->permit_expires_ms));
    json_object_set_new(o, "revocation_at", json_integer(r->revocation.at));
    json_object_set_new(o, "exempt", json_boolean(s->exempt));
    json_object_set_new(o, "verification_required", json_boolean(s->verification_required));
    json_object_set_new(o, "respond", json_boolean(s->respond));
    json_object_set_new(o, "status", json_string(s->status));
    json_object_set_new(o, "to_caution", json_integer(s->to_caution));
    json_object_set_new(o, "to_suspension", json_integer(s->to_suspension));
    json_object_set_new(o, "to_revocation", json_integer(s->to_revocation));
    json_object_set_new(o, "warnings", warnings(r, s));
    json_object_set_new(o, "next_false", next_false_obj(r, c));
    return o;
}

static int account_premises(struct db *db, int64_t account_id, char *number, char *agency,
                            char *permit, struct agy_premises *p)
{
    struct db_stmt *st;
    if (db_prepare(db, "SELECT number, agency, permit, location, permit_expires_ms"
                           " FROM accounts WHERE id=?", &st))
        return STN_E_STORE;
    db_bind_int64(st, 1, account_id);
    int rc = db_step(st);
    if (rc == DB_ROW) {
        const char *t;
        snprintf(number, 32, "%s", (t = (const char *)db_column_text(st, 0)) ? t : "");
        snprintf(agency, 128, "%s", (t = (const char *)db_column_text(st, 1)) ? t : "");
        snprintf(permit, 64, "%s", (t = (const char *)db_column_text(st, 2)) ? t : "");
        t = (const char *)db_column_text(st, 3);
        p->commercial = t && strcmp(t, "commercial") == 0;
        p->permit = permit;
        p->permit_expires_ms = db_column_int64(st, 4);
    }
    db_finalize(st);
    return rc == DB_ROW ? 0 : rc == DB_DONE ? STN_E_NOTFOUND : STN_E_STORE;
}

void *stn__agency_standing_json(struct db *db, int64_t account_id, const char *kind,
                                int64_t now_ms, int64_t admin_fee_cents)
{
    char number[32], agency[128], permit[64];
    struct agy_premises p;
    struct agy_rules r;
    if (account_premises(db, account_id, number, agency, permit, &p) != 0 || !agency[0])
        return json_null();
    int rc = stn__agency_rules(db, agency, &r);
    if (rc == STN_E_NOTFOUND)
        return json_pack("{s:{s:s},s:b,s:s}", "agency", "id", agency, "rules", 0, "note",
                         "no rules imported for this agency (vigil agency import FILE)");
    static _Thread_local struct hist h;   /* 20 KB: off the (console worker's) stack */
    if (rc || load_hist(db, number, &h) != 0)
        return json_null();
    struct agy_standing s;
    struct agy_charge c;
    agy_standing(&r, &p, h.p, h.n, kind, now_ms, &s);
    agy_charge(&r, &p, h.p, h.n, kind ? kind : "burglary", AGY_FINDING_FALSE, true, now_ms,
               admin_fee_cents, &c);
    json_t *o = standing_obj(&r, &p, &s, &c);
    if (json_is_object(o))
        json_object_set_new(o, "rules", json_true());
    return o;
}
