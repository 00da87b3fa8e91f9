/*
 * lib/dc09/dc09_internal.h — helpers shared by the DC-09 library's files.
 * Private to lib/dc09: nothing outside the library may include it.
 * Must never pull in stdio, malloc or a clock: the library runs on a Cortex-M0.
 */
#ifndef VIGIL_DC09_INTERNAL_H
#define VIGIL_DC09_INTERNAL_H

#include "vigil/dc09.h"

/* Hex digit value (either case), or -1. On the host a table, not range
 * compares: on ciphertext hex the compares mispredict (~5 ns a character,
 * measured). On a Cortex-M0 (no branch predictor to miss, 256 bytes of flash
 * to save) a function of two compares. */
#if defined(__ARM_ARCH_6M__) || defined(DC09_HEX_SMALL)
#define DC09__HEX_TABLE 0
int dc09__hexval(uint8_t c);
#else
#define DC09__HEX_TABLE 1
extern const int8_t dc09__hexval_tab[256];
static inline int dc09__hexval(uint8_t c) { return dc09__hexval_tab[c]; }
#endif

/* memchr, strlen, memcmp over the few to tens of bytes of a frame's fields:
 * on the host the C library's (vectorised: the reader scans whole TCP reads);
 * on a Cortex-M0 plain byte loops — newlib's word-at-a-time versions are
 * 116 + 92 + 68 bytes of flash, with no wide loads to gain from here. */
#if DC09__HEX_TABLE
#include <string.h>
#define dc09__memchr(p, c, n) ((const uint8_t *)memchr((p), (c), (n)))
#define dc09__strlen(s) strlen(s)
#define dc09__memeq(a, b, n) (memcmp((a), (b), (n)) == 0)
#else
static inline const uint8_t *dc09__memchr(const uint8_t *p, uint8_t c, size_t n)
{
    for (; n > 0; p++, n--)
        if (*p == c)
            return p;
    return NULL;
}
static inline size_t dc09__strlen(const char *s)
{
    size_t n = 0;
    while (s[n] != '\0' && n < SIZE_MAX / 2)   /* the bound: not turned back into strlen */
        n++;
    return n;
}
static inline bool dc09__memeq(const void *a, const void *b, size_t n)
{
    const uint8_t *x = a, *y = b;
    for (size_t i = 0; i < n; i++)
        if (x[i] != y[i])
            return false;
    return true;
}
#endif

/* v's last `width` decimal digits at o, zero-padded, no NUL (time.c). */
void dc09__put_dec(char *o, unsigned v, unsigned width);
/* The value of n decimal digits at p, already checked (time.c). */
unsigned dc09__num(const uint8_t *p, unsigned n);

static inline bool dc09__is_digit(uint8_t c) { return c >= '0' && c <= '9'; }
static inline bool dc09__is_hex(uint8_t c) { return dc09__hexval(c) >= 0; }

extern const char dc09__hexdig[16]; /* "0123456789ABCDEF" */

/* The ID tokens from DC09_ID_SIA_DCS to DC09_ID_DUH (dc09_id_name; the
 * decoder's token table). */
extern const char dc09__id_names[DC09_ID_DUH][8];

/* Length of the timestamp text after '_': "HH:MM:SS,MM-DD-YYYY". */
#define DC09__TS_LEN 19u

/* True if p[0..19) looks like "HH:MM:SS,MM-DD-YYYY" (digits and separators only). */
bool dc09__ts_shape(const uint8_t *p);

/* Step 1 of dc09_decode (decode.c): framing, CRC, length; the body ('"'
 * onwards) is frame[*body_off .. *body_off + *body_len). 0 or DC09_E_*. */
int dc09__frame_body(const uint8_t *frame, size_t len, uint32_t quirks, size_t *body_off,
                     size_t *body_len, struct dc09_diag *diag);

static inline void dc09__diag(struct dc09_diag *d, const char *field, size_t off)
{
    if (d) {
        d->field = field;
        d->offset = off;
    }
}

#endif
