/*
 * lib/dc09/time.c — the DC-09 timestamp "HH:MM:SS,MM-DD-YYYY" (UTC) to and
 * from Unix seconds, by civil-calendar arithmetic.
 * Must never call libc time functions (gmtime, mktime): the target has no
 * clock and no time zone; time always arrives as a parameter.
 */
#include "dc09_internal.h"

static bool leap(unsigned y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static unsigned days_in_month(unsigned y, unsigned m)
{
    static const uint8_t dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29u : dim[m - 1];
}

/* Days from 1970-01-01 to January 1st of year y (1970..10000), proleptic
 * Gregorian: unsigned 32-bit throughout, so a Cortex-M0 needs no 64-bit
 * division helpers. 477 leap days before 1970. */
static uint32_t days_before(unsigned y)
{
    const unsigned p = y - 1;
    return 365u * (y - 1970) + p / 4 - p / 100 + p / 400 - 477u;
}

/* Date of day z since 1970-01-01 (z < 2932897: up to 9999-12-31). */
static void civil_from_days(uint32_t z, unsigned *y, unsigned *m, unsigned *d)
{
    unsigned yy = 1970 + z * 400u / 146097u; /* within one of the year */
    while (days_before(yy) > z)
        yy--;
    while (days_before(yy + 1) <= z)
        yy++;
    z -= days_before(yy);
    unsigned mm = 1;
    for (unsigned n; z >= (n = days_in_month(yy, mm)); mm++)
        z -= n;
    *y = yy;
    *m = mm;
    *d = z + 1;
}

static uint32_t days_from_civil(unsigned y, unsigned m, unsigned d)
{
    uint32_t z = days_before(y) + d - 1;
    for (unsigned k = 1; k < m; k++)
        z += days_in_month(y, k);
    return z;
}

bool dc09__ts_shape(const uint8_t *p)
{
    /* "HH:MM:SS,MM-DD-YYYY" */
    static const char shape[DC09__TS_LEN + 1] = "99:99:99,99-99-9999";
    for (unsigned i = 0; i < DC09__TS_LEN; i++) {
        if (shape[i] == '9') {
            if (!dc09__is_digit(p[i]))
                return false;
        } else if (p[i] != (uint8_t)shape[i]) {
            return false;
        }
    }
    return true;
}

unsigned dc09__num(const uint8_t *p, unsigned n)
{
    unsigned v = 0;
    for (unsigned i = 0; i < n; i++)
        v = v * 10 + (unsigned)(p[i] - '0');
    return v;
}

int dc09_time_parse(const char *s, size_t len, int64_t *out_s)
{
    if (!s || !out_s)
        return DC09_E_INVAL;
    const uint8_t *p = (const uint8_t *)s;
    if (len != DC09__TS_LEN || !dc09__ts_shape(p))
        return DC09_E_FORMAT;
    unsigned hh = dc09__num(p, 2), mi = dc09__num(p + 3, 2), ss = dc09__num(p + 6, 2);
    unsigned mo = dc09__num(p + 9, 2), dd = dc09__num(p + 12, 2), yy = dc09__num(p + 15, 4);
    if (hh > 23 || mi > 59 || ss > 59 || mo < 1 || mo > 12 || yy < 1970)
        return DC09_E_FORMAT;
    if (dd < 1 || dd > days_in_month(yy, mo))
        return DC09_E_FORMAT;
    /* 86400 = 675 << 7; days * 675 < 2^31 up to 9999-12-31. */
    *out_s = (int64_t)(days_from_civil(yy, mo, dd) * 675u) * 128 + (int64_t)(hh * 3600 + mi * 60 + ss);
    return 0;
}

void dc09__put_dec(char *o, unsigned v, unsigned width)
{
    for (unsigned i = width; i > 0; i--) {
        o[i - 1] = (char)('0' + v % 10);
        v /= 10;
    }
}

/* 9999-12-31T23:59:59Z: the last instant a 4-digit year can carry. */
#define TIME_MAX_S 253402300799LL

int dc09_time_format(int64_t t_s, char *out, size_t cap)
{
    if (!out)
        return DC09_E_INVAL;
    if (t_s < 0 || t_s > TIME_MAX_S)
        return DC09_E_INVAL;
    if (cap < DC09__TS_LEN + 1)
        return DC09_E_NOSPACE;
    /* t_s < 2^38: t_s >> 7 fits 32 bits, and 86400 = 675 << 7. */
    const uint32_t t7 = (uint32_t)(t_s >> 7);
    const uint32_t days = t7 / 675u;
    const unsigned sod = (unsigned)(t7 % 675u) * 128u + (unsigned)(t_s & 127);
    unsigned y, m, d;
    civil_from_days(days, &y, &m, &d);
    dc09__put_dec(out, sod / 3600, 2);
    out[2] = ':';
    dc09__put_dec(out + 3, sod / 60 % 60, 2);
    out[5] = ':';
    dc09__put_dec(out + 6, sod % 60, 2);
    out[8] = ',';
    dc09__put_dec(out + 9, m, 2);
    out[11] = '-';
    dc09__put_dec(out + 12, d, 2);
    out[14] = '-';
    dc09__put_dec(out + 15, y, 4);
    out[19] = '\0';
    return 0;
}
