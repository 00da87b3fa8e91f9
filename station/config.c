/*
 * config.c — vigil-station's configuration: the ONE table of keys.
 *
 * Every key the daemon reads is a row below (name, type, min, max, default,
 * reloadable, help); packaging/vigil-station.conf documents the same keys and
 * must be kept in step. Never print a value here: only key names and lines.
 */
#include "vigil/station.h"
#include "db.h"

#include <arpa/inet.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OFF(f) offsetof(struct stn_config, f)

/* host:port with port 0..65535; host an IPv4 literal or "localhost"/"*"-less name.
 * [v6]:port is accepted too. */
static int check_hostport(const char *v, char *msg, size_t cap)
{
    const char *colon = strrchr(v, ':');
    if (!colon || colon == v) {
        snprintf(msg, cap, "expected HOST:PORT");
        return -1;
    }
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end || port < 0 || port > 65535) {
        snprintf(msg, cap, "port must be 0..65535");
        return -1;
    }
    if ((size_t)(colon - v) > 255) {
        snprintf(msg, cap, "host name too long");
        return -1;
    }
    return 0;
}

/* An IPv4 or IPv6 address literal (metrics_allow). */
static int check_ip(const char *v, char *msg, size_t cap)
{
    unsigned char buf[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, v, buf) == 1 || inet_pton(AF_INET6, v, buf) == 1)
        return 0;
    snprintf(msg, cap, "expected an IPv4 or IPv6 address (no name, no mask)");
    return -1;
}

static int check_store(const char *v, char *msg, size_t cap)
{
    if (strncmp(v, "sqlite:", 7) == 0) {
        if (v[7] == '\0') {
            snprintf(msg, cap, "sqlite: needs a path (sqlite:/var/lib/vigil/station.db)");
            return -1;
        }
        return 0;
    }
    if (db_is_pg_uri(v)) {
        const char *rest = strstr(v, "://") + 3;
        if (*rest == '\0') {
            snprintf(msg, cap, "postgresql:// needs at least a database "
                     "(postgresql://USER@HOST/DATABASE)");
            return -1;
        }
        return 0;
    }
    snprintf(msg, cap, "expected sqlite:PATH or postgresql://USER@HOST/DATABASE");
    return -1;
}

static const char *const log_levels[] = { "debug", "info", "warn", "error", NULL };

