/*
 * http.c — vigil-console's HTTP server (libmicrohttpd, a thread per
 * connection: a live stream blocks its own thread only), request bodies,
 * routing, and the JSON replies and error mapping of docs/console.md.
 *
 * Every /api/ path but POST /api/login needs a session (else 401); every
 * state change needs the session's CSRF token (else 403); bodies are bound
 * (CON_BODY_MAX, else 413). Must never log a request body, a cookie or a
 * header value: they carry passwords, passcodes and tokens.
 */
#include "console.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- replies -------------------------------------------------------------- */

static void common_headers(struct MHD_Response *resp)
{
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
}

enum MHD_Result con_reply_text(struct MHD_Connection *c, unsigned status, const char *type,
                               char *text, size_t len)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", type);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    common_headers(resp);
    enum MHD_Result r = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return r;
}

/* Takes body (decref'd here). */
enum MHD_Result con_reply_json(struct MHD_Connection *c, unsigned status, json_t *body)
{
    char *s = body ? json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    json_decref(body);
    if (!s)
        return con_reply_text(c, 500, "application/json",
                              strdup("{\"error\":\"out of memory\"}"), 25);
    return con_reply_text(c, status, "application/json", s, strlen(s));
}

enum MHD_Result con_reply_error(struct MHD_Connection *c, unsigned status, const char *msg)
{
    return con_reply_json(c, status, json_pack("{s:s}", "error", msg));
}

enum MHD_Result con_reply_store_err(struct MHD_Connection *c, int rc)
{
    switch (rc) {
    case STN_E_NOTFOUND: return con_reply_error(c, 404, "not found");
    case STN_E_INVAL:    return con_reply_error(c, 400, "invalid value");
    case STN_E_NOMEM:    return con_reply_error(c, 500, "out of memory");
    default:             return con_reply_error(c, 500, "the store could not be read");
    }
}

int con_read(struct con_app *app, int (*fn)(struct stn_store *st, void *ctx), void *ctx)
{
    pthread_mutex_lock(&app->store_mu);
    int rc = fn(app->store, ctx);
    pthread_mutex_unlock(&app->store_mu);
    return rc;
}

struct stn_store *con_slot_take(struct con_app *app)
{
    pthread_mutex_lock(&app->slot_mu);
    for (;;) {
        for (size_t i = 0; i < CON_HASH_SLOTS; i++) {
            if (!app->slots[i].busy) {
                app->slots[i].busy = true;
                pthread_mutex_unlock(&app->slot_mu);
                return app->slots[i].st;
            }
        }
        pthread_cond_wait(&app->slot_cv, &app->slot_mu);
    }
}

void con_slot_give(struct con_app *app, struct stn_store *st)
{
    pthread_mutex_lock(&app->slot_mu);
    for (size_t i = 0; i < CON_HASH_SLOTS; i++)
        if (app->slots[i].st == st)
            app->slots[i].busy = false;
    pthread_cond_signal(&app->slot_cv);
    pthread_mutex_unlock(&app->slot_mu);
}

/* ---- routing --------------------------------------------------------------- */

/* "123" → 123; anything else (sign, letters, 19+ digits) → -1 */
static int64_t parse_id(const char *s, size_t len)
{
    if (len == 0 || len > 18)
        return -1;
    int64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static bool is(const char *method, const char *m) { return strcmp(method, m) == 0; }

static enum MHD_Result method_not_allowed(struct MHD_Connection *c)
{
    return con_reply_error(c, 405, "method not allowed on this path");
}

/* /api/alarms/{id}[/{action}|/dispatch.json|/dispatch.xml|/dispute.json|/dispute.html] */
static enum MHD_Result route_alarm(struct con_app *app, struct MHD_Connection *c,
                                   struct con_req *r, const char *method, const char *rest)
{
    const char *slash = strchr(rest, '/');
    int64_t id = parse_id(rest, slash ? (size_t)(slash - rest) : strlen(rest));
    if (id < 0)
        return con_reply_error(c, 404, "no such alarm");
    if (!slash) {
        if (!is(method, "GET"))
            return method_not_allowed(c);
        return con_api_alarm_view(app, c, r, id);
    }
    const char *sub = slash + 1;
    if (strcmp(sub, "dispatch.json") == 0 || strcmp(sub, "dispatch.xml") == 0) {
        if (!is(method, "GET"))
            return method_not_allowed(c);
        return con_dispatch_export(app, c, id, sub[9] == 'x');
    }
    if (strcmp(sub, "dispute.json") == 0 || strcmp(sub, "dispute.html") == 0) {
        if (!is(method, "GET"))
            return method_not_allowed(c);
        return con_dispute_export(app, c, r, id, sub[8] == 'h');
    }
    static const char *const actions[] = { "take", "release", "step", "passcode", "dispatch",
                                           "psap", "close" };
    for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++)
        if (strcmp(sub, actions[i]) == 0)
            return is(method, "POST") ? con_action(app, c, r, id, sub) : method_not_allowed(c);
    return con_reply_error(c, 404, "no such path");
}

