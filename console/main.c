/*
 * vigil-console — the operators' program: the HTTP API and the live web
 * console over vigil-station's store (docs/console.md). A process apart
 * from vigil-station on purpose: its crash, hang or overload never stops
 * the receiver ACKing. It reads the store and sends every alarm action to
 * the station's control socket; it never writes alarm state itself.
 *
 * This file: arguments, configuration, start in order (store, sessions,
 * change poller, presence, HTTP), wait for SIGTERM / SIGINT, stop in the
 * reverse order, exit 0. Under systemd (Type=notify): READY=1 once HTTP
 * listens; WATCHDOG=1 from the main thread only after its own HTTP port
 * answered a request; SIGHUP re-reads log_level. Must never log a password, passcode, session or
 * CSRF token.
 */
#include "console.h"
#include "opts.h"
#include "vigil/sdnotify.h"

#include <errno.h>
#include <netdb.h>
#include <sys/socket.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

/* The command line: one table (cli/opts.h), read by the parser, --help and
 * vigil-console(8) (--help-man). */
struct main_args {
    const char *path;
    bool test, help_man, dump;
};
static const struct opt main_opts[] = {
    { NULL, 'c', "FILE", OPT_STR, OPT_REQUIRED, offsetof(struct main_args, path), NULL,
      "the configuration file, the same as vigil-station's (vigil.conf(5))" },
    { "--test-config", 0, NULL, OPT_BOOL, 0, offsetof(struct main_args, test), NULL,
      "check the configuration (keys, web files, TLS files, http_listen) and exit: "
      "0 valid, 2 invalid" },
    { "--help", 'h', NULL, OPT_HELP, 0, 0, NULL, "print this help" },
    { "--help-man", 0, NULL, OPT_BOOL, OPT_HIDDEN, offsetof(struct main_args, help_man), NULL,
      "the options as roff" },
    { "--dump-options", 0, NULL, OPT_BOOL, OPT_HIDDEN, offsetof(struct main_args, dump), NULL,
      "the options, one a line" },
};
static const struct opt_cmd main_cmd = {
    .prog = "vigil-console", .synopsis = "-c FILE [--test-config]",
    .summary = "The operators' web console on the station's store.",
    .opts = main_opts, .n_opts = OPTS_N(main_opts), .max_operands = 0, .style = OPTS_USAGE,
};



/* --test-config: what the console would fail on at start, found now — the
 * web files, the TLS files, an http_listen host that does not resolve. Returns
 * how many problems it printed. (A store that does not exist is refused at
 * start, not here: the station may create it first.) */
static int test_config_deeper(const struct stn_config *cfg, const char *path)
{
    int bad = 0;
    char index[STN_PATH_MAX + 16];
    snprintf(index, sizeof index, "%s/index.html", cfg->web_root_path);
    if (access(index, R_OK) != 0) {
        fprintf(stderr, "vigil-console: %s: web_root %s: no readable index.html there\n", path,
                cfg->web_root_path);
        bad++;
    }
    const char *tls[] = { cfg->tls_cert_file, cfg->tls_key_file };
    for (size_t i = 0; i < 2; i++)
        if (tls[i][0] && access(tls[i], R_OK) != 0) {
            fprintf(stderr, "vigil-console: %s: %s %s cannot be read: %s\n", path,
                    i ? "tls_key_file" : "tls_cert_file", tls[i], strerror(errno));
            bad++;
        }
    char host[256];
    const char *colon = strrchr(cfg->http_listen, ':');
    size_t hl = colon ? (size_t)(colon - cfg->http_listen) : 0;
    const char *h = cfg->http_listen;
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    if (hl < sizeof host) {
        memcpy(host, h, hl);
        host[hl] = '\0';
        struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE }, *res = NULL;
        if (getaddrinfo(hl ? host : NULL, "0", &hints, &res) != 0) {
            fprintf(stderr, "vigil-console: %s: http_listen %s: cannot resolve host '%s'\n",
                    path, cfg->http_listen, host);
            bad++;
        } else {
            freeaddrinfo(res);
        }
    }
    return bad;
}

