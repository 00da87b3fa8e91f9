/*
 * actions.c — the alarm actions (POST /api/alarms/{id}/ACTION): check the
 * body's fields, send the action to vigil-station over the control socket,
 * and answer with the alarm's fresh detail once the station has committed.
 *
 * The console decides nothing about an alarm: the station's engine does
 * (vigil/alarm.h) and its refusal comes back as 400/403/409 with its reason.
 * The one check done here is the verbal passcode — argon2id is slow and
 * never runs in the station — whose words are wiped once checked and only
 * the result ("normal", "duress", "no_match") leaves this file. Must never
 * log a passcode or a note.
 */
#include "console.h"
#include "vigil/alarm.h"
#include "vigil/dc09.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEXT_MAX      1000    /* a note or a dispatch's details, in bytes */
#define PASSCODE_MAX  128

struct field_err {
    unsigned status;
    char msg[160];
};

static bool bad(struct field_err *e, unsigned status, const char *msg)
{
    e->status = status;
    snprintf(e->msg, sizeof e->msg, "%s", msg);
    return false;
}

/* An optional string field of at most max bytes, copied into req. */
static bool opt_text(json_t *body, json_t *req, const char *key, size_t max, struct field_err *e)
{
    json_t *v = json_object_get(body, key);
    if (!v || json_is_null(v))
        return true;
    if (!json_is_string(v) || json_string_length(v) > max) {
        char m[160];
        snprintf(m, sizeof m, "%s: a string of at most %zu bytes", key, max);
        return bad(e, 400, m);
    }
    json_object_set(req, key, v);
    return true;
}

static bool opt_bool(json_t *body, json_t *req, const char *key, struct field_err *e)
{
    json_t *v = json_object_get(body, key);
    if (v && !json_is_boolean(v) && !json_is_null(v)) {
        char m[160];
        snprintf(m, sizeof m, "%s: true or false", key);
        return bad(e, 400, m);
    }
    json_object_set_new(req, key, json_boolean(json_is_true(v)));
    return true;
}

static bool need_text(json_t *body, json_t *req, const char *key, struct field_err *e)
{
    json_t *v = json_object_get(body, key);
    if (!json_is_string(v) || json_string_length(v) == 0) {
        char m[160];
        snprintf(m, sizeof m, "%s: required (a string)", key);
        return bad(e, 400, m);
    }
    return opt_text(body, req, key, 200, e);
}

static bool fields_psap(json_t *body, json_t *req, struct field_err *e)
{
    static const char *const statuses[] = { "accepted", "rejected", "dispatched", "arrived",
                                            "closed", "cancel_requested" };
    if (!need_text(body, req, "status", e))
        return false;
    const char *s = json_string_value(json_object_get(body, "status"));
    bool known = false;
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
        known = known || strcmp(s, statuses[i]) == 0;
    if (!known)
        return bad(e, 400, "status: accepted, rejected, dispatched, arrived, closed or cancel_requested");
    if (strcmp(s, "accepted") == 0 && !need_text(body, req, "event_number", e))
        return false;
    if (strcmp(s, "rejected") == 0) {
        if (!need_text(body, req, "reason", e))
            return false;
        if (!alm_reject_reason_valid(json_string_value(json_object_get(body, "reason"))))
            return bad(e, 400, "reason: invalid_address, invalid_event_type, too_old or other");
    }
    /* the police's finding with their close: the engine checks it (false,
     * cancelled or valid; only with closed) and the station bills it */
    return opt_text(body, req, "event_number", 200, e) && opt_text(body, req, "reason", 200, e) &&
           opt_text(body, req, "disposition", 200, e) && opt_text(body, req, "finding", 16, e);
}

static bool fields_close(json_t *body, json_t *req, struct field_err *e)
{
    json_t *d = json_object_get(body, "disposition");
    if (!d || json_is_null(d))
        return bad(e, 409, "closing needs a disposition");
    if (!json_is_string(d) || !alm_disposition_valid(json_string_value(d)))
        return bad(e, 400, "disposition: not one of docs/station.md's dispositions");
    json_object_set(req, "disposition", d);
    return opt_bool(body, req, "override", e) && opt_text(body, req, "note", TEXT_MAX, e);
}

