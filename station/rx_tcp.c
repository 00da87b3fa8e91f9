/*
 * rx_tcp.c — DC-09 over TCP: persistent connections, many frames per
 * connection, frames split across segments (one dc09_reader per connection;
 * its buffer of frame_bytes_max is the loop's shared one while it reads, and
 * a connection has one of its own only while a frame is split across reads).
 *
 * Bounds: max_connections (a new connection takes the slot of the one that
 * has shown least, conns.c), max_connections_per_address (accept, then
 * close), frame_bytes_max (oversize input is dropped to the next LF,
 * counted, logged), partial_frame_timeout_s (bytes that make no valid frame:
 * slowloris, garbage, empty frames; and, once connections reach 90 % of
 * max_connections, one that has sent no valid frame that long) and
 * idle_timeout_s, checked by a once-a-second sweep rather than a timer per
 * connection (memory per idle connection stays ~0.5 KiB).
 * Must never count a frame whose CRC or length is wrong as a sign of life
 * (two bytes "\n\r" would hold a slot for ever), and never free a
 * connection a batch item still points at: refs count them.
 */
#include "daemon.h"
#include "reply.h"
#include "transport.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* The loop reads one connection at a time and parses synchronously, so one
 * read buffer serves every connection. */
static uint8_t read_buf[65536];
/* The readers' buffer during a feed (frame_bytes_max <= DC09_FRAME_MAX). */
static uint8_t frame_buf[DC09_FRAME_MAX];
static size_t npaused;
/* Fairness: libuv reads a readable stream up to 32 times per loop pass. A
 * connection whose read filled the whole buffer (no panel does: frames are
 * 100 bytes, stop-and-wait) stops reading until the next pass, so a sender of
 * megabytes of garbage costs each pass one buffer, not 2 MiB, and every other
 * connection — a duress among them — is read in between (issue 12: 100 MB of
 * garbage delayed a duress past a second). */
static struct stn_conn *yielded;

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    buf->base = (char *)read_buf;
    buf->len = sizeof read_buf;
}

static void conn_free_if_done(struct stn_conn *c)
{
    if (c->closing && c->refs == 0 && c->tcp.data == NULL) {
        stn_free(c->rbuf);
        stn_free(c);
    }
}

static void on_close(uv_handle_t *h)
{
    struct stn_conn *c = h->data ? (struct stn_conn *)h->data : NULL;
    if (!c)
        return;
    c->tcp.data = NULL;   /* handle closed */
    conn_free_if_done(c);
}

void stn_conn_unref(struct stn_conn *c)
{
    if (c->refs > 0)
        c->refs--;
    conn_free_if_done(c);
}

void stn_conn_close(struct stn_conn *c)
{
    if (c->closing)
        return;
    struct stn *s = c->s;
    c->closing = true;
    if (c->paused && npaused > 0)
        npaused--;
    c->paused = false;
    stn_conns_unlink(s, c);
    uv_close((uv_handle_t *)&c->tcp, on_close);
}

static void on_frame(void *ctx, const uint8_t *frame, size_t len, int err)
{
    struct stn_conn *c = ctx;
    struct stn *s = c->s;
    if (c->closing)
        return;
    struct stn_reply_to to;
    stn_reply_to_tcp(&to, c);
    if (err != 0) {   /* oversize, or a binary-CRC length field not ending at a CR */
        stn_rx_dropped(s, &to, len, err);
        return;
    }
    if (s->linger_until_ns && c->answered_batch == s->linger_batch) {
        c->answered_batch = 0;    /* a panel the linger waits for is back */
        s->linger_back++;
    }
    struct stn_rx_result res;
    stn_rx_frame(s, &to, frame, len, &res);
    if (res.accepted) {   /* framing follows the account (a binary CRC may hold CR or LF) */
        c->reader.quirks = res.framing;
        c->framed = true;
    }
    if (res.pause && !c->paused && !c->closing) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->paused = true;
    }
    if (res.valid && !c->closing) {
        c->valid_in_read++;
        stn_conns_heard(s, c, c->framed, stn_now_ms());
    }
}

/* Feeds a read to the connection's reader. An idle panel's connection holds
 * no frame buffer: the reader works in the loop's shared one, and only the
 * bytes of a frame split across reads are kept, in a buffer of the
 * connection's own, until the frame is whole (then it is freed). Out of
 * memory: the partial frame is dropped (the panel resends it). */