const struct conf_key stn_config_keys[] = {
    { .name = "dc09_listen", .type = CONF_LIST, .def = "127.0.0.1:3061", .reloadable = false,
      .offset = OFF(dc09_listen), .check = check_hostport,
      .help = "HOST:PORT for DC-09 over TCP and UDP (same port); repeat for more; port 0 picks one" },
    { .name = "store", .type = CONF_STRING, .required = true, .reloadable = false,
      .offset = OFF(store), .size = sizeof(((struct stn_config *)0)->store), .check = check_store,
      .programs = "both", .help = "the store: sqlite:PATH (relative to this file's folder), or "
      "postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?...] (libpq's URI; several nodes on one database)" },
    { .name = "key_store_file", .type = CONF_STRING, .reloadable = false,
      .offset = OFF(key_store_file), .size = sizeof(((struct stn_config *)0)->key_store_file),
      .programs = "both",
      .help = "the sealing key of the account keys (default: the store's path + .keys; "
              "required with PostgreSQL: every node holds a copy of the same file)" },
    { .name = "ready_file", .type = CONF_STRING, .reloadable = false,
      .offset = OFF(ready_file), .size = sizeof(((struct stn_config *)0)->ready_file),
      .help = "written once listening: lines 'tcp HOST:PORT' and 'udp HOST:PORT'" },
    { .name = "max_connections", .type = CONF_INT, .min = 0, .max = 1000000, .def = "0",
      .reloadable = true, .offset = OFF(max_connections),
      .help = "TCP connections at once (0: what the open-file limit allows, up to 20000); "
              "beyond it the connection that has shown least closes first" },
    { .name = "max_connections_per_address", .type = CONF_INT, .min = 1, .max = 1000000,
      .def = "1000", .reloadable = true, .offset = OFF(max_connections_per_address),
      .programs = "vigil-station",
      .help = "TCP connections at once from one source address; beyond it a new one is "
              "accepted then closed" },
    { .name = "frame_bytes_max", .type = CONF_INT, .min = 64, .max = 1024, .def = "1024",
      .reloadable = false, .offset = OFF(frame_bytes_max),
      .help = "longest frame accepted (bytes, LF..CR); longer input is dropped to the next LF" },
    { .name = "idle_timeout_s", .type = CONF_INT, .min = 0, .max = 864000, .def = "93600",
      .reloadable = true, .offset = OFF(idle_timeout_s),
      .help = "close a TCP connection silent this long between frames (0: never)" },
    { .name = "partial_frame_timeout_s", .type = CONF_INT, .min = 1, .max = 3600, .def = "30",
      .reloadable = true, .offset = OFF(partial_frame_timeout_s),
      .help = "close a TCP connection that stalls this long inside a frame (slowloris)" },
    { .name = "account_rate_per_s", .type = CONF_INT, .min = 0, .max = 10000000, .def = "50",
      .reloadable = true, .offset = OFF(account_rate_per_s),
      .help = "sustained frames per second per account (0: no limit); duress is never limited" },
    { .name = "account_burst", .type = CONF_INT, .min = 1, .max = 10000000, .def = "2000",
      .reloadable = true, .offset = OFF(account_burst),
      .help = "frames an account may send at once above its rate (token bucket size)" },
    { .name = "time_window_past_s", .type = CONF_INT, .min = 0, .max = 86400, .def = "40",
      .reloadable = true, .offset = OFF(time_window_past_s),
      .help = "oldest accepted frame timestamp, seconds before the station's clock" },
    { .name = "time_window_future_s", .type = CONF_INT, .min = 0, .max = 86400, .def = "20",
      .reloadable = true, .offset = OFF(time_window_future_s),
      .help = "newest accepted frame timestamp, seconds after the station's clock" },
    { .name = "duplicate_window_s", .type = CONF_INT, .min = 0, .max = 86400, .def = "600",
      .reloadable = true, .offset = OFF(duplicate_window_s),
      .help = "a retry (same account, sequence, payload) within this is ACKed, stored once" },
    { .name = "duplicate_entries_max", .type = CONF_INT, .min = 1024, .max = 67108864,
      .def = "1048576", .reloadable = false, .offset = OFF(duplicate_entries_max),
      .help = "frames remembered for duplicate detection (48 bytes each)" },
    { .name = "supervision_grace_s", .type = CONF_INT, .min = 0, .max = 86400, .def = "60",
      .reloadable = true, .offset = OFF(supervision_grace_s),
      .help = "silence allowed past an account's supervision interval before comm failure" },
    { .name = "supervision_check_s", .type = CONF_INT, .min = 1, .max = 3600, .def = "5",
      .reloadable = true, .offset = OFF(supervision_check_s),
      .help = "how often supervision is checked" },
    { .name = "event_retention_days", .type = CONF_INT, .min = 0, .max = 36500, .def = "400",
      .reloadable = true, .offset = OFF(event_retention_days),
      .help = "events and refused signals older than this are pruned (0: keep forever); alarms are kept" },
    { .name = "commit_batch_max", .type = CONF_INT, .min = 1, .max = 65536, .def = "4096",
      .reloadable = false, .offset = OFF(commit_batch_max),
      .help = "frames per group commit; while full, reading pauses (duress still goes in)" },
    { .name = "commit_linger_us", .type = CONF_INT, .min = 0, .max = 10000, .def = "2000",
      .reloadable = true, .offset = OFF(commit_linger_us),
      .help = "after answering a batch, wait at most this long (and at most half a commit) "
              "for those panels' next frames, so one commit carries them (0: never wait)" },
    { .name = "escalate_after_s", .type = CONF_INT, .min = 1, .max = 3600, .def = "30",
      .reloadable = true, .offset = OFF(escalate_after_s),
      .help = "a priority-1 alarm untaken this long is escalated" },
    { .name = "stats_interval_s", .type = CONF_INT, .min = 0, .max = 86400, .def = "60",
      .reloadable = true, .offset = OFF(stats_interval_s),
      .help = "log the counters this often (0: only on SIGUSR1)" },
    { .name = "metrics_listen", .type = CONF_STRING, .reloadable = false,
      .offset = OFF(metrics_listen), .size = sizeof(((struct stn_config *)0)->metrics_listen),
      .check = check_hostport, .programs = "vigil-station",
      .help = "HOST:PORT of the Prometheus metrics endpoint (GET /metrics, no login: bind it "
              "to an address only the scraper reaches); unset: no endpoint; port 0 picks one" },
    { .name = "metrics_allow", .type = CONF_LIST, .def = "127.0.0.1", .reloadable = false,
      .offset = OFF(metrics_allow), .check = check_ip, .programs = "vigil-console",
      .help = "a client address (IPv4 or IPv6 literal) allowed to read the console's "
              "/metrics without a login; repeat for more (the first replaces the default)" },
    { .name = "log_level", .type = CONF_ENUM, .def = "info", .reloadable = true,
      .offset = OFF(log_level), .names = log_levels,
      .help = "debug, info, warn or error", .programs = "both" },
    /* ---- shared by both programs ---- */
    { .name = "control_socket", .type = CONF_STRING, .reloadable = false,
      .offset = OFF(control_socket), .size = sizeof(((struct stn_config *)0)->control_socket),
      .programs = "both",
      .help = "Unix socket where vigil-station takes alarm actions from vigil-console "
              "(default: the store's path + .ctl; mode 0600)" },
    { .name = "take_lease_s", .type = CONF_INT, .min = 5, .max = 3600, .def = "20",
      .reloadable = true, .offset = OFF(take_lease_s), .programs = "vigil-station",
      .help = "a taken alarm whose operator has been gone this long returns to the queue" },
    { .name = "control_items_per_batch_max", .type = CONF_INT, .min = 1, .max = 4096,
      .def = "64", .reloadable = false, .offset = OFF(control_items_per_batch_max),
      .programs = "vigil-station",
      .help = "operator actions written per group commit (the rest wait for the next)" },
    { .name = "billing_admin_fee_cents", .type = CONF_INT, .min = 0, .max = 100000, .def = "0",
      .reloadable = true, .offset = OFF(billing_admin_fee_cents), .programs = "both",
      .help = "the station's administration fee added to each invoice line that passes on "
              "an agency's false-dispatch fee, integer cents" },
    { .name = "setup_session_max_s", .type = CONF_INT, .min = 60, .max = 86400, .def = "1800",
      .reloadable = true, .offset = OFF(setup_session_max_s), .programs = "vigil-station",
      .help = "an assisted duress set-up (or drill) session ends by itself after at most "
              "this long" },
    { .name = "test_mode_max_s", .type = CONF_INT, .min = 60, .max = 86400, .def = "3600",
      .reloadable = true, .offset = OFF(test_mode_max_s), .programs = "vigil-station",
      .help = "an account put on test leaves test mode by itself after at most this long "
              "(its end time is in the store: a restart keeps it)" },
    /* ---- vigil-console ---- */
    { .name = "http_listen", .type = CONF_STRING, .def = "127.0.0.1:8080", .reloadable = false,
      .offset = OFF(http_listen), .size = sizeof(((struct stn_config *)0)->http_listen),
      .check = check_hostport, .programs = "vigil-console",
      .help = "HOST:PORT of the console's HTTP server; port 0 picks one" },
    { .name = "web_root", .type = CONF_STRING, .def = "web", .reloadable = false,
      .offset = OFF(web_root), .size = sizeof(((struct stn_config *)0)->web_root),
      .programs = "vigil-console",
      .help = "folder of the console's static files (relative to this file's folder)" },
    { .name = "tls_cert_file", .type = CONF_STRING, .reloadable = false,
      .offset = OFF(tls_cert_file), .size = sizeof(((struct stn_config *)0)->tls_cert_file),
      .programs = "vigil-console",
      .help = "PEM certificate; with tls_key_file the console serves HTTPS only" },
    { .name = "tls_key_file", .type = CONF_STRING, .reloadable = false,
      .offset = OFF(tls_key_file), .size = sizeof(((struct stn_config *)0)->tls_key_file),
      .programs = "vigil-console",
      .help = "PEM private key of tls_cert_file" },
    { .name = "session_idle_s", .type = CONF_INT, .min = 30, .max = 86400, .def = "900",
      .reloadable = false, .offset = OFF(session_idle_s), .programs = "vigil-console",
      .help = "an operator session unused this long ends" },
    { .name = "login_attempts_per_min", .type = CONF_INT, .min = 1, .max = 1000, .def = "10",
      .reloadable = false, .offset = OFF(login_attempts_per_min), .programs = "vigil-console",
      .help = "failed logins allowed per name and per client address in a minute" },
    { .name = "http_connections_max", .type = CONF_INT, .min = 4, .max = 10000, .def = "256",
      .reloadable = false, .offset = OFF(http_connections_max), .programs = "vigil-console",
      .help = "HTTP connections at once, live streams included" },
    { .name = "sse_clients_max", .type = CONF_INT, .min = 1, .max = 10000, .def = "128",
      .reloadable = false, .offset = OFF(sse_clients_max), .programs = "vigil-console",
      .help = "live alarm streams at once; beyond it a new stream gets 503" },
    { .name = "change_poll_ms", .type = CONF_INT, .min = 10, .max = 1000, .def = "50",
      .reloadable = false, .offset = OFF(change_poll_ms), .programs = "vigil-console",
      .help = "how often the console checks the store for alarm changes" },
    { .name = "station_name", .type = CONF_STRING, .def = "Vigil monitoring", .reloadable = false,
      .offset = OFF(station_name), .size = sizeof(((struct stn_config *)0)->station_name),
      .programs = "vigil-console",
      .help = "the monitoring company's name in police dispatch records" },
    { .name = "station_phone", .type = CONF_STRING, .reloadable = false,
      .offset = OFF(station_phone), .size = sizeof(((struct stn_config *)0)->station_phone),
      .programs = "vigil-console",
      .help = "the call-back number police get in dispatch records" },
};
const size_t stn_config_nkeys = sizeof stn_config_keys / sizeof stn_config_keys[0];
_Static_assert(sizeof stn_config_keys / sizeof stn_config_keys[0] == 42,
               "config table changed: update packaging/vigil-station.conf and docs/station.md");