static int open_stores(struct con_app *app)
{
    char msg[512];
    if (stn_store_open_existing(&app->cfg, &app->store, msg, sizeof msg) != 0) {
        CON_ERROR("main", "%s", msg);
        return CON_E_START;
    }
    for (size_t i = 0; i < CON_HASH_SLOTS; i++) {
        if (stn_store_open(&app->cfg, &app->slots[i].st, msg, sizeof msg) != 0) {
            CON_ERROR("main", "%s", msg);
            return CON_E_START;
        }
    }
    return 0;
}

static void close_stores(struct con_app *app)
{
    for (size_t i = 0; i < CON_HASH_SLOTS; i++)
        stn_store_close(app->slots[i].st);
    stn_store_close(app->store);
}

static int start(struct con_app *app, uint16_t *bound)
{
    if (open_stores(app) != 0 || con_sessions_create(&app->cfg, &app->sessions) != 0 ||
        con_changes_start(app) != 0 || con_presence_start(app) != 0)
        return CON_E_START;
    uint16_t port = 0;
    if (con_http_start(app, &port) != 0)
        return CON_E_START;
    /* the host as configured, the port as bound (port 0 picks one) */
    char host[CONF_VALUE_MAX];
    snprintf(host, sizeof host, "%s", app->cfg.http_listen);
    char *colon = strrchr(host, ':');
    if (colon)
        *colon = '\0';
    CON_INFO("main", "listening http %s:%u%s", host, (unsigned)port, app->tls ? " (TLS)" : "");
    *bound = port;
    return 0;
}

static void stop(struct con_app *app)
{
    atomic_store(&app->stopping, true);
    if (app->changes)
        con_changes_wake(app->changes);   /* streams end their wait */
    /* a moment for the streams to write their last chunk: a page sees a
     * clean end (and reconnects elsewhere), not a broken transfer */
    struct timespec tick = { .tv_nsec = 10 * 1000000L };
    for (int i = 0; i < 100 && atomic_load(&app->streams) > 0; i++)
        nanosleep(&tick, NULL);
    con_http_stop(app);
    con_presence_stop(app);
    con_changes_stop(app);
    con_sessions_destroy(app->sessions);
    close_stores(app);
}

/* The watchdog's proof that HTTP is alive: a request to our own port gets an
 * answer (any bytes, or the connection closed by the server, as a TLS port
 * does with a plain request) within timeout_ms. */
static bool http_answers(const char *listen, uint16_t port, int timeout_ms)
{
    char host[256];
    const char *colon = strrchr(listen, ':');
    size_t hl = colon ? (size_t)(colon - listen) : 0;
    if (hl >= 2 && listen[0] == '[' && listen[hl - 1] == ']') {
        listen++;
        hl -= 2;
    }
    if (hl >= sizeof host)
        return false;
    memcpy(host, listen, hl);
    host[hl] = '\0';
    /* a wildcard address is reached on loopback */
    if (hl == 0 || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "*") == 0)
        snprintf(host, sizeof host, "127.0.0.1");
    else if (strcmp(host, "::") == 0)
        snprintf(host, sizeof host, "::1");
    char ps[8];
    snprintf(ps, sizeof ps, "%u", (unsigned)port);
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV }, *res = NULL;
    if (getaddrinfo(host, ps, &hints, &res) != 0 || !res)
        return false;
    bool ok = false;
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
    if (fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0 &&
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == 0 &&
        connect(fd, res->ai_addr, res->ai_addrlen) == 0) {
        static const char req[] = "GET /api/session HTTP/1.0\r\nHost: localhost\r\n\r\n";
        char b[64];
        if (send(fd, req, sizeof req - 1, MSG_NOSIGNAL) == (ssize_t)(sizeof req - 1)) {
            ssize_t n = recv(fd, b, sizeof b, 0);
            ok = n > 0 || n == 0 || (n < 0 && errno == ECONNRESET);
        }
    }
    if (fd >= 0)
        close(fd);
    freeaddrinfo(res);
    return ok;
}

