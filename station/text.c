/*
 * text.c — a growable, NUL-ended text buffer for the pages the station core
 * and the console write by hand (the dispute packet's HTML, the dispatch
 * record's XML). An append after a failed allocation is dropped and
 * `failed` says so: the caller checks once at the end and frees `p`.
 */
#include "vigil/station.h"

#include <stdlib.h>
#include <string.h>

void stn_text_put(struct stn_text *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2 + 256;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->failed = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void stn_text_puts(struct stn_text *b, const char *s)
{
    stn_text_put(b, s, strlen(s));
}
