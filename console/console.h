/*
 * console.h — private to vigil-console: what its files share (the
 * application, sessions, the control-socket client, the change ring, the
 * HTTP reply helpers). Nothing here is for other programs.
 *
 * The console never writes alarm state: every action goes to vigil-station
 * over the control socket (ctl.c). It reads the store (WAL snapshots) and
 * holds sessions in memory only.
 */
#ifndef VIGIL_CONSOLE_H
#define VIGIL_CONSOLE_H

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil/station.h"

/* station/log.c (vigil_station_core): "LEVEL COMPONENT: text" on stderr */
void stn_log(int level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void stn_log_set_level(int level);
int64_t stn_now_ms(void);
#define CON_INFO(c, ...)  stn_log(STN_LOG_INFO, c, __VA_ARGS__)
#define CON_WARN(c, ...)  stn_log(STN_LOG_WARN, c, __VA_ARGS__)
#define CON_ERROR(c, ...) stn_log(STN_LOG_ERROR, c, __VA_ARGS__)

enum con_err {
    CON_OK          = 0,
    CON_E_NOMEM     = -1,
    CON_E_UNAVAILABLE = -2,  /* the station did not answer (HTTP 503) */
    CON_E_LIMIT     = -3,    /* a bound reached (sessions, streams, attempts) */
    CON_E_DENIED    = -4,    /* no such session, bad login */
    CON_E_START     = -5,    /* the HTTP server or a thread could not start */
};

#define CON_BODY_MAX      (16u * 1024u)   /* request bodies beyond: 413 */
#define CON_TOKEN_HEX     65              /* 32 random bytes as hex + NUL */
#define CON_NAME_MAX      (STN_OPERATOR_NAME_MAX + 1)
#define CON_HASH_SLOTS    2               /* argon2id checks at once (64 MiB each) */

struct con_sessions;
struct con_changes;

/* A store connection of its own for slow checks (argon2id), so that a login
 * never holds the connection every read waits for. */
struct con_slot {
    struct stn_store *st;
    bool busy;
};

struct con_app {
    struct stn_config cfg;
    bool tls;
    /* reads: one connection, one short query at a time */
    struct stn_store *store;
    pthread_mutex_t store_mu;
    /* password and passcode checks */
    struct con_slot slots[CON_HASH_SLOTS];
    pthread_mutex_t slot_mu;
    pthread_cond_t slot_cv;
    struct con_sessions *sessions;
    struct con_changes *changes;
    atomic_bool stopping;
    atomic_int streams;             /* open live streams */
    struct MHD_Daemon *httpd;
    char *tls_cert, *tls_key;       /* PEM, kept while the server runs */
};

/* ---- session.c ---------------------------------------------------------- */

struct con_session_info {
    uint64_t id;                    /* stable for the session's life, never a secret */
    char name[CON_NAME_MAX];
    char role[16];
    char csrf[CON_TOKEN_HEX];
};

int  con_sessions_create(const struct stn_config *cfg, struct con_sessions **out);
void con_sessions_destroy(struct con_sessions *ss);
/* A new session for an operator just logged in; token is the cookie's value. */
int  con_session_new(struct con_sessions *ss, const char *name, const char *role,
                     char token[CON_TOKEN_HEX], struct con_session_info *out);
/* The live session of a cookie value (and marks it used); CON_E_DENIED. */
int  con_session_find(struct con_sessions *ss, const char *token, struct con_session_info *out);
bool con_session_alive(struct con_sessions *ss, uint64_t id);
void con_session_end(struct con_sessions *ss, uint64_t id);
/* A live stream keeps its session used and its operator present. */
void con_session_stream(struct con_sessions *ss, uint64_t id, int delta);
bool con_csrf_ok(const struct con_session_info *s, const char *header);
/* Ends idle sessions; fills a JSON array with the names present. */
void con_sessions_sweep(struct con_sessions *ss, json_t *present);

/* Login attempts: CON_E_LIMIT when the name or the address had
 * login_attempts_per_min failures in the last minute (attempts still being
 * checked count as failures). Otherwise the attempt is counted as pending:
 * exactly one of con_login_failed / con_login_succeeded must follow. */
int  con_login_allowed(struct con_sessions *ss, const char *name, const char *addr);
void con_login_failed(struct con_sessions *ss, const char *name, const char *addr);
void con_login_succeeded(struct con_sessions *ss, const char *name, const char *addr);
/* Ends every session of an operator (disabled or removed); how many ended. */
int  con_sessions_end_name(struct con_sessions *ss, const char *name);

/* ---- ctl.c: the station's control socket -------------------------------- */

/* One request line, one reply object (the caller decrefs). CON_E_UNAVAILABLE
 * when the station is not there or silent for 5 s. */
int con_ctl_call(const char *socket_path, json_t *request, json_t **reply);
/* An entry of the console's own in the station's audit trail (kind
 * alarm.view, alarm.dispute, login, login.failed, logout; detail taken, never a secret).
 * operator NULL for login.failed. 0, or non-zero (logged) when the station
 * did not take it: the caller goes on (an operator must still see an alarm
 * with the station's control socket gone; docs/audit.md). */
int con_audit(struct con_app *app, const char *op, const char *kind, const char *subject,
              json_t *detail);

/* ---- changes.c: the change poller and the ring streams read ------------- */

int  con_changes_start(struct con_app *app);
void con_changes_stop(struct con_app *app);
/* The newest seq the poller has seen. */
int64_t con_changes_latest(struct con_changes *ch);
enum con_wait { CON_WAIT_ENTRY, CON_WAIT_TIMEOUT, CON_WAIT_GAP, CON_WAIT_WAKE };
/* The first ring entry past `cursor` (a malloc'd copy of its text in *text,
 * its seq in *seq); waits up to timeout_ms. GAP: the ring no longer holds
 * everything past cursor. WAKE: woken for a stop or a logout. */
enum con_wait con_changes_next(struct con_changes *ch, int64_t cursor, int timeout_ms,
                               char **text, int64_t *seq);
void con_changes_wake(struct con_changes *ch);
/* "id: SEQ\nevent: alarm\ndata: JSON\n\n" of an alarm (malloc'd); NULL on failure. */
char *con_change_text(struct con_app *app, int64_t seq, int64_t alarm_id);

/* ---- presence.c --------------------------------------------------------- */

int  con_presence_start(struct con_app *app);
void con_presence_stop(struct con_app *app);

/* ---- http.c: the server, routing and replies ----------------------------- */

struct con_req {
    char  *body;
    size_t body_len;
    bool   too_large;
    bool   have_session;
    struct con_session_info session;
    char   addr[64];                /* client address, no port */
};

int  con_http_start(struct con_app *app, uint16_t *bound_port);
void con_http_stop(struct con_app *app);
enum MHD_Result con_reply_json(struct MHD_Connection *c, unsigned status, json_t *body);
enum MHD_Result con_reply_error(struct MHD_Connection *c, unsigned status, const char *msg);
enum MHD_Result con_reply_text(struct MHD_Connection *c, unsigned status, const char *type,
                               char *text, size_t len);   /* takes text (malloc'd) */
/* An stn_err from a read, as its HTTP reply. */
enum MHD_Result con_reply_store_err(struct MHD_Connection *c, int rc);
/* Runs fn with the read connection held. */
int con_read(struct con_app *app, int (*fn)(struct stn_store *st, void *ctx), void *ctx);
struct stn_store *con_slot_take(struct con_app *app);
void con_slot_give(struct con_app *app, struct stn_store *st);

/* ---- metrics.c: GET /metrics (no login; metrics_allow addresses only) ---- */

enum MHD_Result con_metrics(struct con_app *app, struct MHD_Connection *c,
                            const struct con_req *r, const char *method);
void con_metrics_request(void);     /* every request, counted */
void con_metrics_started(void);
void con_metrics_free(void);

/* ---- api.c: session and read endpoints ----------------------------------- */

enum MHD_Result con_api_login(struct con_app *app, struct MHD_Connection *c, struct con_req *r);
enum MHD_Result con_api_logout(struct con_app *app, struct MHD_Connection *c, struct con_req *r);
enum MHD_Result con_api_session(struct con_app *app, struct MHD_Connection *c, struct con_req *r);
enum MHD_Result con_api_alarms(struct con_app *app, struct MHD_Connection *c, struct con_req *r);
enum MHD_Result con_api_alarm(struct con_app *app, struct MHD_Connection *c, int64_t id);
enum MHD_Result con_api_alarm_view(struct con_app *app, struct MHD_Connection *c,
                                   struct con_req *r, int64_t id);
enum MHD_Result con_api_accounts(struct con_app *app, struct MHD_Connection *c, const char *number);
enum MHD_Result con_api_events(struct con_app *app, struct MHD_Connection *c);
enum MHD_Result con_api_signals(struct con_app *app, struct MHD_Connection *c);
/* setup.c: assisted duress set-up sessions and test mode */
enum MHD_Result con_setup_account_route(struct con_app *app, struct MHD_Connection *c,
                                        struct con_req *r, const char *method,
                                        const char *rest, bool *handled);
enum MHD_Result con_setup_route(struct con_app *app, struct MHD_Connection *c, struct con_req *r,
                                const char *method, const char *rest);
enum MHD_Result con_api_operators(struct con_app *app, struct MHD_Connection *c, struct con_req *r);

/* ---- actions.c: the alarm actions (POST) --------------------------------- */

enum MHD_Result con_account_create(struct con_app *app, struct MHD_Connection *c,
                                   struct con_req *r);
enum MHD_Result con_action(struct con_app *app, struct MHD_Connection *c, struct con_req *r,
                           int64_t id, const char *action);

/* ---- stream.c: GET /api/alarms/stream (Server-Sent Events) --------------- */

enum MHD_Result con_stream(struct con_app *app, struct MHD_Connection *c, struct con_req *r);

/* ---- dispatch.c: the dispatch record as JSON or XML ---------------------- */

enum MHD_Result con_dispatch_export(struct con_app *app, struct MHD_Connection *c, int64_t id,
                                    bool xml);
/* The record (a JSON object of NIEM names) as an em:Alarm XML document. */
char *con_dispatch_xml(json_t *record, int64_t alarm_id, size_t *len);

/* ---- dispute.c: the dispute packet as JSON or a printable page --------- */

enum MHD_Result con_dispute_export(struct con_app *app, struct MHD_Connection *c,
                                   struct con_req *r, int64_t id, bool html);

/* ---- static.c: the web page's files --------------------------------------- */

enum MHD_Result con_static(struct con_app *app, struct MHD_Connection *c, const char *url);

#endif