/* SIGHUP: log_level from the file again; every other key needs a restart. */
static void reload(struct con_app *app, const char *path)
{
    static struct stn_config n;
    struct conf_error err = { 0 };
    sd_notify(0, "RELOADING=1");
    if (stn_config_load(path, &n, &err) != 0) {
        CON_ERROR("config", "SIGHUP: reload refused, configuration unchanged: %s", err.msg);
    } else {
        app->cfg.log_level = n.log_level;
        stn_log_set_level(n.log_level);
        CON_INFO("config", "SIGHUP: log_level re-read from %s; other keys take effect "
                 "after a restart", path);
    }
    sd_notify(0, "READY=1");
}

/* Waits for SIGTERM or SIGINT; meanwhile answers SIGHUP and, under a systemd
 * watchdog, pings it at half its interval while HTTP answers. */
static int wait_for_signal(struct con_app *app, const char *path, uint16_t port)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    uint64_t wd_us = 0;
    if (sd_watchdog_enabled(0, &wd_us) <= 0)
        wd_us = 0;
    if (wd_us)
        CON_INFO("main", "systemd watchdog: a ping every %llu ms while HTTP answers",
                 (unsigned long long)(wd_us / 2000));
    for (;;) {
        int sig = 0;
        if (wd_us) {
            uint64_t half = wd_us / 2;
            struct timespec ts = { .tv_sec = (time_t)(half / 1000000),
                                   .tv_nsec = (long)(half % 1000000) * 1000 };
            sig = sigtimedwait(&set, NULL, &ts);
            if (sig < 0) {
                /* the probe waits at most a quarter of the interval */
                int t = (int)(wd_us / 4000) > 0 ? (int)(wd_us / 4000) : 1;
                if (http_answers(app->cfg.http_listen, port, t))
                    sd_notify(0, "WATCHDOG=1");
                else
                    CON_WARN("main", "HTTP did not answer within %d ms: no watchdog ping", t);
                continue;
            }
        } else if (sigwait(&set, &sig) != 0) {
            continue;
        }
        if (sig == SIGHUP) {
            reload(app, path);
            continue;
        }
        return sig;
    }
}

int main(int argc, char **argv)
{
    struct main_args ma = { 0 };
    for (int i = 1; i < argc; i++) {   /* the table dumps need no -c */
        if (strcmp(argv[i], "--help-man") == 0 || strcmp(argv[i], "--dump-options") == 0) {
            if (strcmp(argv[i], "--help-man") == 0)
                opts_man(&main_cmd, stdout, false);
            else
                opts_dump(&main_cmd, stdout);
            return fflush(stdout) == 0 ? 0 : 2;
        }
    }
    int prc = opts_parse(&main_cmd, argc, argv, 1, &ma, NULL);
    if (prc != 0)
        return prc == OPTS_DONE_HELP ? 0 : 2;
    const char *path = ma.path;
    bool test = ma.test;
    static struct con_app app;   /* large (config paths); lives for the whole run */
    struct conf_error err = { 0 };
    if (stn_config_load(path, &app.cfg, &err) != 0) {
        fprintf(stderr, "vigil-console: %s\n", err.msg);
        return 2;
    }
    if (test) {
        if (test_config_deeper(&app.cfg, path) != 0)
            return 2;
        printf("%s: configuration valid\n", path);
        return 0;
    }
    stn_log_set_level(app.cfg.log_level);
    /* signals go to sigwait here only; every thread started below inherits the mask */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    pthread_mutex_init(&app.store_mu, NULL);
    pthread_mutex_init(&app.slot_mu, NULL);
    pthread_cond_init(&app.slot_cv, NULL);
    uint16_t port = 0;
    if (start(&app, &port) != 0) {
        stop(&app);
        return 1;
    }
    sd_notify(0, "READY=1");
    int sig = wait_for_signal(&app, path, port);
    sd_notify(0, "STOPPING=1");
    CON_INFO("main", "%s: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
    stop(&app);
    CON_INFO("main", "exit 0");
    return 0;
}
