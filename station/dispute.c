/*
 * dispute.c — the dispute packet of one alarm (docs/audit.md, "The dispute
 * packet"): everything a disputed false-dispatch fee is won or lost on, as
 * one JSON object, read in one snapshot of the store. `vigil dispute` and
 * vigil-console's /api/alarms/{id}/dispute.json|html both call it; the page
 * is rendered from this object only (dispute_html.c).
 *
 * Holds: the customer (name, address, phone, permit and its expiry, agency),
 * the signals received (raw frames as stored, and decoded), the account's
 * zones and users (names; never a code), every verification attempt (plan
 * steps, passcode checks with their verdict), the dispatch record with the
 * PSAP's times and event number, cancel and arrival, the police's finding
 * and the invoice line, every operator action, and the audit trail from the
 * alarm's first entry up to the chain's end with the head file, so that a
 * reader can recompute every hash.
 *
 * Must never hold a password, a passcode, a passcode hash, a key or a
 * session token: every column is named here, none of those is (the audit
 * trail never holds them either).
 */
#include "stn_internal.h"

#include <errno.h>
#include <jansson.h>
#include "db.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vigil/alarm.h"
#include "vigil/audit.h"
#include "vigil/station.h"

#define DISPUTE_SIGNALS_MAX 1000      /* frames of one alarm shown (a flood joins many) */
#define DISPUTE_CHAIN_MAX   200000    /* audit entries carried for the proof */

static json_t *iso(int64_t ms)
{
    char b[32];
    stn_iso8601_ms(ms, b);
    return json_string(b);
}

static const char *name_of(json_t *list, int64_t number)
{
    size_t i;
    json_t *o;
    json_array_foreach(list, i, o)
        if (json_integer_value(json_object_get(o, "number")) == number)
            return json_string_value(json_object_get(o, "name"));
    return NULL;
}

static json_t *numbered(struct db *db, const char *sql, int64_t account_id)
{
    json_t *arr = json_array();
    struct db_stmt *st;
    if (!arr || db_prepare(db, sql, &st) != DB_OK)
        return arr;
    db_bind_int64(st, 1, account_id);
    while (db_step(st) == DB_ROW)
        json_array_append_new(arr, json_pack("{s:I,s:o}", "number",
                                             (json_int_t)db_column_int64(st, 0),
                                             "name", stn__col_text(st, 1)));
    db_finalize(st);
    return arr;
}

struct alarm_row {
    int64_t account_id, received_ms, closed_ms;
    char account[32];
};

static json_t *alarm_part(struct db *db, int64_t id, struct alarm_row *r, int *rc)
{
    struct db_stmt *st;
    *rc = STN_E_STORE;
    if (db_prepare(db, "SELECT id, account, account_id, kind, priority, state,"
                           " received_at_ms, last_event_at_ms, event_count, partition, zone,"
                           " \"user\", detail, taken_by, taken_at_ms, dispatched_at_ms,"
                           " escalated_at_ms, restored_at_ms, closed_at_ms, disposition"
                           " FROM alarms WHERE id=?", &st) != DB_OK)
        return NULL;
    db_bind_int64(st, 1, id);
    int s = db_step(st);
    json_t *o = NULL;
    if (s == DB_ROW) {
        r->account_id = db_column_int64(st, 2);
        r->received_ms = db_column_int64(st, 6);
        r->closed_ms = db_column_type(st, 18) == DB_NULL ? 0
                                                                 : db_column_int64(st, 18);
        const char *a = (const char *)db_column_text(st, 1);
        snprintf(r->account, sizeof r->account, "%s", a ? a : "");
        o = json_object();
        if (o) {
            json_object_set_new(o, "id", json_integer(id));
            json_object_set_new(o, "account", stn__col_text(st, 1));
            json_object_set_new(o, "kind", stn__col_text(st, 3));
            json_object_set_new(o, "silent", json_boolean(alm_kind_is_silent(
                (const char *)db_column_text(st, 3))));
            json_object_set_new(o, "priority", stn__col_int(st, 4));
            json_object_set_new(o, "state", stn__col_text(st, 5));
            json_object_set_new(o, "received_at", stn__col_time(st, 6));
            json_object_set_new(o, "last_signal_at", stn__col_time(st, 7));
            json_object_set_new(o, "signal_count", stn__col_int(st, 8));
            json_object_set_new(o, "partition", stn__col_int(st, 9));
            json_object_set_new(o, "zone", stn__col_int(st, 10));
            json_object_set_new(o, "user", stn__col_int(st, 11));
            json_object_set_new(o, "detail", stn__col_text(st, 12));
            json_object_set_new(o, "taken_by", stn__col_text(st, 13));
            json_object_set_new(o, "taken_at", stn__col_time(st, 14));
            json_object_set_new(o, "dispatched_at", stn__col_time(st, 15));
            json_object_set_new(o, "escalated_at", stn__col_time(st, 16));
            json_object_set_new(o, "restored_at", stn__col_time(st, 17));
            json_object_set_new(o, "closed_at", stn__col_time(st, 18));
            json_object_set_new(o, "disposition", stn__col_text(st, 19));
        }
        *rc = o ? 0 : STN_E_NOMEM;
    } else if (s == DB_DONE) {
        *rc = STN_E_NOTFOUND;
    }
    db_finalize(st);
    return o;
}

