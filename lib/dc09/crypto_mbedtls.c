/*
 * lib/dc09/crypto_mbedtls.c — the microcontroller back end of the DC-09
 * crypto port: mbedTLS AES, CBC with a zero IV; the same bytes as the
 * OpenSSL back end (the unit tests check both ways).
 * Keyed once per account; must never hand-roll AES or allocate.
 */
#include "vigil/dc09_mbedtls.h"

#include <string.h>

static int mbed_run(mbedtls_aes_context *ctx, int mode, uint8_t *buf, size_t len)
{
    if (len % 16 != 0)
        return DC09_E_INVAL;
    unsigned char iv[16];
    memset(iv, 0, sizeof iv); /* mbedtls_aes_crypt_cbc updates the IV */
    if (mbedtls_aes_crypt_cbc(ctx, mode, len, iv, buf, buf) != 0)
        return DC09_E_CRYPTO;
    return 0;
}

static int mbed_encrypt(struct dc09_cipher *c, uint8_t *buf, size_t len)
{
    return mbed_run(&((struct dc09_mbed *)c)->enc, MBEDTLS_AES_ENCRYPT, buf, len);
}

static int mbed_decrypt(struct dc09_cipher *c, uint8_t *buf, size_t len)
{
    return mbed_run(&((struct dc09_mbed *)c)->dec, MBEDTLS_AES_DECRYPT, buf, len);
}

int dc09_mbed_init(struct dc09_mbed *c, const struct dc09_key *key)
{
    if (!c || !key)
        return DC09_E_INVAL;
    if (key->len != 16 && key->len != 24 && key->len != 32)
        return DC09_E_KEY;
    mbedtls_aes_init(&c->enc);
    mbedtls_aes_init(&c->dec);
    unsigned bits = (unsigned)key->len * 8u;
    if (mbedtls_aes_setkey_enc(&c->enc, key->bytes, bits) != 0 ||
        mbedtls_aes_setkey_dec(&c->dec, key->bytes, bits) != 0) {
        dc09_mbed_free(c);
        return DC09_E_CRYPTO;
    }
    c->base.encrypt = mbed_encrypt;
    c->base.decrypt = mbed_decrypt;
    return 0;
}

void dc09_mbed_free(struct dc09_mbed *c)
{
    if (!c)
        return;
    mbedtls_aes_free(&c->enc); /* zeroises the key schedule */
    mbedtls_aes_free(&c->dec);
}