static void feed(struct stn_conn *c, const uint8_t *data, size_t len)
{
    struct dc09_reader *r = &c->reader;
    if (!c->rbuf)
        r->buf = frame_buf;
    dc09_reader_feed(r, data, len, on_frame, c);
    if (c->closing)
        return;
    if (r->len == 0) {
        if (c->rbuf) {
            stn_free(c->rbuf);
            c->rbuf = NULL;
        }
        r->buf = frame_buf;
        return;
    }
    if (c->rbuf)
        return;   /* kept in its own buffer already */
    c->rbuf = stn_malloc(r->cap);
    if (!c->rbuf) {
        STN_ERROR("rx", "%s: out of memory for a split frame: %zu bytes dropped", c->peer,
                  r->len);
        dc09_reader_reset(r);
        r->buf = frame_buf;
        return;
    }
    memcpy(c->rbuf, frame_buf, r->len);
    r->buf = c->rbuf;
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    struct stn_conn *c = st->data;
    if (nread < 0) {
        if (nread != UV_EOF)
            STN_DEBUG("rx", "%s: read error %s", c->peer, uv_strerror((int)nread));
        stn_conn_close(c);
        return;
    }
    if (nread == 0)
        return;
    int64_t now = stn_now_ms();
    /* Before any frame of this connection was accepted its account is
     * unknown: a frame that starts LF, 2 bytes, 4 hex digits, '"' carries a
     * binary CRC (Lupusec, Egardia, Trikdis) — in a standard frame byte 7 is
     * a hex digit of the length — so frame it by its length field. */
    if (!c->framed && c->reader.len == 0 && nread >= 8) {
        const uint8_t *b = (const uint8_t *)buf->base;
        bool bin = b[0] == '\n' && b[7] == '"';
        for (int k = 3; bin && k < 7; k++)
            bin = isxdigit(b[k]) != 0;
        c->reader.quirks = bin ? DC09_Q_BINARY_CRC : 0;
    }
    c->valid_in_read = 0;
    feed(c, (const uint8_t *)buf->base, (size_t)nread);
    if (c->closing)
        return;
    /* The partial-frame clock: bytes that make no valid frame (half a frame,
     * garbage, frames with a wrong CRC or length such as an empty "\n\r", an
     * oversize run being dropped) start it and leave it running, so such a
     * peer is closed after partial_frame_timeout_s; a read that completes
     * valid frames restarts it for the bytes left over (a sender streaming
     * whole frames whose reads end mid-frame is not a slowloris), or stops
     * it when nothing is left. */
    bool leftover = c->reader.len > 0 || c->reader.in_frame || c->reader.discarding;
    if (c->valid_in_read > 0)
        c->partial_since_ms = leftover ? now : 0;
    else if (!c->partial_since_ms)
        c->partial_since_ms = now;
    if (c->paused) {
        npaused++;
    } else if ((size_t)nread == sizeof read_buf && !c->yielded) {
        uv_read_stop(st);
        c->yielded = true;
        c->refs++;            /* kept alive until the next pass looks at it */
        c->yield_next = yielded;
        yielded = c;
    }
}

void stn_tcp_resume_yielded(struct stn *s)
{
    struct stn_conn *c = yielded;
    yielded = NULL;
    while (c) {
        struct stn_conn *next = c->yield_next;
        c->yielded = false;
        c->yield_next = NULL;
        if (!c->closing && !c->paused && !s->stopping)
            uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, on_read);
        stn_conn_unref(c);
        c = next;
    }
}

static void refuse_close(uv_handle_t *h)
{
    stn_free(h);
}

/* Takes a connection off the listen queue only to close it: left there it
 * would be offered again at once. */
static void accept_and_close(struct stn *s, uv_stream_t *server, bool count)
{
    uv_tcp_t *t = stn_malloc(sizeof *t);
    if (!t)
        return;
    uv_tcp_init(s->loop, t);
    if (uv_accept(server, (uv_stream_t *)t) == 0 && count)
        s->c.conns_refused++;
    uv_close((uv_handle_t *)t, refuse_close);
}

/* accept(2) failed: descriptors (EMFILE, ENFILE) or kernel memory ran out;
 * libuv has closed the waiting connections, whose panels saw a reset. */
static void accept_failed(struct stn *s, int status)
{
    s->c.accept_failures++;
    STN_ERROR("rx", "accept failed: %s (%zu connections open, max_connections %lld): "
              "a connection was closed unanswered", uv_strerror(status), s->nconns,
              (long long)s->conns_max);
}