/* The customer as the account is now (the packet is read after the fact:
 * the phone is given here, unlike the live detail of a silent alarm). */
static json_t *customer_part(struct db *db, int64_t account_id)
{
    struct db_stmt *st;
    if (db_prepare(db, "SELECT a.number, a.name, a.address, a.phone, a.location,"
                           " a.time_zone, a.agency, g.name, a.permit, a.permit_expires_ms,"
                           " a.police_status FROM accounts a LEFT JOIN agencies g"
                           " ON g.id = a.agency WHERE a.id=?", &st) != DB_OK)
        return json_null();
    db_bind_int64(st, 1, account_id);
    json_t *o = NULL;
    if (db_step(st) == DB_ROW) {
        o = json_object();
        if (o) {
            json_object_set_new(o, "account", stn__col_text(st, 0));
            json_object_set_new(o, "name", stn__col_text(st, 1));
            json_object_set_new(o, "address", stn__col_text(st, 2));
            json_object_set_new(o, "phone", stn__col_text(st, 3));
            json_object_set_new(o, "location", stn__col_text(st, 4));
            json_object_set_new(o, "time_zone", stn__col_text(st, 5));
            json_object_set_new(o, "agency", stn__col_text(st, 6));
            json_object_set_new(o, "agency_name", stn__col_text(st, 7));
            json_object_set_new(o, "permit", stn__col_text(st, 8));
            json_object_set_new(o, "permit_expires", stn__col_time(st, 9));
            json_object_set_new(o, "police_status", stn__col_text(st, 10));
        }
    }
    db_finalize(st);
    return o ? o : json_null();
}

