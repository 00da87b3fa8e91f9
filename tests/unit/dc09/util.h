/*
 * tests/unit/dc09/util.h — helpers for the DC-09 unit tests: the vectors
 * file, hex, a deterministic rng. Test code only (may use stdio/malloc).
 */
#ifndef DC09_TEST_UTIL_H
#define DC09_TEST_UTIL_H

#include "vigil/dc09.h"

#include <stddef.h>
#include <stdint.h>

struct vec_row {
    int lineno;
    char *body;   /* frame body without LF/CR */
    char *key;    /* "" if none */
    char *fields; /* third column */
};

/* Loads tests/data/dc09-vectors.tsv (via $VIGIL_SOURCE or the compile-time
 * VIGIL_SOURCE_DIR). Returns the number of rows; aborts if unreadable. */
size_t vec_load(struct vec_row **rows);

void vec_free(struct vec_row *rows, size_t n);

/* Value of "key=" in a fields column, malloc'd; NULL if absent.
 * Fields are ", "-separated; values may contain commas but not ", key=". */
char *vec_field(const char *fields, const char *key);

/* LF + body + CR into out; returns length. */
size_t frame_wrap(const char *body, uint8_t *out, size_t cap);

/* A deterministic rng (xorshift) for reproducible pads. */
struct test_rng {
    struct dc09_rng base;
    uint64_t state;
};
void test_rng_init(struct test_rng *r, uint64_t seed);

/* Unix seconds of a "HH:MM:SS,MM-DD-YYYY" string via libc timegm (an
 * independent reference for the library's own conversion). */
int64_t ref_time(const char *ts);

int hexval(char c);

/* Decodes fr again with dc09_decode_reply and compares with dc09_decode's
 * result (rc, *f, *d; d may be NULL): the same return code and diagnosis, and
 * on success the same frame except has_cid/has_sia, which must be false.
 * Returns NULL when they agree, else what differs. */
const char *reply_decode_differs(const uint8_t *fr, size_t n, const struct dc09_decode_opts *o,
                                 int rc, const struct dc09_frame *f, const struct dc09_diag *d);

#endif
