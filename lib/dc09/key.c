/*
 * lib/dc09/key.c — AES keys as panels enter them: ASCII characters or hex
 * digits, chosen explicitly by the caller (real panels disagree, DC09.md).
 * Must never log or copy a key anywhere but the caller's struct.
 */
#include "dc09_internal.h"

#include <string.h>

static bool key_len_ok(size_t n) { return n == 16 || n == 24 || n == 32; }

int dc09_key_from_ascii(struct dc09_key *k, const char *s, size_t n)
{
    if (!k || !s)
        return DC09_E_INVAL;
    if (!key_len_ok(n))
        return DC09_E_KEY;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t)s[i];
        if (c < 0x20 || c > 0x7E)
            return DC09_E_KEY;
    }
    memcpy(k->bytes, s, n);
    k->len = (uint8_t)n;
    return 0;
}

int dc09_key_from_hex(struct dc09_key *k, const char *s, size_t n)
{
    if (!k || !s)
        return DC09_E_INVAL;
    if (!key_len_ok(n / 2) || n % 2 != 0)
        return DC09_E_KEY;
    for (size_t i = 0; i < n; i++)
        if (!dc09__is_hex((uint8_t)s[i]))
            return DC09_E_KEY;
    for (size_t i = 0; i < n / 2; i++)
        k->bytes[i] = (uint8_t)(dc09__hexval((uint8_t)s[2 * i]) << 4 |
                                dc09__hexval((uint8_t)s[2 * i + 1]));
    k->len = (uint8_t)(n / 2);
    return 0;
}

void dc09_key_wipe(struct dc09_key *k)
{
    if (!k)
        return;
    /* volatile stores: the compiler may not drop them as dead. */
    volatile uint8_t *p = (volatile uint8_t *)k;
    for (size_t i = 0; i < sizeof *k; i++)
        p[i] = 0;
}
