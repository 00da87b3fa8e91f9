/*
 * dispute_html.c — the dispute packet (dispute.c's JSON object) as one
 * self-contained, printable HTML page: inline CSS with a print stylesheet,
 * no script, no external resource (no font, image or link to fetch), so it
 * reads the same printed, mailed or opened offline years later.
 *
 * Rendered from the JSON only (the page says nothing the JSON does not).
 * Every value from the store is HTML-escaped (& < > " ') and characters a
 * page cannot show (C0 controls but tab/LF/CR) are written as U+FFFD.
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/agency.h"
#include "vigil/station.h"

static void rawf(struct stn_text *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void rawf(struct stn_text *b, const char *fmt, ...)
{
    char t[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t, sizeof t, fmt, ap);
    va_end(ap);
    if (n > 0)
        stn_text_put(b, t, (size_t)n < sizeof t ? (size_t)n : sizeof t - 1);
}

static void esc(struct stn_text *b, const char *s)
{
    if (!s)
        return;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '&':  stn_text_puts(b, "&amp;"); break;
        case '<':  stn_text_puts(b, "&lt;"); break;
        case '>':  stn_text_puts(b, "&gt;"); break;
        case '"':  stn_text_puts(b, "&quot;"); break;
        case '\'': stn_text_puts(b, "&#39;"); break;
        default:
            if (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
                stn_text_puts(b, "\xEF\xBF\xBD");
            else
                stn_text_put(b, (const char *)p, 1);
        }
    }
}

static json_t *get(json_t *o, const char *k) { return json_object_get(o, k); }
static const char *str(json_t *o, const char *k) { return json_string_value(get(o, k)); }

/* "2026-11-26T14:03:05.123Z" (stn_iso8601_ms) */
static bool is_time(const char *s)
{
    size_t n = strlen(s);
    return (n == 20 || n == 24) && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' &&
           s[16] == ':' && s[n - 1] == 'Z' && strspn(s, "0123456789") == 4;
}

/* A value as text: strings as they are (a UTC time as "2026-11-26 14:03:05.123",
 * unbroken: the page says all times are UTC), numbers, booleans yes/no, null
 * as a dash. */
static void val(struct stn_text *b, json_t *v)
{
    char t[32];
    if (json_is_string(v) && is_time(json_string_value(v))) {
        snprintf(t, sizeof t, "%s", json_string_value(v));
        t[10] = ' ';
        t[strlen(t) - 1] = '\0';
        stn_text_puts(b, "<span class=\"t\">");
        esc(b, t);
        stn_text_puts(b, "</span>");
    } else if (json_is_string(v)) {
        esc(b, json_string_value(v));
    } else if (json_is_integer(v)) {
        snprintf(t, sizeof t, "%lld", (long long)json_integer_value(v));
        stn_text_puts(b, t);
    } else if (json_is_boolean(v)) {
        stn_text_puts(b, json_is_true(v) ? "yes" : "no");
    } else {
        stn_text_puts(b, "<span class=\"none\">—</span>");
    }
}

static void row(struct stn_text *b, const char *label, json_t *v)
{
    stn_text_puts(b, "<tr><th>");
    esc(b, label);
    stn_text_puts(b, "</th><td>");
    val(b, v);
    stn_text_puts(b, "</td></tr>\n");
}

static void row_s(struct stn_text *b, const char *label, const char *s)
{
    json_t *v = s ? json_string(s) : json_null();
    row(b, label, v);
    json_decref(v);
}

static void money(struct stn_text *b, json_t *cents)
{
    char t[48];
    if (!json_is_integer(cents)) {
        val(b, cents);
        return;
    }
    agy_format_cents((int64_t)json_integer_value(cents), t, sizeof t);
    esc(b, t);
}

