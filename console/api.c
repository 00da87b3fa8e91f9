/*
 * api.c — the session endpoints (login, logout, session) and the read-only
 * ones (alarms, one alarm, accounts, events, refused signals, operators),
 * answered from the store as `vigil ... --json` prints them.
 *
 * Must never return a key, a hash, a passcode or a password, nor log a
 * login's password; a login's password is wiped once checked. Reads hold
 * the shared connection for one query only; a password check takes a slot
 * of its own (argon2id is slow and costs 64 MiB).
 */
#include "console.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define EVENTS_LIMIT_DEFAULT 100
#define EVENTS_LIMIT_MAX     1000

static json_t *session_obj(const struct con_session_info *s)
{
    return json_pack("{s:s,s:s,s:s}", "name", s->name, "role", s->role, "csrf", s->csrf);
}

static enum MHD_Result reply_with_cookie(struct MHD_Connection *c, json_t *body, const char *cookie)
{
    char *s = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!s)
        return con_reply_error(c, 500, "out of memory");
    struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(s);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "application/json");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Set-Cookie", cookie);
    enum MHD_Result r = MHD_queue_response(c, 200, resp);
    MHD_destroy_response(resp);
    return r;
}

static void wipe_string(json_t *j)
{
    if (json_is_string(j))
        sodium_memzero((char *)(uintptr_t)json_string_value(j), json_string_length(j));
}

static int rd_known(struct stn_store *st, void *ctx)
{
    return stn_operator_exists(st, ctx);
}

/* Whether a name is an operator's (disabled ones included). */
static bool operator_known(struct con_app *app, const char *name)
{
    return con_read(app, rd_known, (void *)(uintptr_t)name) == 0;
}

/* One login check, on a slot connection; 0 or CON_E_DENIED. */
static int check_login(struct con_app *app, const char *name, json_t *pw, char role[16])
{
    struct stn_store *st = con_slot_take(app);
    int rc = stn_operator_login(st, name, json_string_value(pw), json_string_length(pw), role);
    con_slot_give(app, st);
    return rc == 0 ? 0 : CON_E_DENIED;
}

enum MHD_Result con_api_login(struct con_app *app, struct MHD_Connection *c, struct con_req *r)
{
    if (r->too_large)
        return con_reply_error(c, 413, "request body too large");
    /* JSON only: a form on another site can post text/plain to this path, but
     * a browser sends application/json cross-site only after a CORS preflight
     * this server never grants (login CSRF: logging a browser in as someone) */
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    if (!ct || strncasecmp(ct, "application/json", 16) != 0)
        return con_reply_error(c, 415, "POST /api/login takes Content-Type: application/json");
    json_t *body = r->body ? json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, NULL) : NULL;
    json_t *name = json_object_get(body, "name"), *pw = json_object_get(body, "password");
    if (!json_is_object(body) || !json_is_string(name) || !json_is_string(pw)) {
        wipe_string(pw);
        json_decref(body);
        return con_reply_error(c, 400, "expected {\"name\": \"...\", \"password\": \"...\"}");
    }
    char n[CON_NAME_MAX];
    snprintf(n, sizeof n, "%s", json_string_value(name));
    if (con_login_allowed(app->sessions, n, r->addr) != 0) {
        wipe_string(pw);
        json_decref(body);
        return con_reply_error(c, 429, "too many login attempts: wait a minute");
    }
    char role[16] = "";
    /* a name longer than any operator's cannot match; still checked (same time) */
    int rc = check_login(app, json_string_length(name) < CON_NAME_MAX ? n : "", pw, role);
    wipe_string(pw);
    json_decref(body);
    if (rc) {
        con_login_failed(app->sessions, n, r->addr);
        /* no name in the log: people type their password into it; the
         * audit trail keeps the name only when it is an operator's (then it
         * is not a password), else that an unknown name was tried */
        bool known = json_string_length(name) < CON_NAME_MAX && operator_known(app, n);
        con_audit(app, NULL, "login.failed", known ? n : NULL,
                  json_pack("{s:s,s:b}", "address", r->addr, "name_known", known));
        CON_INFO("session", "login refused from %s", r->addr);
        return con_reply_error(c, 401, "invalid name or password");
    }
    con_login_succeeded(app->sessions, n, r->addr);
    char token[CON_TOKEN_HEX];
    struct con_session_info s;
    if (con_session_new(app->sessions, n, role, token, &s) != 0)
        return con_reply_error(c, 429, "too many sessions open: try again later");
    char cookie[160];
    snprintf(cookie, sizeof cookie, "vigil_session=%s; HttpOnly; SameSite=Strict; Path=/%s",
             token, app->tls ? "; Secure" : "");
    sodium_memzero(token, sizeof token);
    CON_INFO("session", "%s logged in (%s) from %s", s.name, s.role, r->addr);
    con_audit(app, s.name, "login", NULL, json_pack("{s:s,s:s}", "address", r->addr,
                                                    "role", s.role));
    enum MHD_Result res = reply_with_cookie(c, session_obj(&s), cookie);
    sodium_memzero(cookie, sizeof cookie);
    sodium_memzero(&s, sizeof s);
    return res;
}

