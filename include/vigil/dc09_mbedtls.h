/*
 * vigil/dc09_mbedtls.h — the microcontroller back end of the DC-09 crypto
 * port: mbedTLS AES, CBC with a zero IV. Same bytes as the OpenSSL back end.
 */
#ifndef VIGIL_DC09_MBEDTLS_H
#define VIGIL_DC09_MBEDTLS_H

#include "vigil/dc09.h"
#include <mbedtls/aes.h>

struct dc09_mbed {
    struct dc09_cipher base;
    mbedtls_aes_context enc;
    mbedtls_aes_context dec;
};

int  dc09_mbed_init(struct dc09_mbed *c, const struct dc09_key *key);
void dc09_mbed_free(struct dc09_mbed *c);

#endif