static const char css[] =
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;"
    "color:#111;background:#fff;margin:0 auto;max-width:60rem;padding:1.5rem}"
    "h1{font-size:1.5rem;margin:0 0 .25rem}h2{font-size:1.1rem;margin:1.6rem 0 .4rem;"
    "border-bottom:2px solid #333;padding-bottom:.15rem}"
    ".sub{color:#444;margin:0 0 1rem}"
    "table{border-collapse:collapse;width:100%;margin:.3rem 0 .6rem}"
    "th,td{border:1px solid #bbb;padding:.25rem .4rem;text-align:left;vertical-align:top}"
    "th{background:#f0f0f0;font-weight:600}table.kv th{width:14rem}"
    ".mono,code{font-family:ui-monospace,'DejaVu Sans Mono',Menlo,Consolas,monospace;"
    "font-size:12px;word-break:break-all}"
    ".hash{font-family:ui-monospace,'DejaVu Sans Mono',Menlo,Consolas,monospace;"
    "font-size:11px;word-break:break-all}"
    ".t{white-space:nowrap}.none{color:#888}.ok{color:#075;font-weight:600}.warn{color:#a40;font-weight:600}"
    ".summary{display:grid;grid-template-columns:repeat(auto-fit,minmax(13rem,1fr));gap:.5rem;"
    "border:2px solid #333;padding:.6rem;margin:.5rem 0 1rem}"
    ".summary div b{display:block;font-size:.75rem;text-transform:uppercase;color:#555}"
    ".other td{color:#666}"
    "ol li{margin:.3rem 0}"
    "footer{margin-top:2rem;color:#555;font-size:.8rem;border-top:1px solid #bbb;padding-top:.4rem}"
    "@media print{body{max-width:none;padding:0;font-size:10.5pt}"
    "h2{break-after:avoid;page-break-after:avoid}"
    "tr,.summary{break-inside:avoid;page-break-inside:avoid}"
    "th{background:#eee !important;-webkit-print-color-adjust:exact;print-color-adjust:exact}"
    "@page{margin:14mm 12mm}}";

static void table_head(struct stn_text *b, const char *const *cols, size_t n)
{
    stn_text_puts(b, "<table><thead><tr>");
    for (size_t i = 0; i < n; i++) {
        stn_text_puts(b, "<th>");
        esc(b, cols[i]);
        stn_text_puts(b, "</th>");
    }
    stn_text_puts(b, "</tr></thead><tbody>\n");
}

static void td(struct stn_text *b, json_t *v, const char *cls)
{
    if (cls)
        rawf(b, "<td class=\"%s\">", cls);
    else
        stn_text_puts(b, "<td>");
    val(b, v);
    stn_text_puts(b, "</td>");
}

static void number_and_name(struct stn_text *b, json_t *n, json_t *name)
{
    stn_text_puts(b, "<td>");
    if (json_is_integer(n)) {
        val(b, n);
        if (json_is_string(name)) {
            stn_text_puts(b, " — ");
            esc(b, json_string_value(name));
        } else {
            stn_text_puts(b, " <span class=\"none\">(no name on file)</span>");
        }
    } else {
        val(b, n);
    }
    stn_text_puts(b, "</td>");
}

static void section_customer(struct stn_text *b, json_t *c)
{
    stn_text_puts(b, "<h2>Customer</h2>\n<table class=\"kv\">\n");
    row(b, "Name", get(c, "name"));
    row(b, "Address", get(c, "address"));
    row(b, "Phone", get(c, "phone"));
    row(b, "Account", get(c, "account"));
    row(b, "Premises", get(c, "location"));
    row(b, "Permit", get(c, "permit"));
    row(b, "Permit expires", get(c, "permit_expires"));
    stn_text_puts(b, "<tr><th>Police agency</th><td>");
    val(b, get(c, "agency_name"));
    if (json_is_string(get(c, "agency"))) {
        stn_text_puts(b, " (");
        esc(b, str(c, "agency"));
        stn_text_puts(b, ")");
    }
    stn_text_puts(b, "</td></tr>\n");
    row(b, "Police status now", get(c, "police_status"));
    stn_text_puts(b, "</table>\n");
}

