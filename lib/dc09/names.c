/*
 * lib/dc09/names.c — the library's names: error texts, error short names,
 * quirk names, ID token names. Pure tables; must never allocate or format.
 */
#include "dc09_internal.h"

#include <string.h>

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

const char dc09__hexdig[16] = {'0', '1', '2', '3', '4', '5', '6', '7',
                               '8', '9', 'A', 'B', 'C', 'D', 'E', 'F'};

struct err_entry {
    const char *name;
    const char *text;
};

/* Indexed by -err. */
static const struct err_entry errs[] = {
    {"ok", "success"},
    {"crc", "CRC does not match (frame is not answered)"},
    {"length", "length field does not match (frame is not answered)"},
    {"format", "malformed field"},
    {"token", "unknown ID token"},
    {"decrypt", "cannot decrypt: ciphertext not hex, not whole blocks, or wrong key"},
    {"pad", "decrypted pad is not as the standard says"},
    {"time", "timestamp outside the accepted window"},
    {"oversize", "frame or field longer than its bound"},
    {"nospace", "output buffer too small"},
    {"inval", "invalid argument"},
    {"key", "key has the wrong length or characters"},
    {"nokey", "encrypted frame but no key for this account"},
    {"clear", "clear frame for an account that has a key"},
    {"payload", "payload is not valid Contact ID / SIA DC-03"},
    {"crypto", "crypto back end failed"},
};
_Static_assert(sizeof errs / sizeof errs[0] == 1 - DC09_E_CRYPTO, "one entry per dc09_err");

const char *dc09_strerror(int err)
{
    if (err > 0 || err < DC09_E_CRYPTO)
        return "unknown DC-09 error";
    return errs[-err].text;
}

const char *dc09_errname(int err)
{
    if (err > 0 || err < DC09_E_CRYPTO)
        return "unknown";
    return errs[-err].name;
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

static const char *const id_names[] = {
    NULL, "SIA-DCS", "ADM-CID", "NULL", "ACK", "NAK", "DUH",
};
_Static_assert(sizeof id_names / sizeof id_names[0] == DC09_ID_DUH + 1, "one name per ID");

const char *dc09_id_name(enum dc09_id id)
{
    if ((int)id < DC09_ID_SIA_DCS || (int)id > DC09_ID_DUH)
        return NULL;
    return id_names[id];
}