static int path_too_long(const char *cfg_path, const char *key, struct conf_error *err)
{
    if (err) {
        err->code = CONF_E_VALUE;
        snprintf(err->msg, sizeof err->msg, "%s: key '%s': path too long",
                 cfg_path ? cfg_path : "config", key);
    }
    return STN_E_CONFIG;
}

/* Resolves p against the folder of the config file into out. */
static int resolve_path(const char *cfg_path, const char *p, char *out, size_t cap,
                        const char *key, struct conf_error *err)
{
    int n;
    if (p[0] == '/' || !cfg_path || !strchr(cfg_path, '/')) {
        n = snprintf(out, cap, "%s", p);
    } else {
        const char *slash = strrchr(cfg_path, '/');
        n = snprintf(out, cap, "%.*s/%s", (int)(slash - cfg_path), cfg_path, p);
    }
    return n < 0 || (size_t)n >= cap ? path_too_long(cfg_path, key, err) : 0;
}

const char *stn_store_base(const struct stn_config *cfg)
{
    return db_is_pg_uri(cfg->store_path) ? cfg->key_store_path : cfg->store_path;
}

/* sqlite:PATH, and the key store (default PATH.keys), against the config's
 * folder. postgresql://...: the URI as it is (libpq reads it), and the key
 * store file, which is then required: every node seals and opens the
 * accounts' keys with the same key, and the database does not hold it. */