static void section_alarm(struct stn_text *b, json_t *a)
{
    stn_text_puts(b, "<h2>Alarm</h2>\n<table class=\"kv\">\n");
    row(b, "Alarm", get(a, "id"));
    row(b, "Kind", get(a, "kind"));
    row(b, "Silent", get(a, "silent"));
    row(b, "Priority", get(a, "priority"));
    row(b, "Plan", get(a, "plan"));
    stn_text_puts(b, "<tr><th>Zone</th>");
    number_and_name(b, get(a, "zone"), get(a, "zone_name"));
    stn_text_puts(b, "</tr>\n<tr><th>User</th>");
    number_and_name(b, get(a, "user"), get(a, "user_name"));
    stn_text_puts(b, "</tr>\n");
    row(b, "Signals", get(a, "signal_count"));
    row(b, "State", get(a, "state"));
    stn_text_puts(b, "<tr><th>Disposition</th><td>");
    const char *disp = str(a, "disposition");
    static const struct { const char *code, *label; } dl[] = {
        { "real_emergency", "real emergency" }, { "false_user_error", "false — user error" },
        { "false_equipment", "false — equipment" },
        { "cancelled_before_dispatch", "cancelled before dispatch" },
        { "cancelled_after_dispatch", "cancelled after dispatch" }, { "test", "test" },
    };
    for (size_t i = 0; disp && i < sizeof dl / sizeof dl[0]; i++)
        if (strcmp(disp, dl[i].code) == 0) {
            esc(b, dl[i].label);
            stn_text_puts(b, " ");
        }
    if (disp) {
        stn_text_puts(b, "<small class=\"mono\">(");
        esc(b, disp);
        stn_text_puts(b, ")</small>");
    } else {
        val(b, json_null());
    }
    stn_text_puts(b, "</td></tr>\n");
    row(b, "Detail", get(a, "detail"));
    stn_text_puts(b, "</table>\n");
}

static void section_signals(struct stn_text *b, json_t *p)
{
    stn_text_puts(b, "<h2>Signals received</h2>\n");
    static const char *const cols[] = { "Received (UTC)", "Account", "Event", "Zone / user",
                                        "Kind", "Receiver (peer)", "Raw frame as stored" };
    table_head(b, cols, 7);
    size_t i;
    json_t *s;
    json_array_foreach(get(p, "signals"), i, s) {
        stn_text_puts(b, "<tr>");
        td(b, get(s, "received_at"), NULL);
        td(b, get(s, "account"), NULL);
        stn_text_puts(b, "<td>");
        val(b, get(s, "decoded"));
        if (json_is_true(get(s, "encrypted")))
            stn_text_puts(b, "<br><small>encrypted frame, decrypted by the station</small>");
        stn_text_puts(b, "</td><td>");
        if (json_is_integer(get(s, "zone"))) {
            stn_text_puts(b, "zone ");
            val(b, get(s, "zone"));
            if (json_is_string(get(s, "zone_name"))) {
                stn_text_puts(b, " — ");
                esc(b, str(s, "zone_name"));
            }
        }
        if (json_is_integer(get(s, "user"))) {
            stn_text_puts(b, "user ");
            val(b, get(s, "user"));
            if (json_is_string(get(s, "user_name"))) {
                stn_text_puts(b, " — ");
                esc(b, str(s, "user_name"));
            }
        }
        stn_text_puts(b, "</td>");
        td(b, get(s, "kind"), NULL);
        td(b, get(s, "receiver_peer"), "mono");
        td(b, get(s, "raw"), "mono");
        stn_text_puts(b, "</tr>\n");
    }
    stn_text_puts(b, "</tbody></table>\n");
    if (json_is_false(get(p, "signals_complete")))
        stn_text_puts(b, "<p class=\"warn\">More signals joined this alarm than a packet lists; "
               "`vigil events --account` shows them all.</p>\n");
}

