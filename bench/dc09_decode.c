/*
 * bench/dc09_decode.c — decode+verify throughput of lib/dc09 on one core, as
 * the station's receiver does it per frame: read the clear header, look the
 * account up (quirks, key), then the full decode — length, CRC, header, hex
 * decode + AES-CBC decrypt with the account's reused OpenSSL context, pad
 * check, data block, Contact ID payload, timestamp and its window check.
 * Also the streaming reader alone and reader + decode on a TCP-sized stream.
 *
 * Frames are realistic and varied (1,000 accounts, 8,192 frames, different
 * sequences, events, partitions, zones) so nothing is trivially cached.
 * Every decode result is checked; a failure aborts the benchmark; and before
 * timing, a self-check proves the timed decode refuses a wrong CRC, a stale
 * timestamp, another account's key and a downgrade to clear. It must
 * never report a figure for work it skipped.
 *
 *   bench_dc09_decode [seconds-per-run [clear|aes|reader|all]]
 *   (default 1.0 s, all; 5 runs each, median reported; one part alone is for perf)
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vigil/dc09.h"
#include "vigil/dc09_openssl.h"

#define N_ACCOUNTS 1000u
#define N_FRAMES   8192u
#define N_RUNS     5
#define T0_S       1795698568   /* 2026-11-26T13:09:28Z: frames' timestamps start here */
#define TABLE_SIZE 2048u        /* account hash table, power of two > 2 * N_ACCOUNTS */
_Static_assert((TABLE_SIZE & (TABLE_SIZE - 1)) == 0 && TABLE_SIZE > 2 * N_ACCOUNTS,
               "account table: power of two, at most half full");

struct account {
    char id[DC09_ACCOUNT_MAX + 1];
    uint32_t quirks;
    struct dc09_ossl ossl;      /* keyed once, reused for every frame */
    struct dc09_cipher *cipher; /* NULL for clear accounts */
};

static struct account accounts[N_ACCOUNTS];
static struct account *table[TABLE_SIZE];

struct frame { uint8_t bytes[DC09_FRAME_MAX]; size_t len; };
static struct frame clear_frames[N_FRAMES], aes_frames[N_FRAMES];

static uint32_t hash_acct(const char *s)
{
    uint32_t h = 2166136261u;
    while (*s)
        h = (h ^ (uint8_t)*s++) * 16777619u;
    return h;
}

static void table_put(struct account *a)
{
    uint32_t i = hash_acct(a->id) & (TABLE_SIZE - 1);
    while (table[i] != NULL)
        i = (i + 1) & (TABLE_SIZE - 1);
    table[i] = a;
}

static struct account *table_get(const char *id)
{
    for (uint32_t i = hash_acct(id) & (TABLE_SIZE - 1);; i = (i + 1) & (TABLE_SIZE - 1)) {
        if (table[i] == NULL)
            return NULL;
        if (strcmp(table[i]->id, id) == 0)
            return table[i];
    }
}

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
static double now_s(void) { return clock_s(CLOCK_MONOTONIC); }

/* Each run measures wall time and this thread's CPU time; frames per CPU-second
 * is the one-core figure even when other processes share the machine. */
static double last_wall_rate;

static void die(const char *what, int err)
{
    fprintf(stderr, "bench_dc09_decode: %s: %s\n", what, dc09_strerror(err));
    exit(1);
}

static const uint16_t events[] = { 121, 130, 131, 137, 301, 302, 401, 406, 441, 602 };

static void make_frames(bool encrypted, struct frame *out)
{
    uint32_t x = encrypted ? 0x9E3779B9u : 0x85EBCA6Bu;
    for (unsigned i = 0; i < N_FRAMES; i++) {
        x ^= x << 13; x ^= x >> 17; x ^= x << 5;
        struct account *a = &accounts[x % N_ACCOUNTS];
        struct dc09_frame f;
        memset(&f, 0, sizeof f);
        f.id = DC09_ID_ADM_CID;
        f.seq = (uint16_t)(1 + (i * 7 + x) % 9999);
        f.has_receiver = true;
        snprintf(f.receiver, sizeof f.receiver, "%X", 1 + (x >> 8) % 15);
        snprintf(f.line, sizeof f.line, "%X", (x >> 12) % 4);
        snprintf(f.account, sizeof f.account, "%s", a->id);
        char payload[16];
        struct dc09_cid c = { .qualifier = (x >> 3) & 1 ? 1 : 3,
                              .event = events[(x >> 16) % (sizeof events / sizeof events[0])],
                              .partition = (uint8_t)(1 + (x >> 20) % 8),
                              .zone = (uint16_t)((x >> 4) % 1000) };
        int err = dc09_cid_format(&c, payload, sizeof payload);
        if (err == 0)
            err = dc09_build_data(&f, a->id, payload, strlen(payload));
        if (err != 0)
            die("build data", err);
        f.has_time = true;
        f.time_s = T0_S + (int64_t)(i % 16);
        err = dc09_encode(&f, encrypted ? a->cipher : NULL, &dc09_ossl_rng, out[i].bytes,
                          sizeof out[i].bytes, &out[i].len);
        if (err != 0)
            die("encode", err);
    }
}

