/*
 * cmd_bench.c — `vigil bench`: the project's load generator for vigil-station.
 *
 * N TCP connections act as N panels (accounts base..base+N-1, written as
 * uppercase hex "%X"). Each sends encrypted ADM-CID frames stop-and-wait (the
 * next frame only after the ACK of the previous one), verifies every reply
 * with lib/dc09 (CRC, length, token, sequence, account; *ACK decrypted), and
 * the run reports msgs/s and p50/p99/max ACK latency from a log-linear
 * histogram. --rate R spreads R msgs/s (total) over the panels instead of
 * sending as fast as stop-and-wait allows. --echo repeats the same run (same
 * connections, same frames) against a trivial in-process echo server
 * (bench_echo.c) so results read as a ratio; --durable-echo DIR repeats it
 * against that echo server with one fdatasync per batch, the disk's ceiling.
 * --idle N opens N connections that each send one NULL poll and then hold,
 * for memory-per-connection figures.
 *
 * It must never print a key, never count a reply it did not verify as an ACK,
 * and never connect anywhere but the host and port it was given (numeric IPv4).
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "bench_echo.h"
#include "cli.h"
#include "keyopt.h"
#include "opts.h"
#include "vigil/dc09.h"
#include "vigil/dc09_openssl.h"

/* ---- latency histogram: log-linear, ~1.6 % resolution, microseconds ---- */

#define HIST_LINEAR 128u
#define HIST_SUB 64u
#define HIST_BUCKETS (HIST_LINEAR + 40u * HIST_SUB)

struct hist {
    uint64_t count[HIST_BUCKETS];
    uint64_t n;
    uint64_t max_us;
};

static unsigned hist_index(uint64_t us)
{
    if (us < HIST_LINEAR)
        return (unsigned)us;
    unsigned e = 63u - (unsigned)__builtin_clzll(us); /* >= 7 */
    unsigned idx = HIST_LINEAR + (e - 7u) * HIST_SUB + (unsigned)((us >> (e - 6u)) & (HIST_SUB - 1u));
    return idx < HIST_BUCKETS ? idx : HIST_BUCKETS - 1u;
}

/* Upper bound of a bucket (a percentile is reported as "at most this"). */
static uint64_t hist_upper(unsigned idx)
{
    if (idx < HIST_LINEAR)
        return idx;
    unsigned e = (idx - HIST_LINEAR) / HIST_SUB + 7u;
    uint64_t m = (idx - HIST_LINEAR) % HIST_SUB;
    return ((HIST_SUB + m + 1u) << (e - 6u)) - 1u;
}

static void hist_add(struct hist *h, uint64_t us)
{
    h->count[hist_index(us)]++;
    h->n++;
    if (us > h->max_us)
        h->max_us = us;
}

static uint64_t hist_pct(const struct hist *h, double pct)
{
    if (h->n == 0)
        return 0;
    uint64_t want = (uint64_t)((double)h->n * pct / 100.0 + 0.999999);
    if (want == 0)
        want = 1;
    uint64_t acc = 0;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        acc += h->count[i];
        if (acc >= want) {
            uint64_t u = hist_upper(i);
            return u < h->max_us ? u : h->max_us;
        }
    }
    return h->max_us;
}

/* ---- options ---------------------------------------------------------- */

struct bench_opts {
    const char *host;
    int port;
    unsigned connections;
    double duration_s;
    double warmup_s;
    double rate;             /* total msgs/s offered; 0 = stop-and-wait as fast as possible */
    uint64_t account_base;
    unsigned accounts;       /* --accounts M: panel i uses account base + i % M (0 = one each) */
    bool echo;
    const char *durable_echo_dir;   /* --durable-echo DIR: also the fdatasync baseline */
    unsigned idle;           /* --idle N */
    int echo_server_port;    /* --echo-server PORT (standalone), -1 = not */
    struct keyopt key;
    unsigned timeout_ms;     /* an unanswered frame is resent after this */
    unsigned connect_parallel;
};

/* ---- a panel: one connection, one account ---------------------------- */

enum panel_state { P_CONNECTING, P_IDLE, P_WAITING, P_DONE };

struct bench;

struct panel {
    uv_tcp_t tcp;
    uv_connect_t creq;
    uv_write_t wreq;
    uv_timer_t timer;        /* rate mode: when the next frame is due */
    struct bench *b;
    enum panel_state state;
    bool timer_init;
    bool writing;
    bool send_pending;       /* a frame waits for the previous write to complete */
    char account[DC09_ACCOUNT_MAX + 1];
    uint16_t seq;
    uint32_t wraps;          /* times seq wrapped 9999 -> 1 in this run */
    uint64_t sent_ns;
    uint64_t due_ns;         /* rate mode schedule */
    uint8_t frame[256];
    size_t frame_len;
    uint8_t rbuf[512];       /* partial reply */
    size_t rlen;
};