static void section_account_lists(struct stn_text *b, json_t *p)
{
    stn_text_puts(b, "<h2>Zones and users of the account</h2>\n");
    const char *names[2] = { "zones", "users" };
    const char *heads[2][2] = { { "Zone", "Name" }, { "User", "Name" } };
    for (int k = 0; k < 2; k++) {
        json_t *list = get(p, names[k]);
        if (!json_array_size(list)) {
            rawf(b, "<p class=\"none\">No %s named on the account.</p>\n", names[k]);
            continue;
        }
        const char *cols[2] = { heads[k][0], heads[k][1] };
        table_head(b, cols, 2);
        size_t i;
        json_t *o;
        json_array_foreach(list, i, o) {
            stn_text_puts(b, "<tr>");
            td(b, get(o, "number"), NULL);
            td(b, get(o, "name"), NULL);
            stn_text_puts(b, "</tr>\n");
        }
        stn_text_puts(b, "</tbody></table>\n");
    }
}

static void section_verification(struct stn_text *b, json_t *v)
{
    stn_text_puts(b, "<h2>Verification attempts</h2>\n<p>The alarm's plan steps as done by the "
           "operators, and every verbal passcode check (its verdict only; what was said is "
           "never kept).</p>\n");
    static const char *const cols[] = { "Step", "Mandatory", "Done", "By", "At (UTC)", "Note" };
    table_head(b, cols, 6);
    size_t i;
    json_t *s;
    json_array_foreach(get(v, "steps"), i, s) {
        stn_text_puts(b, "<tr>");
        stn_text_puts(b, "<td>");
        esc(b, str(s, "text"));
        stn_text_puts(b, " <small class=\"mono\">(");
        esc(b, str(s, "id"));
        stn_text_puts(b, ")</small></td>");
        td(b, get(s, "mandatory"), NULL);
        td(b, get(s, "done"), json_is_true(get(s, "done")) ? "ok" : "warn");
        td(b, get(s, "done_by"), NULL);
        td(b, get(s, "done_at"), NULL);
        td(b, get(s, "note"), NULL);
        stn_text_puts(b, "</tr>\n");
    }
    stn_text_puts(b, "</tbody></table>\n");
    json_t *pc = get(v, "passcode_checks");
    if (!json_array_size(pc)) {
        stn_text_puts(b, "<p class=\"none\">No passcode check was recorded.</p>\n");
        return;
    }
    static const char *const pcols[] = { "Passcode check at (UTC)", "Operator", "Result" };
    table_head(b, pcols, 3);
    json_array_foreach(pc, i, s) {
        stn_text_puts(b, "<tr>");
        td(b, get(s, "at"), NULL);
        td(b, get(s, "operator"), NULL);
        td(b, get(s, "result"), NULL);
        stn_text_puts(b, "</tr>\n");
    }
    stn_text_puts(b, "</tbody></table>\n");
}