static int resolve_store(const char *cfg_path, struct stn_config *cfg, struct conf_error *err)
{
    if (db_is_pg_uri(cfg->store)) {
        snprintf(cfg->store_path, sizeof cfg->store_path, "%s", cfg->store);
        db_uri_redact(cfg->store, cfg->store_shown, sizeof cfg->store_shown);
        if (!cfg->key_store_file[0]) {
            if (err) {
                err->code = CONF_E_VALUE;
                snprintf(err->msg, sizeof err->msg, "%s: key 'key_store_file' is required with "
                         "a PostgreSQL store: the accounts' keys are sealed with it, so every "
                         "node must hold a copy of the same file (it is not in the database)",
                         cfg_path ? cfg_path : "config");
            }
            return STN_E_CONFIG;
        }
        return resolve_path(cfg_path, cfg->key_store_file, cfg->key_store_path,
                            sizeof cfg->key_store_path, "key_store_file", err);
    }
    int rc = resolve_path(cfg_path, cfg->store + 7, cfg->store_path, sizeof cfg->store_path,
                          "store", err);
    if (rc)
        return rc;
    snprintf(cfg->store_shown, sizeof cfg->store_shown, "%s", cfg->store_path);
    if (cfg->key_store_file[0])
        return resolve_path(cfg_path, cfg->key_store_file, cfg->key_store_path,
                            sizeof cfg->key_store_path, "key_store_file", err);
    int n = snprintf(cfg->key_store_path, sizeof cfg->key_store_path, "%s.keys",
                     cfg->store_path);
    if (n < 0 || (size_t)n >= sizeof cfg->key_store_path)
        return path_too_long(cfg_path, "store", err);
    return 0;
}

