/*
 * metrics.c — vigil-station's Prometheus endpoint (metrics_listen): GET
 * /metrics in the text exposition format 0.0.4.
 *
 * A scraper must never slow or stop the station, so nothing here runs on the
 * libuv loop: the loop copies its counters into a snapshot under a mutex once
 * a second (stn_metrics_publish: a memcpy of a few KiB), and libmicrohttpd's
 * own thread answers scrapes from that copy. The store's gauges are read on
 * that thread's own connection (a WAL reader: it never blocks the commit
 * worker), at most once a second whatever the scrape rate. At most
 * STN_METRICS_CONNS_MAX scrapers at once, each given 10 s.
 */
#include "daemon.h"
#include "metrics.h"

#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct {
    pthread_mutex_t mu;           /* guards the snapshot */
    struct stn_counters c;
    uint64_t log_dropped, log_suppressed;
    int64_t  started_ms, published_ms;
    bool     published;
    /* the server's thread only */
    struct MHD_Daemon *d;
    int      port;
    struct stn_metrics_reader *store;
} M = { .mu = PTHREAD_MUTEX_INITIALIZER };

void stn_metrics_publish(const struct stn *s)
{
    if (!M.d)
        return;
    pthread_mutex_lock(&M.mu);
    M.c = s->c;
    M.log_dropped = stn_log_dropped();
    M.log_suppressed = stn_log_suppressed();
    M.started_ms = s->started_ms;
    M.published_ms = stn_now_ms();
    M.published = true;
    pthread_mutex_unlock(&M.mu);
}

int stn_metrics_port(void)
{
    return M.port;
}

/* ---- the text --------------------------------------------------------- */

static const char *const verdict_names[STN_V_COUNT] = {
    [STN_V_ACK] = "ack", [STN_V_DUPLICATE] = "duplicate", [STN_V_NAK] = "nak",
    [STN_V_DUH] = "duh", [STN_V_REPLAY] = "replay", [STN_V_THROTTLED] = "throttled",
    [STN_V_BUSY] = "busy", [STN_V_CRC_ERROR] = "crc_error",
    [STN_V_LENGTH_ERROR] = "length_error", [STN_V_UNREADABLE] = "unreadable",
    [STN_V_NO_REPLY] = "no_reply",
};

static const char *id_label(unsigned id)
{
    return id == 0 ? "unknown" : dc09_id_name((enum dc09_id)id);
}

static void counter(struct stn_text *t, const char *name, const char *help, uint64_t v)
{
    stn_prom_family(t, name, "counter", help);
    stn_prom_u64(t, name, NULL, v);
}

static void gauge(struct stn_text *t, const char *name, const char *help, double v)
{
    stn_prom_family(t, name, "gauge", help);
    stn_prom_f64(t, name, NULL, v);
}

/* commit_hist: 100 µs buckets, the last one 20 ms and more */
static const double commit_bounds_s[] = { 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02 };

static void write_counters(struct stn_text *t, const struct stn_counters *c,
                           uint64_t log_dropped, int64_t started_ms)
{
    const char *fr = "vigil_station_frames_received_total";
    stn_prom_family(t, fr, "counter",
                    "DC-09 frames received, by id (SIA-DCS, ADM-CID, NULL, ...; unknown: header "
                    "unreadable) and verdict decided on receipt (ack: taken for storage, "
                    "acknowledged once durable)");
    for (unsigned id = 0; id < STN_FRAME_IDS; id++)
        for (unsigned v = 0; v < STN_V_COUNT; v++) {
            /* every series a panel can make, zeros included; ACK/NAK/DUH as ids
             * only when such frames came (a station receives none normally) */
            if (id >= DC09_ID_ACK && c->frames_by[id][v] == 0)
                continue;
            char labels[80];
            snprintf(labels, sizeof labels, "id=\"%s\",verdict=\"%s\"", id_label(id),
                     verdict_names[v]);
            stn_prom_u64(t, fr, labels, c->frames_by[id][v]);
        }
    stn_prom_family(t, "vigil_station_replies_total", "counter",
                    "Replies sent to panels, by kind");
    stn_prom_u64(t, "vigil_station_replies_total", "kind=\"ack\"", c->acks);
    stn_prom_u64(t, "vigil_station_replies_total", "kind=\"nak\"", c->naks);
    stn_prom_u64(t, "vigil_station_replies_total", "kind=\"duh\"", c->duhs);
    counter(t, "vigil_station_duress_received_total",
            "Duress and hold-up events received from registered accounts and taken for "
            "storage (duplicates not counted)", c->duress_rx);
    counter(t, "vigil_station_supervision_failures_total",
            "Communication-failure alarms raised by supervision (an account silent past its "
            "interval plus grace)", c->supervision_failures);
    counter(t, "vigil_station_events_stored_total", "Events committed to the store",
            c->events_stored);
    counter(t, "vigil_station_commit_failures_total",
            "Group commits that failed (nothing of them stored or acknowledged)",
            c->commit_failures);

    const char *h = "vigil_station_commit_duration_seconds";
    stn_prom_family(t, h, "histogram", "Time of one group commit's transaction");
    const size_t nb = sizeof c->commit_hist / sizeof c->commit_hist[0];
    uint64_t cum = 0;
    size_t i = 0;
    for (size_t b = 0; b < sizeof commit_bounds_s / sizeof commit_bounds_s[0]; b++) {
        size_t upto = (size_t)(commit_bounds_s[b] * 10000.0 + 0.5);   /* in 100 µs */
        for (; i < upto && i < nb; i++)
            cum += c->commit_hist[i];
        char labels[32];
        snprintf(labels, sizeof labels, "le=\"%g\"", commit_bounds_s[b]);
        stn_prom_u64(t, "vigil_station_commit_duration_seconds_bucket", labels, cum);
    }
    stn_prom_u64(t, "vigil_station_commit_duration_seconds_bucket", "le=\"+Inf\"", c->commits);
    stn_prom_f64(t, "vigil_station_commit_duration_seconds_sum", NULL,
                 (double)c->commit_us_total / 1e6);
    stn_prom_u64(t, "vigil_station_commit_duration_seconds_count", NULL, c->commits);

    stn_prom_family(t, "vigil_station_batch_items", "summary",
                    "Items (events, polls, acknowledgements) per committed batch");
    stn_prom_u64(t, "vigil_station_batch_items_sum", NULL, c->committed_items);
    stn_prom_u64(t, "vigil_station_batch_items_count", NULL, c->commits);

    gauge(t, "vigil_station_connections_open", "TCP connections from panels open now",
          (double)c->conns_open);
    counter(t, "vigil_station_connections_accepted_total", "TCP connections accepted",
            c->conns_accepted);
    counter(t, "vigil_station_connections_refused_total",
            "TCP connections refused or closed to make room (max_connections)",
            c->conns_refused + c->conns_evicted);
    counter(t, "vigil_station_log_lines_dropped_total",
            "Log lines lost to a full log buffer (a stderr slower than the station)",
            log_dropped);
    gauge(t, "vigil_station_start_time_seconds", "Unix time the station started",
          (double)started_ms / 1000.0);
}

