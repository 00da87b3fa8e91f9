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