/* What a receiver does per frame. Returns a value folded from the decoded
 * frame so the work cannot be optimised away. */
static uint64_t receive_one(const uint8_t *p, size_t n, bool want_encrypted)
{
    struct dc09_frame head, f;
    struct dc09_diag d;
    int err = dc09_decode_head(p, n, 0, &head, &d);
    if (err != 0)
        die("decode_head", err);
    struct account *a = table_get(head.account);
    if (a == NULL)
        die("unknown account", DC09_E_INVAL);
    struct dc09_decode_opts o;
    dc09_decode_opts_init(&o, T0_S + 10);   /* window checked: -40 s / +20 s */
    o.quirks = a->quirks;
    o.cipher = want_encrypted ? a->cipher : NULL;
    err = dc09_decode(p, n, &o, &f, &d);
    if (err != 0)
        die("decode", err);
    if (!f.has_cid || f.encrypted != want_encrypted || !f.has_time)
        die("decoded frame incomplete", DC09_E_FORMAT);
    return (uint64_t)f.seq + f.cid.event + f.cid.zone + (uint64_t)f.time_s;
}

/* Before timing: the decode being timed really refuses what a receiver must refuse
 * (a wrong CRC, a timestamp outside the window, another account's key, a clear frame
 * for an account with a key), so a library that skipped a check could not look fast here. */
static void self_check(void)
{
    for (unsigned i = 0; i < N_FRAMES; i += 97) {
        struct dc09_frame f;
        struct dc09_diag d;
        struct dc09_decode_opts o;
        struct frame bad = clear_frames[i];
        bad.bytes[1] = bad.bytes[1] == '0' ? '1' : '0';   /* first CRC digit */
        dc09_decode_opts_init(&o, T0_S + 10);
        if (dc09_decode(bad.bytes, bad.len, &o, &f, &d) != DC09_E_CRC)
            die("self-check: a wrong CRC was not refused", DC09_E_CRC);
        dc09_decode_opts_init(&o, T0_S + 3600);
        if (dc09_decode(clear_frames[i].bytes, clear_frames[i].len, &o, &f, &d) != DC09_E_TIME)
            die("self-check: a timestamp an hour old was not refused", DC09_E_TIME);
        struct dc09_frame head;
        if (dc09_decode_head(aes_frames[i].bytes, aes_frames[i].len, 0, &head, &d) != 0)
            die("self-check: head", DC09_E_FORMAT);
        struct account *a = table_get(head.account);
        struct account *other = &accounts[(unsigned)(a - accounts + 1) % N_ACCOUNTS];
        dc09_decode_opts_init(&o, T0_S + 10);
        o.cipher = other->cipher;
        if (dc09_decode(aes_frames[i].bytes, aes_frames[i].len, &o, &f, &d) == 0)
            die("self-check: another account's key was accepted", DC09_E_DECRYPT);
        o.cipher = a->cipher;
        if (dc09_decode(clear_frames[i].bytes, clear_frames[i].len, &o, &f, &d) != DC09_E_CLEAR)
            die("self-check: a clear frame was accepted for an account with a key", DC09_E_CLEAR);
    }
}

static volatile uint64_t sink;

static double run_decode(const struct frame *frames, bool enc, double secs)
{
    uint64_t acc = 0, n = 0;
    double c0 = clock_s(CLOCK_THREAD_CPUTIME_ID), t0 = now_s(), t;
    do {
        for (unsigned i = 0; i < N_FRAMES; i++)
            acc += receive_one(frames[i].bytes, frames[i].len, enc);
        n += N_FRAMES;
        t = now_s();
    } while (t - t0 < secs);
    double c = clock_s(CLOCK_THREAD_CPUTIME_ID) - c0;
    sink += acc;
    last_wall_rate = (double)n / (t - t0);
    return (double)n / c;
}

/* ---- reader ---- */
static uint8_t *stream;
static size_t stream_len;
#define CHUNK 1460u   /* one TCP segment's payload on Ethernet */

struct rctx { uint64_t frames, bytes, acc; bool decode; };
static void on_frame(void *ctx, const uint8_t *frame, size_t len, int err)
{
    struct rctx *c = ctx;
    if (err != 0)
        die("reader", err);
    c->frames++;
    c->bytes += len;
    if (c->decode)
        c->acc += receive_one(frame, len, false);
}

