/*
 * main.c — vigil-station: arguments, startup (config, store, accounts,
 * duplicate window, listeners, ready file), the once-a-second tick, signals
 * (TERM/INT stop, HUP reload, USR1 counters) and the clean stop.
 *
 * Stop: stop accepting and reading, let the commit in flight finish, commit
 * what was already parsed, answer it, close, exit 0. Must never exit with an
 * ACK sent for anything not committed, and never print a key or passcode.
 */
#include "daemon.h"
#include "db.h"
#include "transport.h"
#include "opts.h"
#include "vigil/sdnotify.h"
#include "metrics.h"

#include <errno.h>
#include <jansson.h>
#include <netdb.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The command line: one table (cli/opts.h), read by the parser, --help and
 * vigil-station(8) (--help-man); --help-man-keys prints the configuration
 * keys' table (config.c) as roff for vigil.conf(5). */
struct main_args {
    const char *path;
    bool test_only, help_man, help_man_keys, dump;
};
static const struct opt main_opts[] = {
    { NULL, 'c', "FILE", OPT_STR, OPT_REQUIRED, offsetof(struct main_args, path), NULL,
      "the configuration file (vigil.conf(5); installed as /etc/vigil/vigil-station.conf)" },
    { "--test-config", 0, NULL, OPT_BOOL, 0, offsetof(struct main_args, test_only), NULL,
      "check the configuration (keys, store folder, key store, open-file limit) and exit: "
      "0 valid, 2 not" },
    { "--help", 'h', NULL, OPT_HELP, 0, 0, NULL, "print this help" },
    { "--help-man", 0, NULL, OPT_BOOL, OPT_HIDDEN, offsetof(struct main_args, help_man), NULL,
      "the options as roff" },
    { "--help-man-keys", 0, NULL, OPT_BOOL, OPT_HIDDEN, offsetof(struct main_args, help_man_keys),
      NULL, "the configuration keys as roff" },
    { "--dump-options", 0, NULL, OPT_BOOL, OPT_HIDDEN, offsetof(struct main_args, dump), NULL,
      "options and keys, one a line" },
};
static const struct opt_cmd main_cmd = {
    .prog = "vigil-station", .synopsis = "-c FILE [--test-config]",
    .summary = "The DC-09 receiver: ACKs an event only once it is committed to the store.",
    .opts = main_opts, .n_opts = OPTS_N(main_opts), .max_operands = 0, .style = OPTS_USAGE,
};


/* systemd's watchdog (WatchdogSec= in the unit): WATCHDOG=1 from the loop at
 * half the interval, so a loop that hangs stops the pings and is restarted. */
static uv_timer_t watchdog;
static bool watchdog_on;

static void on_watchdog(uv_timer_t *h)
{
    (void)h;
    sd_notify(0, "WATCHDOG=1");
}

static void watchdog_start(uv_loop_t *loop)
{
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
        return;
    uint64_t ms = usec / 2000 ? usec / 2000 : 1;
    uv_timer_init(loop, &watchdog);
    uv_timer_start(&watchdog, on_watchdog, ms, ms);
    watchdog_on = true;
    STN_INFO("main", "systemd watchdog: a ping every %llu ms", (unsigned long long)ms);
}

/* READY=1 for systemd (Type=notify): every listener accepts, the store is
 * open, the signal handlers are in place. STATUS= names what listens. */
static void notify_ready(const struct stn *s)
{
    char status[512];
    size_t off = (size_t)snprintf(status, sizeof status, "READY=1\nSTATUS=listening");
    for (size_t i = 0; i < s->nlisteners && off < sizeof status; i++) {
        const struct stn_listener *l = &s->listeners[i];
        bool v6 = strchr(l->host, ':') != NULL;
        off += (size_t)snprintf(status + off, sizeof status - off, " %s%s%s:%d",
                                v6 ? "[" : "", l->host, v6 ? "]" : "", l->port);
    }
    sd_notify(0, status);
}

static void print_keys(bool man)
{
    opts_man_keys(stn_config_keys, stn_config_nkeys, "vigil-station", man, stdout);
}

/* The commit time (ms) below which a share q (0..1) of commits fell: the
 * upper edge of its 0.1 ms bucket. */
static double commit_quantile_ms(const struct stn_counters *c, double q)
{
    const size_t nb = sizeof c->commit_hist / sizeof c->commit_hist[0];
    uint64_t total = 0, seen = 0;
    for (size_t i = 0; i < nb; i++)
        total += c->commit_hist[i];
    for (size_t i = 0; i < nb && total; i++) {
        seen += c->commit_hist[i];
        if ((double)seen >= q * (double)total)
            return (double)(i + 1) * 0.1;
    }
    return total ? (double)nb * 0.1 : 0.0;
}