struct bench {
    const struct bench_opts *o;
    uv_loop_t *loop;
    struct sockaddr_in addr;
    struct panel *panels;
    unsigned n;
    struct dc09_ossl cipher;
    bool have_cipher;
    uint32_t salt;           /* per run: see build_frame() */
    bool echo_mode;          /* echo baseline: a fixed ACK, not matched to seq/account */
    bool idle_mode;
    unsigned next_connect;
    unsigned connecting;
    unsigned connected;
    unsigned connect_failed;
    unsigned idle_acked;
    uint64_t t_start_ns, t_measure_ns, t_end_ns;
    bool measuring, stopping;
    uint64_t acks, acks_total;
    uint64_t sent;
    uint64_t timeouts, bad_replies, naks, duhs, closed;
    struct hist h;
    uv_timer_t tick;
    uv_signal_t sigint;
    char first_error[160];
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

__attribute__((format(printf, 2, 3)))
static void note_error(struct bench *b, const char *fmt, ...)
{
    if (b->first_error[0] != '\0')
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->first_error, sizeof b->first_error, fmt, ap);
    va_end(ap);
}

/* Pad bytes for the bench's own frames: xorshift64* seeded from the OS CSPRNG once.
 * Fresh per frame (never a constant pad) without a getpid()+RAND_bytes per frame,
 * which on this VM costs a syscall the panels being simulated would not make here.
 * A load generator only: real panels and the station use dc09_ossl_rng. */
struct fast_rng {
    struct dc09_rng base;
    uint64_t s;
};

static void fast_fill(struct dc09_rng *r, uint8_t *buf, size_t len)
{
    struct fast_rng *f = (struct fast_rng *)r;
    for (size_t i = 0; i < len; i++) {
        f->s ^= f->s >> 12;
        f->s ^= f->s << 25;
        f->s ^= f->s >> 27;
        buf[i] = (uint8_t)((f->s * 0x2545F4914F6CDD1Dull) >> 56);
    }
}

static struct fast_rng bench_rng = { { fast_fill }, 0 };

static int build_frame(struct bench *b, struct panel *p, bool poll)
{
    struct dc09_frame f;
    memset(&f, 0, sizeof f);
    f.id = poll ? DC09_ID_NULL : DC09_ID_ADM_CID;
    f.encrypted = b->have_cipher;
    f.seq = poll ? 0 : p->seq;
    f.has_receiver = true;
    strcpy(f.receiver, "0");
    strcpy(f.line, "0");
    snprintf(f.account, sizeof f.account, "%s", p->account);
    char payload[16];
    int rc;
    if (poll) {
        rc = dc09_build_data(&f, p->account, NULL, 0);
    } else {
        /* An opening/closing (routine, no alarm). Partition and user vary with the
         * sequence and a per-run salt, so a later run reusing a sequence number
         * sends a different payload: a new event, not a retry the station would
         * ACK without storing (which would flatter a benchmark). The wrap count
         * keeps a panel that passes 9999 within one run from repeating itself:
         * 104729 is prime, so (seq, wrap) pairs stay distinct mod 99*999. */
        unsigned c = (unsigned)(((uint64_t)p->seq * 7919u + b->salt +
                                 (uint64_t)p->wraps * 104729u) % (99u * 999u));
        snprintf(payload, sizeof payload, "%c401 %02u %03u", (p->seq & 1u) ? '1' : '3',
                 c / 999u + 1u, c % 999u + 1u);
        rc = dc09_build_data(&f, p->account, payload, strlen(payload));
    }
    if (rc != 0)
        return rc;
    f.has_time = true;
    f.time_s = (int64_t)time(NULL);
    return dc09_encode(&f, b->have_cipher ? &b->cipher.base : NULL, &bench_rng.base,
                       p->frame, sizeof p->frame, &p->frame_len);
}

static void on_write(uv_write_t *req, int status);
static void send_next(struct panel *p);

