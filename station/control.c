/*
 * control.c — the station's control socket: operators' actions from
 * vigil-console (docs/console.md, "The control socket"). One JSON line per
 * request; the request rides in the pending group commit, where the worker
 * decides it with the alarm engine and writes it beside the frames; the reply
 * goes back after that commit. The station so stays the only writer of alarm
 * state: a console stopped or killed mid-action holds no lock anybody needs.
 *
 * Also the take lease's presence list: which operators the console reports
 * present, so that an alarm whose operator is gone returns to the queue.
 *
 * Must never: let a slow or stopped console block the loop (one request in
 * flight per connection, replies bounded), delay a duress (requests per batch
 * are capped; a full batch answers "busy"), hold more than STN_CTL_CONNS_MAX
 * connections (their descriptors come out of max_connections' reserve), or
 * log a request's text.
 */
#include "daemon.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct stn_ctl {
    uv_pipe_t pipe;
    struct stn *s;
    struct stn_ctl *prev, *next;
    uint32_t refs;              /* requests in a batch */
    bool     closing;
    bool     handle_closed;
    bool     in_flight;         /* one request at a time per connection */
    size_t   len;               /* bytes in buf */
    char     buf[STN_CTL_LINE_MAX + 1];
};

struct stn_presence {
    char    name[STN_OPERATOR_NAME_MAX + 1];
    int64_t last_ms;
};
#define PRESENCE_MAX 256u

static struct stn_presence presence[PRESENCE_MAX];
static size_t npresence;
static char read_buf[STN_CTL_LINE_MAX + 1];

static void ctl_free_if_done(struct stn_ctl *c)
{
    if (c->closing && c->refs == 0 && c->handle_closed)
        stn_free(c);
}

static void on_close(uv_handle_t *h)
{
    struct stn_ctl *c = h->data;
    c->handle_closed = true;
    ctl_free_if_done(c);
}

static void ctl_close(struct stn_ctl *c)
{
    if (c->closing)
        return;
    struct stn *s = c->s;
    c->closing = true;
    s->nctls--;
    if (c->prev) c->prev->next = c->next;
    else s->ctls = c->next;
    if (c->next) c->next->prev = c->prev;
    c->prev = c->next = NULL;
    uv_close((uv_handle_t *)&c->pipe, on_close);
}

struct ctl_write { uv_write_t req; char data[]; };

static void on_written(uv_write_t *req, int status)
{
    (void)status;
    stn_free(req);
}

/* Replies are small and one at a time; a console that does not read them is
 * closed rather than queued for. */
static void ctl_send(struct stn_ctl *c, const char *line)
{
    if (c->closing)
        return;
    if (uv_stream_get_write_queue_size((uv_stream_t *)&c->pipe) > 64u * 1024u) {
        STN_WARN("control", "console not reading its replies: connection closed");
        ctl_close(c);
        return;
    }
    size_t n = strlen(line);
    struct ctl_write *w = stn_malloc(sizeof *w + n + 1);
    if (!w) {
        ctl_close(c);
        return;
    }
    memcpy(w->data, line, n);
    w->data[n] = '\n';
    uv_buf_t b = uv_buf_init(w->data, (unsigned)(n + 1));
    if (uv_write(&w->req, (uv_stream_t *)&c->pipe, &b, 1, on_written) != 0) {
        stn_free(w);
        ctl_close(c);
    }
}

static void reply_error(struct stn_ctl *c, const char *code, const char *msg)
{
    json_t *o = json_pack("{s:b,s:s,s:s}", "ok", 0, "code", code, "error", msg);
    char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
    ctl_send(c, t ? t : "{\"ok\":false,\"code\":\"busy\",\"error\":\"out of memory\"}");
    free(t);
    json_decref(o);
}

/* ---- presence (the take lease) --------------------------------------- */