static double run_reader(bool decode, double secs, double *mb_s)
{
    static uint8_t buf[DC09_FRAME_MAX + 2];
    struct dc09_reader r;
    dc09_reader_init(&r, buf, sizeof buf, 0);
    struct rctx c = { .decode = decode };
    uint64_t fed = 0;
    double c0 = clock_s(CLOCK_THREAD_CPUTIME_ID), t0 = now_s(), t;
    do {
        for (size_t off = 0; off < stream_len; off += CHUNK) {
            size_t k = stream_len - off < CHUNK ? stream_len - off : CHUNK;
            dc09_reader_feed(&r, stream + off, k, on_frame, &c);
        }
        fed += stream_len;
        t = now_s();
    } while (t - t0 < secs);
    if (c.frames % N_FRAMES != 0)
        die("reader lost frames", DC09_E_FORMAT);
    double cpu = clock_s(CLOCK_THREAD_CPUTIME_ID) - c0;
    sink += c.acc + c.bytes;
    *mb_s = (double)fed / cpu / 1e6;
    last_wall_rate = (double)c.frames / (t - t0);
    return (double)c.frames / cpu;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void report(const char *name, double (*fn)(void *), void *arg)
{
    double r[N_RUNS], w[N_RUNS];
    for (int i = 0; i < N_RUNS; i++) {
        r[i] = fn(arg);
        w[i] = last_wall_rate;
    }
    qsort(r, N_RUNS, sizeof r[0], cmp_d);
    qsort(w, N_RUNS, sizeof w[0], cmp_d);
    double med = r[N_RUNS / 2];
    printf("%-42s %10.0f frames/s %7.1f ns/frame  (CPU-time runs %.0f..%.0f; wall-clock median %.0f)\n",
           name, med, 1e9 / med, r[0], r[N_RUNS - 1], w[N_RUNS / 2]);
}

static double secs_per_run = 1.0;
static double b_clear(void *a) { (void)a; return run_decode(clear_frames, false, secs_per_run); }
static double b_aes(void *a) { (void)a; return run_decode(aes_frames, true, secs_per_run); }
static double last_mb;
static double b_reader(void *a) { (void)a; return run_reader(false, secs_per_run, &last_mb); }
static double b_reader_dec(void *a) { (void)a; return run_reader(true, secs_per_run, &last_mb); }

int main(int argc, char **argv)
{
    if (argc > 1)
        secs_per_run = atof(argv[1]);
    if (!(secs_per_run > 0.0))
        secs_per_run = 1.0;
    const char *which = argc > 2 ? argv[2] : "all";
    bool all = strcmp(which, "all") == 0;
    cpu_set_t set;
    CPU_ZERO(&set);
    int cpu = sched_getcpu();
    CPU_SET(cpu < 0 ? 0 : cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0)
        perror("bench_dc09_decode: sched_setaffinity (continuing unpinned)");

    for (unsigned i = 0; i < N_ACCOUNTS; i++) {
        struct account *a = &accounts[i];
        snprintf(a->id, sizeof a->id, "%X", 0x100000u + i * 7919u);
        char k[17];
        snprintf(k, sizeof k, "K%015u", i * 2654435761u % 1000000007u);
        struct dc09_key key;
        int err = dc09_key_from_ascii(&key, k, 16);
        if (err == 0)
            err = dc09_ossl_init(&a->ossl, &key);
        dc09_key_wipe(&key);
        if (err != 0)
            die("key", err);
        a->cipher = &a->ossl.base;
        table_put(a);
    }
    make_frames(false, clear_frames);
    make_frames(true, aes_frames);
    size_t clear_bytes = 0, aes_bytes = 0;
    for (unsigned i = 0; i < N_FRAMES; i++) {
        clear_bytes += clear_frames[i].len;
        aes_bytes += aes_frames[i].len;
    }
    self_check();
    stream = malloc(clear_bytes);
    if (stream == NULL)
        return 1;
    for (unsigned i = 0; i < N_FRAMES; i++) {
        memcpy(stream + stream_len, clear_frames[i].bytes, clear_frames[i].len);
        stream_len += clear_frames[i].len;
    }
    printf("bench_dc09_decode: %u frames over %u accounts; mean frame %zu B clear, %zu B AES-128;"
           " pinned to CPU %d; %d runs of %.1f s each; median of frames per CPU-second\n", N_FRAMES, N_ACCOUNTS, clear_bytes / N_FRAMES,
           aes_bytes / N_FRAMES, cpu, N_RUNS, secs_per_run);
    if (all || strcmp(which, "clear") == 0)
        report("decode+verify, clear ADM-CID + timestamp", b_clear, NULL);
    if (all || strcmp(which, "aes") == 0)
        report("decode+verify, AES-128 *ADM-CID", b_aes, NULL);
    if (all || strcmp(which, "reader") == 0) {
        report("reader alone (1460-byte feeds)", b_reader, NULL);
        printf("%-42s %10.1f MB/s (last run)\n", "  reader bytes", last_mb);
        report("reader + decode+verify, clear", b_reader_dec, NULL);
    }
    for (unsigned i = 0; i < N_ACCOUNTS; i++)
        dc09_ossl_free(&accounts[i].ossl);
    free(stream);
    return 0;
}
