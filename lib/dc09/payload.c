/*
 * lib/dc09/payload.c — the two payloads DC-09 carries: Contact ID
 * ("QEEE GG ZZZ") and SIA DC-03 ("N[ri..][id..][ti..]CODEzone[^text^]"), and
 * the CID<->SIA table of docs/DC09.md kept as data.
 * Parsers must fail cleanly on anything else and never read past `len`.
 */
#include "dc09_internal.h"

#include <string.h>

/* ---- Contact ID ------------------------------------------------------ */

static bool digits(const char *s, size_t n, unsigned *v)
{
    unsigned x = 0;
    for (size_t i = 0; i < n; i++) {
        if (!dc09__is_digit((uint8_t)s[i]))
            return false;
        x = x * 10 + (unsigned)(s[i] - '0');
    }
    *v = x;
    return true;
}

static bool qualifier_ok(unsigned q) { return q == 1 || q == 3 || q == 6; }

int dc09_cid_parse(const char *s, size_t len, struct dc09_cid *out)
{
    if (!s || !out)
        return DC09_E_INVAL;
    unsigned q, e, g, z;
    if (len == 11) {
        if (s[4] != ' ' || s[7] != ' ')
            return DC09_E_PAYLOAD;
        if (!digits(s, 1, &q) || !digits(s + 1, 3, &e) || !digits(s + 5, 2, &g) ||
            !digits(s + 8, 3, &z))
            return DC09_E_PAYLOAD;
    } else if (len == 9) {
        if (!digits(s, 1, &q) || !digits(s + 1, 3, &e) || !digits(s + 4, 2, &g) ||
            !digits(s + 6, 3, &z))
            return DC09_E_PAYLOAD;
    } else {
        return DC09_E_PAYLOAD;
    }
    if (!qualifier_ok(q))
        return DC09_E_PAYLOAD;
    out->qualifier = (uint8_t)q;
    out->event = (uint16_t)e;
    out->partition = (uint8_t)g;
    out->zone = (uint16_t)z;
    return 0;
}

int dc09_cid_format(const struct dc09_cid *c, char *out, size_t cap)
{
    if (!c || !out)
        return DC09_E_INVAL;
    if (!qualifier_ok(c->qualifier) || c->event > 999 || c->partition > 99 || c->zone > 999)
        return DC09_E_INVAL;
    if (cap < 12)
        return DC09_E_NOSPACE;
    dc09__put_dec(out, c->qualifier, 1);
    dc09__put_dec(out + 1, c->event, 3);
    out[4] = ' ';
    dc09__put_dec(out + 5, c->partition, 2);
    out[7] = ' ';
    dc09__put_dec(out + 8, c->zone, 3);
    out[11] = '\0';
    return 0;
}

/* ---- SIA DC-03 ------------------------------------------------------- */

#define SIA_NUM_DIGITS_MAX 4u /* area, user, zone: up to 9999 */

/* Reads 1..4 digits at s[*i]; false if none or too many. */
static bool sia_num(const char *s, size_t len, size_t *i, uint16_t *v)
{
    size_t start = *i;
    unsigned x = 0;
    while (*i < len && dc09__is_digit((uint8_t)s[*i])) {
        if (*i - start == SIA_NUM_DIGITS_MAX)
            return false;
        x = x * 10 + (unsigned)(s[*i] - '0');
        (*i)++;
    }
    if (*i == start)
        return false;
    *v = (uint16_t)x;
    return true;
}

static bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
static bool is_alnum(char c)
{
    return is_upper(c) || (c >= 'a' && c <= 'z') || dc09__is_digit((uint8_t)c);
}