void stn_log_counters(const struct stn *s)
{
    const struct stn_counters *c = &s->c;
    STN_INFO("stats", "frames_rx=%llu frames_ok=%llu acks=%llu naks=%llu duhs=%llu "
             "crc_errors=%llu length_errors=%llu format_errors=%llu oversize=%llu "
             "decrypt_failures=%llu clear_on_keyed=%llu time_rejects=%llu replays=%llu "
             "unknown_accounts=%llu refused_unstored=%llu duplicates=%llu throttled=%llu "
             "batch_full_drops=%llu "
             "polls=%llu commits=%llu commit_failures=%llu events_stored=%llu "
             "conns_open=%llu conns_accepted=%llu conns_refused=%llu conns_timed_out=%llu "
             "conns_evicted=%llu accept_failures=%llu log_dropped=%llu log_suppressed=%llu "
             "udp_rx=%llu alloc_bytes=%zu batch_avg=%.1f commit_ms_avg=%.3f commit_ms_max=%.3f "
             "commit_ms_p50=%.1f commit_ms_p99=%.1f "
             "wait_ms_avg=%.3f to_worker_ms_avg=%.3f rows_ms_avg=%.3f to_loop_ms_avg=%.3f answer_ms_avg=%.3f "
             "wal_restarts=%llu wal_frames_max=%llu lingers=%llu linger_skips=%llu",
             (unsigned long long)c->frames_rx, (unsigned long long)c->frames_ok,
             (unsigned long long)c->acks, (unsigned long long)c->naks,
             (unsigned long long)c->duhs, (unsigned long long)c->crc_errors,
             (unsigned long long)c->length_errors, (unsigned long long)c->format_errors,
             (unsigned long long)c->oversize, (unsigned long long)c->decrypt_failures,
             (unsigned long long)c->clear_on_keyed, (unsigned long long)c->time_rejects,
             (unsigned long long)c->replays, (unsigned long long)c->unknown_accounts,
             (unsigned long long)c->refused_unstored,
             (unsigned long long)c->duplicates, (unsigned long long)c->throttled,
             (unsigned long long)c->batch_full_drops, (unsigned long long)c->polls,
             (unsigned long long)c->commits, (unsigned long long)c->commit_failures,
             (unsigned long long)c->events_stored, (unsigned long long)c->conns_open,
             (unsigned long long)c->conns_accepted, (unsigned long long)c->conns_refused,
             (unsigned long long)c->conns_timed_out, (unsigned long long)c->conns_evicted,
             (unsigned long long)c->accept_failures, (unsigned long long)stn_log_dropped(),
             (unsigned long long)stn_log_suppressed(), (unsigned long long)c->udp_rx,
             stn_alloc_bytes(),
             c->commits ? (double)c->committed_items / (double)c->commits : 0.0,
             c->commits ? (double)c->commit_us_total / (double)c->commits / 1000.0 : 0.0,
             (double)c->commit_us_max / 1000.0,
             commit_quantile_ms(c, 0.50), commit_quantile_ms(c, 0.99),
             c->commits ? (double)c->wait_us_total / (double)c->commits / 1000.0 : 0.0,
             c->commits ? (double)c->to_worker_us_total / (double)c->commits / 1000.0 : 0.0,
             c->commits ? (double)c->rows_us_total / (double)c->commits / 1000.0 : 0.0,
             c->commits ? (double)c->to_loop_us_total / (double)c->commits / 1000.0 : 0.0,
             c->commits ? (double)c->answer_us_total / (double)c->commits / 1000.0 : 0.0,
             (unsigned long long)c->wal_restarts, (unsigned long long)c->wal_frames_max,
             (unsigned long long)c->lingers, (unsigned long long)c->linger_skips);
}

/* ---- listeners -------------------------------------------------------- */

static int split_hostport(const char *v, char *host, size_t cap, int *port)
{
    const char *colon = strrchr(v, ':');
    if (!colon)
        return -1;
    size_t hl = (size_t)(colon - v);
    if (hl >= 2 && v[0] == '[' && v[hl - 1] == ']') {
        v++;
        hl -= 2;
    }
    if (hl == 0 || hl >= cap)
        return -1;
    memcpy(host, v, hl);
    host[hl] = '\0';
    *port = atoi(colon + 1);
    return 0;
}

static int resolve(const char *host, int port, struct sockaddr_storage *ss)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    int rc = getaddrinfo(host, ps, &hints, &res);
    if (rc != 0 || !res)
        return -1;
    memset(ss, 0, sizeof *ss);
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}

static void set_port(struct sockaddr_storage *ss, int port)
{
    if (ss->ss_family == AF_INET)
        ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
}

static void close_listener(struct stn_listener *l)
{
    if (l->tcp_open && !uv_is_closing((uv_handle_t *)&l->tcp))
        uv_close((uv_handle_t *)&l->tcp, NULL);
    if (l->udp_open && !uv_is_closing((uv_handle_t *)&l->udp))
        uv_close((uv_handle_t *)&l->udp, NULL);
}

/* TCP first (port 0 picks one), then UDP on the same port; retried if that
 * port happens to be taken for UDP. */
