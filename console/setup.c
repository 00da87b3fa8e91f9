/*
 * setup.c — assisted duress set-up (docs/console.md, "Set-up sessions"):
 *
 *   POST /api/accounts/{number}/setup     {"kind":"setup"|"drill","seconds"?}  → 201 session
 *   GET  /api/setup/{id}                  → the session (the page polls it)
 *   POST /api/setup/{id}/close            {}  → the session, closed
 *   POST /api/accounts/{number}/test      {"minutes"|"seconds"}  → {"account","test_until"}
 *   POST /api/accounts/{number}/test/end  {}  → {"account","test_until":null}
 *
 * The console checks the body's shape only; the station decides (bounds from
 * its config, one open session per account, account known) and records it
 * in the audit trail. Never shows a code's digits: the panel's reports are
 * parsed by the station into slot, result and rule.
 */
#include "console.h"
#include "vigil/dc09.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned status_of(const char *code)
{
    if (!code)                          return 503;
    if (strcmp(code, "invalid") == 0)   return 400;
    if (strcmp(code, "forbidden") == 0) return 403;
    if (strcmp(code, "conflict") == 0)  return 409;
    if (strcmp(code, "not_found") == 0) return 404;
    return 503;
}

/* One request to the station; 0 and *reply (taken) on yes, else the answer
 * already queued in *out. */
static int exchange(struct con_app *app, struct MHD_Connection *c, json_t *req, json_t **reply,
                    enum MHD_Result *out)
{
    json_t *rep = NULL;
    int rc = con_ctl_call(app->cfg.control_socket_path, req, &rep);
    json_decref(req);
    if (rc != 0) {
        *out = con_reply_error(c, 503, "the station did not answer: nothing was changed");
        return -1;
    }
    if (!json_is_true(json_object_get(rep, "ok"))) {
        const char *why = json_string_value(json_object_get(rep, "error"));
        *out = con_reply_error(c, status_of(json_string_value(json_object_get(rep, "code"))),
                               why ? why : "refused by the station");
        json_decref(rep);
        return -1;
    }
    *reply = rep;
    return 0;
}

static json_t *body_object(struct con_req *r)
{
    return r->body_len ? json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, NULL)
                       : json_object();
}

/* "C0FFEE" from the URL part (3..16 hex digits, upper case); false if not. */
static bool account_of(const char *s, size_t len, char out[DC09_ACCOUNT_MAX + 1])
{
    if (len < 3 || len > DC09_ACCOUNT_MAX || strspn(s, "0123456789abcdefABCDEF") < len)
        return false;
    for (size_t i = 0; i < len; i++)
        out[i] = (char)(s[i] >= 'a' && s[i] <= 'f' ? s[i] - 32 : s[i]);
    out[len] = '\0';
    return true;
}

struct setup_ctx { int64_t id; void *out; };

static int rd_setup(struct stn_store *st, void *ctx)
{
    struct setup_ctx *x = ctx;
    return stn_setup_json(st, x->id, &x->out);
}

static enum MHD_Result reply_session(struct con_app *app, struct MHD_Connection *c, int64_t id,
                                     unsigned status)
{
    struct setup_ctx x = { .id = id };
    int rc = con_read(app, rd_setup, &x);
    if (rc == STN_E_NOTFOUND)
        return con_reply_error(c, 404, "no such set-up session");
    if (rc)
        return con_reply_store_err(c, rc);
    return con_reply_json(c, status, x.out);
}

static enum MHD_Result setup_open(struct con_app *app, struct MHD_Connection *c,
                                  struct con_req *r, const char *num)
{
    json_t *body = body_object(r);
    json_t *kind = json_object_get(body, "kind"), *secs = json_object_get(body, "seconds");
    if (!json_is_object(body) || !json_is_string(kind) ||
        (strcmp(json_string_value(kind), "setup") != 0 &&
         strcmp(json_string_value(kind), "drill") != 0)) {
        json_decref(body);
        return con_reply_error(c, 400, "kind: \"setup\" (program a duress code) or \"drill\" "
                               "(check an existing one)");
    }
    if (secs && !json_is_null(secs) && (!json_is_integer(secs) || json_integer_value(secs) < 1)) {
        json_decref(body);
        return con_reply_error(c, 400, "seconds: a positive integer (at most setup_session_max_s)");
    }
    json_t *req = json_pack("{s:s,s:s,s:s,s:s,s:O}", "op", "setup_open", "operator",
                            r->session.name, "role", r->session.role, "account", num,
                            "kind", kind);
    if (req && secs && json_is_integer(secs))
        json_object_set(req, "seconds", secs);
    json_decref(body);
    if (!req)
        return con_reply_error(c, 500, "out of memory");
    json_t *rep;
    enum MHD_Result out;
    if (exchange(app, c, req, &rep, &out) != 0)
        return out;
    int64_t id = json_integer_value(json_object_get(rep, "session"));
    json_decref(rep);
    return reply_session(app, c, id, 201);
}