static void send_frame(struct panel *p)
{
    struct bench *b = p->b;
    if (b->stopping)
        return;
    if (p->writing) {
        p->send_pending = true;
        return;
    }
    uv_buf_t buf = uv_buf_init((char *)p->frame, (unsigned)p->frame_len);
    p->state = P_WAITING;
    p->sent_ns = now_ns();
    b->sent++;
    /* Most frames go out whole at once; uv_write would also re-arm the epoll
     * registration once per frame (an epoll_ctl) in libuv 1.44. */
    int rc = uv_try_write((uv_stream_t *)&p->tcp, &buf, 1);
    if (rc == (int)buf.len)
        return;
    if (rc > 0) {
        buf.base += rc;
        buf.len -= (unsigned)rc;
    } else if (rc != UV_EAGAIN) {
        p->state = P_DONE;
        b->closed++;
        note_error(b, "write: %s", uv_strerror(rc));
        return;
    }
    p->writing = true;
    rc = uv_write(&p->wreq, (uv_stream_t *)&p->tcp, &buf, 1, on_write);
    if (rc != 0) {
        p->writing = false;
        p->state = P_DONE;
        b->closed++;
        note_error(b, "write: %s", uv_strerror(rc));
    }
}

static void on_write(uv_write_t *req, int status)
{
    struct panel *p = req->data;
    p->writing = false;
    if (p->b->stopping)
        return;
    if (status != 0 && p->state != P_DONE) {
        p->state = P_DONE;
        p->b->closed++;
        note_error(p->b, "write: %s", uv_strerror(status));
        return;
    }
    if (p->send_pending) {
        p->send_pending = false;
        send_frame(p);
    }
}

static void on_due(uv_timer_t *t)
{
    struct panel *p = t->data;
    if (p->state == P_IDLE)
        send_next(p);
}

/* Builds and sends the panel's next frame now, or schedules it (rate mode). */
static void send_next(struct panel *p)
{
    struct bench *b = p->b;
    if (b->stopping || p->state == P_DONE)
        return;
    uint64_t t = now_ns();
    if (b->o->rate > 0 && !b->idle_mode) {
        uint64_t interval_ns = (uint64_t)(1e9 * (double)b->n / b->o->rate);
        if (p->due_ns == 0)
            p->due_ns = t + (uint64_t)((double)interval_ns * ((double)(p - b->panels) / b->n));
        if (p->due_ns > t + 200000u) {
            /* libuv timers have 1 ms resolution: round up, never spin */
            p->state = P_IDLE;
            uv_timer_start(&p->timer, on_due, (p->due_ns - t + 999999u) / 1000000u, 0);
            return;
        }
        p->due_ns += interval_ns;
        if (p->due_ns + 1000u * interval_ns < t)
            p->due_ns = t; /* far behind (stalls): do not build an unbounded backlog */
    }
    p->seq = (uint16_t)(p->seq % 9999u + 1u);
    if (p->seq == 1u)
        p->wraps++;
    if (build_frame(b, p, false) != 0) {
        p->state = P_DONE;
        note_error(b, "encode failed");
        return;
    }
    send_frame(p);
}

static void stop_all(struct bench *b);

/* One reply frame (LF..CR) for panel p. */
static void on_reply(struct panel *p, const uint8_t *fr, size_t len)
{
    struct bench *b = p->b;
    if (p->state != P_WAITING) {
        b->bad_replies++;
        note_error(b, "unsolicited reply on account %s", p->account);
        return;
    }
    uint64_t t = now_ns();
    {
        struct dc09_decode_opts o;
        dc09_decode_opts_init(&o, (int64_t)time(NULL));
        o.check_time = false;
        o.cipher = b->have_cipher ? &b->cipher.base : NULL;
        static struct dc09_frame f; /* large; the loop is single-threaded */
        int rc = dc09_decode(fr, len, &o, &f, NULL);
        if (rc != 0) {
            b->bad_replies++;
            note_error(b, "undecodable reply: %s", dc09_strerror(rc));
            return; /* the timeout resends */
        }
        if (f.id == DC09_ID_NAK) {
            b->naks++;
            note_error(b, "NAK from the station (clock?) on %s", p->account);
            return;
        }
        if (f.id == DC09_ID_DUH) {
            b->duhs++;
            note_error(b, "DUH for account %s (not configured at the station?)", p->account);
            p->state = P_DONE;
            return;
        }
        bool want_poll = b->idle_mode;
        /* the echo server's reply is one fixed ACK: same decode work, no seq/account */
        if (f.id != DC09_ID_ACK || f.encrypted != b->have_cipher ||
            (!b->echo_mode && (f.seq != (want_poll ? 0 : p->seq) ||
                               strcmp(f.account, p->account) != 0))) {
            b->bad_replies++;
            note_error(b, "reply does not match the frame sent on %s", p->account);
            return;
        }
    }
    if (b->idle_mode) {
        p->state = P_IDLE;
        b->idle_acked++;
        return;
    }
    b->acks_total++;
    if (b->measuring) {
        b->acks++;
        hist_add(&b->h, (t - p->sent_ns) / 1000u);
    }
    p->state = P_IDLE;
    send_next(p);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct panel *p = h->data;
    buf->base = (char *)p->rbuf + p->rlen;
    buf->len = sizeof p->rbuf - p->rlen;
}