static json_t *signals_part(struct db *db, int64_t id, json_t *zones, json_t *users, bool *cut)
{
    json_t *arr = json_array();
    struct db_stmt *st;
    *cut = false;
    if (!arr || db_prepare(db, "SELECT e.id, e.received_at_ms, e.account, e.seq, e.id_token, e.encrypted,"
            " e.cid_q, e.cid_event, e.cid_partition, e.cid_zone, e.sia_code, e.sia_area,"
            " e.sia_user, e.sia_zone, e.sia_text, e.raw, e.kind, e.priority, e.peer"
            " FROM alarm_events ae JOIN events e ON e.id=ae.event_id WHERE ae.alarm_id=?"
            " ORDER BY e.id LIMIT ?", &st) != DB_OK)
        return arr;
    db_bind_int64(st, 1, id);
    db_bind_int(st, 2, DISPUTE_SIGNALS_MAX + 1);
    while (db_step(st) == DB_ROW) {
        if (json_array_size(arr) == DISPUTE_SIGNALS_MAX) {
            *cut = true;
            break;
        }
        json_t *o = json_object();
        if (!o)
            break;
        json_object_set_new(o, "event_id", json_integer(db_column_int64(st, 0)));
        json_object_set_new(o, "received_at", stn__col_time(st, 1));
        json_object_set_new(o, "account", stn__col_text(st, 2));
        json_object_set_new(o, "seq", stn__col_int(st, 3));
        json_object_set_new(o, "id_token", stn__col_text(st, 4));
        json_object_set_new(o, "encrypted", json_boolean(db_column_int(st, 5)));
        int64_t zone = -1, user = -1;
        char decoded[160] = "";
        if (db_column_type(st, 7) != DB_NULL) {
            struct dc09_cid c = { .qualifier = (uint8_t)db_column_int(st, 6),
                                  .event = (uint16_t)db_column_int(st, 7),
                                  .partition = (uint8_t)db_column_int(st, 8),
                                  .zone = (uint16_t)db_column_int(st, 9) };
            struct stn_class cls;
            stn_classify_cid(&c, &cls);
            if (cls.is_user)
                user = c.zone;
            else
                zone = c.zone;
            snprintf(decoded, sizeof decoded, "Contact ID %d%03d, partition %02d, %s %03d",
                     c.qualifier, c.event, c.partition, cls.is_user ? "user" : "zone", c.zone);
            json_object_set_new(o, "cid", json_pack("{s:i,s:i,s:i,s:i}", "qualifier",
                                c.qualifier, "event", c.event, "partition", c.partition,
                                "zone_or_user", c.zone));
        } else if (db_column_type(st, 10) != DB_NULL) {
            if (db_column_type(st, 12) != DB_NULL)
                user = db_column_int64(st, 12);
            if (db_column_type(st, 13) != DB_NULL)
                zone = db_column_int64(st, 13);
            snprintf(decoded, sizeof decoded, "SIA %s", db_column_text(st, 10));
            json_object_set_new(o, "sia", json_pack("{s:o,s:o,s:o,s:o,s:o}", "code",
                                stn__col_text(st, 10), "area", stn__col_int(st, 11), "user", stn__col_int(st, 12),
                                "zone", stn__col_int(st, 13), "text", stn__col_text(st, 14)));
        }
        json_object_set_new(o, "decoded", decoded[0] ? json_string(decoded) : json_null());
        json_object_set_new(o, "zone", zone >= 0 ? json_integer(zone) : json_null());
        const char *zn = zone >= 0 ? name_of(zones, zone) : NULL;
        json_object_set_new(o, "zone_name", zn ? json_string(zn) : json_null());
        json_object_set_new(o, "user", user >= 0 ? json_integer(user) : json_null());
        const char *un = user >= 0 ? name_of(users, user) : NULL;
        json_object_set_new(o, "user_name", un ? json_string(un) : json_null());
        json_object_set_new(o, "kind", stn__col_text(st, 16));
        json_object_set_new(o, "priority", stn__col_int(st, 17));
        json_object_set_new(o, "receiver_peer", stn__col_text(st, 18));
        json_object_set_new(o, "raw", stn__col_raw(st, 15));
        json_array_append_new(arr, o);
    }
    db_finalize(st);
    return arr;
}

/* Passcode checks from the alarm's history ("result: normal|duress|no_match"). */
static json_t *passcode_checks(json_t *history)
{
    json_t *arr = json_array();
    size_t i;
    json_t *h;
    json_array_foreach(history, i, h) {
        const char *a = json_string_value(json_object_get(h, "action"));
        if (!a || strcmp(a, "passcode") != 0)
            continue;
        const char *d = json_string_value(json_object_get(h, "detail"));
        const char *res = d && strncmp(d, "result: ", 8) == 0 ? d + 8 : d;
        json_array_append_new(arr, json_pack("{s:O,s:O,s:s?}", "at", json_object_get(h, "at"),
                                             "operator", json_object_get(h, "operator"),
                                             "result", res));
    }
    return arr;
}