enum MHD_Result con_api_logout(struct con_app *app, struct MHD_Connection *c, struct con_req *r)
{
    con_session_end(app->sessions, r->session.id);
    con_changes_wake(app->changes);   /* its streams close */
    CON_INFO("session", "%s logged out", r->session.name);
    con_audit(app, r->session.name, "logout", NULL, json_pack("{s:s}", "address", r->addr));
    return reply_with_cookie(c, json_object(),
                             "vigil_session=; Max-Age=0; HttpOnly; SameSite=Strict; Path=/");
}

enum MHD_Result con_api_session(struct con_app *app, struct MHD_Connection *c, struct con_req *r)
{
    (void)app;
    return con_reply_json(c, 200, session_obj(&r->session));
}

/* ---- reads ------------------------------------------------------------------ */

struct read_ctx {
    bool flag;
    int64_t id;
    const char *number;
    struct stn_event_filter f;
    void *out;
};

static int rd_alarms(struct stn_store *st, void *ctx)
{
    struct read_ctx *x = ctx;
    return stn_alarm_list_json(st, x->flag, &x->out);
}

static enum MHD_Result reply_read(struct con_app *app, struct MHD_Connection *c,
                                  int (*fn)(struct stn_store *, void *), struct read_ctx *x)
{
    int rc = con_read(app, fn, x);
    if (rc)
        return con_reply_store_err(c, rc);
    return con_reply_json(c, 200, x->out);
}

enum MHD_Result con_api_alarms(struct con_app *app, struct MHD_Connection *c, struct con_req *r)
{
    (void)r;
    const char *all = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "all");
    struct read_ctx x = { .flag = all && (strcmp(all, "1") == 0 || strcmp(all, "true") == 0) };
    return reply_read(app, c, rd_alarms, &x);
}

static int rd_alarm(struct stn_store *st, void *ctx)
{
    struct read_ctx *x = ctx;
    return stn_alarm_detail_json(st, x->id, &x->out);
}

/* GET /api/alarms/{id} by an operator: the detail, and an alarm.view entry
 * in the audit trail before it is sent (the console's other reads of an
 * alarm, after an action, are that action's entry). */
enum MHD_Result con_api_alarm_view(struct con_app *app, struct MHD_Connection *c,
                                   struct con_req *r, int64_t id)
{
    struct read_ctx x = { .id = id };
    int rc = con_read(app, rd_alarm, &x);
    if (rc == STN_E_NOTFOUND)
        return con_reply_error(c, 404, "no such alarm");
    if (rc)
        return con_reply_store_err(c, rc);
    char subject[24];
    snprintf(subject, sizeof subject, "%lld", (long long)id);
    con_audit(app, r->session.name, "alarm.view", subject,
              json_pack("{s:s}", "address", r->addr));
    return con_reply_json(c, 200, x.out);
}

enum MHD_Result con_api_alarm(struct con_app *app, struct MHD_Connection *c, int64_t id)
{
    struct read_ctx x = { .id = id };
    int rc = con_read(app, rd_alarm, &x);
    if (rc == STN_E_NOTFOUND)
        return con_reply_error(c, 404, "no such alarm");
    if (rc)
        return con_reply_store_err(c, rc);
    return con_reply_json(c, 200, x.out);
}