static void mark_present(const char *name, int64_t now_ms)
{
    if (!name || !name[0] || strlen(name) > STN_OPERATOR_NAME_MAX)
        return;
    size_t oldest = 0;
    for (size_t i = 0; i < npresence; i++) {
        if (strcmp(presence[i].name, name) == 0) {
            presence[i].last_ms = now_ms;
            return;
        }
        if (presence[i].last_ms < presence[oldest].last_ms)
            oldest = i;
    }
    size_t k = npresence < PRESENCE_MAX ? npresence++ : oldest;
    snprintf(presence[k].name, sizeof presence[k].name, "%s", name);
    presence[k].last_ms = now_ms;
}

static void on_presence(struct stn_ctl *c, json_t *req)
{
    json_t *ops = json_object_get(req, "operators");
    if (!json_is_array(ops)) {
        reply_error(c, "invalid", "presence needs \"operators\": an array of names");
        return;
    }
    int64_t now = stn_now_ms();
    size_t i;
    json_t *v;
    json_array_foreach(ops, i, v)
        if (json_is_string(v))
            mark_present(json_string_value(v), now);
    ctl_send(c, "{\"ok\":true}");
}

void stn_control_lease(struct stn *s, struct stn_job *j, int64_t now_ms)
{
    /* after a start, the console has a lease's time to report who is there */
    if (now_ms - s->started_ms < s->cfg.take_lease_s * 1000)
        return;
    j->lease_check = true;
    j->lease_before_ms = now_ms - s->cfg.take_lease_s * 1000;
    j->npresent = 0;
    for (size_t i = 0; i < npresence && j->npresent < 256; i++) {
        if (presence[i].last_ms < j->lease_before_ms)
            continue;
        size_t off;
        if (stn_job_copy(j, presence[i].name, strlen(presence[i].name) + 1, &off) == 0)
            j->present_off[j->npresent++] = off;
    }
}

/* ---- requests --------------------------------------------------------- */

static void submit(struct stn_ctl *c, const char *line, size_t len)
{
    struct stn *s = c->s;
    json_error_t jerr;
    json_t *req = json_loadb(line, len, 0, &jerr);
    const char *op = req ? json_string_value(json_object_get(req, "op")) : NULL;
    if (!op) {
        reply_error(c, "invalid", req ? "a request needs \"op\"" : "the request is not JSON");
        json_decref(req);
        return;
    }
    const char *who = json_string_value(json_object_get(req, "operator"));
    if (who)
        mark_present(who, stn_now_ms());
    if (strcmp(op, "ping") == 0) {
        ctl_send(c, "{\"ok\":true}");
    } else if (strcmp(op, "presence") == 0) {
        on_presence(c, req);
    } else if (s->stopping) {
        reply_error(c, "busy", "the station is stopping");
    } else if (s->pending->nctl >= s->pending->ctl_cap) {
        reply_error(c, "busy", "too many operator actions at once; try again");
    } else {
        struct stn_job *j = s->pending;
        struct stn_ctl_req *r = &j->ctl[j->nctl];
        if (stn_job_copy(j, line, len, &r->line_off) != 0) {
            reply_error(c, "busy", "out of memory");
        } else {
            if (j->n == 0 && j->nctl == 0)
                j->t_first_ns = stn_mono_ns();
            r->line_len = len;
            r->ctl = c;
            r->reply[0] = '\0';
            c->refs++;
            c->in_flight = true;
            j->nctl++;
        }
    }
    json_decref(req);
}

