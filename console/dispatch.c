/*
 * dispatch.c — GET /api/alarms/{id}/dispatch.json and .xml: the police
 * dispatch record, field names after ASAP-to-PSAP / NIEM em:Alarm. The XML
 * is written by hand: element names come from the record's keys (our own
 * constants), every value is escaped (& < > " ') and characters XML 1.0
 * cannot carry are dropped.
 *
 * Must never put anything in the record the store did not (no operator
 * password, no passcode, no account key: the store never returns them).
 */
#include "console.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EM_NS "http://release.niem.gov/niem/domains/emergencyManagement/4.0/"

/* Text content or attribute value, escaped. */
static void put_escaped(struct stn_text *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '&':  stn_text_puts(b, "&amp;"); break;
        case '<':  stn_text_puts(b, "&lt;"); break;
        case '>':  stn_text_puts(b, "&gt;"); break;
        case '"':  stn_text_puts(b, "&quot;"); break;
        case '\'': stn_text_puts(b, "&apos;"); break;
        default:
            /* XML 1.0 has no place for U+FFFE and U+FFFF (UTF-8 EF BF BE/BF;
             * the string is valid UTF-8 and NUL-ended, so p[1], p[2] exist) */
            if (p[0] == 0xEF && p[1] == 0xBF && (p[2] == 0xBE || p[2] == 0xBF)) {
                p += 2;
                break;
            }
            /* nor for C0 controls but tab, LF and CR */
            if (*p >= 0x20 || *p == '\t' || *p == '\n' || *p == '\r')
                stn_text_put(b, (const char *)p, 1);
        }
    }
}

/* Keys are ours, but a name that is not a plain XML name is skipped, never written raw. */
static bool xml_name(const char *k)
{
    if (!*k || !((*k >= 'A' && *k <= 'Z') || (*k >= 'a' && *k <= 'z') || *k == '_'))
        return false;
    for (; *k; k++)
        if (!((*k >= 'A' && *k <= 'Z') || (*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9') ||
              *k == '_'))
            return false;
    return true;
}

static void put_value(struct stn_text *b, const char *key, json_t *v, int depth);

static void put_element(struct stn_text *b, const char *key, json_t *v, int depth)
{
    if (json_is_null(v) || !xml_name(key) || depth > 4)
        return;   /* an absent value is an absent element */
    for (int i = 0; i < depth; i++)
        stn_text_puts(b, "  ");
    stn_text_puts(b, "<em:");
    stn_text_puts(b, key);
    stn_text_puts(b, ">");
    put_value(b, key, v, depth);
    stn_text_puts(b, "</em:");
    stn_text_puts(b, key);
    stn_text_puts(b, ">\n");
}

static void put_value(struct stn_text *b, const char *key, json_t *v, int depth)
{
    (void)key;
    char num[32];
    if (json_is_object(v)) {
        stn_text_puts(b, "\n");
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x)
            put_element(b, k, x, depth + 1);
        for (int i = 0; i < depth; i++)
            stn_text_puts(b, "  ");
    } else if (json_is_string(v)) {
        put_escaped(b, json_string_value(v));
    } else if (json_is_boolean(v)) {
        stn_text_puts(b, json_is_true(v) ? "true" : "false");
    } else if (json_is_integer(v)) {
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
        stn_text_puts(b, num);
    }
}

char *con_dispatch_xml(json_t *record, int64_t alarm_id, size_t *len)
{
    struct stn_text b = { 0 };
    char head[256];
    snprintf(head, sizeof head, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
             "<em:Alarm xmlns:em=\"" EM_NS "\" id=\"alarm-%lld\">\n", (long long)alarm_id);
    stn_text_puts(&b, head);
    const char *k;
    json_t *v;
    json_object_foreach(record, k, v)
        put_element(&b, k, v, 1);
    stn_text_puts(&b, "</em:Alarm>\n");
    if (b.failed) {
        free(b.p);
        return NULL;
    }
    *len = b.len;
    return b.p;
}

struct rec_ctx { int64_t id; void *out; };

static int rd_record(struct stn_store *st, void *ctx)
{
    struct rec_ctx *x = ctx;
    return stn_dispatch_json(st, x->id, &x->out);
}

enum MHD_Result con_dispatch_export(struct con_app *app, struct MHD_Connection *c, int64_t id,
                                    bool xml)
{
    struct rec_ctx x = { .id = id };
    int rc = con_read(app, rd_record, &x);
    if (rc == STN_E_NOTFOUND)
        return con_reply_error(c, 404, "this alarm has no dispatch record");
    if (rc)
        return con_reply_store_err(c, rc);
    if (!xml)
        return con_reply_json(c, 200, x.out);
    size_t len = 0;
    char *doc = con_dispatch_xml(x.out, id, &len);
    json_decref(x.out);
    if (!doc)
        return con_reply_error(c, 500, "out of memory");
    return con_reply_text(c, 200, "application/xml; charset=utf-8", doc, len);
}