static void on_close_panel(uv_handle_t *h)
{
    (void)h;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    struct panel *p = s->data;
    struct bench *b = p->b;
    if (nread < 0) {
        if (p->state != P_DONE) {
            p->state = P_DONE;
            if (!b->stopping) {
                b->closed++;
                note_error(b, "connection closed by the station: %s", uv_strerror((int)nread));
            }
        }
        uv_read_stop(s);
        return;
    }
    p->rlen += (size_t)nread;
    size_t start = 0;
    for (;;) {
        uint8_t *lf = memchr(p->rbuf + start, '\n', p->rlen - start);
        if (!lf) {
            p->rlen = 0;
            return;
        }
        size_t lfo = (size_t)(lf - p->rbuf);
        uint8_t *cr = memchr(p->rbuf + lfo, '\r', p->rlen - lfo);
        if (!cr) {
            memmove(p->rbuf, p->rbuf + lfo, p->rlen - lfo);
            p->rlen -= lfo;
            if (p->rlen == sizeof p->rbuf) {
                p->rlen = 0; /* a reply longer than any DC-09 reply: drop */
                b->bad_replies++;
            }
            return;
        }
        size_t flen = (size_t)(cr - lf) + 1;
        on_reply(p, lf, flen);
        start = lfo + flen;
    }
}

static void connect_more(struct bench *b);

static void on_connect(uv_connect_t *req, int status)
{
    struct panel *p = req->data;
    struct bench *b = p->b;
    b->connecting--;
    if (status != 0) {
        b->connect_failed++;
        p->state = P_DONE;
        note_error(b, "connect: %s", uv_strerror(status));
    } else {
        b->connected++;
        uv_tcp_nodelay(&p->tcp, 1);
        uv_read_start((uv_stream_t *)&p->tcp, on_alloc, on_read);
        p->state = P_IDLE;
        if (b->idle_mode) {
            if (build_frame(b, p, true) == 0)
                send_frame(p);
        } else {
            send_next(p);
        }
    }
    connect_more(b);
}

static void connect_more(struct bench *b)
{
    while (b->next_connect < b->n && b->connecting < b->o->connect_parallel && !b->stopping) {
        struct panel *p = &b->panels[b->next_connect++];
        uv_tcp_init(b->loop, &p->tcp);
        p->tcp.data = p;
        p->creq.data = p;
        p->wreq.data = p;
        uv_timer_init(b->loop, &p->timer);
        p->timer.data = p;
        p->timer_init = true;
        p->state = P_CONNECTING;
        int rc = uv_tcp_connect(&p->creq, &p->tcp, (const struct sockaddr *)&b->addr, on_connect);
        if (rc != 0) {
            b->connect_failed++;
            p->state = P_DONE;
            note_error(b, "connect: %s", uv_strerror(rc));
            continue;
        }
        b->connecting++;
    }
}

static void on_tick(uv_timer_t *t)
{
    struct bench *b = t->data;
    uint64_t now = now_ns();
    if (!b->idle_mode) {
        if (!b->measuring && now >= b->t_measure_ns) {
            b->measuring = true;
            b->t_measure_ns = now;
        }
        if (now >= b->t_end_ns) {
            b->t_end_ns = now;
            stop_all(b);
            return;
        }
    }
    /* Resend what stayed unanswered (same sequence: a retry). */
    uint64_t to_ns = (uint64_t)b->o->timeout_ms * 1000000u;
    for (unsigned i = 0; i < b->next_connect; i++) {
        struct panel *p = &b->panels[i];
        if (p->state == P_WAITING && !p->writing && now - p->sent_ns > to_ns) {
            b->timeouts++;
            if (b->idle_mode)
                build_frame(b, p, true);
            else
                build_frame(b, p, false); /* fresh timestamp, same seq and payload */
            send_frame(p);
        }
    }
}

static void on_sigint(uv_signal_t *s, int sig)
{
    (void)sig;
    struct bench *b = s->data;
    b->t_end_ns = now_ns();
    stop_all(b);
}

static void stop_all(struct bench *b)
{
    if (b->stopping)
        return;
    b->stopping = true;
    uv_timer_stop(&b->tick);
    uv_close((uv_handle_t *)&b->tick, NULL);
    uv_signal_stop(&b->sigint);
    uv_close((uv_handle_t *)&b->sigint, NULL);
    for (unsigned i = 0; i < b->next_connect; i++) {
        struct panel *p = &b->panels[i];
        if (p->timer_init)
            uv_close((uv_handle_t *)&p->timer, NULL);
        if (!uv_is_closing((uv_handle_t *)&p->tcp))
            uv_close((uv_handle_t *)&p->tcp, on_close_panel);
    }
}

