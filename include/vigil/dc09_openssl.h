/*
 * vigil/dc09_openssl.h — the Linux back end of the DC-09 crypto port:
 * OpenSSL 3 libcrypto EVP, AES-128/192/256-CBC, zero IV, padding off.
 * One context per account, keyed once (re-keying per frame costs 5x).
 */
#ifndef VIGIL_DC09_OPENSSL_H
#define VIGIL_DC09_OPENSSL_H

#include "vigil/dc09.h"

struct dc09_ossl {
    struct dc09_cipher base;   /* pass &x.base wherever a struct dc09_cipher * goes */
    void *enc;                 /* EVP_CIPHER_CTX * */
    void *dec;                 /* EVP_CIPHER_CTX * */
};

int  dc09_ossl_init(struct dc09_ossl *c, const struct dc09_key *key);
void dc09_ossl_free(struct dc09_ossl *c);

/* A dc09_rng backed by the OS CSPRNG (RAND_bytes). If RAND_bytes ever fails
 * it calls abort(): the port must not fail, and a predictable pad is worse. */
extern struct dc09_rng dc09_ossl_rng;

#endif