static enum MHD_Result test_set(struct con_app *app, struct MHD_Connection *c,
                                struct con_req *r, const char *num, bool on)
{
    json_t *body = body_object(r);
    if (!json_is_object(body)) {
        json_decref(body);
        return con_reply_error(c, 400, "the body must be a JSON object");
    }
    json_t *req = json_pack("{s:s,s:s,s:s,s:s}", "op", on ? "test_on" : "test_off",
                            "operator", r->session.name, "role", r->session.role,
                            "account", num);
    if (on) {
        json_t *m = json_object_get(body, "minutes"), *s = json_object_get(body, "seconds");
        json_int_t secs = -1;
        if (m && !s && json_is_integer(m) && json_integer_value(m) >= 1 &&
            json_integer_value(m) <= 24 * 60)
            secs = json_integer_value(m) * 60;
        else if (s && !m && json_is_integer(s) && json_integer_value(s) >= 1)
            secs = json_integer_value(s);
        if (secs < 0) {
            json_decref(body);
            json_decref(req);
            return con_reply_error(c, 400, "test mode needs \"minutes\" or \"seconds\" (one of "
                                   "them, a positive integer; at most test_mode_max_s)");
        }
        json_object_set_new(req, "seconds", json_integer(secs));
    }
    json_decref(body);
    if (!req)
        return con_reply_error(c, 500, "out of memory");
    json_t *rep;
    enum MHD_Result out;
    if (exchange(app, c, req, &rep, &out) != 0)
        return out;
    json_t *o = json_pack("{s:s,s:O}", "account", num, "test_until",
                          on ? json_object_get(rep, "test_until") : json_null());
    json_decref(rep);
    return con_reply_json(c, 200, o);
}

/* /api/accounts/{number}/setup, /test, /test/end (rest: after "/api/accounts/");
 * returns MHD_NO... never: handled is set false when the path is not ours. */
enum MHD_Result con_setup_account_route(struct con_app *app, struct MHD_Connection *c,
                                        struct con_req *r, const char *method,
                                        const char *rest, bool *handled)
{
    const char *slash = strchr(rest, '/');
    *handled = slash != NULL;
    if (!slash)
        return MHD_NO;
    const char *sub = slash + 1;
    if (strcmp(sub, "setup") != 0 && strcmp(sub, "test") != 0 && strcmp(sub, "test/end") != 0) {
        *handled = false;
        return MHD_NO;
    }
    if (strcmp(method, "POST") != 0)
        return con_reply_error(c, 405, "method not allowed on this path");
    char num[DC09_ACCOUNT_MAX + 1];
    if (!account_of(rest, (size_t)(slash - rest), num))
        return con_reply_error(c, 404, "no such account");
    if (strcmp(sub, "setup") == 0)
        return setup_open(app, c, r, num);
    return test_set(app, c, r, num, strcmp(sub, "test") == 0);
}

/* /api/setup/{id}[/close] */
enum MHD_Result con_setup_route(struct con_app *app, struct MHD_Connection *c, struct con_req *r,
                                const char *method, const char *rest)
{
    const char *slash = strchr(rest, '/');
    size_t len = slash ? (size_t)(slash - rest) : strlen(rest);
    int64_t id = 0;
    if (len == 0 || len > 18 || strspn(rest, "0123456789") < len)
        return con_reply_error(c, 404, "no such set-up session");
    for (size_t i = 0; i < len; i++)
        id = id * 10 + (rest[i] - '0');
    if (!slash) {
        if (strcmp(method, "GET") != 0)
            return con_reply_error(c, 405, "method not allowed on this path");
        return reply_session(app, c, id, 200);
    }
    if (strcmp(slash + 1, "close") != 0)
        return con_reply_error(c, 404, "no such path");
    if (strcmp(method, "POST") != 0)
        return con_reply_error(c, 405, "method not allowed on this path");
    json_t *req = json_pack("{s:s,s:s,s:s,s:I}", "op", "setup_close", "operator",
                            r->session.name, "role", r->session.role, "session", (json_int_t)id);
    if (!req)
        return con_reply_error(c, 500, "out of memory");
    json_t *rep;
    enum MHD_Result out;
    if (exchange(app, c, req, &rep, &out) != 0)
        return out;
    json_decref(rep);
    return reply_session(app, c, id, 200);
}