static void raise_nofile(unsigned want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur < (rlim_t)want + 64u)
        fprintf(stderr, "vigil: bench: open-file limit %llu is below %u connections + 64\n",
                (unsigned long long)rl.rlim_cur, want);
}

struct run_result {
    double secs;
    uint64_t acks;
    uint64_t p50_us, p99_us, max_us;
    uint64_t errors;
};

/* One measured run against addr: the station (echo_note NULL), or an echo
 * server whose fixed ACK is not matched to seq/account (echo_note: what the
 * result line says of it). */
static int run(const struct bench_opts *o, const struct sockaddr_in *addr, const char *echo_note,
               struct run_result *res, const char *label)
{
    struct bench *b = calloc(1, sizeof *b);
    if (!b)
        return CLI_USAGE;
    b->o = o;
    b->echo_mode = echo_note != NULL;
    b->idle_mode = o->idle > 0;
    b->n = b->idle_mode ? o->idle : o->connections;
    b->addr = *addr;
    b->panels = calloc(b->n, sizeof *b->panels);
    if (!b->panels) {
        free(b);
        return CLI_USAGE;
    }
    if (o->key.set) {
        if (dc09_ossl_init(&b->cipher, &o->key.key) != 0) {
            fprintf(stderr, "vigil: bench: cannot set up AES\n");
            free(b->panels);
            free(b);
            return CLI_USAGE;
        }
        b->have_cipher = true;
    }
    dc09_ossl_rng.fill(&dc09_ossl_rng, (uint8_t *)&b->salt, sizeof b->salt);
    while (bench_rng.s == 0)
        dc09_ossl_rng.fill(&dc09_ossl_rng, (uint8_t *)&bench_rng.s, sizeof bench_rng.s);
    for (unsigned i = 0; i < b->n; i++) {
        struct panel *p = &b->panels[i];
        p->b = b;
        snprintf(p->account, sizeof p->account, "%" PRIX64,
                 o->account_base + (o->accounts ? i % o->accounts : i));
        p->seq = (uint16_t)(i % 9000u); /* spread sequences; each run continues on */
    }
    b->loop = uv_default_loop();
    uv_timer_init(b->loop, &b->tick);
    b->tick.data = b;
    uv_signal_init(b->loop, &b->sigint);
    b->sigint.data = b;
    uv_signal_start(&b->sigint, on_sigint, SIGINT);
    b->t_start_ns = now_ns();
    b->t_measure_ns = b->t_start_ns + (uint64_t)(o->warmup_s * 1e9);
    b->t_end_ns = b->t_measure_ns + (uint64_t)(o->duration_s * 1e9);
    if (b->idle_mode)
        b->t_end_ns = UINT64_MAX;
    uv_timer_start(&b->tick, on_tick, 10, 10);

    connect_more(b);
    if (b->idle_mode) {
        /* Run until every connection is up and has its poll ACKed (or failed). */
        uint64_t last_print = now_ns();
        while (b->idle_acked + b->connect_failed + b->duhs + b->closed < b->n) {
            uv_run(b->loop, UV_RUN_ONCE);
            if (now_ns() - last_print > 2000000000u) {
                fprintf(stderr, "idle: %u connected, %u polls ACKed\n", b->connected, b->idle_acked);
                last_print = now_ns();
            }
            if (b->stopping)
                break;
        }
        printf("idle: %u connections open, %u polls ACKed, %u failed — holding for %.0f s\n",
               b->connected - (unsigned)b->closed, b->idle_acked,
               b->connect_failed + (unsigned)b->closed,
               o->duration_s);
        fflush(stdout);
        b->t_end_ns = now_ns() + (uint64_t)(o->duration_s * 1e9);
        while (!b->stopping && now_ns() < b->t_end_ns)
            uv_run(b->loop, UV_RUN_ONCE);
        printf("idle: done, %u still open\n", b->connected - (unsigned)b->closed);
        stop_all(b);
        uv_run(b->loop, UV_RUN_DEFAULT);
        int ok = b->idle_acked == b->n;
        if (b->first_error[0])
            fprintf(stderr, "vigil: bench: first problem: %s\n", b->first_error);
        if (b->have_cipher)
            dc09_ossl_free(&b->cipher);
        free(b->panels);
        free(b);
        return ok ? CLI_OK : CLI_NEGATIVE;
    }
    uv_run(b->loop, UV_RUN_DEFAULT);

