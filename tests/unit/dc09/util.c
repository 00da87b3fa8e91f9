/*
 * tests/unit/dc09/util.c — helpers for the DC-09 unit tests (see util.h).
 */
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char *xstrndup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (!p)
        abort();
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

size_t vec_load(struct vec_row **rows)
{
    const char *src = getenv("VIGIL_SOURCE");
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/data/dc09-vectors.tsv", src && *src ? src : VIGIL_SOURCE_DIR);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        abort();
    }
    size_t n = 0, cap = 0;
    struct vec_row *v = NULL;
    char line[8192];
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        size_t l = strlen(line);
        while (l && (line[l - 1] == '\n' || line[l - 1] == '\r'))
            line[--l] = '\0';
        if (l == 0 || line[0] == '#')
            continue;
        char *t1 = strchr(line, '\t');
        char *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        if (!t1 || !t2) {
            fprintf(stderr, "%s:%d: not three columns\n", path, lineno);
            abort();
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            v = realloc(v, cap * sizeof *v);
            if (!v)
                abort();
        }
        v[n].lineno = lineno;
        v[n].body = xstrndup(line, (size_t)(t1 - line));
        v[n].key = xstrndup(t1 + 1, (size_t)(t2 - t1 - 1));
        v[n].fields = xstrndup(t2 + 1, strlen(t2 + 1));
        n++;
    }
    fclose(f);
    *rows = v;
    return n;
}

/* True if s points at "key=" with key [a-z]+ */
static size_t key_at(const char *s)
{
    size_t i = 0;
    while (s[i] >= 'a' && s[i] <= 'z')
        i++;
    return i > 0 && s[i] == '=' ? i : 0;
}

char *vec_field(const char *fields, const char *key)
{
    size_t kl = strlen(key);
    const char *p = fields;
    for (;;) {
        size_t k = key_at(p);
        /* find the end of this value: next ", key=" */
        const char *e = p + k + 1;
        if (k == 0) {
            e = p;
        }
        const char *q = e;
        for (;;) {
            q = strstr(q, ", ");
            if (!q || key_at(q + 2))
                break;
            q += 2;
        }
        if (k == kl && memcmp(p, key, kl) == 0)
            return xstrndup(e, q ? (size_t)(q - e) : strlen(e));
        if (!q)
            return NULL;
        p = q + 2;
    }
}

size_t frame_wrap(const char *body, uint8_t *out, size_t cap)
{
    size_t n = strlen(body);
    if (n + 2 > cap)
        abort();
    out[0] = '\n';
    memcpy(out + 1, body, n);
    out[n + 1] = '\r';
    return n + 2;
}

static void rng_fill(struct dc09_rng *b, uint8_t *buf, size_t len)
{
    struct test_rng *r = (struct test_rng *)b;
    for (size_t i = 0; i < len; i++) {
        r->state ^= r->state << 13;
        r->state ^= r->state >> 7;
        r->state ^= r->state << 17;
        buf[i] = (uint8_t)(r->state >> 24);
    }
}

void test_rng_init(struct test_rng *r, uint64_t seed)
{
    r->base.fill = rng_fill;
    r->state = seed ? seed : 0x9E3779B97F4A7C15ull;
}

int64_t ref_time(const char *ts)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (sscanf(ts, "%d:%d:%d,%d-%d-%d", &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &tm.tm_mon,
               &tm.tm_mday, &tm.tm_year) != 6)
        abort();
    tm.tm_mon -= 1;
    tm.tm_year -= 1900;
    return (int64_t)timegm(&tm);
}

int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

void vec_free(struct vec_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(rows[i].body);
        free(rows[i].key);
        free(rows[i].fields);
    }
    free(rows);
}

const char *reply_decode_differs(const uint8_t *fr, size_t n, const struct dc09_decode_opts *o,
                                 int rc, const struct dc09_frame *f, const struct dc09_diag *d)
{
    static struct dc09_frame g;
    struct dc09_diag e = {0};
    int rr = dc09_decode_reply(fr, n, o, &g, d ? &e : NULL);
    if (rr != rc)
        return "return code";
    if (rc != 0) /* a decode sets the diagnosis only when it fails */
        return d && (e.field != d->field || e.offset != d->offset) ? "diagnosis" : NULL;
    if (g.has_cid || g.has_sia)
        return "payload parsed";
    if (g.id != f->id || g.encrypted != f->encrypted || g.seq != f->seq ||
        g.has_receiver != f->has_receiver || strcmp(g.receiver, f->receiver) != 0 ||
        strcmp(g.line, f->line) != 0 || strcmp(g.account, f->account) != 0)
        return "header";
    if (g.data_len != f->data_len || memcmp(g.data, f->data, f->data_len + 1) != 0 ||
        g.has_data_account != f->has_data_account ||
        strcmp(g.data_account, f->data_account) != 0 || g.payload_off != f->payload_off ||
        g.payload_len != f->payload_len)
        return "data";
    if (g.xdata_count != f->xdata_count)
        return "xdata";
    for (unsigned i = 0; i < f->xdata_count; i++)
        if (g.xdata[i].type != f->xdata[i].type || g.xdata[i].len != f->xdata[i].len ||
            memcmp(g.xdata[i].value, f->xdata[i].value, f->xdata[i].len) != 0)
            return "xdata";
    if (g.has_time != f->has_time || g.time_s != f->time_s)
        return "time";
    return NULL;
}
