/*
 * lookup.c — constant-time code lookup over the whole user table.
 *
 * An entered code is compared with EVERY slot, with no early exit and no
 * branch that depends on a code, a length or which slot matched: the time the
 * keypad takes to answer must not tell a duress code from a normal one, nor
 * the first slot from the last (DURESS.md, "What entering it does" 3).
 * tests/unit/panel/lookup_count counts executed instructions with callgrind to
 * hold this file to that. It must never gain an `if` on secret data.
 */
#include "vigil/panel.h"

/* 1 when x == 0, else 0, without a branch (x < 2^31). */
static inline uint32_t is_zero(uint32_t x)
{
    return (x - 1u) >> 31;
}

unsigned pnl__lookup(const struct pnl__user *users, unsigned n,
                     const uint8_t code[PNL_CODE_LEN_MAX], uint8_t len)
{
    uint32_t found = 0;
    for (unsigned i = 0; i < n; i++) {          /* n is public: the table size */
        const struct pnl__user *u = &users[i];
        uint32_t diff = (uint32_t)(u->len ^ len);
        for (unsigned k = 0; k < PNL_CODE_LEN_MAX; k++)
            diff |= (uint32_t)(u->code[k] ^ code[k]);
        /* An empty slot (len 0) never matches: entered codes have len >= 4. */
        diff |= is_zero(u->len);
        uint32_t mask = 0u - is_zero(diff);     /* all ones on a match */
        found |= mask & (uint32_t)(i + 1u);
    }
    return (unsigned)found;
}
