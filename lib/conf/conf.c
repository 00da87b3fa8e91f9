/*
 * conf.c — the `key value` configuration parser behind vigil/conf.h.
 *
 * Reads line by line into a fixed buffer, looks each key up in the caller's
 * table, converts and range-checks the value and stores it at the key's
 * offset. Must never allocate, print, or copy a value into an error message
 * (a value may be a key or a password): errors name the file, line and key.
 * A NUL or another control byte (tab and CR aside) anywhere in a line is
 * refused, never cut at or passed on; a key name quoted in a message has its
 * bytes outside printable ASCII escaped (\xNN), never echoed raw.
 */
#include "vigil/conf.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *conf_strerror(int err)
{
    switch (err) {
    case CONF_OK:        return "ok";
    case CONF_E_OPEN:    return "cannot open file";
    case CONF_E_SYNTAX:  return "syntax error";
    case CONF_E_UNKNOWN: return "unknown key";
    case CONF_E_VALUE:   return "bad value";
    case CONF_E_RANGE:   return "value out of range";
    case CONF_E_REPEAT:  return "key repeated";
    case CONF_E_INVAL:   return "invalid argument";
    default:             return "unknown error";
    }
}

static int fail(struct conf_error *err, int code, const char *source, unsigned line,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int fail(struct conf_error *err, int code, const char *source, unsigned line,
                const char *fmt, ...)
{
    if (err) {
        int off;
        err->code = code;
        err->line = line;
        if (line)
            off = snprintf(err->msg, sizeof err->msg, "%s:%u: ", source, line);
        else
            off = snprintf(err->msg, sizeof err->msg, "%s: ", source);
        if (off < 0 || (size_t)off >= sizeof err->msg)
            off = 0;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg + off, sizeof err->msg - (size_t)off, fmt, ap);
        va_end(ap);
    }
    return code;
}

const struct conf_key *conf_find(const struct conf_key *keys, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

static int parse_int(const char *s, int64_t *out)
{
    if (!*s)
        return -1;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || end == s)
        return -1;
    *out = v;
    return 0;
}

static int parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = { "yes", "true", "on", "1" };
    static const char *const no[] = { "no", "false", "off", "0" };
    for (size_t i = 0; i < 4; i++) {
        if (strcmp(s, yes[i]) == 0) { *out = true; return 0; }
        if (strcmp(s, no[i]) == 0) { *out = false; return 0; }
    }
    return -1;
}

/* Stores one value; `line` 0 means a default. */
static int set_value(const struct conf_key *k, void *cfg, const char *value,
                     const char *source, unsigned line, struct conf_error *err)
{
    char *base = (char *)cfg + k->offset;
    char why[160];
    switch (k->type) {
    case CONF_INT: {
        int64_t v;
        if (parse_int(value, &v) != 0)
            return fail(err, CONF_E_VALUE, source, line,
                        "key '%s': not an integer", k->name);
        if (v < k->min || v > k->max)
            return fail(err, CONF_E_RANGE, source, line,
                        "key '%s': %" PRId64 " is outside %" PRId64 "..%" PRId64,
                        k->name, v, k->min, k->max);
        memcpy(base, &v, sizeof v);
        return 0;
    }
    case CONF_BOOL: {
        bool b;
        if (parse_bool(value, &b) != 0)
            return fail(err, CONF_E_VALUE, source, line,
                        "key '%s': expected yes or no", k->name);
        memcpy(base, &b, sizeof b);
        return 0;
    }
    case CONF_ENUM: {
        for (int i = 0; k->names && k->names[i]; i++) {
            if (strcmp(k->names[i], value) == 0) {
                memcpy(base, &i, sizeof i);
                return 0;
            }
        }
        char list[160] = "";
        size_t off = 0;
        for (int i = 0; k->names && k->names[i]; i++) {
            int w = snprintf(list + off, sizeof list - off, "%s%s", i ? ", " : "", k->names[i]);
            if (w < 0 || (size_t)w >= sizeof list - off)
                break;
            off += (size_t)w;
        }
        return fail(err, CONF_E_VALUE, source, line,
                    "key '%s': expected one of %s", k->name, list);
    }
    case CONF_STRING:
    case CONF_LIST: {
        size_t len = strlen(value);
        size_t cap = k->type == CONF_STRING ? k->size : CONF_VALUE_MAX;
        if (len >= cap)
            return fail(err, CONF_E_VALUE, source, line,
                        "key '%s': value longer than %zu bytes", k->name, cap - 1);
        if (k->check && len > 0) {
            why[0] = '\0';
            if (k->check(value, why, sizeof why) != 0)
                return fail(err, CONF_E_VALUE, source, line, "key '%s': %s", k->name,
                            why[0] ? why : "invalid value");
        }
        if (k->type == CONF_STRING) {
            memcpy(base, value, len + 1);
        } else {
            struct conf_list *l = (struct conf_list *)(void *)base;
            if (line == 0) {          /* a default replaces the list */
                l->n = 0;
                if (len == 0)
                    return 0;
            }
            if (l->n >= CONF_LIST_MAX)
                return fail(err, CONF_E_REPEAT, source, line,
                            "key '%s': more than %u entries", k->name, CONF_LIST_MAX);
            memcpy(l->v[l->n], value, len + 1);
            l->n++;
        }
        return 0;
    }
    }
    return fail(err, CONF_E_INVAL, source, line, "key '%s': bad table entry", k->name);
}