static int open_listener(struct stn *s, struct stn_listener *l, const char *spec)
{
    int port;
    if (split_hostport(spec, l->host, sizeof l->host, &port) != 0) {
        fprintf(stderr, "vigil-station: dc09_listen %s: expected HOST:PORT\n", spec);
        return STN_E_CONFIG;
    }
    struct sockaddr_storage ss;
    if (resolve(l->host, port, &ss) != 0) {
        fprintf(stderr, "vigil-station: dc09_listen %s: cannot resolve host\n", spec);
        return STN_E_NET;
    }
    l->s = s;
    for (int attempt = 0; attempt < 20; attempt++) {
        int rc = stn_tcp_listen(s, l, (const struct sockaddr *)&ss);
        if (rc != 0) {
            fprintf(stderr, "vigil-station: dc09_listen %s: tcp: %s\n", spec, uv_strerror(rc));
            return STN_E_NET;
        }
        struct sockaddr_storage bound;
        int bl = sizeof bound;
        uv_tcp_getsockname(&l->tcp, (struct sockaddr *)&bound, &bl);
        l->port = ntohs(bound.ss_family == AF_INET ? ((struct sockaddr_in *)&bound)->sin_port
                                                   : ((struct sockaddr_in6 *)&bound)->sin6_port);
        struct sockaddr_storage us = ss;
        set_port(&us, l->port);
        rc = stn_udp_listen(s, l, (const struct sockaddr *)&us);
        if (rc == 0)
            return 0;
        /* close both and retry when the port was chosen for us */
        uv_close((uv_handle_t *)&l->tcp, NULL);
        uv_close((uv_handle_t *)&l->udp, NULL);
        uv_run(s->loop, UV_RUN_NOWAIT);
        l->tcp_open = l->udp_open = false;
        if (port != 0) {
            fprintf(stderr, "vigil-station: dc09_listen %s: udp: %s\n", spec, uv_strerror(rc));
            return STN_E_NET;
        }
    }
    fprintf(stderr, "vigil-station: dc09_listen %s: no port free for both tcp and udp\n", spec);
    return STN_E_NET;
}

static int write_ready_file(struct stn *s)
{
    if (!s->cfg.ready_file[0])
        return 0;
    char tmp[STN_PATH_MAX + 16];
    snprintf(tmp, sizeof tmp, "%s.tmp", s->cfg.ready_file);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        fprintf(stderr, "vigil-station: ready_file %s: %s\n", tmp, strerror(errno));
        return STN_E_CONFIG;
    }
    for (size_t i = 0; i < s->nlisteners; i++) {
        const struct stn_listener *l = &s->listeners[i];
        bool v6 = strchr(l->host, ':') != NULL;
        fprintf(f, "tcp %s%s%s:%d\n", v6 ? "[" : "", l->host, v6 ? "]" : "", l->port);
        fprintf(f, "udp %s%s%s:%d\n", v6 ? "[" : "", l->host, v6 ? "]" : "", l->port);
    }
    if (stn_metrics_port() > 0) {   /* metrics_listen's host, the port it got */
        const char *m = s->cfg.metrics_listen;
        fprintf(f, "metrics %.*s:%d\n", (int)(strrchr(m, ':') - m), m, stn_metrics_port());
    }
    if (fclose(f) != 0 || rename(tmp, s->cfg.ready_file) != 0) {
        fprintf(stderr, "vigil-station: ready_file %s: %s\n", s->cfg.ready_file, strerror(errno));
        return STN_E_CONFIG;
    }
    return 0;
}

/* ---- stop ------------------------------------------------------------- */

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void conn_close_all(struct stn *s)
{
    for (int t = 0; t < STN_TIER_N; t++)
        while (s->tiers[t].head)
            stn_conn_close(s->tiers[t].head);
}

static void maybe_finish(struct stn *s)
{
    if (!s->stopping || !stn_commit_idle(s) || s->ckpt_busy || s->head_busy || s->reload_busy)
        return;
    if (s->pending->n > 0 || s->pending->nseen > 0 || s->pending->nctl > 0 ||
        s->pending->nnotes > 0) {
        stn_commit_kick(s);    /* parsed before the stop: commit, then answer */
        return;
    }
    if (!s->audit_stopped) {   /* the last entry: everything before it is committed */
        s->audit_stopped = true;
        char after[96];
        snprintf(after, sizeof after, "{\"events_stored\":%llu}",
                 (unsigned long long)s->c.events_stored);
        stn_audit_station(s, "station.stop", after);
    }
    if (s->cfg.ready_file[0])
        remove(s->cfg.ready_file);   /* no longer listening */
    STN_INFO("main", "stopped: %llu events stored, %llu commits",
             (unsigned long long)s->c.events_stored, (unsigned long long)s->c.commits);
    stn_log_counters(s);
    conn_close_all(s);
    stn_control_stop(s);
    for (size_t i = 0; i < s->nlisteners; i++)
        close_listener(&s->listeners[i]);
    uv_close((uv_handle_t *)&s->tick, NULL);
    uv_close((uv_handle_t *)&s->check, NULL);
    uv_close((uv_handle_t *)&s->linger, NULL);
    uv_close((uv_handle_t *)&s->sig_term, NULL);
    uv_close((uv_handle_t *)&s->sig_int, NULL);
    uv_close((uv_handle_t *)&s->sig_hup, NULL);
    uv_close((uv_handle_t *)&s->sig_usr1, NULL);
    if (watchdog_on)
        uv_close((uv_handle_t *)&watchdog, NULL);
}