    res->secs = (double)(b->t_end_ns - b->t_measure_ns) / 1e9;
    res->acks = b->acks;
    res->p50_us = hist_pct(&b->h, 50);
    res->p99_us = hist_pct(&b->h, 99);
    res->max_us = b->h.max_us;
    res->errors = b->timeouts + b->bad_replies + b->naks + b->duhs + b->closed + b->connect_failed;
    printf("%-8s conns=%u connected=%u duration=%.2fs acks=%" PRIu64 " msgs/s=%.0f "
           "p50=%" PRIu64 "us p99=%" PRIu64 "us max=%" PRIu64 "us "
           "timeouts=%" PRIu64 " bad=%" PRIu64 " nak=%" PRIu64 " duh=%" PRIu64
           " closed=%" PRIu64 " connect_failed=%u%s\n",
           label, b->n, b->connected, res->secs, res->acks,
           res->secs > 0 ? (double)res->acks / res->secs : 0.0,
           res->p50_us, res->p99_us, res->max_us, b->timeouts, b->bad_replies, b->naks,
           b->duhs, b->closed, b->connect_failed,
           echo_note ? echo_note : "");
    if (b->first_error[0])
        fprintf(stderr, "vigil: bench: %s: first problem: %s\n", label, b->first_error);
    fflush(stdout);
    if (b->have_cipher)
        dc09_ossl_free(&b->cipher);
    free(b->panels);
    free(b);
    return CLI_OK;
}

static const struct opt_cmd bench_cmd;

static void usage(FILE *f)
{
    opts_help(&bench_cmd, f);
}

/* A real ACK (*ACK with a key) to the first panel's frame, made once: the echo
 * server sends it back for every frame, so the echo run has the station's reply
 * size and the client decodes and decrypts it exactly as in the station run. */
static size_t ack_bytes(const struct bench_opts *o, uint8_t *out, size_t cap)
{
    struct dc09_ossl c;
    bool keyed = o->key.set && dc09_ossl_init(&c, &o->key.key) == 0;
    struct dc09_frame f;
    memset(&f, 0, sizeof f);
    f.id = DC09_ID_ADM_CID;
    f.encrypted = keyed;
    f.seq = 1;
    f.has_receiver = true;
    strcpy(f.receiver, "0");
    strcpy(f.line, "0");
    snprintf(f.account, sizeof f.account, "%" PRIX64, o->account_base);
    size_t n = 0;
    if (dc09_reply_ack(&f, keyed ? &c.base : NULL, &dc09_ossl_rng, (int64_t)time(NULL), out,
                       cap, &n) != 0)
        n = 0;
    if (keyed)
        dc09_ossl_free(&c);
    return n;
}

static int parse_uint(const char *s, unsigned long long max, unsigned long long *out, int base)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, base);
    if (errno || end == s || *end || v > max || s[0] == '-')
        return -1;
    *out = v;
    return 0;
}

struct bench_args {
    struct bench_opts o;
    bool have_duration;
};

/* The numeric options, each with the message it always gave. */
static int take_num(void *args, const struct opt *op, char *val)
{
    struct bench_args *ba = args;
    struct bench_opts *o = &ba->o;
    const char *a = op->name;
    unsigned long long u;
    if (strcmp(a, "--port") == 0 || strcmp(a, "--echo-server") == 0) {
        if (parse_uint(val, 65535, &u, 10) != 0) {
            fprintf(stderr, "vigil: bench: %s: not a port: %s\n", a, val);
            return CLI_USAGE;
        }
        if (strcmp(a, "--port") == 0)
            o->port = (int)u;
        else
            o->echo_server_port = (int)u;
    } else if (strcmp(a, "--connections") == 0 || strcmp(a, "--idle") == 0 ||
               strcmp(a, "--accounts") == 0) {
        if (parse_uint(val, 100000, &u, 10) != 0 || u == 0) {
            fprintf(stderr, "vigil: bench: %s: 1..100000, got %s\n", a, val);
            return CLI_USAGE;
        }
        if (strcmp(a, "--connections") == 0)
            o->connections = (unsigned)u;
        else if (strcmp(a, "--idle") == 0)
            o->idle = (unsigned)u;
        else
            o->accounts = (unsigned)u;
    } else if (strcmp(a, "--duration") == 0 || strcmp(a, "--warmup") == 0 ||
               strcmp(a, "--rate") == 0) {
        char *end;
        errno = 0;
        double d = strtod(val, &end);
        if (errno || end == val || *end || d < 0 || d > 1e9) {
            fprintf(stderr, "vigil: bench: %s: not a non-negative number: %s\n", a, val);
            return CLI_USAGE;
        }
        if (strcmp(a, "--duration") == 0) {
            o->duration_s = d;
            ba->have_duration = true;
        } else if (strcmp(a, "--warmup") == 0) {
            o->warmup_s = d;
        } else {
            o->rate = d;
        }
    } else if (strcmp(a, "--account-base") == 0) {
        if (parse_uint(val, 0xFFFFFFFFFFFFull, &u, 16) != 0) {
            fprintf(stderr, "vigil: bench: --account-base: hex number, got %s\n", val);
            return CLI_USAGE;
        }
        o->account_base = u;
    } else if (strcmp(a, "--timeout-ms") == 0) {
        if (parse_uint(val, 600000, &u, 10) != 0 || u < 10) {
            fprintf(stderr, "vigil: bench: --timeout-ms: 10..600000, got %s\n", val);
            return CLI_USAGE;
        }
        o->timeout_ms = (unsigned)u;
    }
    return CLI_OK;
}

