/*
 * events.c — the panel's bridges to the DC-09 library: the SIA code of a
 * queued Contact ID event (through lib/dc09's one CID<->SIA table, never a
 * copy of it) and the device-key port over a DC-09 cipher back end.
 * It must never hold a key itself: the cipher back end does.
 */
#include "vigil/panel.h"

const char *pnl_event_sia(const struct pnl_event *e)
{
    if (e == NULL)
        return NULL;
    return dc09_cid_to_sia(e->cid, e->qualifier);
}

/* Appends s to buf (capacity cap, NUL kept); returns the new length. */
static size_t put(char *buf, size_t cap, size_t n, const char *s)
{
    while (*s != '\0' && n + 1 < cap)
        buf[n++] = *s++;
    buf[n] = '\0';
    return n;
}

size_t pnl_event_text(const struct pnl_event *e, char *buf, size_t cap)
{
    if (buf == NULL || cap == 0)
        return 0;
    buf[0] = '\0';
    if (e == NULL || e->cid != PNL_CID_PROGRAM)
        return 0;
    static const char *const outcome[] = { " programmed", " programmed (R8 weak)", " refused ",
                                           " refused", "code deleted" };
    unsigned o = (e->info >> 12) & 7u, rule = (e->info >> 8) & 15u, slot = e->info & 0xFFu;
    if (o > PNL_PR_DELETED)
        return 0;
    size_t n = 0;
    if (o != PNL_PR_DELETED)
        n = put(buf, cap, n, (e->info & PNL_PI_DURESS) ? "duress code" : "user code");
    n = put(buf, cap, n, outcome[o]);
    if (o == PNL_PR_REFUSED_RULE) {
        /* "R2 one-edit slot 1": rule and colliding slot, never digits of a code */
        n = put(buf, cap, n, pnl_rule_id((enum pnl_rule)rule));
        n = put(buf, cap, n, " ");
        n = put(buf, cap, n, pnl_rule_name((enum pnl_rule)rule));
        if (slot != 0) {
            char num[6];
            size_t k = sizeof num - 1;
            num[k] = '\0';
            do {
                num[--k] = (char)('0' + slot % 10);
                slot /= 10;
            } while (slot != 0);
            num[--k] = ' ';
            n = put(buf, cap, n, " slot");
            n = put(buf, cap, n, num + k);
        }
    }
    return n;
}

static int kp_enc(struct pnl_keyport *k, uint8_t block[16])
{
    struct pnl_keyport_dc09 *d = (struct pnl_keyport_dc09 *)k;
    if (d->cipher == NULL)
        return PNL_E_NOKEY;
    /* AES-CBC with a zero IV over one block is AES of that block. */
    return d->cipher->encrypt(d->cipher, block, 16) < 0 ? PNL_E_CRYPTO : PNL_OK;
}

static int kp_dec(struct pnl_keyport *k, uint8_t block[16])
{
    struct pnl_keyport_dc09 *d = (struct pnl_keyport_dc09 *)k;
    if (d->cipher == NULL)
        return PNL_E_NOKEY;
    return d->cipher->decrypt(d->cipher, block, 16) < 0 ? PNL_E_CRYPTO : PNL_OK;
}

void pnl_keyport_dc09_init(struct pnl_keyport_dc09 *k, struct dc09_cipher *cipher)
{
    k->base.encrypt_block = kp_enc;
    k->base.decrypt_block = kp_dec;
    k->cipher = cipher;
}