int dc09_sia_parse(const char *s, size_t len, struct dc09_sia *out)
{
    if (!s || !out)
        return DC09_E_INVAL;
    struct dc09_sia r;
    memset(&r, 0, sizeof r);
    size_t i = 0;
    if (len < 3 || s[0] != 'N')
        return DC09_E_PAYLOAD;
    i = 1;
    /* Modifiers in any order, each at most once, '/' after each optional
     * (real panels: "Nri1CL0", "Nti19:44/id1/RP"). */
    for (;;) {
        if (i + 2 > len)
            return DC09_E_PAYLOAD;
        if (s[i] == 'r' && s[i + 1] == 'i' && !r.has_area) {
            i += 2;
            if (!sia_num(s, len, &i, &r.area))
                return DC09_E_PAYLOAD;
            r.has_area = true;
        } else if (s[i] == 'i' && s[i + 1] == 'd' && !r.has_user) {
            i += 2;
            if (!sia_num(s, len, &i, &r.user))
                return DC09_E_PAYLOAD;
            r.has_user = true;
        } else if (s[i] == 't' && s[i + 1] == 'i' && !r.has_time) {
            i += 2;
            unsigned hh, mm;
            if (i + 5 > len || s[i + 2] != ':' || !digits(s + i, 2, &hh) ||
                !digits(s + i + 3, 2, &mm) || hh > 23 || mm > 59)
                return DC09_E_PAYLOAD;
            r.hour = (uint8_t)hh;
            r.minute = (uint8_t)mm;
            r.has_time = true;
            i += 5;
        } else {
            break;
        }
        if (i < len && s[i] == '/')
            i++;
    }
    if (i + 2 > len || !is_upper(s[i]) || !is_upper(s[i + 1]))
        return DC09_E_PAYLOAD;
    r.code[0] = s[i];
    r.code[1] = s[i + 1];
    r.code[2] = '\0';
    i += 2;
    if (i < len && dc09__is_digit((uint8_t)s[i])) {
        if (!sia_num(s, len, &i, &r.zone))
            return DC09_E_PAYLOAD;
        r.has_zone = true;
    }
    if (i < len && s[i] == '^') {
        size_t t = ++i;
        while (i < len && s[i] != '^')
            i++;
        if (i == len)
            return DC09_E_PAYLOAD; /* unterminated text */
        size_t n = i - t;
        if (n > DC09_SIA_TEXT_MAX) {
            n = DC09_SIA_TEXT_MAX;
            r.text_truncated = true;
        }
        memcpy(r.text, s + t, n);
        r.text[n] = '\0';
        r.has_text = true;
        i++;
    }
    size_t x = 0;
    while (i < len) {
        if (!is_alnum(s[i]) || x == DC09_SIA_EXTRA_MAX)
            return DC09_E_PAYLOAD;
        r.extra[x++] = s[i++];
    }
    r.extra[x] = '\0';
    *out = r;
    return 0;
}

/* Appends decimal v (at least `width` digits) at out[*n]; false if no room. */
static bool put_num(char *out, size_t cap, size_t *n, unsigned v, unsigned width)
{
    char tmp[5];
    unsigned k = 0;
    do {
        tmp[k++] = (char)('0' + v % 10);
        v /= 10;
    } while (v && k < sizeof tmp);
    while (k < width)
        tmp[k++] = '0';
    if (*n + k >= cap)
        return false;
    while (k)
        out[(*n)++] = tmp[--k];
    return true;
}

static bool put_str(char *out, size_t cap, size_t *n, const char *s, size_t len)
{
    if (*n + len >= cap)
        return false;
    memcpy(out + *n, s, len);
    *n += len;
    return true;
}

int dc09_sia_format(const struct dc09_sia *s, char *out, size_t cap)
{
    if (!s || !out)
        return DC09_E_INVAL;
    if (!is_upper(s->code[0]) || !is_upper(s->code[1]) || s->code[2] != '\0')
        return DC09_E_INVAL;
    if ((s->has_area && s->area > 9999) || (s->has_user && s->user > 9999) ||
        (s->has_zone && s->zone > 9999) || (s->has_time && (s->hour > 23 || s->minute > 59)))
        return DC09_E_INVAL;
    size_t tl = dc09__strlen(s->text), xl = dc09__strlen(s->extra);
    if (tl > DC09_SIA_TEXT_MAX || xl > DC09_SIA_EXTRA_MAX)
        return DC09_E_INVAL;
    for (size_t i = 0; i < tl; i++)
        if (s->text[i] == '^' || s->text[i] == '[' || s->text[i] == ']' || s->text[i] == '|')
            return DC09_E_INVAL;
    for (size_t i = 0; i < xl; i++)
        if (!is_alnum(s->extra[i]))
            return DC09_E_INVAL;
    size_t n = 0;
    bool ok = put_str(out, cap, &n, "N", 1);
    if (ok && s->has_area)
        ok = put_str(out, cap, &n, "ri", 2) && put_num(out, cap, &n, s->area, 1) &&
             put_str(out, cap, &n, "/", 1);
    if (ok && s->has_user)
        ok = put_str(out, cap, &n, "id", 2) && put_num(out, cap, &n, s->user, 1) &&
             put_str(out, cap, &n, "/", 1);
    if (ok && s->has_time)
        ok = put_str(out, cap, &n, "ti", 2) && put_num(out, cap, &n, s->hour, 2) &&
             put_str(out, cap, &n, ":", 1) && put_num(out, cap, &n, s->minute, 2) &&
             put_str(out, cap, &n, "/", 1);
    ok = ok && put_str(out, cap, &n, s->code, 2);
    if (ok && s->has_zone)
        ok = put_num(out, cap, &n, s->zone, 3);
    if (ok && (s->has_text || tl > 0))
        ok = put_str(out, cap, &n, "^", 1) && put_str(out, cap, &n, s->text, tl) &&
             put_str(out, cap, &n, "^", 1);
    ok = ok && put_str(out, cap, &n, s->extra, xl);
    if (!ok)
        return DC09_E_NOSPACE;
    out[n] = '\0';
    return 0;
}