#define BO(m) offsetof(struct bench_args, o.m)
static const struct opt bench_opts_table[] = {
    { "--host", 0, "IPV4", OPT_STR, 0, BO(host), NULL, "the station's numeric IPv4 address" },
    { "--port", 0, "P", OPT_CALL, 0, 0, take_num, "the station's DC-09 TCP port" },
    { "--connections", 0, "N", OPT_CALL, 0, 0, take_num,
      "panels, one TCP connection each (1..100000)" },
    { "--duration", 0, "S", OPT_CALL, 0, 0, take_num,
      "seconds measured (default 10; with --idle: seconds the connections are held, default 3600)" },
    { "--warmup", 0, "S", OPT_CALL, 0, 0, take_num, "seconds sent before measuring (default 1)" },
    { "--rate", 0, "MSGS_PER_S", OPT_CALL, 0, 0, take_num,
      "total offered rate (0, the default: each panel sends its next frame as soon as the ACK arrives)" },
    KEYOPT_ROWS(struct bench_args, o.key),
    { "--account-base", 0, "HEX", OPT_CALL, 0, 0, take_num,
      "panels use accounts base..base+N-1 printed as uppercase hex (default 100000); they must "
      "exist at the station with the same key" },
    { "--accounts", 0, "M", OPT_CALL, 0, 0, take_num,
      "panel i uses account base + i % M (meant for --idle)" },
    { "--echo", 0, NULL, OPT_BOOL, 0, BO(echo), NULL,
      "repeat the run against an in-process echo server on 127.0.0.1 and print the ratio" },
    { "--durable-echo", 0, "DIR", OPT_STR, 0, BO(durable_echo_dir), NULL,
      "repeat it against the echo server made durable: each read is written to a file in DIR "
      "and fdatasync'd before its replies (put DIR on the store's file system)" },
    { "--timeout-ms", 0, "MS", OPT_CALL, 0, 0, take_num,
      "an unanswered frame is resent after this (10..600000, default 5000)" },
    { "--idle", 0, "N", OPT_CALL, 0, 0, take_num,
      "hold N idle connections open (a connection-count test) instead of sending" },
    { "--echo-server", 0, "PORT", OPT_CALL, 0, 0, take_num,
      "run only the echo server on 127.0.0.1:PORT, in the foreground (for scripts' baselines)" },
    { "--help", 'h', NULL, OPT_HELP, 0, 0, NULL, "print this help" },
};

static const struct opt_cmd bench_cmd = {
    .prog = "vigil", .path = "bench",
    .synopsis = "--host IPV4 --port P --connections N --duration S [options] | "
                "--idle N --host IPV4 --port P [--duration HOLD_S] [--accounts M] [key options] | "
                "--echo-server PORT",
    .summary = "Load generator for vigil-station: panels send frames over TCP and wait for each "
               "ACK. Output: one line per run (msgs/s, p50/p99/max ACK latency).",
    .opts = bench_opts_table, .n_opts = OPTS_N(bench_opts_table), .max_operands = 0,
    .style = OPTS_USAGE,
};
const struct opt_cmd *const cmd_bench_opts[] = { &bench_cmd, NULL };

