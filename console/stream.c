/*
 * stream.c — GET /api/alarms/stream: Server-Sent Events of alarm changes.
 *
 * Each event is "id: SEQ / event: alarm / data: the list object". With
 * Last-Event-ID: N the alarms changed after N come first (read from the
 * store, each once, current state, latest seq), then the live ring; N older
 * than the change log keeps gets "event: reset". A comment every 15 s keeps
 * proxies from closing the stream; logout, session end and shutdown close it.
 *
 * Runs in its connection's own thread and blocks only there. Must never
 * hold the ring lock or the store while writing to the socket.
 */
#include "console.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define KEEPALIVE_MS    15000
#define PEER_CHECK_MS   250      /* a closed stream frees its sse_clients_max slot this soon */
#define BACKLOG_PAGE    64
#define STREAM_BLOCK    (32u * 1024u)

enum phase { PH_BACKLOG, PH_LIVE };

struct stream {
    struct con_app *app;
    uint64_t session;
    int      fd;             /* the connection's socket, to notice the client leave */
    enum phase phase;
    int64_t cursor;          /* the last seq sent (or the start point) */
    int64_t quiet_ms;        /* since the last text: a keepalive at KEEPALIVE_MS */
    char   *pending;         /* text being written */
    size_t  plen, poff;
    bool    done;
};

static void set_pending(struct stream *s, char *text)
{
    free(s->pending);
    s->pending = text;
    s->plen = text ? strlen(text) : 0;
    s->poff = 0;
}

struct page {
    int64_t seq[BACKLOG_PAGE], alarm[BACKLOG_PAGE];
    size_t n;
};

static int page_add(void *ctx, int64_t seq, int64_t alarm_id)
{
    struct page *p = ctx;
    p->seq[p->n] = seq;
    p->alarm[p->n] = alarm_id;
    return ++p->n == BACKLOG_PAGE;
}

static int rd_page(struct stn_store *st, void *ctx)
{
    struct page *p = ctx;
    return stn_alarm_changes_each(st, p->seq[0], BACKLOG_PAGE, page_add, p);
}

/* The next page of alarms changed past the cursor, as one text; NULL when
 * caught up (the stream goes live). */
static char *backlog_next(struct stream *s)
{
    struct page p = { .n = 0 };
    p.seq[0] = s->cursor;
    if (con_read(s->app, rd_page, &p) != 0 || p.n == 0)
        return NULL;
    size_t len = 0, cap = 0;
    char *out = NULL;
    for (size_t i = 0; i < p.n; i++) {
        char *t = con_change_text(s->app, p.seq[i], p.alarm[i]);
        s->cursor = p.seq[i];
        if (!t)
            continue;
        size_t tl = strlen(t);
        if (len + tl + 1 > cap) {
            cap = (len + tl + 1) * 2;
            char *b = realloc(out, cap);
            if (!b) {
                free(t);
                break;
            }
            out = b;
        }
        memcpy(out + len, t, tl + 1);
        len += tl;
        free(t);
    }
    return out ? out : strdup(": nothing\n\n");
}

/* The client closed its side (EOF): nothing it sends on a stream is read,
 * so any byte waiting is peeked at, never taken. */
static bool peer_gone(int fd)
{
    if (fd < 0)
        return false;
    char b;
    ssize_t n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/* The next text to send (blocking in the live phase); NULL: end the stream. */
static char *next_text(struct stream *s)
{
    for (;;) {
        if (atomic_load(&s->app->stopping) || !con_session_alive(s->app->sessions, s->session))
            return NULL;
        if (s->phase == PH_BACKLOG) {
            char *t = backlog_next(s);
            if (t)
                return t;
            s->phase = PH_LIVE;
        }
        char *text = NULL;
        int64_t seq = 0;
        switch (con_changes_next(s->app->changes, s->cursor, PEER_CHECK_MS, &text, &seq)) {
        case CON_WAIT_ENTRY:
            s->cursor = seq;
            s->quiet_ms = 0;
            return text;
        case CON_WAIT_TIMEOUT:
            if (peer_gone(s->fd))
                return NULL;
            s->quiet_ms += PEER_CHECK_MS;
            if (s->quiet_ms < KEEPALIVE_MS)
                break;
            s->quiet_ms = 0;
            return strdup(": keepalive\n\n");
        case CON_WAIT_GAP:       /* fell behind the ring: read the store again */
            s->phase = PH_BACKLOG;
            break;
        case CON_WAIT_WAKE:
            break;
        }
    }
}

static ssize_t reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct stream *s = cls;
    (void)pos;
    if (s->done)
        return MHD_CONTENT_READER_END_OF_STREAM;
    while (s->poff == s->plen) {
        char *t = next_text(s);
        if (!t) {
            s->done = true;
            return MHD_CONTENT_READER_END_OF_STREAM;
        }
        set_pending(s, t);
    }
    size_t n = s->plen - s->poff < max ? s->plen - s->poff : max;
    memcpy(buf, s->pending + s->poff, n);
    s->poff += n;
    return (ssize_t)n;
}

static void stream_free(void *cls)
{
    struct stream *s = cls;
    con_session_stream(s->app->sessions, s->session, -1);
    atomic_fetch_sub(&s->app->streams, 1);
    set_pending(s, NULL);
    free(s);
}

struct range { int64_t oldest, latest; };

static int rd_range(struct stn_store *st, void *ctx)
{
    struct range *r = ctx;
    return stn_alarm_changes_range(st, &r->oldest, &r->latest);
}

/* Where the stream starts; the first text (a reset) or NULL. */
static char *start_point(struct stream *s, const char *last_id)
{
    if (!last_id || !*last_id) {
        s->phase = PH_LIVE;
        s->cursor = con_changes_latest(s->app->changes);
        return NULL;
    }
    char *end;
    long long n = strtoll(last_id, &end, 10);
    struct range r = { 0, 0 };
    bool ok = !*end && n >= 0 && con_read(s->app, rd_range, &r) == 0;
    /* a seq the log no longer holds (pruned), or one it never had */
    if (!ok || (r.oldest && n < r.oldest - 1) || n > r.latest) {
        s->phase = PH_LIVE;
        s->cursor = con_changes_latest(s->app->changes);
        return strdup("event: reset\ndata: {}\n\n");
    }
    s->phase = PH_BACKLOG;
    s->cursor = n;
    return NULL;
}

enum MHD_Result con_stream(struct con_app *app, struct MHD_Connection *c, struct con_req *r)
{
    if (atomic_fetch_add(&app->streams, 1) >= app->cfg.sse_clients_max) {
        atomic_fetch_sub(&app->streams, 1);
        return con_reply_error(c, 503, "too many live streams open: try again later");
    }
    struct stream *s = calloc(1, sizeof *s);
    if (!s) {
        atomic_fetch_sub(&app->streams, 1);
        return con_reply_error(c, 500, "out of memory");
    }
    s->app = app;
    s->session = r->session.id;
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    s->fd = ci ? ci->connect_fd : -1;
    set_pending(s, start_point(s, MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                               "Last-Event-ID")));
    con_session_stream(app->sessions, s->session, +1);
    struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN,
                                                                  STREAM_BLOCK, reader, s,
                                                                  stream_free);
    if (!resp) {
        stream_free(s);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "text/event-stream");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "X-Accel-Buffering", "no");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    enum MHD_Result res = MHD_queue_response(c, 200, resp);
    MHD_destroy_response(resp);
    return res;
}