/* Paths of both programs' other files, against the config's folder. */
static int resolve_others(const char *cfg_path, struct stn_config *cfg, struct conf_error *err)
{
    int rc = 0;
    if (cfg->control_socket[0])
        rc = resolve_path(cfg_path, cfg->control_socket, cfg->control_socket_path,
                          sizeof cfg->control_socket_path, "control_socket", err);
    else {
        int n = snprintf(cfg->control_socket_path, sizeof cfg->control_socket_path, "%s.ctl",
                         stn_store_base(cfg));
        if (n < 0 || (size_t)n >= sizeof cfg->control_socket_path)
            rc = path_too_long(cfg_path, "store", err);
    }
    if (rc == 0)
        rc = resolve_path(cfg_path, cfg->web_root, cfg->web_root_path, sizeof cfg->web_root_path,
                          "web_root", err);
    char tmp[STN_PATH_MAX];
    if (rc == 0 && cfg->tls_cert_file[0]) {
        snprintf(tmp, sizeof tmp, "%s", cfg->tls_cert_file);
        rc = resolve_path(cfg_path, tmp, cfg->tls_cert_file, sizeof cfg->tls_cert_file,
                          "tls_cert_file", err);
    }
    if (rc == 0 && cfg->tls_key_file[0]) {
        snprintf(tmp, sizeof tmp, "%s", cfg->tls_key_file);
        rc = resolve_path(cfg_path, tmp, cfg->tls_key_file, sizeof cfg->tls_key_file,
                          "tls_key_file", err);
    }
    if (rc == 0 && !cfg->tls_cert_file[0] != !cfg->tls_key_file[0]) {
        if (err) {
            err->code = CONF_E_VALUE;
            snprintf(err->msg, sizeof err->msg, "%s: keys 'tls_cert_file' and 'tls_key_file' "
                     "go together: set both (HTTPS) or neither", cfg_path ? cfg_path : "config");
        }
        rc = STN_E_CONFIG;
    }
    return rc;
}

int stn_config_load(const char *path, struct stn_config *cfg, struct conf_error *err)
{
    memset(cfg, 0, sizeof *cfg);
    int rc = conf_parse_file(stn_config_keys, stn_config_nkeys, path, cfg, err);
    if (rc)
        return rc == CONF_E_OPEN ? STN_E_OPEN : STN_E_CONFIG;
    rc = resolve_store(path, cfg, err);
    return rc ? rc : resolve_others(path, cfg, err);
}

const char *stn_strerror(int err)
{
    switch (err) {
    case STN_OK:            return "ok";
    case STN_E_NOMEM:       return "out of memory";
    case STN_E_CONFIG:      return "invalid configuration";
    case STN_E_STORE:       return "store error";
    case STN_E_OPEN:        return "cannot open";
    case STN_E_EXISTS:      return "already exists";
    case STN_E_NOTFOUND:    return "not found";
    case STN_E_INVAL:       return "invalid argument";
    case STN_E_UNSUPPORTED: return "not supported";
    case STN_E_NET:         return "network error";
    default:                return "unknown error";
    }
}