static void begin_stop(struct stn *s, const char *why)
{
    if (s->stopping)
        return;
    s->stopping = true;
    s->stop_began_ms = stn_now_ms();
    sd_notify(0, "STOPPING=1");
    STN_INFO("main", "%s: stopping (no new frames; finishing the commit in flight)", why);
    for (size_t i = 0; i < s->nlisteners; i++) {
        struct stn_listener *l = &s->listeners[i];
        if (l->tcp_open && !uv_is_closing((uv_handle_t *)&l->tcp))
            uv_close((uv_handle_t *)&l->tcp, NULL);
        if (l->udp_open)
            uv_udp_recv_stop(&l->udp);
    }
    stn_tcp_stop(s);
    s->want_accounts = s->force_accounts = s->want_escalate = s->want_lease = false;
    s->want_prune_before_ms = 0;
    maybe_finish(s);
}

/* ---- reload ----------------------------------------------------------- */

/* After a reload: max_connections must still fit the open-file limit; one
 * that does not is refused and the one in force stays. */
static void refit_connections(struct stn *s)
{
    int64_t max = 0;
    char msg[400];
    if (stn_conns_fit(s->cfg.max_connections, s->nofile, s->nlisteners, &max, msg,
                      sizeof msg) != 0) {
        STN_ERROR("config", "reload: %s; max_connections stays %lld", msg,
                  (long long)s->conns_max);
        s->cfg.max_connections = s->conns_max;
        return;
    }
    if (max != s->conns_max)
        STN_INFO("config", "max_connections %lld (was %lld)", (long long)max,
                 (long long)s->conns_max);
    s->conns_max = max;
}