int conf_defaults(const struct conf_key *keys, size_t n, void *cfg, struct conf_error *err)
{
    if (!keys || !cfg)
        return CONF_E_INVAL;
    for (size_t i = 0; i < n; i++) {
        const struct conf_key *k = &keys[i];
        if (k->type == CONF_LIST) {
            ((struct conf_list *)(void *)((char *)cfg + k->offset))->n = 0;
        } else if (k->type == CONF_STRING && !k->def) {
            ((char *)cfg + k->offset)[0] = '\0';
            continue;
        }
        const char *d = k->def ? k->def : "";
        if (k->type != CONF_STRING && k->type != CONF_LIST && !k->def)
            continue;
        int rc = set_value(k, cfg, d, "default", 0, err);
        if (rc)
            return rc;
    }
    return 0;
}

static char *trim(char *s)
{
    while (*s && isspace((unsigned char)*s))
        s++;
    size_t len = strlen(s);
    while (len > 0 && isspace((unsigned char)s[len - 1]))
        s[--len] = '\0';
    return s;
}

/* A key name for a message: printable ASCII as is, every other byte \xNN,
 * cut (with "...") to fit. */
static const char *escaped(const char *s, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char piece[5];
        if (c >= 0x20 && c < 0x7F && c != '\\' && c != '\'') {
            piece[0] = (char)c;
            piece[1] = '\0';
        } else {
            snprintf(piece, sizeof piece, "\\x%02X", c);
        }
        size_t pl = strlen(piece);
        if (o + pl + 4 > cap) {
            snprintf(out + o, cap - o, "...");
            return out;
        }
        memcpy(out + o, piece, pl + 1);
        o += pl;
    }
    if (cap)
        out[o < cap ? o : cap - 1] = '\0';
    return out;
}

static bool control_byte(unsigned char c)
{
    return (c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7F;
}

/* Refuses a line (len bytes, maybe holding NULs) with a NUL or a control
 * byte: it would be cut there in silence, or reach a terminal raw. The error
 * names the key (escaped) when the byte comes after it, and the column. */
static int check_bytes(const char *line, size_t len, const char *source, unsigned lineno,
                       struct conf_error *err)
{
    size_t bad = 0;
    while (bad < len && !control_byte((unsigned char)line[bad]))
        bad++;
    if (bad == len)
        return 0;
    unsigned char c = (unsigned char)line[bad];
    size_t k = 0;
    /* the key ends where parse_line ends it, at any whitespace: a CR, VT or FF
     * between key and value must not make value bytes part of a quoted "key"
     * (fuzz/crashes/conf/control-byte-msg-echoes-value) */
    while (k < len && isspace((unsigned char)line[k]))
        k++;
    size_t ke = k;
    while (ke < len && ke < bad && !isspace((unsigned char)line[ke]))
        ke++;
    char name[96];
    if (k < len && line[k] == '#')
        return fail(err, CONF_E_SYNTAX, source, lineno,
                    "control byte 0x%02X in a comment (column %zu): not a text file?", c,
                    bad + 1);
    if (ke == k)
        return fail(err, CONF_E_SYNTAX, source, lineno,
                    "control byte 0x%02X before any key (column %zu): not a text file?", c,
                    bad + 1);
    if (ke == bad)
        return fail(err, CONF_E_SYNTAX, source, lineno,
                    "control byte 0x%02X in a key name '%s' (column %zu): not a text file?",
                    c, escaped(line + k, bad - k, name, sizeof name), bad + 1);
    return fail(err, CONF_E_VALUE, source, lineno,
                "key '%s': control byte 0x%02X in its value (column %zu)",
                escaped(line + k, ke - k, name, sizeof name), c, bad + 1);
}

/* Handles one line (modified in place). seen[] counts keys given. */
static int parse_line(const struct conf_key *keys, size_t n, const char *source, unsigned lineno,
                      char *line, void *cfg, unsigned *seen, struct conf_error *err)
{
    /* A comment starts at '#' at line start or after whitespace. */
    for (char *p = line; *p; p++) {
        if (*p == '#' && (p == line || isspace((unsigned char)p[-1]))) {
            *p = '\0';
            break;
        }
    }
    char *s = trim(line);
    if (!*s)
        return 0;
    char *name = s;
    while (*s && !isspace((unsigned char)*s))
        s++;
    char *value = s;
    if (*s) {
        *s = '\0';
        value = trim(s + 1);
    }
    const struct conf_key *k = conf_find(keys, n, name);
    if (!k) {
        char esc[96];
        return fail(err, CONF_E_UNKNOWN, source, lineno, "unknown key '%s'",
                    escaped(name, strlen(name), esc, sizeof esc));
    }
    size_t idx = (size_t)(k - keys);
    if (!*value && !(k->empty_ok && k->type == CONF_STRING))
        return fail(err, CONF_E_SYNTAX, source, lineno, "key '%s': missing value", k->name);
    if (seen[idx] && k->type != CONF_LIST)
        return fail(err, CONF_E_REPEAT, source, lineno,
                    "key '%s' given twice (it may appear once)", k->name);
    if (k->type == CONF_LIST && seen[idx] == 0)
        ((struct conf_list *)(void *)((char *)cfg + k->offset))->n = 0; /* drop defaults */
    seen[idx]++;
    return set_value(k, cfg, value, source, lineno, err);
}

static int finish(const struct conf_key *keys, size_t n, const char *source,
                  const unsigned *seen, struct conf_error *err)
{
    for (size_t i = 0; i < n; i++)
        if (keys[i].required && !seen[i])
            return fail(err, CONF_E_VALUE, source, 0, "key '%s' is required", keys[i].name);
    return 0;
}

#define CONF_KEYS_MAX 128u

int conf_parse_string(const struct conf_key *keys, size_t n, const char *source,
                      const char *text, void *cfg, struct conf_error *err)
{
    if (!keys || !text || !cfg || n > CONF_KEYS_MAX)
        return CONF_E_INVAL;
    int rc = conf_defaults(keys, n, cfg, err);
    if (rc)
        return rc;
    unsigned seen[CONF_KEYS_MAX] = { 0 };
    char line[CONF_LINE_MAX + 1];
    unsigned lineno = 0;
    const char *p = text;
    while (*p) {
        lineno++;
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len > CONF_LINE_MAX)
            return fail(err, CONF_E_SYNTAX, source, lineno, "line longer than %u bytes",
                        CONF_LINE_MAX);
        memcpy(line, p, len);
        line[len] = '\0';
        rc = check_bytes(line, len, source, lineno, err);
        if (rc)
            return rc;
        rc = parse_line(keys, n, source, lineno, line, cfg, seen, err);
        if (rc)
            return rc;
        p = e ? e + 1 : p + len;
    }
    return finish(keys, n, source, seen, err);
}