/* A path and the one method it answers. */
static bool route_is(const char *url, const char *path)
{
    return strcmp(url, path) == 0;
}

struct role_ctx { const char *name; char role[16]; };

static int rd_role(struct stn_store *st, void *ctx)
{
    struct role_ctx *x = ctx;
    return stn_operator_role(st, x->name, x->role);
}

/* An operator disabled (or removed) since login loses the session at once;
 * a role changed since login applies from the next request. */
static bool still_enabled(struct con_app *app, struct con_session_info *s)
{
    struct role_ctx x = { .name = s->name };
    int rc = con_read(app, rd_role, &x);
    if (rc == STN_E_NOTFOUND) {
        con_session_end(app->sessions, s->id);
        con_changes_wake(app->changes);
        return false;
    }
    if (rc == 0)
        memcpy(s->role, x.role, sizeof s->role);
    return true;   /* a store hiccup keeps the session (the station checks roles again) */
}

static enum MHD_Result route_api(struct con_app *app, struct MHD_Connection *c,
                                 struct con_req *r, const char *url, const char *method)
{
    if (route_is(url, "/api/login"))
        return is(method, "POST") ? con_api_login(app, c, r) : method_not_allowed(c);
    const char *cookie = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, "vigil_session");
    r->have_session = con_session_find(app->sessions, cookie, &r->session) == 0 &&
                      still_enabled(app, &r->session);
    if (!r->have_session)
        return con_reply_error(c, 401, "not logged in (or the session ended)");
    if (!is(method, "GET") && !is(method, "HEAD") &&
        !con_csrf_ok(&r->session, MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-CSRF-Token")))
        return con_reply_error(c, 403, "missing or wrong X-CSRF-Token");
    if (r->too_large)
        return con_reply_error(c, 413, "request body too large");
    if (route_is(url, "/api/logout"))
        return is(method, "POST") ? con_api_logout(app, c, r) : method_not_allowed(c);
    if (route_is(url, "/api/session"))
        return is(method, "GET") ? con_api_session(app, c, r) : method_not_allowed(c);
    if (route_is(url, "/api/alarms"))
        return is(method, "GET") ? con_api_alarms(app, c, r) : method_not_allowed(c);
    if (route_is(url, "/api/alarms/stream"))
        return is(method, "GET") ? con_stream(app, c, r) : method_not_allowed(c);
    if (strncmp(url, "/api/alarms/", 12) == 0)
        return route_alarm(app, c, r, method, url + 12);
    if (route_is(url, "/api/accounts"))
        return is(method, "GET")    ? con_api_accounts(app, c, NULL)
               : is(method, "POST") ? con_account_create(app, c, r)
                                    : method_not_allowed(c);
    if (strncmp(url, "/api/accounts/", 14) == 0) {
        bool handled = false;   /* .../setup, .../test, .../test/end (setup.c) */
        enum MHD_Result res = con_setup_account_route(app, c, r, method, url + 14, &handled);
        if (handled)
            return res;
        return is(method, "GET") ? con_api_accounts(app, c, url + 14) : method_not_allowed(c);
    }
    if (strncmp(url, "/api/setup/", 11) == 0)
        return con_setup_route(app, c, r, method, url + 11);
    if (route_is(url, "/api/events"))
        return is(method, "GET") ? con_api_events(app, c) : method_not_allowed(c);
    if (route_is(url, "/api/signals"))
        return is(method, "GET") ? con_api_signals(app, c) : method_not_allowed(c);
    if (route_is(url, "/api/operators"))
        return is(method, "GET") ? con_api_operators(app, c, r) : method_not_allowed(c);
    return con_reply_error(c, 404, "no such path");
}

static void client_addr(struct MHD_Connection *c, char out[64])
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    out[0] = '\0';
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out, 64);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out, 64);
}