static json_t *entry_obj(struct db_stmt *st, const char *about)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "seq", json_integer(db_column_int64(st, 0)));
    json_object_set_new(o, "at", iso(db_column_int64(st, 1)));
    json_object_set_new(o, "at_ms", json_integer(db_column_int64(st, 1)));
    json_object_set_new(o, "actor", stn__col_text(st, 2));
    json_object_set_new(o, "kind", stn__col_text(st, 3));
    json_object_set_new(o, "subject", stn__col_text(st, 4));
    json_object_set_new(o, "before", stn__col_text(st, 5));
    json_object_set_new(o, "after", stn__col_text(st, 6));
    json_object_set_new(o, "prev_hash", stn__col_text(st, 7));
    json_object_set_new(o, "hash", stn__col_text(st, 8));
    json_object_set_new(o, "about", about ? json_string(about) : json_null());
    return o;
}

/* The trail from the alarm's first entry up to its last entry now, every
 * entry in full (a hash chain is checked only by recomputing each hash, so
 * none in between can be left out); each marked "alarm" (this alarm's),
 * "account" (the account's, within the alarm's time span) or null. */
static json_t *audit_part(struct db *db, int64_t id, const struct alarm_row *r, int hr,
                          int64_t head_seq, const char *head_hash, int *rc)
{
    json_t *o = json_object(), *chain = json_array(), *mine = json_array();
    *rc = STN_E_NOMEM;
    if (!o || !chain || !mine) {
        json_decref(o);
        json_decref(chain);
        json_decref(mine);
        return NULL;
    }
    char subj[24];
    snprintf(subj, sizeof subj, "%lld", (long long)id);
    int64_t first = 0, last = 0;
    char last_hash[STN_AUDIT_HASH_HEX] = "";
    struct db_stmt *st;
    *rc = STN_E_STORE;
    if (db_prepare(db, "SELECT min(seq) FROM audit WHERE subject=? AND kind LIKE"
                           " 'alarm.%'", &st) != DB_OK)
        goto fail;
    db_bind_text(st, 1, subj, -1, DB_TRANSIENT);
    if (db_step(st) == DB_ROW && db_column_type(st, 0) != DB_NULL)
        first = db_column_int64(st, 0);
    db_finalize(st);
    if (db_prepare(db, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", &st) != DB_OK)
        goto fail;
    if (db_step(st) == DB_ROW) {
        last = db_column_int64(st, 0);
        const char *h = (const char *)db_column_text(st, 1);
        snprintf(last_hash, sizeof last_hash, "%s", h ? h : "");
    }
    db_finalize(st);
    bool complete = true;
    int64_t to = 0;
    if (first) {
        if (db_prepare(db, "SELECT seq, at_ms, actor, kind, subject, before, after,"
                               " prev_hash, hash FROM audit WHERE seq>=? ORDER BY seq LIMIT ?", &st) != DB_OK)
            goto fail;
        db_bind_int64(st, 1, first);
        db_bind_int64(st, 2, DISPUTE_CHAIN_MAX);
        int64_t span_end = r->closed_ms ? r->closed_ms : INT64_MAX;
        int s;
        while ((s = db_step(st)) == DB_ROW) {
            const char *kind = (const char *)db_column_text(st, 3);
            const char *sj = (const char *)db_column_text(st, 4);
            int64_t at = db_column_int64(st, 1);
            const char *about = NULL;
            if (sj && kind && strcmp(sj, subj) == 0 && strncmp(kind, "alarm.", 6) == 0)
                about = "alarm";
            else if (sj && kind && strcmp(sj, r->account) == 0 &&
                     strncmp(kind, "account.", 8) == 0 && at >= r->received_ms &&
                     at <= span_end)
                about = "account";
            json_t *e = entry_obj(st, about);
            if (!e || json_array_append_new(chain, e) != 0) {
                db_finalize(st);
                *rc = STN_E_NOMEM;
                goto fail;
            }
            if (about)
                json_array_append_new(mine, json_integer(db_column_int64(st, 0)));
            to = db_column_int64(st, 0);
        }
        db_finalize(st);
        if (s != DB_DONE)
            goto fail;
        complete = to == last;
    }
    json_object_set_new(o, "hash", json_string("vigil-audit-v1: SHA-256, docs/audit.md"));
    if (hr == 0)
        json_object_set_new(o, "head_file", json_pack("{s:I,s:s}", "seq", (json_int_t)head_seq,
                                                      "hash", head_hash));
    else
        json_object_set_new(o, "head_file", json_null());
    json_object_set_new(o, "head_file_note", hr == 0 ? json_null() : json_string(
        hr == -ENOENT ? "the head file beside the store is missing"
                               : "the head file beside the store is unreadable"));
    json_object_set_new(o, "last_entry", last ? json_pack("{s:I,s:s}", "seq", (json_int_t)last,
                                                          "hash", last_hash) : json_null());
    json_object_set_new(o, "chain_from", first ? json_integer(first) : json_null());
    json_object_set_new(o, "chain_to", first ? json_integer(to) : json_null());
    json_object_set_new(o, "chain_complete", json_boolean(first && complete));
    if (!first)
        json_object_set_new(o, "chain_note", json_string(
            "this alarm has no entry in the audit trail (it is older than the trail)"));
    else if (!complete)
        json_object_set_new(o, "chain_note", json_string(
            "the trail after the alarm is longer than a packet carries: check it at the "
            "station with `vigil audit verify`"));
    json_object_set_new(o, "entries_about_this_alarm", mine);
    json_object_set_new(o, "chain", chain);
    *rc = 0;
    return o;
fail:
    json_decref(o);
    json_decref(chain);
    json_decref(mine);
    return NULL;
}

static json_t *how_to_check(void)
{
    static const char *const lines[] = {
        "Every audit entry in audit.chain is given in full. For each one, compute "
        "SHA-256(\"vigil-audit-v1\" || F(seq) || F(at_ms) || F(actor) || F(kind) || F(subject) "
        "|| F(before) || F(after) || F(prev_hash)) where F(null) is the one byte \"~\" and "
        "F(text) is its UTF-8 byte length in decimal, \":\", the bytes, \",\" (an integer as its "
        "decimal text). The lower-case hex digest must equal the entry's hash.",
        "Each entry's prev_hash must equal the hash of the entry before it, and seq must go up "
        "by one from audit.chain_from to audit.chain_to.",
        "The entry whose seq is audit.head_file.seq must be in the chain with exactly "
        "audit.head_file.hash, and the chain must end at audit.last_entry. Compare the head "
        "with a copy kept away from the station (a daily report, a backup): an entry edited "
        "after that copy was made cannot link to it.",
        "The entries marked about = \"alarm\" are this alarm's (subject = the alarm id); "
        "\"account\" marks the account's changes during the alarm. The others are in the "
        "packet only so that every hash can be recomputed.",
    };
    json_t *a = json_array();
    for (size_t i = 0; a && i < sizeof lines / sizeof lines[0]; i++)
        json_array_append_new(a, json_string(lines[i]));
    return a;
}

/* Times a dispute turns on, from the alarm and its dispatch record. */
static json_t *times_part(json_t *alarm, json_t *dispatch, json_t *charge)
{
    json_t *t = json_object();
#define T(k, o, f) json_object_set(t, k, json_object_get(o, f) ? json_object_get(o, f) : json_null())
    T("received", alarm, "received_at");
    T("taken", alarm, "taken_at");
    T("dispatch_requested", dispatch, "DispatchRequestedDate");
    T("psap_accepted", dispatch, "PsapAcceptedDate");
    T("psap_dispatched", dispatch, "PsapDispatchedDate");
    T("arrived", dispatch, "PsapArrivedDate");
    T("cancel_requested", dispatch, "CancelRequestedDate");
    T("psap_closed", dispatch, "PsapClosedDate");
    T("finding_recorded", charge, "at");
    T("closed", alarm, "closed_at");
#undef T
    return t;
}

int stn_dispute_json(struct stn_store *s, int64_t id, const char *generated_by, void **out)
{
    struct db *db = stn_store_db(s);
    *out = NULL;
    /* the head file first, then one snapshot: a head is written after its
     * entries committed, so the snapshot holds the entry it names */
    int64_t head_seq = 0;
    char head_hash[STN_AUDIT_HASH_HEX] = "";
    int hr = stn_audit_head_read(stn_store_path(s), &head_seq, head_hash);
    if (db_exec(db, "BEGIN", NULL) != DB_OK)
        return STN_E_STORE;
    int rc = 0;
    struct alarm_row r = { 0 };
    json_t *p = NULL, *alarm = alarm_part(db, id, &r, &rc);
    void *detail = NULL;
    if (rc == 0)
        rc = stn_alarm_detail_json(s, id, &detail);
    json_t *d = detail;
    json_t *audit = rc == 0 ? audit_part(db, id, &r, hr, head_seq, head_hash, &rc) : NULL;
    if (rc == 0 && (p = json_object()) == NULL)
        rc = STN_E_NOMEM;
    if (rc == 0) {
        json_t *zones = numbered(db, "SELECT zone_number, name FROM account_zones WHERE"
                                     " account_id=? ORDER BY zone_number", r.account_id);
        json_t *users = numbered(db, "SELECT user_number, name FROM account_users WHERE"
                                     " account_id=? ORDER BY user_number", r.account_id);
        bool cut = false;
        json_t *signals = signals_part(db, id, zones, users, &cut);
        json_t *dispatch = json_object_get(d, "dispatch"), *charge = json_object_get(d, "charge");
        json_t *history = json_object_get(d, "history");
        /* the alarm's zone and user by name */
        json_t *z = json_object_get(alarm, "zone"), *u = json_object_get(alarm, "user");
        const char *zn = json_is_integer(z) ? name_of(zones, json_integer_value(z)) : NULL;
        const char *un = json_is_integer(u) ? name_of(users, json_integer_value(u)) : NULL;
        json_object_set_new(alarm, "zone_name", zn ? json_string(zn) : json_null());
        json_object_set_new(alarm, "user_name", un ? json_string(un) : json_null());
        json_object_set_new(alarm, "plan", json_incref(json_object_get(d, "plan")));
        char gen[32];
        int64_t now = stn_now_ms();
        stn_iso8601_ms(now, gen);
        json_object_set_new(p, "packet", json_pack("{s:s,s:i,s:I,s:s,s:s?}", "format",
                            "vigil-dispute-packet", "version", 1, "alarm", (json_int_t)id,
                            "generated_at", gen, "generated_by", generated_by));
        json_object_set_new(p, "customer", customer_part(db, r.account_id));
        json_object_set_new(p, "alarm", alarm);
        alarm = NULL;
        json_object_set_new(p, "signals", signals);
        json_object_set_new(p, "signals_complete", json_boolean(!cut));
        json_object_set_new(p, "zones", zones);
        json_object_set_new(p, "users", users);
        json_object_set_new(p, "verification", json_pack("{s:O,s:o}", "steps",
                            json_object_get(d, "steps") ? json_object_get(d, "steps")
                                                        : json_null(),
                            "passcode_checks", passcode_checks(history)));
        json_object_set_new(p, "dispatch", dispatch ? json_incref(dispatch) : json_null());
        json_object_set_new(p, "times", times_part(json_object_get(p, "alarm"), dispatch, charge));
        json_object_set_new(p, "finding", json_pack("{s:O,s:O}",
                            "psap_disposition", json_object_get(dispatch, "PsapDisposition")
                                ? json_object_get(dispatch, "PsapDisposition") : json_null(),
                            "charge_finding", json_object_get(charge, "finding")
                                ? json_object_get(charge, "finding") : json_null()));
        json_object_set_new(p, "charge", charge ? json_incref(charge) : json_null());
        json_object_set_new(p, "operator_actions", history ? json_incref(history) : json_array());
        json_object_set_new(p, "audit", audit);
        audit = NULL;
        json_object_set_new(p, "how_to_check", how_to_check());
    }
    db_exec(db, "COMMIT", NULL);
    json_decref(alarm);
    json_decref(d);
    json_decref(audit);
    if (rc) {
        json_decref(p);
        return rc;
    }
    *out = p;
    return 0;
}