static void reload(struct stn *s)
{
    struct stn_config n;
    struct conf_error err = { 0 };
    sd_notify(0, "RELOADING=1");
    if (stn_config_load(s->config_path, &n, &err) != 0) {
        STN_ERROR("config", "reload refused, configuration unchanged: %s", err.msg);
        sd_notify(0, "READY=1");
        return;
    }
    int applied = 0;
    json_t *done = json_array(), *later = json_array();
    for (size_t i = 0; i < stn_config_nkeys; i++) {
        const struct conf_key *k = &stn_config_keys[i];
        if (!conf_differs(k, &s->cfg, &n))
            continue;
        if (k->reloadable) {
            conf_copy(k, &s->cfg, &n);
            STN_INFO("config", "key '%s' reloaded", k->name);
            json_array_append_new(done, json_string(k->name));
            applied++;
        } else {
            STN_WARN("config", "key '%s' changed but takes effect only after a restart", k->name);
            json_array_append_new(later, json_string(k->name));
        }
    }
    stn_log_set_level(s->cfg.log_level);
    refit_connections(s);
    STN_INFO("config", "reloaded %s: %d keys changed", s->config_path, applied);
    /* the audit trail: which keys changed (names only: a value may be a path
     * to a secret; the file itself is the administrator's record) */
    json_t *after = json_pack("{s:s,s:o,s:o}", "file", s->config_path, "reloaded", done,
                              "after_restart", later);
    char *text = after ? json_dumps(after, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    if (!text || stn_job_note(s->pending, "config.reload", text) != 0)
        STN_ERROR("audit", "config.reload not appended to the audit trail");
    else
        stn_commit_maybe_kick(s);
    free(text);
    json_decref(after);
    sd_notify(0, "READY=1");
}

/* The open-file limit lowered under the running station (prlimit): run with
 * what still fits rather than let accept(2) fail, because libuv then accepts
 * and closes the waiting connections without telling us (they would go
 * unanswered and uncounted). */
static void follow_nofile(struct stn *s)
{
    uint64_t lim = stn_nofile_now();
    if (lim == 0 || lim == s->nofile)
        return;
    s->nofile = lim;
    int64_t max = 0;
    char msg[400];
    if (stn_conns_fit(s->cfg.max_connections, lim, s->nlisteners, &max, msg, sizeof msg) == 0) {
        STN_WARN("main", "the open-file limit is now %llu: max_connections %lld",
                 (unsigned long long)lim, (long long)max);
    } else {
        (void)stn_conns_fit(0, lim, s->nlisteners, &max, msg, sizeof msg);
        max = max > 0 ? max : 1;
        STN_ERROR("main", "the open-file limit is now %llu, below what max_connections %lld "
                  "needs (%llu kept for the store, logs and control socket): running with "
                  "max_connections %lld", (unsigned long long)lim,
                  (long long)s->cfg.max_connections,
                  (unsigned long long)stn_fd_reserve(s->nlisteners), (long long)max);
    }
    s->conns_max = max;
}

/* ---- callbacks -------------------------------------------------------- */

static void on_signal(uv_signal_t *h, int signum)
{
    struct stn *s = h->data;
    switch (signum) {
    case SIGTERM: begin_stop(s, "SIGTERM"); break;
    case SIGINT:  begin_stop(s, "SIGINT"); break;
    case SIGHUP:  reload(s); break;
    case SIGUSR1: stn_log_counters(s); break;
    default: break;
    }
}

static void on_check(uv_check_t *h)
{
    struct stn *s = h->data;
    stn_tcp_resume_yielded(s);    /* (only lets go of them once stopping) */
    if (s->batch_answered) {      /* a batch was answered: room in the pending one */
        s->batch_answered = false;
        stn_tcp_pause_all_resume(s);
    }
    if (s->stopping) {
        maybe_finish(s);
        return;
    }
    stn_commit_maybe_kick(s);
}

static void ckpt_work_cb(uv_work_t *req)
{
    struct stn *s = req->data;
    s->ckpt_caught_up = stn_ckpt_run(s->ckpt);
}

static void ckpt_after_cb(uv_work_t *req, int status)
{
    struct stn *s = req->data;
    (void)status;
    s->ckpt_busy = false;
    /* Under steady traffic the checkpointer never sees the WAL empty: frames
     * commit while it copies. Let the writer copy that short tail itself
     * (next job), so the WAL can begin again from its start. */
    if (s->ckpt_caught_up && s->wal_frames > 0)
        s->wal_finish = true;
    if (s->stopping)
        maybe_finish(s);
    else
        stn_commit_maybe_kick(s);
}

static void reload_work_cb(uv_work_t *req)
{
    struct stn *s = req->data;
    s->reload_rc = stn_reader_load_accounts(s->reader, &s->reload_rows, &s->reload_n);
}

static void reload_after_cb(uv_work_t *req, int status)
{
    struct stn *s = req->data;
    (void)status;
    s->reload_busy = false;
    uint64_t now = uv_hrtime();
    /* the next read no sooner than 9 times this one's length from now: the
     * reads take at most a tenth of a thread */
    s->reload_next_ns = now + 9 * (now - s->reload_started_ns);
    if (s->reload_rc == 0 && s->accounts_forced != s->reload_forced_at_start) {
        s->reload_wanted = true;   /* a newer read was merged meanwhile: this one is older */
    } else if (s->reload_rc == 0) {
        if (stn_accounts_merge(s, s->reload_rows, s->reload_n) != 0)
            STN_ERROR("accounts", "cannot apply the reloaded accounts (out of memory)");
        s->reload_failing = false;
    } else {
        s->reload_wanted = true;   /* the next tick asks again */
        if (!s->reload_failing)    /* once, not every second the database is away */
            STN_WARN("store", "cannot read the accounts again: %s (asked again every "
                     "second)", stn_strerror(s->reload_rc));
        s->reload_failing = true;
    }
    if (s->reload_rows) {
        sodium_memzero(s->reload_rows, s->reload_n * sizeof *s->reload_rows);
        stn_free(s->reload_rows);
    }
    s->reload_rows = NULL;
    s->reload_n = 0;
    if (s->stopping)
        maybe_finish(s);
}

void stn_accounts_reload(struct stn *s)
{
    s->reload_wanted = true;
    if (s->reload_busy || s->stopping || !s->reader || uv_hrtime() < s->reload_next_ns)
        return;                    /* asked again at the next tick */
    s->reload_wanted = false;
    s->reload_busy = true;
    s->reload_started_ns = uv_hrtime();
    s->reload_forced_at_start = s->accounts_forced;
    if (uv_queue_work(s->loop, &s->reload_work, reload_work_cb, reload_after_cb) != 0) {
        s->reload_busy = false;
        s->reload_wanted = true;
    }
}

void stn_ckpt_kick(struct stn *s)
{
    if (s->ckpt_busy || !s->ckpt || s->wal_finish)
        return;
    s->ckpt_busy = true;
    s->ckpt_caught_up = false;
    if (uv_queue_work(s->loop, &s->ckpt_work, ckpt_work_cb, ckpt_after_cb) != 0)
        s->ckpt_busy = false;
}

static void on_tick(uv_timer_t *h)
{
    struct stn *s = h->data;
    if (s->stopping) {
        maybe_finish(s);
        /* A store that does not answer (a PostgreSQL primary waiting for a
         * synchronous standby that is gone, a hung disk) must not keep the
         * station from stopping: nothing of the batch in flight was ACKed
         * (replies leave only after the commit returns), so the panels send
         * it again elsewhere. */
        if (!stn_commit_idle(s) && stn_now_ms() - s->stop_began_ms > STN_STOP_WAIT_MS) {
            STN_ERROR("main", "the commit in flight has not returned %d s after the stop: "
                      "stopping without it; nothing of it was acknowledged event=stop_abandoned",
                      STN_STOP_WAIT_MS / 1000);
            stn_log_async_stop(1000);
            _exit(1);
        }
        return;
    }
    int64_t now = stn_now_ms();
    stn_log_tick();
    stn_metrics_publish(s);
    follow_nofile(s);
    s->want_accounts = true;      /* the worker checks PRAGMA data_version */
    s->want_escalate = true;
    s->want_lease = true;
    stn_tcp_sweep(s, now);
    stn_unknown_flush(s, now);
    if (now - s->last_supervision_ms >= s->cfg.supervision_check_s * 1000) {
        s->last_supervision_ms = now;
        stn_supervision_check(s, now);
    }
    if (s->cfg.event_retention_days > 0 && now - s->last_prune_ms >= 3600 * 1000) {
        s->last_prune_ms = now;
        s->want_prune_before_ms = now - s->cfg.event_retention_days * 86400000;
    }
    if (s->wal_frames > 0)
        stn_ckpt_kick(s);
    if (s->reload_wanted)
        stn_accounts_reload(s);
    if (s->cfg.stats_interval_s > 0 && now - s->last_stats_ms >= s->cfg.stats_interval_s * 1000) {
        s->last_stats_ms = now;
        stn_log_counters(s);
    }
    stn_commit_kick(s);
}

/* ---- startup ---------------------------------------------------------- */

static uint64_t dup_hash(void *ctx, const void *p, size_t len)
{
    return stn_dedup_hash(ctx, p, len);
}

static int load_state(struct stn *s)
{
    struct stn_account_row *rows = NULL;
    size_t n = 0;
    int rc = stn_wstore_load_accounts(s->ws, &rows, &n);
    if (rc) {
        fprintf(stderr, "vigil-station: cannot read accounts from the store: %s\n",
                stn_strerror(rc));
        return rc;
    }
    size_t bad = 0;
    const char *first_bad = NULL;
    for (size_t i = 0; i < n; i++)
        if (rows[i].key_error) {
            bad++;
            first_bad = first_bad ? first_bad : rows[i].number;
        }
    if (bad) {
        /* refuse to start rather than serve these panels as unknown */
        fprintf(stderr, "vigil-station: %zu account keys in the store do not open with the "
                "key store %s: wrong or replaced key_store_file?\n",
                bad, s->cfg.key_store_path);
        fprintf(stderr, "vigil-station: account %s: key does not open\n", first_bad);
        sodium_memzero(rows, n * sizeof *rows);
        stn_free(rows);
        return STN_E_CONFIG;
    }
    rc = stn_accounts_merge(s, rows, n);
    sodium_memzero(rows, n * sizeof *rows);
    stn_free(rows);
    if (rc)
        return rc;
    s->accounts_ready = true;

    struct stn_dup_row *d = NULL;
    size_t nd = 0;
    int64_t since = s->started_ms - s->cfg.duplicate_window_s * 1000;
    rc = stn_wstore_load_recent(s->ws, since, &d, &nd, dup_hash, &s->dedup);
    if (rc) {
        fprintf(stderr, "vigil-station: cannot read recent events from the store: %s\n",
                stn_strerror(rc));
        return rc;
    }
    for (size_t i = 0; i < nd; i++)
        stn_dedup_insert(&s->dedup, d[i].account_id, d[i].seq, d[i].hash, d[i].time_ms, 0);
    stn_free(d);
    STN_INFO("main", "store %s: %zu accounts, %zu events in the duplicate window",
             s->cfg.store_shown, s->accounts.count, nd);
    return 0;
}

static int run(struct stn *s)
{
    int rc;
    char msg[512];
    s->loop = uv_default_loop();
    s->started_ms = stn_now_ms();

    /* a stale ready file from an earlier run must not announce this one */
    if (s->cfg.ready_file[0])
        remove(s->cfg.ready_file);
    if ((rc = stn_wstore_open(&s->cfg, &s->ws, msg, sizeof msg)) != 0) {
        fprintf(stderr, "vigil-station: %s\n", msg);
        return 1;
    }
    if ((rc = stn_ckpt_open(&s->cfg, &s->ckpt, msg, sizeof msg)) != 0) {
        fprintf(stderr, "vigil-station: %s\n", msg);
        return 1;
    }
    s->ckpt_work.data = s;
    if ((rc = stn_reader_open(&s->cfg, s->ws, &s->reader, msg, sizeof msg)) != 0) {
        fprintf(stderr, "vigil-station: %s\n", msg);
        return 1;
    }
    s->reload_work.data = s;
    {
        char after[STN_PATH_MAX + 96];
        json_t *o = json_pack("{s:I,s:s}", "pid", (json_int_t)getpid(), "config",
                              s->config_path);
        char *t = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        snprintf(after, sizeof after, "%s", t ? t : "{}");
        free(t);
        json_decref(o);
        /* a broken trail is logged (stn_audit_station) but never keeps the
         * station from receiving: a duress waits for nobody */
        stn_audit_station(s, "station.start", after);
    }
    if (stn_accounts_init(&s->accounts) || stn_dedup_init(&s->dedup,
            (size_t)s->cfg.duplicate_entries_max) || stn_dedup_init(&s->blocks,
            (size_t)s->cfg.duplicate_entries_max) || stn_unknown_init(&s->unknown) ||
        stn_commit_init(s) || stn_conns_init(s)) {
        fprintf(stderr, "vigil-station: out of memory at startup\n");
        return 1;
    }
    if (load_state(s) != 0)
        return 1;

    s->nlisteners = s->cfg.dc09_listen.n;
    s->listeners = stn_calloc(s->nlisteners ? s->nlisteners : 1, sizeof *s->listeners);
    if (!s->listeners)
        return 1;
    for (size_t i = 0; i < s->nlisteners; i++) {
        if (open_listener(s, &s->listeners[i], s->cfg.dc09_listen.v[i]) != 0)
            return 1;
        const struct stn_listener *l = &s->listeners[i];
        bool v6 = strchr(l->host, ':') != NULL;
        STN_INFO("main", "listening tcp %s%s%s:%d udp %s%s%s:%d", v6 ? "[" : "", l->host,
                 v6 ? "]" : "", l->port, v6 ? "[" : "", l->host, v6 ? "]" : "", l->port);
    }
    if (stn_control_listen(s) != 0)
        return 1;
    STN_INFO("main", "listening control %s", s->cfg.control_socket_path);
    if (stn_metrics_start(s, msg, sizeof msg) != 0) {
        fprintf(stderr, "vigil-station: %s\n", msg);
        return 1;
    }
    if (stn_metrics_port() > 0)
        STN_INFO("main", "listening metrics %s (port %d)", s->cfg.metrics_listen,
                 stn_metrics_port());
    STN_INFO("main", "max_connections %lld%s (open-file limit %llu, %llu kept for the store, "
             "logs and control socket), %lld per source address", (long long)s->conns_max,
             s->cfg.max_connections ? "" : " (what fits)", (unsigned long long)s->nofile,
             (unsigned long long)stn_fd_reserve(s->nlisteners),
             (long long)s->cfg.max_connections_per_address);

    uv_timer_init(s->loop, &s->tick);
    s->tick.data = s;
    uv_timer_start(&s->tick, on_tick, 1000, 1000);
    uv_check_init(s->loop, &s->check);
    s->check.data = s;
    uv_check_start(&s->check, on_check);
    uv_signal_t *sigs[] = { &s->sig_term, &s->sig_int, &s->sig_hup, &s->sig_usr1 };
    int nums[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1 };
    for (int i = 0; i < 4; i++) {
        uv_signal_init(s->loop, sigs[i]);
        sigs[i]->data = s;
        uv_signal_start(sigs[i], on_signal, nums[i]);
    }
    signal(SIGPIPE, SIG_IGN);
    s->last_supervision_ms = s->last_stats_ms = s->started_ms;
    s->last_prune_ms = s->started_ms - 3600 * 1000;   /* prune once soon after start */

    if (stn_log_async_start() != 0)
        STN_WARN("main", "no log writer thread: a slow stderr may slow the station");
    /* last: whoever waits for the ready file may signal us at once, so the
     * handlers above must already be installed (a SIGTERM before them killed
     * the station with no clean stop) */
    if (write_ready_file(s) != 0) {
        stn_log_async_stop(5000);
        return 1;
    }
    watchdog_start(s->loop);
    notify_ready(s);
    uv_run(s->loop, UV_RUN_DEFAULT);
    uv_walk(s->loop, close_walk, NULL);
    uv_run(s->loop, UV_RUN_DEFAULT);
    uv_loop_close(s->loop);
    stn_metrics_stop();
    stn_log_async_stop(5000);
    return 0;
}

/* Each connection is a descriptor: raise the soft limit to the hard one,
 * then settle max_connections within it, beside the reserve (conns.c). */
static int fit_connections(struct stn *s, const char *path)
{
    char msg[400];
    s->nofile = stn_nofile_raise();
    if (stn_conns_fit(s->cfg.max_connections, s->nofile, s->cfg.dc09_listen.n, &s->conns_max,
                      msg, sizeof msg) != 0) {
        fprintf(stderr, "vigil-station: %s: %s\n", path, msg);
        return STN_E_CONFIG;
    }
    return 0;
}

/* --test-config: what the daemon would fail on at start, found now — a
 * dc09_listen address that does not resolve, a store path that is a folder,
 * a store (or the folder it would be made in) it could not write. Returns
 * how many problems it printed. */
static int test_config_deeper(const struct stn_config *cfg, const char *path)
{
    int bad = 0;
    for (unsigned i = 0; i < cfg->dc09_listen.n; i++) {
        const char *spec = cfg->dc09_listen.v[i];
        char host[256];
        int port;
        struct sockaddr_storage ss;
        if (split_hostport(spec, host, sizeof host, &port) != 0) {
            fprintf(stderr, "vigil-station: %s: dc09_listen %s: expected HOST:PORT\n", path, spec);
            bad++;
        } else if (resolve(host, port, &ss) != 0) {
            fprintf(stderr, "vigil-station: %s: dc09_listen %s: cannot resolve host '%s'\n",
                    path, spec, host);
            bad++;
        }
    }
    const char *sp = cfg->store_path;
    struct stat st;
    if (db_is_pg_uri(sp))       /* a database, not a file: reached at start */
        return bad;
    if (stat(sp, &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            fprintf(stderr, "vigil-station: %s: store %s is a folder, not a store file\n",
                    path, sp);
            bad++;
        } else if (access(sp, R_OK | W_OK) != 0) {
            fprintf(stderr, "vigil-station: %s: store %s cannot be written: %s\n", path, sp,
                    strerror(errno));
            bad++;
        }
    }
    /* the folder holds the WAL and its index beside the store, and a new store */
    char dir[STN_PATH_MAX];
    stn_dir_of(sp, dir, sizeof dir);
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "vigil-station: %s: store %s: folder %s does not exist\n", path, sp, dir);
        bad++;
    } else if (access(dir, W_OK | X_OK) != 0) {
        fprintf(stderr, "vigil-station: %s: store %s: folder %s cannot be written (the store "
                "keeps its WAL there): %s\n", path, sp, dir, strerror(errno));
        bad++;
    }
    return bad;
}