int conf_parse_file(const struct conf_key *keys, size_t n, const char *path,
                    void *cfg, struct conf_error *err)
{
    if (!keys || !path || !cfg || n > CONF_KEYS_MAX)
        return CONF_E_INVAL;
    int rc = conf_defaults(keys, n, cfg, err);
    if (rc)
        return rc;
    FILE *f = fopen(path, "r");
    if (!f)
        return fail(err, CONF_E_OPEN, path, 0, "cannot open: %s", strerror(errno));
    unsigned seen[CONF_KEYS_MAX] = { 0 };
    char line[CONF_LINE_MAX + 2];
    unsigned lineno = 0;
    rc = 0;
    for (;;) {
        /* by hand, not fgets: a NUL byte must be seen, not cut the line at */
        size_t len = 0;
        int ch = EOF;
        while (len < sizeof line - 1 && (ch = getc(f)) != EOF) {
            line[len++] = (char)ch;
            if (ch == '\n')
                break;
        }
        if (len == 0)
            break;
        line[len] = '\0';
        lineno++;
        if (len == sizeof line - 1 && line[len - 1] != '\n') {
            int next = getc(f);
            if (next != EOF) {
                rc = fail(err, CONF_E_SYNTAX, path, lineno, "line longer than %u bytes",
                          CONF_LINE_MAX);
                break;
            }
        }
        rc = check_bytes(line, len, path, lineno, err);
        if (rc)
            break;
        rc = parse_line(keys, n, path, lineno, line, cfg, seen, err);
        if (rc)
            break;
    }
    if (!rc && ferror(f))
        rc = fail(err, CONF_E_OPEN, path, 0, "read error");
    fclose(f);
    if (rc)
        return rc;
    return finish(keys, n, path, seen, err);
}

static size_t value_size(const struct conf_key *k)
{
    switch (k->type) {
    case CONF_INT:    return sizeof(int64_t);
    case CONF_BOOL:   return sizeof(bool);
    case CONF_ENUM:   return sizeof(int);
    case CONF_STRING: return k->size;
    case CONF_LIST:   return sizeof(struct conf_list);
    }
    return 0;
}

bool conf_differs(const struct conf_key *k, const void *a, const void *b)
{
    const char *pa = (const char *)a + k->offset;
    const char *pb = (const char *)b + k->offset;
    if (k->type == CONF_STRING)
        return strcmp(pa, pb) != 0;
    if (k->type == CONF_LIST) {
        const struct conf_list *la = (const void *)pa, *lb = (const void *)pb;
        if (la->n != lb->n)
            return true;
        for (unsigned i = 0; i < la->n; i++)
            if (strcmp(la->v[i], lb->v[i]) != 0)
                return true;
        return false;
    }
    return memcmp(pa, pb, value_size(k)) != 0;
}

void conf_copy(const struct conf_key *k, void *dst, const void *src)
{
    memcpy((char *)dst + k->offset, (const char *)src + k->offset, value_size(k));
}