static void peer_name(struct stn_conn *c, struct sockaddr_storage *ss)
{
    int sl = sizeof *ss;
    char host[64] = "?";
    int port = 0;
    memset(ss, 0, sizeof *ss);
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)ss, &sl) == 0) {
        if (ss->ss_family == AF_INET) {
            uv_ip4_name((struct sockaddr_in *)ss, host, sizeof host);
            port = ntohs(((struct sockaddr_in *)ss)->sin_port);
        } else if (ss->ss_family == AF_INET6) {
            uv_ip6_name((struct sockaddr_in6 *)ss, host, sizeof host);
            port = ntohs(((struct sockaddr_in6 *)ss)->sin6_port);
        }
    }
    snprintf(c->peer, sizeof c->peer, "tcp %s:%d", host, port);
}

/* A new connection, accepted but not yet counted anywhere; NULL when it
 * could not be had (logged). */
static struct stn_conn *conn_accept(struct stn *s, uv_stream_t *server)
{
    struct stn_conn *c = stn_malloc(sizeof *c);
    if (!c) {
        STN_ERROR("rx", "out of memory for a new connection");
        accept_and_close(s, server, true);
        return NULL;
    }
    memset(c, 0, sizeof *c);
    c->s = s;
    uv_tcp_init(s->loop, &c->tcp);
    c->tcp.data = c;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        c->closing = true;
        uv_close((uv_handle_t *)&c->tcp, on_close);
        return NULL;
    }
    return c;
}

/* All slots taken: the connection that has shown least gives its slot up
 * (docs/station.md, Bounds). A new connection may carry a duress; the one
 * closed is, at worst, a panel idle longest, which reconnects. */
static void make_room(struct stn *s)
{
    for (size_t k = s->nconns; k > 0 && s->nconns >= (size_t)s->conns_max; k--) {
        struct stn_conn *v = stn_conns_victim(s);
        if (!v)
            return;
        static const char *const why[STN_TIER_N] = {
            "never sent a valid frame", "no frame accepted", "idle longest",
        };
        s->c.conns_evicted++;
        STN_WARN("rx", "%s: closed to free a slot for a new connection (%s; %llds since "
                 "it connected or sent a valid frame; max_connections %lld)", v->peer, why[v->tier],
                 (long long)((stn_now_ms() - v->last_valid_ms) / 1000),
                 (long long)s->conns_max);
        stn_conn_close(v);
    }
}

/* A panel writes its frame as soon as its connect completes, before the
 * station accepts: read it now, not at the next loop pass. Under a flood of
 * new connections (slots full, each accept evicting the oldest connection
 * that never sent a valid frame) a duress read only at the next pass could be
 * evicted by the accepts of that same pass before it was read (test_slots'
 * empty_frames_hold_no_slot failed so about once in ten runs); read now, its
 * valid frame moves it out of the first tier to go. */
static void read_at_accept(struct stn_conn *c)
{
    uv_os_fd_t fd;
    if (uv_fileno((uv_handle_t *)&c->tcp, &fd) != 0)
        return;
    ssize_t n = recv(fd, read_buf, sizeof read_buf, MSG_DONTWAIT);
    if (n > 0) {
        uv_buf_t b = uv_buf_init((char *)read_buf, (unsigned)n);
        on_read((uv_stream_t *)&c->tcp, n, &b);
    }
    /* 0 (the peer closed) and EAGAIN: the loop sees them as usual */
}

static void on_connection(uv_stream_t *server, int status)
{
    struct stn_listener *l = server->data;
    struct stn *s = l->s;
    if (status < 0) {
        accept_failed(s, status);
        return;
    }
    if (s->stopping) {
        accept_and_close(s, server, false);
        return;
    }
    struct stn_conn *c = conn_accept(s, server);
    if (!c)
        return;
    uv_tcp_nodelay(&c->tcp, 1);
    struct sockaddr_storage ss;
    peer_name(c, &ss);
    if (stn_addrs_take(s, (struct sockaddr *)&ss, &c->addr) != 0) {
        s->c.conns_refused++;
        STN_WARN("rx", "%s: connection refused: max_connections_per_address %lld reached "
                 "(or out of memory)", c->peer, (long long)s->cfg.max_connections_per_address);
        c->closing = true;
        uv_close((uv_handle_t *)&c->tcp, on_close);
        return;
    }
    make_room(s);
    dc09_reader_init(&c->reader, frame_buf, (size_t)s->cfg.frame_bytes_max, 0);
    c->last_valid_ms = c->opened_ms = stn_now_ms();
    stn_conns_link(s, c);
    s->c.conns_accepted++;
    int rc = uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, on_read);
    if (rc != 0)
        stn_conn_close(c);
    else
        read_at_accept(c);
}

int stn_tcp_listen(struct stn *s, struct stn_listener *l, const struct sockaddr *addr)
{
    int rc = uv_tcp_init(s->loop, &l->tcp);
    if (rc)
        return rc;
    l->tcp.data = l;
    l->tcp_open = true;
    rc = uv_tcp_bind(&l->tcp, addr, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&l->tcp, 4096, on_connection);
    return rc;
}