/* Takes the body in pieces; the request is answered on the last call. */
static enum MHD_Result take_body(struct MHD_Connection *c, struct con_req *r,
                                 const char *data, size_t *size)
{
    if (r->too_large || r->body_len + *size > CON_BODY_MAX) {
        r->too_large = true;      /* the rest is read and dropped; 413 at the end */
    } else {
        char *b = realloc(r->body, r->body_len + *size + 1);
        if (!b)
            return MHD_NO;
        memcpy(b + r->body_len, data, *size);
        r->body = b;
        r->body_len += *size;
        r->body[r->body_len] = '\0';
    }
    (void)c;
    *size = 0;
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    struct con_app *app = cls;
    (void)version;
    struct con_req *r = *con_cls;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r)
            return MHD_NO;
        *con_cls = r;
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > CON_BODY_MAX)
            return con_reply_error(c, 413, "request body too large");
        return MHD_YES;
    }
    if (*upload_data_size)
        return take_body(c, r, upload_data, upload_data_size);
    client_addr(c, r->addr);
    con_metrics_request();
    if (strcmp(url, "/metrics") == 0)   /* no login: metrics_allow addresses only */
        return con_metrics(app, c, r, method);
    if (strncmp(url, "/api/", 5) == 0 || strcmp(url, "/api") == 0)
        return route_api(app, c, r, url, method);
    if (!is(method, "GET") && !is(method, "HEAD"))
        return method_not_allowed(c);
    return con_static(app, c, url);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    struct con_req *r = *con_cls;
    if (!r)
        return;
    if (r->body) {
        sodium_memzero(r->body, r->body_len);   /* it may hold a password or a passcode */
        free(r->body);
    }
    sodium_memzero(&r->session, sizeof r->session);
    free(r);
    *con_cls = NULL;
}

/* ---- the server -------------------------------------------------------------- */

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            char *b = realloc(buf, cap);
            if (!b || cap > 1u << 20) {   /* a PEM file is small */
                free(b ? b : buf);
                fclose(f);
                return NULL;
            }
            buf = b;
        }
        size_t n = fread(buf + len, 1, 4096, f);
        len += n;
        if (n < 4096)
            break;
    }
    fclose(f);
    buf[len] = '\0';
    return buf;
}

/* HOST:PORT (or [V6]:PORT) into an address MHD binds to. */
static int listen_addr(const char *hostport, struct sockaddr_storage *ss, bool *v6)
{
    char host[256];
    const char *colon = strrchr(hostport, ':');
    if (!colon)
        return -1;
    size_t hl = (size_t)(colon - hostport);
    const char *h = hostport;
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    if (hl >= sizeof host)
        return -1;
    memcpy(host, h, hl);
    host[hl] = '\0';
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_NUMERICSERV | AI_PASSIVE }, *res = NULL;
    if (getaddrinfo(hl ? host : NULL, colon + 1, &hints, &res) != 0 || !res)
        return -1;
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *v6 = res->ai_family == AF_INET6;
    freeaddrinfo(res);
    return 0;
}

/* libmicrohttpd's own messages (its format strings, not ours) */
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
    CON_WARN("http", "%s", line);
}
#pragma GCC diagnostic pop

int con_http_start(struct con_app *app, uint16_t *bound_port)
{
    struct sockaddr_storage ss;
    bool v6 = false;
    if (listen_addr(app->cfg.http_listen, &ss, &v6) != 0) {
        CON_ERROR("http", "cannot resolve http_listen %s", app->cfg.http_listen);
        return CON_E_START;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0);
    char *cert = NULL, *key = NULL;
    if (app->cfg.tls_cert_file[0]) {
        cert = read_file(app->cfg.tls_cert_file);
        key = read_file(app->cfg.tls_key_file);
        if (!cert || !key) {
            CON_ERROR("http", "cannot read %s", !cert ? app->cfg.tls_cert_file : app->cfg.tls_key_file);
            free(cert);
            if (key)
                sodium_memzero(key, strlen(key));
            free(key);
            return CON_E_START;
        }
        flags |= MHD_USE_TLS;
        app->tls = true;
    }
    struct MHD_OptionItem tls_opts[] = {
        { MHD_OPTION_HTTPS_MEM_CERT, 0, cert },
        { MHD_OPTION_HTTPS_MEM_KEY, 0, key },
        { MHD_OPTION_END, 0, NULL },
    };
    app->httpd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, app,
        MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, app,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)app->cfg.http_connections_max,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, app,
        MHD_OPTION_ARRAY, app->tls ? tls_opts : &tls_opts[2],
        MHD_OPTION_END);
    app->tls_cert = cert;
    app->tls_key = key;
    if (!app->httpd) {
        CON_ERROR("http", "cannot listen on %s: %s", app->cfg.http_listen, strerror(errno));
        return CON_E_START;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(app->httpd, MHD_DAEMON_INFO_BIND_PORT);
    *bound_port = di ? di->port : 0;
    con_metrics_started();
    return 0;
}

void con_http_stop(struct con_app *app)
{
    if (app->httpd)
        MHD_stop_daemon(app->httpd);
    app->httpd = NULL;
    con_metrics_free();
    free(app->tls_cert);
    if (app->tls_key)
        sodium_memzero(app->tls_key, strlen(app->tls_key));
    free(app->tls_key);
    app->tls_cert = app->tls_key = NULL;
}
