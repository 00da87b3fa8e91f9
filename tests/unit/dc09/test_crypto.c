/*
 * tests/unit/dc09/test_crypto.c — the two crypto back ends agree: for the
 * same pad (a deterministic rng) OpenSSL and mbedTLS produce identical
 * frames, and each decrypts the other's, for AES-128/192/256.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"
#include "vigil/dc09.h"
#include "vigil/dc09_mbedtls.h"
#include "vigil/dc09_openssl.h"

#define T0 1764162568

static void make_frame(struct dc09_frame *f, int i)
{
    memset(f, 0, sizeof *f);
    f->id = i % 3 == 0 ? DC09_ID_ADM_CID : i % 3 == 1 ? DC09_ID_SIA_DCS : DC09_ID_NULL;
    f->seq = (uint16_t)(1 + i);
    f->has_receiver = i % 2;
    strcpy(f->receiver, "1");
    strcpy(f->line, "2");
    strcpy(f->account, "ABC123");
    if (f->id == DC09_ID_ADM_CID)
        assert_int_equal(dc09_build_data(f, "ABC123", "1121 01 003", 11), 0);
    else if (f->id == DC09_ID_SIA_DCS) {
        char pl[64];
        size_t n = (size_t)(5 + i % 30);
        memset(pl, 'z', n);
        memcpy(pl, "NBA01", 5);
        assert_int_equal(dc09_build_data(f, "ABC123", pl, n), 0);
    }
    f->has_time = true;
    f->time_s = T0 + i;
}

static void test_backends_agree(void **state)
{
    (void)state;
    const char *keys[] = {"000102030405060708090A0B0C0D0E0F",
                          "000102030405060708090A0B0C0D0E0F1011121314151617",
                          "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F"};
    for (int k = 0; k < 3; k++) {
        struct dc09_key key;
        assert_int_equal(dc09_key_from_hex(&key, keys[k], strlen(keys[k])), 0);
        struct dc09_ossl os;
        struct dc09_mbed mb;
        assert_int_equal(dc09_ossl_init(&os, &key), 0);
        assert_int_equal(dc09_mbed_init(&mb, &key), 0);
        for (int i = 0; i < 60; i++) {
            struct dc09_frame f, g;
            make_frame(&f, i);
            struct test_rng r1, r2;
            test_rng_init(&r1, 1000u + (uint64_t)i);
            test_rng_init(&r2, 1000u + (uint64_t)i);
            uint8_t a[DC09_FRAME_MAX], b[DC09_FRAME_MAX];
            size_t an, bn;
            assert_int_equal(dc09_encode(&f, &os.base, &r1.base, a, sizeof a, &an), 0);
            assert_int_equal(dc09_encode(&f, &mb.base, &r2.base, b, sizeof b, &bn), 0);
            assert_int_equal(an, bn);
            assert_memory_equal(a, b, an);
            /* cross decryption */
            struct dc09_decode_opts o;
            dc09_decode_opts_init(&o, T0 + i);
            o.cipher = &mb.base;
            assert_int_equal(dc09_decode(a, an, &o, &g, NULL), 0);
            assert_int_equal(g.data_len, f.data_len);
            assert_memory_equal(g.data, f.data, f.data_len);
            o.cipher = &os.base;
            assert_int_equal(dc09_decode(b, bn, &o, &g, NULL), 0);
            assert_int_equal(g.seq, f.seq);
            /* replies too */
            test_rng_init(&r1, 7u + (uint64_t)i);
            test_rng_init(&r2, 7u + (uint64_t)i);
            assert_int_equal(dc09_reply_ack(&g, &os.base, &r1.base, T0, a, sizeof a, &an), 0);
            assert_int_equal(dc09_reply_ack(&g, &mb.base, &r2.base, T0, b, sizeof b, &bn), 0);
            assert_int_equal(an, bn);
            assert_memory_equal(a, b, an);
        }
        /* a different rng seed gives a different frame (the pad is the rng's) */
        struct dc09_frame f;
        make_frame(&f, 0);
        struct test_rng r1, r2;
        test_rng_init(&r1, 1);
        test_rng_init(&r2, 2);
        uint8_t a[DC09_FRAME_MAX], b[DC09_FRAME_MAX];
        size_t an, bn;
        assert_int_equal(dc09_encode(&f, &os.base, &r1.base, a, sizeof a, &an), 0);
        assert_int_equal(dc09_encode(&f, &mb.base, &r2.base, b, sizeof b, &bn), 0);
        assert_memory_not_equal(a, b, an < bn ? an : bn);
        dc09_ossl_free(&os);
        dc09_mbed_free(&mb);
    }
}