struct wreq {
    uv_write_t req;
    struct stn_conn *c;
    size_t len;
    uint8_t data[];
};

static void on_write(uv_write_t *req, int status)
{
    struct wreq *w = (struct wreq *)req;
    struct stn_conn *c = w->c;
    if (status < 0 && status != UV_ECANCELED && !c->closing) {
        STN_DEBUG("rx", "%s: write failed: %s", c->peer, uv_strerror(status));
        stn_conn_close(c);
    }
    stn_free(w);
    stn_conn_unref(c);
}

void stn_conn_send(struct stn_conn *c, const uint8_t *p, size_t len)
{
    if (c->closing || len == 0)
        return;
    uv_buf_t b = uv_buf_init((char *)p, (unsigned)len);
    int rc = 0;
    if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) == 0) {
        rc = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
        if (rc >= 0 && (size_t)rc == len)
            return;
        if (rc < 0 && rc != UV_EAGAIN) {
            stn_conn_close(c);
            return;
        }
        if (rc < 0)
            rc = 0;
    }
    /* a slow reader: queue the rest, bounded */
    if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) > 262144) {
        STN_WARN("rx", "%s: peer does not read its replies: closed", c->peer);
        stn_conn_close(c);
        return;
    }
    size_t rest = len - (size_t)rc;
    struct wreq *w = stn_malloc(sizeof *w + rest);
    if (!w) {
        stn_conn_close(c);
        return;
    }
    w->c = c;
    w->len = rest;
    memcpy(w->data, p + rc, rest);
    b = uv_buf_init((char *)w->data, (unsigned)rest);
    c->refs++;
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write) != 0) {
        c->refs--;
        stn_free(w);
        stn_conn_close(c);
    }
}

/* One connection's verdict at the sweep: the reason to close it, or NULL. */
static const char *sweep_verdict(const struct stn *s, const struct stn_conn *c, int64_t now_ms,
                                 bool near_full, int64_t *since_ms)
{
    int64_t partial_ms = s->cfg.partial_frame_timeout_s * 1000;
    int64_t idle_ms = s->cfg.idle_timeout_s * 1000;
    if (c->partial_since_ms && now_ms - c->partial_since_ms > partial_ms) {
        *since_ms = c->partial_since_ms;
        return "no valid frame from its bytes (slowloris or garbage?)";
    }
    if (c->tier == STN_TIER_SILENT && near_full && now_ms - c->opened_ms > partial_ms) {
        /* Connections are running out and this one has not sent a valid frame
         * in partial_frame_timeout_s: free its slot for a panel that will.
         * With room to spare it may wait (our own panels connect, then send
         * at their next event or poll). */
        *since_ms = c->opened_ms;
        return "no valid frame since it connected, while connections run out: "
               "closed to free a slot";
    }
    if (idle_ms && now_ms - c->last_valid_ms > idle_ms) {
        *since_ms = c->last_valid_ms;
        return "idle";
    }
    return NULL;
}

void stn_tcp_sweep(struct stn *s, int64_t now_ms)
{
    /* at 90 % of max_connections, silent connections give their slots up */
    bool near_full = s->nconns * 10u >= (size_t)s->conns_max * 9u;
    for (int t = 0; t < STN_TIER_N; t++) {
        struct stn_conn *c = s->tiers[t].head;
        while (c) {
            struct stn_conn *next = c->next;
            int64_t since = 0;
            const char *why = sweep_verdict(s, c, now_ms, near_full, &since);
            if (why) {
                s->c.conns_timed_out++;
                STN_WARN("rx", "%s: %s for %llds (%zu of %lld connections open): closed",
                         c->peer, why, (long long)((now_ms - since) / 1000), s->nconns,
                         (long long)s->conns_max);
                stn_conn_close(c);
            }
            c = next;
        }
    }
}

void stn_tcp_pause_all_resume(struct stn *s)
{
    if (npaused == 0 || s->stopping)
        return;
    for (int t = 0; t < STN_TIER_N; t++) {
        for (struct stn_conn *c = s->tiers[t].head; c; c = c->next) {
            if (c->paused && !c->closing) {
                c->paused = false;
                uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, on_read);
            }
        }
    }
    npaused = 0;
}

void stn_tcp_stop(struct stn *s)
{
    for (int t = 0; t < STN_TIER_N; t++)
        for (struct stn_conn *c = s->tiers[t].head; c; c = c->next)
            if (!c->closing)
                uv_read_stop((uv_stream_t *)&c->tcp);
}
