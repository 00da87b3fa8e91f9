/*
 * lib/dc09/crypto_openssl.c — the Linux back end of the DC-09 crypto port:
 * OpenSSL libcrypto EVP, AES-128/192/256-CBC, zero IV, padding off.
 * One encrypt and one decrypt context per key, created once and reused
 * (re-keying per frame costs 5x); each call only resets the IV to zero.
 * Must never hand-roll AES or keep a copy of the key outside the EVP contexts.
 */
#include "vigil/dc09_openssl.h"

#include <limits.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

static const unsigned char zero_iv[16];

static const EVP_CIPHER *cipher_for(uint8_t len)
{
    switch (len) {
    case 16: return EVP_aes_128_cbc();
    case 24: return EVP_aes_192_cbc();
    case 32: return EVP_aes_256_cbc();
    default: return NULL;
    }
}

static int run(EVP_CIPHER_CTX *ctx, uint8_t *buf, size_t len)
{
    if (len % 16 != 0 || len > INT_MAX)
        return DC09_E_INVAL;
    int outl = 0;
    /* Re-arm with a zero IV; the key schedule in ctx is kept. */
    if (EVP_CipherInit_ex(ctx, NULL, NULL, NULL, zero_iv, -1) != 1)
        return DC09_E_CRYPTO;
    if (EVP_CipherUpdate(ctx, buf, &outl, buf, (int)len) != 1 || (size_t)outl != len)
        return DC09_E_CRYPTO;
    return 0;
}

static int ossl_encrypt(struct dc09_cipher *c, uint8_t *buf, size_t len)
{
    return run(((struct dc09_ossl *)c)->enc, buf, len);
}

static int ossl_decrypt(struct dc09_cipher *c, uint8_t *buf, size_t len)
{
    return run(((struct dc09_ossl *)c)->dec, buf, len);
}

int dc09_ossl_init(struct dc09_ossl *c, const struct dc09_key *key)
{
    if (!c || !key)
        return DC09_E_INVAL;
    c->enc = c->dec = NULL;
    const EVP_CIPHER *ev = cipher_for(key->len);
    if (!ev)
        return DC09_E_KEY;
    EVP_CIPHER_CTX *e = EVP_CIPHER_CTX_new(), *d = EVP_CIPHER_CTX_new();
    if (!e || !d || EVP_CipherInit_ex(e, ev, NULL, key->bytes, zero_iv, 1) != 1 ||
        EVP_CipherInit_ex(d, ev, NULL, key->bytes, zero_iv, 0) != 1 ||
        EVP_CIPHER_CTX_set_padding(e, 0) != 1 || EVP_CIPHER_CTX_set_padding(d, 0) != 1) {
        EVP_CIPHER_CTX_free(e);
        EVP_CIPHER_CTX_free(d);
        return DC09_E_CRYPTO;
    }
    c->enc = e;
    c->dec = d;
    c->base.encrypt = ossl_encrypt;
    c->base.decrypt = ossl_decrypt;
    return 0;
}

void dc09_ossl_free(struct dc09_ossl *c)
{
    if (!c)
        return;
    EVP_CIPHER_CTX_free(c->enc); /* also wipes the key schedule */
    EVP_CIPHER_CTX_free(c->dec);
    c->enc = c->dec = NULL;
}

/*
 * RAND_bytes costs ~4 us per call here whatever the size (measured: 24 B and
 * 4 KiB alike; system calls cost ~2 us on this machine), which would dominate
 * every *ACK. So pad randomness is drawn 4 KiB at a time into a per-thread
 * buffer. Pad bytes are not secrets (only their unpredictability matters);
 * used bytes are wiped, and a fork empties the buffer (pthread_atfork) so a
 * child never repeats its parent's pads.
 */
#define RNG_BUF 4096
static _Thread_local uint8_t rng_buf[RNG_BUF];
static _Thread_local size_t rng_pos = RNG_BUF; /* next unused byte; RNG_BUF: empty */
static pthread_once_t rng_once = PTHREAD_ONCE_INIT;

static void rng_after_fork(void)
{
    /* runs in the child, in the thread that forked (the only one left) */
    memset(rng_buf, 0, sizeof rng_buf);
    rng_pos = RNG_BUF;
}

static void rng_register(void)
{
    if (pthread_atfork(NULL, NULL, rng_after_fork) != 0)
        abort();
}

static void ossl_fill(struct dc09_rng *r, uint8_t *buf, size_t len)
{
    (void)r;
    if (pthread_once(&rng_once, rng_register) != 0)
        abort();
    while (len > 0) {
        if (rng_pos == RNG_BUF) {
            /* The port says "must not fail": a CSPRNG that cannot deliver
             * leaves no safe way to make a pad, so stop rather than send a
             * predictable one. */
            if (RAND_bytes(rng_buf, RNG_BUF) != 1)
                abort();
            rng_pos = 0;
        }
        size_t n = RNG_BUF - rng_pos;
        if (n > len)
            n = len;
        memcpy(buf, rng_buf + rng_pos, n);
        memset(rng_buf + rng_pos, 0, n); /* used bytes are not kept */
        rng_pos += n;
        buf += n;
        len -= n;
    }
}

struct dc09_rng dc09_ossl_rng = {ossl_fill};