int cmd_bench(const struct cli_global *g, int argc, char **argv)
{
    (void)g;
    struct bench_args ba;
    memset(&ba, 0, sizeof ba);
    struct bench_opts *op = &ba.o;
    op->host = NULL;
    op->port = -1;
    op->connections = 0;
    op->duration_s = 10;
    op->warmup_s = 1;
    op->account_base = 0x100000;
    op->echo_server_port = -1;
    op->timeout_ms = 5000;
    op->connect_parallel = 256;
    int rc = opts_parse(&bench_cmd, argc, argv, 0, &ba, NULL);
    if (rc != 0) {
        keyopt_wipe(&ba.o.key);
        return rc == OPTS_DONE_HELP ? CLI_OK : rc;
    }
    struct bench_opts o = ba.o;
    keyopt_wipe(&ba.o.key);
    bool have_duration = ba.have_duration;

    raise_nofile(o.idle ? o.idle : o.connections);

    if (o.echo_server_port >= 0) {
        /* Standalone echo server (foreground) for baselines run from scripts. */
        keyopt_wipe(&o.key);
        uint8_t ack[256];
        size_t rl = ack_bytes(&o, ack, sizeof ack);
        keyopt_wipe(&o.key);
        return bench_echo_serve((uint16_t)o.echo_server_port, ack, rl) == 0 ? CLI_OK : CLI_USAGE;
    }
    if (!o.host || o.port <= 0 || (o.connections == 0 && o.idle == 0)) {
        fprintf(stderr, "vigil: bench: --host, --port and --connections (or --idle) are required\n");
        usage(stderr);
        keyopt_wipe(&o.key);
        return CLI_USAGE;
    }
    struct stat dst;
    if (o.durable_echo_dir && (stat(o.durable_echo_dir, &dst) != 0 || !S_ISDIR(dst.st_mode) ||
                               access(o.durable_echo_dir, W_OK) != 0)) {
        fprintf(stderr, "vigil: bench: --durable-echo %s: not a writable directory\n",
                o.durable_echo_dir);
        keyopt_wipe(&o.key);
        return CLI_USAGE;
    }
    if (o.idle && !have_duration)
        o.duration_s = 3600;
    struct sockaddr_in addr;
    if (uv_ip4_addr(o.host, o.port, &addr) != 0) {
        fprintf(stderr, "vigil: bench: --host must be a numeric IPv4 address: %s\n", o.host);
        keyopt_wipe(&o.key);
        return CLI_USAGE;
    }
    if (o.idle) {
        rc = run(&o, &addr, NULL, NULL, "idle");
        keyopt_wipe(&o.key);
        return rc;
    }

    printf("bench: %u connections, %s, %s, warmup %.1fs, duration %.1fs, accounts %" PRIX64
           "..%" PRIX64 "\n",
           o.connections, o.key.set ? "encrypted (*ADM-CID)" : "clear (ADM-CID)",
           o.rate > 0 ? "rate-limited" : "stop-and-wait as fast as ACKs come",
           o.warmup_s, o.duration_s, o.account_base,
           o.account_base + (o.accounts && o.accounts < o.connections ? o.accounts : o.connections) - 1);
    if (o.rate > 0)
        printf("bench: offered %.0f msgs/s total\n", o.rate);
    struct run_result st, ec;
    rc = run(&o, &addr, NULL, &st, "station");
    /* the baselines, same connections and frames: bare echo, then durable echo */
    for (int pass = 0; pass < 2 && rc == CLI_OK; pass++) {
        const char *dir = pass ? o.durable_echo_dir : NULL;
        if (pass ? !dir : !o.echo)
            continue;
        struct bench_echo *srv = NULL;
        uint16_t eport = 0;
        uint8_t ack[256];
        size_t al = ack_bytes(&o, ack, sizeof ack);
        if (bench_echo_start(&srv, &eport, ack, al, dir) != 0) {
            fprintf(stderr, "vigil: bench: cannot start the %s server\n",
                    pass ? "durable echo" : "echo");
            keyopt_wipe(&o.key);
            return CLI_USAGE;
        }
        struct sockaddr_in eaddr;
        uv_ip4_addr("127.0.0.1", eport, &eaddr);
        rc = run(&o, &eaddr,
                 pass ? " (durable echo: one write + fdatasync per batch read, then a fixed ACK)"
                      : " (echo: a fixed ACK, decoded and decrypted like the station's)",
                 &ec, pass ? "durable" : "echo");
        bench_echo_stop(srv);
        if (rc == CLI_OK && ec.acks > 0 && ec.secs > 0 && st.secs > 0)
            printf("ratio    station/%s = %.1f%% (%.0f / %.0f msgs/s)\n",
                   pass ? "durable-echo" : "echo",
                   100.0 * ((double)st.acks / st.secs) / ((double)ec.acks / ec.secs),
                   (double)st.acks / st.secs, (double)ec.acks / ec.secs);
        if (pass && rc == CLI_OK)
            printf("durable  p99 station/durable-echo = %.2f (%" PRIu64 " / %" PRIu64 " us)\n",
                   ec.p99_us ? (double)st.p99_us / (double)ec.p99_us : 0.0, st.p99_us,
                   ec.p99_us);
    }
    keyopt_wipe(&o.key);
    if (rc == CLI_OK && st.errors > 0)
        rc = CLI_NEGATIVE;
    return rc;
}
