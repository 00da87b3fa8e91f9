/*
 * dispute.c — GET /api/alarms/{id}/dispute.json and /dispute.html: an
 * alarm's dispute packet (station/dispute.c builds it, the page is rendered
 * from it), for any logged-in operator. Each download is an `alarm.dispute`
 * entry in the audit trail, asked of the station before the packet is read
 * (so the packet holds its own download when the station took it).
 *
 * Built on one of the slot connections (the password checks' too), never
 * on the shared read connection: a big packet holds up a login at most,
 * never an operator's view of an alarm.
 *
 * The page is served with a Content-Security-Policy that allows no script,
 * no fetch and no external resource: it needs none, and a value from the
 * store must never run in the console's origin.
 */
#include "console.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dispute_ctx {
    int64_t id;
    const char *who;
    char account[32];
    void *out;
};

static int rd_exists(struct stn_store *st, void *ctx)
{
    struct dispute_ctx *x = ctx;
    return stn_alarm_account(st, x->id, x->account);
}

static int rd_packet(struct stn_store *st, void *ctx)
{
    struct dispute_ctx *x = ctx;
    return stn_dispute_json(st, x->id, x->who, &x->out);
}

static enum MHD_Result reply_file(struct MHD_Connection *c, const char *type, char *text,
                                  size_t len, const char *disposition, bool page)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", type);
    MHD_add_response_header(resp, "Content-Disposition", disposition);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    if (page)
        MHD_add_response_header(resp, "Content-Security-Policy",
                                "default-src 'none'; style-src 'unsafe-inline'; "
                                "base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
    else
        MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    enum MHD_Result r = MHD_queue_response(c, 200, resp);
    MHD_destroy_response(resp);
    return r;
}

enum MHD_Result con_dispute_export(struct con_app *app, struct MHD_Connection *c,
                                   struct con_req *r, int64_t id, bool html)
{
    struct dispute_ctx x = { .id = id, .who = r->session.name };
    int rc = con_read(app, rd_exists, &x);
    if (rc == STN_E_NOTFOUND)
        return con_reply_error(c, 404, "no such alarm");
    if (rc)
        return con_reply_store_err(c, rc);
    char subject[24];
    snprintf(subject, sizeof subject, "%lld", (long long)id);
    con_audit(app, r->session.name, "alarm.dispute", subject,
              json_pack("{s:s,s:s}", "address", r->addr, "format", html ? "html" : "json"));
    /* on a slot connection, not the shared read one: a packet made long
     * after its alarm carries much of the trail, and the operators' reads
     * (a duress's detail) must not wait behind it */
    struct stn_store *st = con_slot_take(app);
    rc = rd_packet(st, &x);
    con_slot_give(app, st);
    if (rc == STN_E_NOTFOUND)
        return con_reply_error(c, 404, "no such alarm");
    if (rc)
        return con_reply_store_err(c, rc);
    char disp[96];
    snprintf(disp, sizeof disp, "%s; filename=\"dispute-%lld.%s\"", html ? "inline" : "attachment",
             (long long)id, html ? "html" : "json");
    size_t len = 0;
    char *text = html ? stn_dispute_html(x.out, &len)
                      : json_dumps(x.out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(x.out);
    if (!text)
        return con_reply_error(c, 500, "out of memory");
    if (!html)
        len = strlen(text);
    return reply_file(c, html ? "text/html; charset=utf-8" : "application/json", text, len, disp,
                      html);
}