static int rd_accounts(struct stn_store *st, void *ctx)
{
    struct read_ctx *x = ctx;
    if (!x->number)
        return stn_accounts_json(st, &x->out);
    int rc = stn_account_json(st, x->number, &x->out);
    return rc == STN_E_INVAL ? STN_E_NOTFOUND : rc;
}

enum MHD_Result con_api_accounts(struct con_app *app, struct MHD_Connection *c, const char *number)
{
    struct read_ctx x = { .number = number };
    int rc = con_read(app, rd_accounts, &x);
    if (rc == STN_E_NOTFOUND)
        return con_reply_error(c, 404, "no such account");
    if (rc)
        return con_reply_store_err(c, rc);
    return con_reply_json(c, 200, x.out);
}

static int rd_events(struct stn_store *st, void *ctx)
{
    struct read_ctx *x = ctx;
    return stn_events_json(st, &x->f, &x->out);
}

static bool valid_account(const char *a)
{
    size_t n = strlen(a);
    return n >= 3 && n <= 16 && strspn(a, "0123456789abcdefABCDEF") == n;
}

static int parse_since(struct MHD_Connection *c, int64_t *out)
{
    const char *since = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "since");
    *out = 0;
    return since && *since ? stn_parse_since(since, stn_now_ms(), out) : 0;
}

enum MHD_Result con_api_events(struct con_app *app, struct MHD_Connection *c)
{
    struct read_ctx x = { .f = { .limit = EVENTS_LIMIT_DEFAULT } };
    const char *acc = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "account");
    const char *lim = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
    if (acc && *acc) {
        if (!valid_account(acc))
            return con_reply_error(c, 400, "account: 3..16 hex digits");
        x.f.account = acc;
    }
    if (parse_since(c, &x.f.since_ms) != 0)
        return con_reply_error(c, 400, "since: ISO 8601 UTC (2026-11-26T14:03:05Z) or relative (30s, 10m, 2h, 3d)");
    if (lim && *lim) {
        char *end;
        long long v = strtoll(lim, &end, 10);
        if (*end || v < 1)
            return con_reply_error(c, 400, "limit: a positive number (at most 1000)");
        x.f.limit = v > EVENTS_LIMIT_MAX ? EVENTS_LIMIT_MAX : v;
    }
    return reply_read(app, c, rd_events, &x);
}

static int rd_signals(struct stn_store *st, void *ctx)
{
    struct read_ctx *x = ctx;
    return stn_rejected_json(st, x->f.since_ms, &x->out);
}

/* Unknown accounts first: an installer's typo or a new panel to enrol is
 * the refusal an operator acts on; the order within each group is kept. */
static json_t *unknown_first(json_t *arr)
{
    json_t *out = json_array();
    for (int pass = 0; pass < 2 && out; pass++) {
        size_t i;
        json_t *o;
        json_array_foreach(arr, i, o) {
            const char *why = json_string_value(json_object_get(o, "reason"));
            bool unknown = why && strcmp(why, "unknown_account") == 0;
            if (unknown == (pass == 0))
                json_array_append(out, o);
        }
    }
    json_decref(arr);
    return out;
}

enum MHD_Result con_api_signals(struct con_app *app, struct MHD_Connection *c)
{
    struct read_ctx x = { .out = NULL };
    if (parse_since(c, &x.f.since_ms) != 0)
        return con_reply_error(c, 400, "since: ISO 8601 UTC or relative (30s, 10m, 2h, 3d)");
    int rc = con_read(app, rd_signals, &x);
    if (rc)
        return con_reply_store_err(c, rc);
    return con_reply_json(c, 200, unknown_first(x.out));
}

static int rd_operators(struct stn_store *st, void *ctx)
{
    struct read_ctx *x = ctx;
    return stn_operators_json(st, &x->out);
}

enum MHD_Result con_api_operators(struct con_app *app, struct MHD_Connection *c, struct con_req *r)
{
    if (strcmp(r->session.role, "admin") != 0)
        return con_reply_error(c, 403, "only an admin may list the operators");
    struct read_ctx x = { .out = NULL };
    return reply_read(app, c, rd_operators, &x);
}
