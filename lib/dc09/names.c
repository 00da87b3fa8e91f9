/*
 * lib/dc09/names.c — the library's names: error texts, error short names,
 * quirk names, ID token names. Pure tables; must never allocate or format.
 */
#include "dc09_internal.h"

#include <string.h>

#if DC09__HEX_TABLE
#define H16(b) -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1
const int8_t dc09__hexval_tab[256] = {
    H16(0x00), H16(0x10), H16(0x20),
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, -1, -1, -1, -1, -1, -1,           /* 0x30 '0'..'9' */
    -1, 10, 11, 12, 13, 14, 15, -1, -1, -1, -1, -1, -1, -1, -1, -1, /* 0x40 'A'..'F' */
    H16(0x50),
    -1, 10, 11, 12, 13, 14, 15, -1, -1, -1, -1, -1, -1, -1, -1, -1, /* 0x60 'a'..'f' */
    H16(0x70), H16(0x80), H16(0x90), H16(0xA0), H16(0xB0), H16(0xC0), H16(0xD0),
    H16(0xE0), H16(0xF0),
};
_Static_assert(sizeof dc09__hexval_tab == 256, "one entry per byte value");
#undef H16
#else
int dc09__hexval(uint8_t c)
{
    unsigned d = (unsigned)c - '0';
    if (d < 10)
        return (int)d;
    d = ((unsigned)c | 0x20u) - 'a';
    return d < 6 ? (int)d + 10 : -1;
}
#endif

const char dc09__hexdig[16] = {'0', '1', '2', '3', '4', '5', '6', '7',
                               '8', '9', 'A', 'B', 'C', 'D', 'E', 'F'};

/* The n-th of the NUL-separated strings in `list`. */
static const char *nth(const char *list, unsigned n)
{
    while (n--)
        list += dc09__strlen(list) + 1;
    return list;
}

/* Indexed by -err. The short names are one packed array (a panel's
 * communicator logs them); the texts are only reached through dc09_strerror,
 * so --gc-sections drops them from a firmware that does not call it — which
 * works only while no table a firmware uses points into this file's string
 * literals (they share one section): keep such tables char arrays. */
static const char err_names[] =
    "ok\0crc\0length\0format\0token\0decrypt\0pad\0time\0oversize\0nospace\0inval\0key\0"
    "nokey\0clear\0payload\0crypto";
static const char *const err_texts[] = {
    "success",
    "CRC does not match (frame is not answered)",
    "length field does not match (frame is not answered)",
    "malformed field",
    "unknown ID token",
    "cannot decrypt: ciphertext not hex, not whole blocks, or wrong key",
    "decrypted pad is not as the standard says",
    "timestamp outside the accepted window",
    "frame or field longer than its bound",
    "output buffer too small",
    "invalid argument",
    "key has the wrong length or characters",
    "encrypted frame but no key for this account",
    "clear frame for an account that has a key",
    "payload is not valid Contact ID / SIA DC-03",
    "crypto back end failed",
};
_Static_assert(sizeof err_texts / sizeof err_texts[0] == 1 - DC09_E_CRYPTO, "one entry per dc09_err");

const char *dc09_strerror(int err)
{
    if (err > 0 || err < DC09_E_CRYPTO)
        return "unknown DC-09 error";
    return err_texts[-err];
}

const char *dc09_errname(int err)
{
    if (err > 0 || err < DC09_E_CRYPTO)
        return "unknown";
    return nth(err_names, (unsigned)-err);
}

struct quirk_entry {
    uint32_t flag;
    const char *name;
};

static const struct quirk_entry quirks[] = {
    {DC09_Q_BINARY_CRC, "binary-crc"},
    {DC09_Q_CRC_WITH_CR, "crc-with-cr"},
    {DC09_Q_BARE_L, "bare-l"},
    {DC09_Q_PAD_NO_BAR, "pad-no-bar"},
    {DC09_Q_NO_DATA_ACCT, "no-data-account"},
    {DC09_Q_IGNORE_LENGTH, "ignore-length"},
    {DC09_Q_NO_LINE, "no-line"},
    {DC09_Q_NAK_TOKEN_ORDER, "nak-token-order"},
};
_Static_assert(sizeof quirks / sizeof quirks[0] == 8, "eight quirks");

int dc09_quirk_parse(const char *name, uint32_t *flag)
{
    if (!name || !flag)
        return DC09_E_INVAL;
    for (size_t i = 0; i < sizeof quirks / sizeof quirks[0]; i++) {
        if (strcmp(name, quirks[i].name) == 0) {
            *flag = quirks[i].flag;
            return 0;
        }
    }
    return DC09_E_INVAL;
}

const char *dc09_quirk_name(uint32_t flag)
{
    for (size_t i = 0; i < sizeof quirks / sizeof quirks[0]; i++)
        if (quirks[i].flag == flag)
            return quirks[i].name;
    return NULL;
}

const char dc09__id_names[DC09_ID_DUH][8] = {"SIA-DCS", "ADM-CID", "NULL", "ACK", "NAK", "DUH"};
_Static_assert(DC09_ID_SIA_DCS == 1 && DC09_ID_DUH == 6, "six names from SIA-DCS to DUH");

const char *dc09_id_name(enum dc09_id id)
{
    if ((int)id < DC09_ID_SIA_DCS || (int)id > DC09_ID_DUH)
        return NULL;
    return dc09__id_names[id - DC09_ID_SIA_DCS];
}
