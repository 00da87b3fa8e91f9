/*
 * metrics.c — vigil-console's GET /metrics (Prometheus text format 0.0.4).
 *
 * A scraper has no login: /metrics answers without one, but only to the
 * client addresses listed in metrics_allow (default 127.0.0.1; every other
 * client gets 403, and the operators' endpoints are unchanged). Nothing in it is a
 * secret: counts and ages, no account, operator or code.
 *
 * The store's gauges (the same names vigil-station serves) come from a
 * connection of their own, read at most once a second however often the
 * endpoint is scraped.
 */
#include "console.h"
#include "vigil/metrics.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static atomic_uint_fast64_t requests, scrapes, refused;
static int64_t started_ms;
static pthread_mutex_t reader_mu = PTHREAD_MUTEX_INITIALIZER;
static struct stn_metrics_reader *reader;

void con_metrics_request(void)
{
    atomic_fetch_add(&requests, 1);
}

void con_metrics_started(void)
{
    started_ms = stn_now_ms();
}

void con_metrics_free(void)
{
    pthread_mutex_lock(&reader_mu);
    stn_metrics_reader_free(reader);
    reader = NULL;
    pthread_mutex_unlock(&reader_mu);
}

/* 16 bytes, IPv4 as ::ffff:a.b.c.d; false when not an address */
static bool addr16(const char *text, unsigned char out[16])
{
    unsigned char v4[4];
    if (inet_pton(AF_INET, text, v4) == 1) {
        memset(out, 0, 10);
        out[10] = out[11] = 0xff;
        memcpy(out + 12, v4, 4);
        return true;
    }
    return inet_pton(AF_INET6, text, out) == 1;
}

static bool allowed(const struct con_app *app, const char *client)
{
    unsigned char a[16], b[16];
    if (!client[0] || !addr16(client, a))
        return false;
    for (unsigned i = 0; i < app->cfg.metrics_allow.n; i++)
        if (addr16(app->cfg.metrics_allow.v[i], b) && memcmp(a, b, 16) == 0)
            return true;
    return false;
}

enum MHD_Result con_metrics(struct con_app *app, struct MHD_Connection *c,
                            const struct con_req *r, const char *method)
{
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return con_reply_error(c, 405, "GET /metrics only");
    if (!allowed(app, r->addr)) {
        atomic_fetch_add(&refused, 1);
        return con_reply_error(c, 403, "metrics: this address is not in metrics_allow");
    }
    atomic_fetch_add(&scrapes, 1);
    struct stn_text t = { 0 };
    stn_prom_family(&t, "vigil_console_requests_total", "counter",
                    "HTTP requests the console has answered or is answering");
    stn_prom_u64(&t, "vigil_console_requests_total", NULL, atomic_load(&requests));
    stn_prom_family(&t, "vigil_console_metrics_refused_total", "counter",
                    "Requests for /metrics refused: the client address is not in "
                    "metrics_allow");
    stn_prom_u64(&t, "vigil_console_metrics_refused_total", NULL, atomic_load(&refused));
    stn_prom_family(&t, "vigil_console_streams_open", "gauge",
                    "Live alarm streams open (operators' consoles watching the queue)");
    stn_prom_u64(&t, "vigil_console_streams_open", NULL,
                 (uint64_t)(atomic_load(&app->streams) > 0 ? atomic_load(&app->streams) : 0));
    stn_prom_family(&t, "vigil_console_station_up", "gauge",
                    "1 when vigil-station's control socket answers (operator actions can be "
                    "taken), else 0");
    stn_prom_u64(&t, "vigil_console_station_up", NULL,
                 stn_ctl_answers(app->cfg.control_socket_path) ? 1 : 0);
    stn_prom_family(&t, "vigil_console_start_time_seconds", "gauge",
                    "Unix time the console started");
    stn_prom_f64(&t, "vigil_console_start_time_seconds", NULL, (double)started_ms / 1000.0);
    pthread_mutex_lock(&reader_mu);
    if (!reader)
        reader = stn_metrics_reader_new(app->cfg.store_path);
    if (reader)
        stn_metrics_reader_write(reader, &t);
    pthread_mutex_unlock(&reader_mu);
    if (t.failed || !t.p) {
        free(t.p);
        return con_reply_error(c, 500, "out of memory");
    }
    return con_reply_text(c, 200, STN_PROM_CONTENT_TYPE, t.p, t.len);
}