/* The generated vectors decrypt with mbedTLS as well (key from the file's rows). */
static void test_mbedtls_vectors(void **state)
{
    (void)state;
    struct vec_row *rows;
    size_t n = vec_load(&rows);
    size_t done = 0;
    for (size_t i = 0; i < n; i++) {
        if (rows[i].key[0] == '\0')
            continue;
        struct dc09_key key;
        assert_int_equal(dc09_key_from_ascii(&key, rows[i].key, strlen(rows[i].key)), 0);
        struct dc09_mbed mb;
        assert_int_equal(dc09_mbed_init(&mb, &key), 0);
        uint8_t fr[DC09_FRAME_MAX + 2];
        size_t fl = frame_wrap(rows[i].body, fr, sizeof fr);
        struct dc09_decode_opts o;
        dc09_decode_opts_init(&o, 0);
        o.check_time = false;
        o.cipher = &mb.base;
        o.quirks = DC09_Q_PAD_NO_BAR; /* the Hikvision row */
        struct dc09_frame f;
        assert_int_equal(dc09_decode(fr, fl, &o, &f, NULL), 0);
        assert_true(f.encrypted);
        dc09_mbed_free(&mb);
        done++;
    }
    vec_free(rows, n);
    assert_true(done >= 4);
    /* bad key length */
    struct dc09_key key = {.len = 17};
    struct dc09_mbed mb;
    assert_int_equal(dc09_mbed_init(&mb, &key), DC09_E_KEY);
}

/* The OpenSSL rng buffers randomness per thread; after a fork the child
 * must not hand out the bytes its parent will use. */
static void test_rng_fork(void **state)
{
    (void)state;
    uint8_t warm[8], parent[32], child[32];
    dc09_ossl_rng.fill(&dc09_ossl_rng, warm, sizeof warm); /* buffer now filled */
    int fd[2];
    assert_int_equal(pipe(fd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dc09_ossl_rng.fill(&dc09_ossl_rng, child, sizeof child);
        ssize_t w = write(fd[1], child, sizeof child);
        _exit(w == (ssize_t)sizeof child ? 0 : 1);
    }
    close(fd[1]);
    dc09_ossl_rng.fill(&dc09_ossl_rng, parent, sizeof parent);
    assert_int_equal(read(fd[0], child, sizeof child), (ssize_t)sizeof child);
    close(fd[0]);
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_memory_not_equal(parent, child, sizeof parent);
    /* and consecutive draws differ */
    uint8_t a[32], b[32];
    dc09_ossl_rng.fill(&dc09_ossl_rng, a, sizeof a);
    dc09_ossl_rng.fill(&dc09_ossl_rng, b, sizeof b);
    assert_memory_not_equal(a, b, sizeof a);
    /* a draw bigger than the buffer */
    static uint8_t big[10000];
    dc09_ossl_rng.fill(&dc09_ossl_rng, big, sizeof big);
    size_t zeros = 0;
    for (size_t i = 0; i < sizeof big; i++)
        zeros += big[i] == 0;
    assert_true(zeros < 200); /* ~39 expected */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rng_fork),
        cmocka_unit_test(test_backends_agree),
        cmocka_unit_test(test_mbedtls_vectors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