/* The action's own fields from body into req (the control request). */
static bool fields(struct con_app *app, const char *action, json_t *body, json_t *req,
                   struct field_err *e)
{
    if (strcmp(action, "take") == 0)
        return opt_bool(body, req, "force", e);
    if (strcmp(action, "release") == 0)
        return true;
    if (strcmp(action, "step") == 0)
        return need_text(body, req, "step", e) && opt_text(body, req, "note", TEXT_MAX, e);
    if (strcmp(action, "dispatch") == 0) {
        json_object_set_new(req, "provider_name", json_string(app->cfg.station_name));
        json_object_set_new(req, "callback_phone", json_string(app->cfg.station_phone));
        return opt_text(body, req, "details", TEXT_MAX, e);
    }
    if (strcmp(action, "psap") == 0)
        return fields_psap(body, req, e);
    if (strcmp(action, "close") == 0)
        return fields_close(body, req, e);
    return bad(e, 404, "no such action");
}

/* ---- the passcode check ------------------------------------------------------ */

static const char *advice_of(enum stn_passcode_result r)
{
    switch (r) {
    case STN_PASSCODE_NORMAL: return "normal passcode";
    case STN_PASSCODE_DURESS: return "DURESS passcode \u2014 thank them, hang up, dispatch";
    default:                  return "no match";
    }
}

static int rd_account(struct stn_store *st, void *ctx)
{
    int64_t *id = ctx;
    char *out = (char *)(id + 1);
    return stn_alarm_account(st, *id, out);
}

/* Checks the typed words (then wipes them) against the alarm's account. */
static int passcode_result(struct con_app *app, int64_t id, json_t *body,
                           enum stn_passcode_result *res, struct field_err *e)
{
    json_t *p = json_object_get(body, "passcode");
    if (!json_is_string(p) || json_string_length(p) == 0 || json_string_length(p) > PASSCODE_MAX) {
        bad(e, 400, "passcode: required, 1..128 characters");
        return -1;
    }
    struct { int64_t id; char number[32]; } acc = { .id = id };
    int rc = con_read(app, rd_account, &acc);
    if (rc == 0) {
        struct stn_store *st = con_slot_take(app);
        rc = stn_passcode_check(st, acc.number, json_string_value(p), json_string_length(p), res);
        con_slot_give(app, st);
    }
    if (rc) {
        bad(e, rc == STN_E_NOTFOUND ? 404 : 500,
            rc == STN_E_NOTFOUND ? "no such alarm" : "the store could not be read");
        return -1;
    }
    return 0;
}

/* ---- the exchange with the station ---------------------------------------------- */

static unsigned status_of_code(const char *code)
{
    if (!code)
        return 503;
    if (strcmp(code, "invalid") == 0)   return 400;
    if (strcmp(code, "forbidden") == 0) return 403;
    if (strcmp(code, "conflict") == 0)  return 409;
    if (strcmp(code, "not_found") == 0) return 404;
    return 503;   /* store, busy, or a code this console does not know: nothing changed */
}

/* Sends one request to the station. 0: it said yes; otherwise *out holds the
 * reply already queued (the station's refusal as 400/403/404/409, or 503). */
static int ctl_exchange(struct con_app *app, struct MHD_Connection *c, json_t *req,
                        enum MHD_Result *out)
{
    json_t *reply = NULL;
    if (con_ctl_call(app->cfg.control_socket_path, req, &reply) != 0) {
        *out = con_reply_error(c, 503, "the station did not answer: nothing was changed");
        return -1;
    }
    bool ok = json_is_true(json_object_get(reply, "ok"));
    if (!ok) {
        const char *why = json_string_value(json_object_get(reply, "error"));
        unsigned status = status_of_code(json_string_value(json_object_get(reply, "code")));
        *out = con_reply_error(c, status, why ? why : "refused by the station");
    }
    json_decref(reply);
    return ok ? 0 : -1;
}

static enum MHD_Result send_action(struct con_app *app, struct MHD_Connection *c, json_t *req,
                                   int64_t id)
{
    enum MHD_Result out;
    if (ctl_exchange(app, c, req, &out) != 0)
        return out;
    return con_api_alarm(app, c, id);   /* the fresh detail, after the station's commit */
}

static int rd_exists(struct stn_store *st, void *ctx)
{
    int64_t *id = ctx;
    char number[32];
    return stn_alarm_account(st, *id, number);
}

struct detail_ctx { int64_t id; void *out; };

static int rd_detail(struct stn_store *st, void *ctx)
{
    struct detail_ctx *x = ctx;
    return stn_alarm_detail_json(st, x->id, &x->out);
}

/* The passcode's reply: the detail plus result and advice. */
static enum MHD_Result send_passcode(struct con_app *app, struct MHD_Connection *c, json_t *req,
                                     int64_t id, enum stn_passcode_result res)
{
    enum MHD_Result out;
    if (ctl_exchange(app, c, req, &out) != 0)
        return out;
    struct detail_ctx x = { .id = id };
    int rc = con_read(app, rd_detail, &x);
    if (rc)
        return con_reply_store_err(c, rc);
    json_object_set_new(x.out, "result", json_string(stn_passcode_result_name(res)));
    json_object_set_new(x.out, "advice", json_string(advice_of(res)));
    return con_reply_json(c, 200, x.out);
}