/* Takes complete lines from the buffer while no request is in flight. */
static void drain(struct stn_ctl *c)
{
    while (!c->closing && !c->in_flight) {
        char *nl = memchr(c->buf, '\n', c->len);
        if (!nl) {
            if (c->len >= STN_CTL_LINE_MAX) {
                reply_error(c, "invalid", "request line longer than 4096 bytes");
                ctl_close(c);
            }
            return;
        }
        size_t n = (size_t)(nl - c->buf);
        if (n > 0)
            submit(c, c->buf, n);
        memmove(c->buf, nl + 1, c->len - n - 1);
        c->len -= n + 1;
    }
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct stn_ctl *c = h->data;
    (void)suggested;
    size_t room = STN_CTL_LINE_MAX - c->len;
    buf->base = read_buf;
    buf->len = room ? room : 1;
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    struct stn_ctl *c = st->data;
    if (nread < 0) {
        ctl_close(c);
        return;
    }
    if (nread == 0 || c->closing)
        return;
    if ((size_t)nread > STN_CTL_LINE_MAX - c->len) {
        reply_error(c, "invalid", "request line longer than 4096 bytes");
        ctl_close(c);
        return;
    }
    memcpy(c->buf + c->len, buf->base, (size_t)nread);
    c->len += (size_t)nread;
    drain(c);
    /* one request in flight: stop reading until it is answered */
    if (c->in_flight && !c->closing)
        uv_read_stop(st);
}

/* After a commit (commit.c): the replies of the job's requests. */
void stn_control_answer(struct stn *s, struct stn_job *j)
{
    (void)s;
    for (size_t i = 0; i < j->nctl; i++) {
        struct stn_ctl_req *r = &j->ctl[i];
        struct stn_ctl *c = r->ctl;
        if (j->rc != 0 || !r->reply[0])
            reply_error(c, "store", "the store failed: nothing was changed; try again");
        else
            ctl_send(c, r->reply);
        c->in_flight = false;
        c->refs--;
        r->ctl = NULL;
        if (!c->closing) {
            drain(c);
            if (!c->in_flight && !c->closing)
                uv_read_start((uv_stream_t *)&c->pipe, alloc_cb, on_read);
        }
        ctl_free_if_done(c);
    }
}

static void on_connection(uv_stream_t *server, int status)
{
    struct stn *s = server->data;
    if (status < 0)
        return;
    struct stn_ctl *c = stn_calloc(1, sizeof *c);
    if (!c)
        return;
    c->s = s;
    uv_pipe_init(s->loop, &c->pipe, 0);
    c->pipe.data = c;
    if (uv_accept(server, (uv_stream_t *)&c->pipe) != 0) {
        c->closing = true;
        uv_close((uv_handle_t *)&c->pipe, on_close);
        return;
    }
    if (s->nctls >= STN_CTL_CONNS_MAX) {
        /* their descriptors are part of the reserve max_connections leaves */
        STN_WARN("control", "more than %u control connections at once: one closed",
                 STN_CTL_CONNS_MAX);
        c->closing = true;
        uv_close((uv_handle_t *)&c->pipe, on_close);
        return;
    }
    s->nctls++;
    c->next = s->ctls;
    if (s->ctls)
        s->ctls->prev = c;
    s->ctls = c;
    uv_read_start((uv_stream_t *)&c->pipe, alloc_cb, on_read);
}

int stn_control_listen(struct stn *s)
{
    const char *path = s->cfg.control_socket_path;
    struct stat st;
    /* a socket left by a station that died; never remove anything else */
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            fprintf(stderr, "vigil-station: control_socket %s exists and is not a socket\n",
                    path);
            return STN_E_NET;
        }
        unlink(path);
    }
    uv_pipe_init(s->loop, &s->ctl_server, 0);
    s->ctl_server.data = s;
    mode_t old = umask(0177);   /* the socket is created 0600: operators' actions only */
    int rc = uv_pipe_bind(&s->ctl_server, path);
    umask(old);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&s->ctl_server, 64, on_connection);
    if (rc != 0) {
        fprintf(stderr, "vigil-station: control_socket %s: %s\n", path, uv_strerror(rc));
        uv_close((uv_handle_t *)&s->ctl_server, NULL);
        return STN_E_NET;
    }
    s->ctl_open = true;
    return 0;
}

void stn_control_stop(struct stn *s)
{
    if (s->ctl_open) {
        uv_close((uv_handle_t *)&s->ctl_server, NULL);
        unlink(s->cfg.control_socket_path);
        s->ctl_open = false;
    }
    while (s->ctls)
        ctl_close(s->ctls);
}