/* ---- the CID <-> SIA table of docs/DC09.md --------------------------- */

/* q1: the code for qualifier 1 (new event / opening) and 6 (still present);
 * q3: the code for qualifier 3 (restore / closing), "" where DC09.md gives
 * none — a restore must never be reported as its alarm. The codes are held in
 * the rows (a panel links this table through pnl_event_sia); the descriptions
 * are a separate table in the same order, reached only through
 * dc09_cid_describe, so --gc-sections drops them from a firmware that does not
 * call it. */
struct cid_sia {
    uint16_t lo, hi;
    char q1[3];
    char q3[3];
};

static const struct cid_sia table[] = {
    {121, 121, "HA", "HH"},
    {122, 122, "HA", "HH"},
    {123, 123, "PA", "PH"},
    {130, 136, "BA", ""},
    {137, 137, "TA", "TR"},
    {301, 301, "AT", "AR"},
    {302, 302, "YT", "YR"},
    {306, 306, "YG", ""},
    {354, 354, "YC", ""},
    {374, 374, "EA", ""},
    {383, 383, "TA", ""},
    {401, 401, "OP", "CL"},
    {403, 403, "OA", "CA"},
    {406, 406, "OC", ""},
    {407, 407, "OQ", "CQ"},
    {441, 441, "", "CG"},
    {459, 459, "CR", ""},
    {461, 461, "JA", ""},
    {110, 118, "FA", "FH"},
    {100, 102, "MA", "MH"},
    {120, 120, "PA", "PH"},
    {412, 412, "RB", ""},
    {602, 602, "RP", ""},
};
#define ROWS (sizeof table / sizeof table[0])
_Static_assert(ROWS == 23, "the 23 rows of DC09.md's table");

static const char *const describe[ROWS] = {
    "duress",
    "silent panic",
    "audible panic",
    "burglary",
    "tamper",
    "AC loss",
    "low system battery",
    "panel program changed",
    "failure to communicate",
    "exit error",
    "sensor tamper",
    "open/close by user",
    "automatic open/close",
    "cancel",
    "remote arm/disarm",
    "armed stay",
    "recent close",
    "wrong code entry",
    "fire",
    "medical",
    "panic",
    "successful download / remote access",
    "periodic test",
};

static const struct cid_sia *cid_row(uint16_t event)
{
    for (size_t i = 0; i < ROWS; i++)
        if (event >= table[i].lo && event <= table[i].hi)
            return &table[i];
    return NULL;
}

const char *dc09_cid_to_sia(uint16_t event, uint8_t qualifier)
{
    const struct cid_sia *r = cid_row(event);
    if (!r || !qualifier_ok(qualifier))
        return NULL;
    const char *code = qualifier == 3 ? r->q3 : r->q1;
    return code[0] ? code : NULL;
}

int dc09_sia_to_cid(const char *code, uint16_t *event, uint8_t *qualifier)
{
    if (!code || !event || !qualifier)
        return DC09_E_INVAL;
    /* First row wins: HA → 121 (duress), TA → 137. */
    for (size_t i = 0; i < ROWS; i++) {
        if (table[i].q1[0] && strcmp(table[i].q1, code) == 0) {
            *event = table[i].lo;
            *qualifier = 1;
            return 0;
        }
        if (table[i].q3[0] && strcmp(table[i].q3, code) == 0) {
            *event = table[i].lo;
            *qualifier = 3;
            return 0;
        }
    }
    return DC09_E_INVAL;
}

const char *dc09_cid_describe(uint16_t event)
{
    const struct cid_sia *r = cid_row(event);
    return r ? describe[r - table] : NULL;
}