enum MHD_Result con_action(struct con_app *app, struct MHD_Connection *c, struct con_req *r,
                           int64_t id, const char *action)
{
    json_t *body = r->body_len ? json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, NULL)
                               : json_object();
    if (!json_is_object(body)) {
        json_decref(body);
        return con_reply_error(c, 400, "the body must be a JSON object");
    }
    struct field_err e = { 0 };
    json_t *req = json_pack("{s:s,s:I,s:s,s:s}", "op", action, "alarm", (json_int_t)id,
                            "operator", r->session.name, "role", r->session.role);
    enum stn_passcode_result res = STN_PASSCODE_NO_MATCH;
    bool ok;
    if (strcmp(action, "passcode") == 0)
        ok = passcode_result(app, id, body, &res, &e) == 0;
    else
        ok = fields(app, action, body, req, &e);
    json_t *pc = json_object_get(body, "passcode");
    if (json_is_string(pc))   /* the typed words: gone before anything else happens */
        sodium_memzero((char *)(uintptr_t)json_string_value(pc), json_string_length(pc));
    json_decref(body);
    if (!req)
        return con_reply_error(c, 500, "out of memory");
    if (!ok) {
        json_decref(req);
        return con_reply_error(c, e.status, e.msg);
    }
    int64_t probe = id;
    int rc = con_read(app, rd_exists, &probe);
    if (rc) {
        json_decref(req);
        return rc == STN_E_NOTFOUND ? con_reply_error(c, 404, "no such alarm")
                                    : con_reply_store_err(c, rc);
    }
    enum MHD_Result out;
    if (strcmp(action, "passcode") == 0) {
        json_object_set_new(req, "result", json_string(stn_passcode_result_name(res)));
        out = send_passcode(app, c, req, id, res);
    } else {
        out = send_action(app, c, req, id);
    }
    json_decref(req);
    return out;
}

/* ---- an unknown account's signals, assigned to a new account ------------------- */

struct account_ctx { const char *number; void *out; };

static int rd_account_obj(struct stn_store *st, void *ctx)
{
    struct account_ctx *x = ctx;
    return stn_account_json(st, x->number, &x->out);
}

/* POST /api/accounts {"number","name","address","phone"} (supervisor): the
 * station creates it (keyless: an installer keys it with `vigil account
 * edit`), so the signals of a panel not yet registered are received. */
enum MHD_Result con_account_create(struct con_app *app, struct MHD_Connection *c,
                                   struct con_req *r)
{
    enum alm_role role = ALM_ROLE_NONE;
    if (alm_role_parse(r->session.role, &role) != 0 || role < ALM_ROLE_SUPERVISOR)
        return con_reply_error(c, 403, "creating an account needs a supervisor");
    json_t *body = r->body_len ? json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, NULL)
                               : NULL;
    json_t *req = json_pack("{s:s,s:s,s:s}", "op", "account_create",
                            "operator", r->session.name, "role", r->session.role);
    struct field_err e = { 0 };
    bool ok = json_is_object(body) || bad(&e, 400, "the body must be a JSON object");
    ok = ok && need_text(body, req, "number", &e) && need_text(body, req, "name", &e) &&
         opt_text(body, req, "address", 200, &e) && opt_text(body, req, "phone", 40, &e);
    char num[DC09_ACCOUNT_MAX + 1] = "";
    const char *given = json_string_value(json_object_get(body, "number"));
    size_t glen = given ? strlen(given) : 0;
    if (ok && (glen < 3 || glen > DC09_ACCOUNT_MAX ||
               strspn(given, "0123456789abcdefABCDEF") != glen))
        ok = bad(&e, 400, "number: 3 to 16 hex digits");
    for (size_t i = 0; ok && i <= glen; i++)
        num[i] = (char)(given[i] >= 'a' && given[i] <= 'f' ? given[i] - 32 : given[i]);
    json_decref(body);
    if (!req)
        return con_reply_error(c, 500, "out of memory");
    if (!ok) {
        json_decref(req);
        return con_reply_error(c, e.status, e.msg);
    }
    enum MHD_Result out;
    int rc = ctl_exchange(app, c, req, &out);
    json_decref(req);
    if (rc != 0)
        return out;
    struct account_ctx x = { .number = num };
    if ((rc = con_read(app, rd_account_obj, &x)) != 0)
        return con_reply_store_err(c, rc);
    return con_reply_json(c, 201, x.out);
}