int main(int argc, char **argv)
{
    struct main_args ma = { 0 };
    for (int i = 1; i < argc; i++) {   /* the table dumps need no -c */
        ma.help_man |= strcmp(argv[i], "--help-man") == 0;
        ma.help_man_keys |= strcmp(argv[i], "--help-man-keys") == 0;
        ma.dump |= strcmp(argv[i], "--dump-options") == 0;
    }
    if (ma.help_man || ma.help_man_keys || ma.dump) {
        if (ma.help_man)
            opts_man(&main_cmd, stdout, false);
        if (ma.help_man_keys || ma.dump)
            print_keys(ma.help_man_keys);
        if (ma.dump)
            opts_dump(&main_cmd, stdout);
        return fflush(stdout) == 0 ? 0 : 2;
    }
    int prc = opts_parse(&main_cmd, argc, argv, 1, &ma, NULL);
    if (prc != 0)
        return prc == OPTS_DONE_HELP ? 0 : 2;
    const char *path = ma.path;
    bool test_only = ma.test_only;
    static struct stn s;
    struct conf_error err = { 0 };
    if (stn_config_load(path, &s.cfg, &err) != 0) {
        fprintf(stderr, "vigil-station: %s\n", err.msg);
        return 2;
    }
    if (s.cfg.dc09_listen.n == 0) {
        fprintf(stderr, "vigil-station: %s: key 'dc09_listen' is required\n", path);
        return 2;
    }
    if (fit_connections(&s, path) != 0)
        return 2;
    if (test_only) {
        /* an existing key store must be one the daemon can use (format, mode);
         * a missing one is made at start for a store without sealed keys */
        struct stn_keystore ks;
        char msg[512];
        int krc = stn_keystore_load(s.cfg.key_store_path, false, &ks, msg, sizeof msg);
        stn_keystore_wipe(&ks);
        if (krc != 0 && krc != STN_E_NOTFOUND) {
            fprintf(stderr, "vigil-station: %s: %s\n", path, msg);
            return 2;
        }
        if (test_config_deeper(&s.cfg, path) != 0)
            return 2;
        printf("vigil-station: configuration %s is valid\n", path);
        return 0;
    }
    s.config_path = path;
    stn_log_set_level(s.cfg.log_level);
    /* Test hook (never set in production): the n-th allocation from now fails. */
    const char *fail = getenv("VIGIL_STATION_ALLOC_FAIL_AFTER");
    if (fail && *fail) {
        stn_alloc_fail_after(strtoul(fail, NULL, 10));
        STN_WARN("main", "test hook: allocation %s from now will fail", fail);
    }
    if (sodium_init() < 0) {
        fprintf(stderr, "vigil-station: libsodium cannot start\n");
        return 1;
    }
    int rc = run(&s);
    stn_accounts_free(&s.accounts);
    stn_dedup_free(&s.dedup);
    stn_dedup_free(&s.blocks);
    stn_unknown_free(&s.unknown);
    stn_commit_free(&s);
    stn_conns_free(&s);
    stn_wstore_close(s.ws);
    stn_ckpt_close(s.ckpt);
    stn_reader_close(s.reader);
    stn_free(s.listeners);
    if (rc == 0)
        STN_INFO("main", "exit 0");
    return rc;
}