static void section_dispatch(struct stn_text *b, json_t *p)
{
    json_t *d = get(p, "dispatch"), *t = get(p, "times");
    stn_text_puts(b, "<h2>Dispatch record and times</h2>\n");
    stn_text_puts(b, "<table class=\"kv\">\n");
    static const struct { const char *label, *key; } tl[] = {
        { "Signal received", "received" }, { "Taken by an operator", "taken" },
        { "Dispatch requested", "dispatch_requested" },
        { "Accepted by the PSAP", "psap_accepted" }, { "Units dispatched", "psap_dispatched" },
        { "Arrived on scene", "arrived" }, { "Cancel requested", "cancel_requested" },
        { "Closed by the PSAP", "psap_closed" }, { "Finding recorded", "finding_recorded" },
        { "Alarm closed", "closed" },
    };
    for (size_t i = 0; i < sizeof tl / sizeof tl[0]; i++)
        row(b, tl[i].label, get(t, tl[i].key));
    stn_text_puts(b, "</table>\n");
    if (!json_is_object(d)) {
        stn_text_puts(b, "<p>No police dispatch was requested for this alarm.</p>\n");
        return;
    }
    stn_text_puts(b, "<table class=\"kv\">\n");
    static const char *const keys[] = {
        "PsapEventNumber", "PsapStatus", "PsapDisposition", "PsapRejectReason",
        "AlarmEventDispatchAgency", "AlarmEventPermit", "AlarmEventCategory",
        "AlarmAudibleDescriptionCode", "AlarmEventLocationCategory", "Location",
        "AlarmEventDetailsText", "AlarmEventCallBackTelephoneNumber",
        "AlarmEventCallToPremisesIndicator", "CancelConfirmedBy",
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        row(b, keys[i], get(d, keys[i]));
    json_t *conf = get(d, "AlarmConfirmation"), *msp = get(d, "AlarmMonitoringServiceProvider");
    row(b, "AlarmConfirmation method", get(conf, "method"));
    row(b, "Call to premises result", get(conf, "call_to_premises_result"));
    row(b, "Monitoring provider", get(msp, "name"));
    row(b, "Requesting operator", get(msp, "operator"));
    stn_text_puts(b, "</table>\n");
}

static void section_charge(struct stn_text *b, json_t *p)
{
    json_t *f = get(p, "finding"), *c = get(p, "charge");
    stn_text_puts(b, "<h2>Police finding and invoice line</h2>\n<table class=\"kv\">\n");
    row(b, "PSAP disposition", get(f, "psap_disposition"));
    row(b, "Finding recorded", get(f, "charge_finding"));
    if (json_is_object(c)) {
        row(b, "Invoice line", get(c, "id"));
        row(b, "Recorded at", get(c, "at"));
        row(b, "Recorded by", get(c, "operator"));
        row(b, "PSAP event number", get(c, "psap_event_number"));
        row(b, "Agency", get(c, "agency"));
        row(b, "Rule applied", get(c, "rule"));
        row(b, "False dispatches in the window", get(c, "count_in_window"));
        row(b, "Forgiven", get(c, "forgiven"));
        row(b, "Billed to", get(c, "billed"));
        row(b, "Currency", get(c, "currency"));
        stn_text_puts(b, "<tr><th>Agency fee</th><td>");
        money(b, get(c, "agency_fee_cents"));
        stn_text_puts(b, "</td></tr>\n<tr><th>Station admin fee</th><td>");
        money(b, get(c, "admin_fee_cents"));
        stn_text_puts(b, "</td></tr>\n<tr><th>Total</th><td><b>");
        money(b, get(c, "total_cents"));
        stn_text_puts(b, "</b></td></tr>\n");
    } else {
        row_s(b, "Invoice line", "none (no false finding recorded)");
    }
    stn_text_puts(b, "</table>\n");
}

static void section_actions(struct stn_text *b, json_t *p)
{
    stn_text_puts(b, "<h2>Operator actions</h2>\n");
    static const char *const cols[] = { "At (UTC)", "Operator", "Action", "Detail" };
    table_head(b, cols, 4);
    size_t i;
    json_t *h;
    json_array_foreach(get(p, "operator_actions"), i, h) {
        stn_text_puts(b, "<tr>");
        td(b, get(h, "at"), NULL);
        td(b, get(h, "operator"), NULL);
        td(b, get(h, "action"), NULL);
        td(b, get(h, "detail"), NULL);
        stn_text_puts(b, "</tr>\n");
    }
    stn_text_puts(b, "</tbody></table>\n");
}

static void section_audit(struct stn_text *b, json_t *p)
{
    json_t *a = get(p, "audit"), *head = get(a, "head_file"), *last = get(a, "last_entry");
    stn_text_puts(b, "<h2>Audit trail</h2>\n<table class=\"kv\">\n");
    stn_text_puts(b, "<tr><th>Chain head (head file)</th><td>");
    if (json_is_object(head)) {
        stn_text_puts(b, "entry ");
        val(b, get(head, "seq"));
        stn_text_puts(b, "<br><span class=\"hash\">");
        esc(b, str(head, "hash"));
        stn_text_puts(b, "</span>");
    } else {
        stn_text_puts(b, "<span class=\"warn\">");
        val(b, get(a, "head_file_note"));
        stn_text_puts(b, "</span>");
    }
    stn_text_puts(b, "</td></tr>\n<tr><th>Last entry of the trail</th><td>");
    if (json_is_object(last)) {
        stn_text_puts(b, "entry ");
        val(b, get(last, "seq"));
        stn_text_puts(b, "<br><span class=\"hash\">");
        esc(b, str(last, "hash"));
        stn_text_puts(b, "</span>");
    } else {
        val(b, last);
    }
    if (json_is_object(head) && json_is_object(last) &&
        json_integer_value(get(head, "seq")) < json_integer_value(get(last, "seq")))
        rawf(b, "<br><small>%lld entr%s after the head file's: appended just before the packet "
             "was made (the head file follows each commit; docs/audit.md)</small>",
             (long long)(json_integer_value(get(last, "seq")) - json_integer_value(get(head, "seq"))),
             json_integer_value(get(last, "seq")) - json_integer_value(get(head, "seq")) == 1
                 ? "y" : "ies");
    stn_text_puts(b, "</td></tr>\n<tr><th>Entries in the packet</th><td>");
    size_t n = json_array_size(get(a, "chain")), mine = json_array_size(get(a, "entries_about_this_alarm"));
    if (json_is_integer(get(a, "chain_from"))) {
        rawf(b, "%lld to %lld: %zu entries, %zu of them about this alarm or its account, "
             "%zu others (in the JSON, for the proof)",
             (long long)json_integer_value(get(a, "chain_from")),
             (long long)json_integer_value(get(a, "chain_to")), n, mine, n - mine);
    } else {
        stn_text_puts(b, "none");
    }
    if (json_is_string(get(a, "chain_note"))) {
        stn_text_puts(b, "<br><span class=\"warn\">");
        esc(b, str(a, "chain_note"));
        stn_text_puts(b, "</span>");
    }
    stn_text_puts(b, "</td></tr>\n</table>\n");
    static const char *const cols[] = { "Seq", "At (UTC)", "Actor", "Kind", "Before → after",
                                        "prev_hash / hash" };
    table_head(b, cols, 6);
    size_t i;
    json_t *e;
    json_array_foreach(get(a, "chain"), i, e) {
        if (!json_is_string(get(e, "about")))
            continue;
        stn_text_puts(b, "<tr>");
        td(b, get(e, "seq"), NULL);
        td(b, get(e, "at"), NULL);
        td(b, get(e, "actor"), NULL);
        stn_text_puts(b, "<td>");
        esc(b, str(e, "kind"));
        if (strcmp(str(e, "about"), "account") == 0)
            stn_text_puts(b, "<br><small>(the account)</small>");
        stn_text_puts(b, "</td><td class=\"mono\">");
        if (json_is_string(get(e, "before"))) {
            esc(b, str(e, "before"));
            stn_text_puts(b, "<br>→ ");
        }
        val(b, get(e, "after"));
        stn_text_puts(b, "</td><td class=\"hash\">prev ");
        esc(b, str(e, "prev_hash"));
        stn_text_puts(b, "<br><b>hash ");
        esc(b, str(e, "hash"));
        stn_text_puts(b, "</b></td></tr>\n");
    }
    stn_text_puts(b, "</tbody></table>\n");
}

static void section_check(struct stn_text *b, json_t *p)
{
    json_t *pk = get(p, "packet");
    stn_text_puts(b, "<h2>How to check</h2>\n<p>This page is made from <code>dispute-");
    val(b, get(pk, "alarm"));
    stn_text_puts(b, ".json</code>, delivered with it: the audit entries below are all in its "
           "<code>audit.chain</code>, with every entry needed to recompute the chain from this "
           "alarm's first entry to the end of the trail.</p>\n<ol>\n");
    size_t i;
    json_t *l;
    json_array_foreach(get(p, "how_to_check"), i, l) {
        stn_text_puts(b, "<li>");
        esc(b, json_string_value(l));
        stn_text_puts(b, "</li>\n");
    }
    stn_text_puts(b, "</ol>\n");
}

char *stn_dispute_html(const void *packet, size_t *len)
{
    json_t *p = (json_t *)(uintptr_t)packet;
    json_t *pk = get(p, "packet"), *c = get(p, "customer"), *a = get(p, "alarm");
    json_t *t = get(p, "times"), *ch = get(p, "charge"), *d = get(p, "dispatch");
    struct stn_text b = { 0 };
    stn_text_puts(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            "<title>Dispute packet — alarm ");
    val(&b, get(pk, "alarm"));
    stn_text_puts(&b, "</title>\n<style>");
    stn_text_puts(&b, css);
    stn_text_puts(&b, "</style></head>\n<body>\n<h1>Dispute packet — alarm ");
    val(&b, get(pk, "alarm"));
    stn_text_puts(&b, "</h1>\n<p class=\"sub\">");
    val(&b, get(c, "name"));
    stn_text_puts(&b, ", ");
    val(&b, get(c, "address"));
    stn_text_puts(&b, ". Generated ");
    val(&b, get(pk, "generated_at"));
    if (json_is_string(get(pk, "generated_by"))) {
        stn_text_puts(&b, " by ");
        esc(&b, str(pk, "generated_by"));
    }
    stn_text_puts(&b, ". All times UTC.</p>\n<div class=\"summary\">\n");
    stn_text_puts(&b, "<div><b>Alarm</b>");
    val(&b, get(a, "kind"));
    stn_text_puts(&b, "</div>\n<div><b>Received</b>");
    val(&b, get(t, "received"));
    stn_text_puts(&b, "</div>\n<div><b>PSAP event number</b>");
    val(&b, get(d, "PsapEventNumber"));
    stn_text_puts(&b, "</div>\n<div><b>Arrived on scene</b>");
    val(&b, get(t, "arrived"));
    stn_text_puts(&b, "</div>\n<div><b>Police finding</b>");
    val(&b, get(get(p, "finding"), "charge_finding"));
    stn_text_puts(&b, "</div>\n<div><b>Invoice total</b>");
    if (json_is_object(ch)) {
        money(&b, get(ch, "total_cents"));
        if (json_is_string(get(ch, "currency"))) {
            stn_text_puts(&b, " ");
            esc(&b, str(ch, "currency"));
        }
    } else
        val(&b, json_null());
    stn_text_puts(&b, "</div>\n<div><b>Permit</b>");
    val(&b, get(c, "permit"));
    stn_text_puts(&b, "</div>\n<div><b>Agency</b>");
    val(&b, json_is_string(get(c, "agency_name")) ? get(c, "agency_name") : get(c, "agency"));
    stn_text_puts(&b, "</div>\n</div>\n");
    section_customer(&b, c);
    section_alarm(&b, a);
    section_signals(&b, p);
    section_account_lists(&b, p);
    section_verification(&b, get(p, "verification"));
    section_dispatch(&b, p);
    section_charge(&b, p);
    section_actions(&b, p);
    section_audit(&b, p);
    section_check(&b, p);
    stn_text_puts(&b, "<footer>vigil dispute packet, format ");
    val(&b, get(pk, "format"));
    stn_text_puts(&b, " version ");
    val(&b, get(pk, "version"));
    stn_text_puts(&b, ". No password, passcode, key or session token is in this packet.</footer>\n"
            "</body></html>\n");
    if (b.failed) {
        free(b.p);
        return NULL;
    }
    if (len)
        *len = b.len;
    return b.p;
}