static char *render(size_t *len)
{
    struct stn_counters *c = malloc(sizeof *c);
    if (!c)
        return NULL;
    uint64_t dropped;
    int64_t started, published;
    bool have;
    pthread_mutex_lock(&M.mu);
    *c = M.c;
    dropped = M.log_dropped;
    started = M.started_ms;
    published = M.published_ms;
    have = M.published;
    pthread_mutex_unlock(&M.mu);

    int64_t now = stn_now_ms();
    struct stn_text t = { 0 };
    if (have)
        write_counters(&t, c, dropped, started);
    gauge(&t, "vigil_station_metrics_age_seconds",
          "Age of the counters in this answer (the loop publishes them once a second)",
          have ? (double)(now - published) / 1000.0 : 0.0);
    if (M.store)
        stn_metrics_reader_write(M.store, &t);
    free(c);
    if (t.failed) {
        free(t.p);
        return NULL;
    }
    *len = t.len;
    return t.p;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *text)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)text,
                                                             MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **con_cls)
{
    (void)cls;
    (void)version;
    (void)upload;
    if (!*con_cls) {              /* headers only so far */
        *con_cls = conn;
        return MHD_YES;
    }
    if (*upload_size) {           /* a body: read and dropped */
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp(url, "/metrics") != 0)
        return reply(conn, MHD_HTTP_NOT_FOUND, "not found: the metrics are at /metrics\n");
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "GET /metrics only\n");
    size_t len = 0;
    char *body = render(&len);
    if (!body)
        return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", STN_PROM_CONTENT_TYPE);
    enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    STN_WARN("metrics", "%s", line);
}
#pragma GCC diagnostic pop

int stn_metrics_start(struct stn *s, char *msg, size_t cap)
{
    const char *spec = s->cfg.metrics_listen;
    if (!spec[0])
        return 0;
    char host[256];
    const char *colon = strrchr(spec, ':');
    size_t hl = colon ? (size_t)(colon - spec) : 0;
    const char *h = spec;
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    if (!colon || hl == 0 || hl >= sizeof host) {
        snprintf(msg, cap, "metrics_listen %s: expected HOST:PORT", spec);
        return STN_E_CONFIG;
    }
    memcpy(host, h, hl);
    host[hl] = '\0';
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_NUMERICSERV | AI_PASSIVE }, *res = NULL;
    if (getaddrinfo(host, colon + 1, &hints, &res) != 0 || !res) {
        snprintf(msg, cap, "metrics_listen %s: cannot resolve host", spec);
        return STN_E_NET;
    }
    struct sockaddr_storage ss;
    memcpy(&ss, res->ai_addr, res->ai_addrlen);
    bool v6 = res->ai_family == AF_INET6;
    freeaddrinfo(res);
    M.store = stn_metrics_reader_new(s->cfg.store_path);
    if (!M.store) {
        snprintf(msg, cap, "metrics_listen %s: out of memory", spec);
        return STN_E_NOMEM;
    }
    M.d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
                           (v6 ? MHD_USE_IPv6 : 0), 0, NULL, NULL, on_request, NULL,
                           MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
                           MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                           MHD_OPTION_CONNECTION_LIMIT, STN_METRICS_CONNS_MAX,
                           MHD_OPTION_CONNECTION_TIMEOUT, 10u,
                           MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 * 1024),
                           MHD_OPTION_END);
    if (!M.d) {
        snprintf(msg, cap, "metrics_listen %s: cannot listen", spec);
        return STN_E_NET;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(M.d, MHD_DAEMON_INFO_BIND_PORT);
    M.port = di ? di->port : 0;
    stn_metrics_publish(s);
    return 0;
}

void stn_metrics_stop(void)
{
    if (M.d)
        MHD_stop_daemon(M.d);
    M.d = NULL;
    M.port = 0;
    stn_metrics_reader_free(M.store);
    M.store = NULL;
}
