/*
 * db_uri.c — store values: which back end a value names, and how a
 * PostgreSQL URI may be shown (without its password). No engine here: the
 * configuration code and its fuzzer use it alone.
 */
#include "db.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

bool db_is_pg_uri(const char *store)
{
    return store && (strncmp(store, "postgresql://", 13) == 0 ||
                     strncmp(store, "postgres://", 11) == 0);
}

/* postgresql://user:secret@host/db?password=x&sslmode=y
 *   -> postgresql://user@host/db?sslmode=y */
void db_uri_redact(const char *store, char *out, size_t cap)
{
    if (cap == 0)
        return;
    out[0] = '\0';
    if (!store)
        return;
    if (!db_is_pg_uri(store)) {
        snprintf(out, cap, "%s", store);
        return;
    }
    size_t o = 0;
#define PUT(c) do { char c_ = (c); if (o + 1 < cap) out[o++] = c_; } while (0)
    const char *p = strstr(store, "://") + 3;
    for (const char *s = store; s < p; s++)
        PUT(*s);
    /* the authority ends at the first '/', '?' or '#'; its userinfo at the last '@' in it */
    size_t alen = strcspn(p, "/?#");
    const char *at = NULL;
    for (const char *s = p; s < p + alen; s++)
        if (*s == '@')
            at = s;
    const char *s = p;
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        const char *uend = colon ? colon : at;
        for (; s < uend; s++)
            PUT(*s);
        s = at;             /* '@' and the host follow */
    }
    for (; s < p + alen; s++)
        PUT(*s);
    /* path, then the query without password=... */
    while (*s && *s != '?')
        PUT(*s++);
    if (*s == '?') {
        s++;
        bool first = true;
        while (*s) {
            size_t n = strcspn(s, "&#");
            if (!(n >= 9 && strncasecmp(s, "password=", 9) == 0)) {
                PUT(first ? '?' : '&');
                first = false;
                for (size_t k = 0; k < n; k++)
                    PUT(s[k]);
            }
            s += n;
            if (*s == '&')
                s++;
            else
                break;
        }
        while (*s)          /* a fragment */
            PUT(*s++);
    }
#undef PUT
    out[o] = '\0';
}
