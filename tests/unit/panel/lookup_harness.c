/*
 * lookup_harness.c — runs one code lookup over a full user table, for
 * lookup_count.py to count its instructions under callgrind.
 *   lookup_harness normal|duress|last|wrong|first [ct|early]
 * `ct` (default) calls the real pnl__lookup (lib/panel/lookup.c); `early` an
 * early-exit lookup kept here as the negative control: the counting test must
 * see ITS counts differ, or the test could not fail.
 * Built without sanitizers (they add data-dependent instrumentation).
 */
#include <stdio.h>
#include <string.h>

#include "vigil/panel.h"

/* The negative control: stops at the first match, like a naive memcmp loop.
 * Kept out of line and unspecialised so callgrind can find it by name. */
#if defined(__GNUC__) && !defined(__clang__)
#define KEEP_WHOLE __attribute__((noinline, noclone))
#else
#define KEEP_WHOLE __attribute__((noinline))
#endif
unsigned lookup_early(const struct pnl__user *users, unsigned n,
                      const uint8_t code[PNL_CODE_LEN_MAX], uint8_t len);
KEEP_WHOLE unsigned lookup_early(const struct pnl__user *users, unsigned n,
                                 const uint8_t code[PNL_CODE_LEN_MAX], uint8_t len)
{
    for (unsigned i = 0; i < n; i++) {
        if (users[i].len != len)
            continue;
        if (memcmp(users[i].code, code, PNL_CODE_LEN_MAX) == 0)
            return i + 1;
    }
    return 0;
}

static void set(struct pnl__user *u, const char *c, int duress)
{
    size_t n = strlen(c);
    for (unsigned k = 0; k < PNL_CODE_LEN_MAX; k++)
        u->code[k] = k < n ? (uint8_t)(c[k] - '0') : 0xFF;
    u->len = (uint8_t)n;
    u->role = PNL_ROLE_USER;
    u->parts = 1;
    u->duress = (uint8_t)duress;
}

int main(int argc, char **argv)
{
    static struct pnl__user users[PNL_USERS_MAX];
    /* A full table, codes of mixed lengths; slot 7 is a duress code. */
    for (unsigned i = 0; i < PNL_USERS_MAX; i++) {
        char c[9];
        unsigned len = 4 + i % 5;
        for (unsigned k = 0; k < len; k++)
            c[k] = (char)('0' + (i * 7 + k * 3 + 1) % 10);
        c[len] = '\0';
        c[0] = (char)('0' + i % 10);
        c[1] = (char)('0' + i / 10);
        set(&users[i], c, i == 6);
    }
    if (argc < 2)
        return 2;
    unsigned pick;
    if (strcmp(argv[1], "first") == 0)
        pick = 0;
    else if (strcmp(argv[1], "normal") == 0)
        pick = 12;
    else if (strcmp(argv[1], "duress") == 0)
        pick = 6;
    else if (strcmp(argv[1], "last") == 0)
        pick = PNL_USERS_MAX - 1;
    else if (strcmp(argv[1], "wrong") == 0)
        pick = PNL_USERS_MAX;
    else
        return 2;
    uint8_t code[PNL_CODE_LEN_MAX];
    uint8_t len;
    if (pick < PNL_USERS_MAX) {
        memcpy(code, users[pick].code, sizeof code);
        len = users[pick].len;
    } else {
        memcpy(code, users[3].code, sizeof code);   /* a near miss of slot 4 */
        code[2] = (uint8_t)((code[2] + 1) % 10);
        len = users[3].len;
    }
    int early = argc > 2 && strcmp(argv[2], "early") == 0;
    unsigned got = early ? lookup_early(users, PNL_USERS_MAX, code, len)
                         : pnl__lookup(users, PNL_USERS_MAX, code, len);
    unsigned want = pick < PNL_USERS_MAX ? pick + 1 : 0;
    printf("%u\n", got);
    return got == want ? 0 : 1;
}
