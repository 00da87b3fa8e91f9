/*
 * vigil/station.h — what other programs (the `vigil` tool, later the HTTP API)
 * may call in vigil-station's library: its configuration table and the
 * administrative side of its store (accounts, events, alarms, backup).
 *
 * The receiving half of the daemon (network, group commit) is private to
 * station/. Nothing here ever returns or prints an account's key or a
 * passcode hash: key presence and size only.
 */
#ifndef VIGIL_STATION_H
#define VIGIL_STATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil/conf.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors ---------------------------------------------------------- */

enum stn_err {
    STN_OK          = 0,
    STN_E_NOMEM     = -1,  /* allocation failed */
    STN_E_CONFIG    = -2,  /* configuration invalid */
    STN_E_STORE     = -3,  /* the store failed (I/O, full disk, corrupt) */
    STN_E_OPEN      = -4,  /* the store cannot be opened */
    STN_E_EXISTS    = -5,  /* e.g. account already exists */
    STN_E_NOTFOUND  = -6,  /* e.g. no such account */
    STN_E_INVAL     = -7,  /* bad argument (caller's input) */
    STN_E_UNSUPPORTED = -8, /* e.g. a postgresql:// store (not yet) */
    STN_E_NET       = -9,  /* listening failed */
};
const char *stn_strerror(int err);

/* ---- configuration (station/config.c) -------------------------------- */

#define STN_PATH_MAX 512u

enum stn_log_level { STN_LOG_DEBUG, STN_LOG_INFO, STN_LOG_WARN, STN_LOG_ERROR };

struct stn_config {
    struct conf_list dc09_listen;     /* host:port, TCP and UDP on the same port */
    char    store[STN_PATH_MAX];      /* "sqlite:PATH" or "postgresql://..." as written */
    char    store_path[STN_PATH_MAX]; /* PATH resolved against the config's folder; the URI */
    char    store_shown[STN_PATH_MAX]; /* store_path for messages: a URI without its password */
    char    key_store_file[STN_PATH_MAX];  /* as written; "" = store_path + ".keys" (SQLite) */
    char    key_store_path[STN_PATH_MAX];  /* resolved */
    char    ready_file[STN_PATH_MAX];
    int64_t max_connections;          /* 0: as many as the open-file limit allows, up to 20000 */
    int64_t max_connections_per_address;
    int64_t frame_bytes_max;
    int64_t idle_timeout_s;
    int64_t partial_frame_timeout_s;
    int64_t account_rate_per_s;       /* 0: no per-account limit */
    int64_t account_burst;
    int64_t time_window_past_s;
    int64_t time_window_future_s;
    int64_t duplicate_window_s;
    int64_t duplicate_entries_max;
    int64_t supervision_grace_s;
    int64_t supervision_check_s;
    int64_t event_retention_days;     /* 0: keep forever */
    int64_t commit_batch_max;
    int64_t commit_linger_us;         /* wait this long at most for a fuller batch */
    int64_t escalate_after_s;
    int64_t stats_interval_s;         /* 0: counters only on SIGUSR1 */
    char    metrics_listen[256];      /* station: HOST:PORT of GET /metrics; "" = none */
    struct conf_list metrics_allow;   /* console: client addresses that may read /metrics */
    int     log_level;                /* enum stn_log_level */
    /* both programs: the station's control socket (alarm actions from vigil-console) */
    char    control_socket[STN_PATH_MAX];      /* as written; "" = stn_store_base() + ".ctl" */
    char    control_socket_path[STN_PATH_MAX]; /* resolved */
    int64_t take_lease_s;             /* station: a taken alarm whose operator is gone this long is released */
    int64_t control_items_per_batch_max; /* station: control requests per group commit */
    int64_t billing_admin_fee_cents;  /* both: added to an invoice line passing on an agency fee */
    int64_t setup_session_max_s;      /* station: a set-up session's longest life (it ends by itself) */
    int64_t test_mode_max_s;          /* station: an account's longest test mode (it ends by itself) */
    /* vigil-console */
    char    http_listen[CONF_VALUE_MAX];
    char    web_root[STN_PATH_MAX];        /* as written */
    char    web_root_path[STN_PATH_MAX];   /* resolved */
    char    tls_cert_file[STN_PATH_MAX];   /* resolved against the config's folder */
    char    tls_key_file[STN_PATH_MAX];
    int64_t session_idle_s;
    int64_t login_attempts_per_min;
    int64_t http_connections_max;
    int64_t sse_clients_max;
    int64_t change_poll_ms;
    char    station_name[128];
    char    station_phone[64];
};

extern const struct conf_key stn_config_keys[];
extern const size_t stn_config_nkeys;

/* Loads and validates a config file; on failure err holds "FILE:LINE: key 'x': why". */
int stn_config_load(const char *path, struct stn_config *cfg, struct conf_error *err);
/* Where the files that sit beside a store go (STORE.ctl, STORE.audit-head):
 * the SQLite store's path; with PostgreSQL, the key store file's
 * (KEY_STORE_FILE.ctl, KEY_STORE_FILE.audit-head: on each node). */
const char *stn_store_base(const struct stn_config *cfg);

/* ---- the store, administrative side (station/store_admin.c) ---------- */

struct stn_store;

/* Opens (creating and migrating if needed) the store a config names.
 * On failure msg holds a sentence for the operator. */
int  stn_store_open(const struct stn_config *cfg, struct stn_store **out, char *msg, size_t cap);
/* Opens the store only if its file exists: a read (a list, a query, a login)
 * must never make an empty store where a mistyped store_path points.
 * STN_E_NOTFOUND, msg naming the file, when it does not exist. */
int  stn_store_open_existing(const struct stn_config *cfg, struct stn_store **out, char *msg,
                             size_t cap);
/* create true: as stn_store_open, and *created (may be NULL) says the file was
 * made now (the caller says so once); false: as stn_store_open_existing. */
int  stn_store_open_ex(const struct stn_config *cfg, bool create, bool *created,
                       struct stn_store **out, char *msg, size_t cap);
void stn_store_close(struct stn_store *s);
/* The message of the last failure that has one (e.g. the key store), or NULL. */
const char *stn_store_last_error(const struct stn_store *s);

/* Account fields as the tool sets them. NULL / has_* false = leave unchanged (edit)
 * or unset (add). */
struct stn_account_input {
    const char *name, *address, *time_zone, *phone, *agency, *permit;
    bool     has_key;    const uint8_t *key; uint8_t key_len;  /* key_len 0 with has_key: remove key */
    bool     has_supervision; int64_t supervision_s;
    bool     has_quirks; uint32_t quirks;                        /* enum dc09_quirk flags */
    /* per-account time window; -1 = the station config's (both set together) */
    bool     has_window; int64_t window_past_s, window_future_s;
    /* police response at the premises ("normal", "cautioned", "suspended") and
     * the kind of premises ("residential", "commercial"); NULL = unchanged / default */
    const char *police_status, *location;
    /* the alarm permit's expiry (ms since the epoch, UTC; 0 with has_*: none) */
    bool     has_permit_expires; int64_t permit_expires_ms;
};

int stn_account_add(struct stn_store *s, const char *number, const struct stn_account_input *in);
int stn_account_edit(struct stn_store *s, const char *number, const struct stn_account_input *in);
int stn_account_remove(struct stn_store *s, const char *number);

/* Police agencies (vigil/agency.h; docs/station.md "Agency files"). Import
 * checks the whole file first: STN_E_INVAL with stn_store_last_error()
 * naming the field, and nothing changes. The same id again replaces its
 * rules (*replaced); past invoice lines keep the rule they were billed by. */
int stn_agency_import(struct stn_store *s, const char *text, size_t len, char id[64],
                      bool *replaced);
int stn_agencies_json(struct stn_store *s, void **out);
/* Invoice lines with from_ms <= at < to_ms, oldest first (json_t array). */
int stn_charges_json(struct stn_store *s, int64_t from_ms, int64_t to_ms, void **out);

int stn_account_user_set(struct stn_store *s, const char *number, int64_t user, const char *name);
int stn_account_user_remove(struct stn_store *s, const char *number, int64_t user);
int stn_account_zone_set(struct stn_store *s, const char *number, int64_t zone, const char *name);
int stn_account_zone_remove(struct stn_store *s, const char *number, int64_t zone);
int stn_account_contact_add(struct stn_store *s, const char *number, const char *name,
                            const char *phone, const char *relation, bool lives_at_premises);
/* The same, naming the panel user the contact is (user_number -1: none): a
 * duress by that user leaves them off the call list. */
int stn_account_contact_add_user(struct stn_store *s, const char *number, const char *name,
                                 const char *phone, const char *relation, bool lives_at_premises,
                                 int64_t user_number);
int stn_account_contact_remove(struct stn_store *s, const char *number, int64_t position);
/* Hashes the passcode (libsodium argon2id) and stores only the hash. duress: the
 * verbal duress passcode. */
int stn_account_passcode_set(struct stn_store *s, const char *number, bool duress,
                             const char *passcode, size_t len);

/* Queries return a jansson json_t * (void * here to keep jansson out of this
 * header) that the caller releases with json_decref. */
int stn_accounts_json(struct stn_store *s, void **out);                 /* array */
int stn_account_json(struct stn_store *s, const char *number, void **out); /* object */

struct stn_event_filter {
    const char *account;   /* NULL: all */
    int64_t since_ms;      /* 0: all */
    int64_t limit;         /* 0: no limit */
};
int stn_events_json(struct stn_store *s, const struct stn_event_filter *f, void **out);
/* The same, one event at a time (a json_t * object the callee owns): for
 * stores too big to hold as one array. fn returns non-zero to stop. */
int stn_events_each(struct stn_store *s, const struct stn_event_filter *f,
                    int (*fn)(void *ctx, void *obj), void *ctx);
/* Open alarms (not closed) in queue order: priority ascending, then oldest first. */
int stn_alarms_json(struct stn_store *s, bool include_closed, void **out);
/* Signals refused with DUH (unknown account, payload, decrypt, clear on keyed). */
int stn_rejected_json(struct stn_store *s, int64_t since_ms, void **out);

/* A consistent copy of the store while the daemon runs (sqlite3_backup). */
int stn_store_backup(struct stn_store *s, const char *path, char *msg, size_t cap);
/* What `vigil restore` found (station/restore.c). */
struct stn_restore_report {
    int     backup_version;      /* the backup's schema version */
    int     program_version;     /* after migration: this program's */
    int64_t events, alarms_open, last_event_ms;
    int64_t accounts_keyed, keys_sealed, keys_open, keys_clear;
    bool    keystore_present;
    char    first_closed[24];    /* the first account whose sealed key does not open */
    char    kept[STN_PATH_MAX + 64];   /* the replaced store, kept ("" none) */
    int64_t audit_seq;           /* the restored trail's last entry */
};
/* Replaces the store by a backup (docs/backup.md): refuses while the store
 * is open elsewhere (STN_E_EXISTS), a backup that fails its integrity check
 * or has a newer schema or an audit trail that does not match its head file,
 * an existing store without force (STN_E_EXISTS), sealed keys that do not
 * open with the key store in place (STN_E_CONFIG); the key store is never
 * touched. */
/* A process answers on the control socket at path (a running station). */
bool stn_ctl_answers(const char *path);
int stn_store_restore(const struct stn_config *cfg, const char *backup, bool force,
                      struct stn_restore_report *r, char *msg, size_t cap);
/* The last successful backup, recorded beside the store for the metrics
 * (STORE.last-backup: "UNIX_SECONDS\n"); 0 or -1 with msg. */
int stn_backup_mark_write(const char *store_path, int64_t when_s, char *msg, size_t cap);

/* ---- the operators' side (vigil-console, docs/console.md) ------------ */

/* Alarms as the console lists them: the objects of stn_alarms_json plus
 * account_name, police_status, plan, steps_total, steps_done, mandatory_open,
 * dispatch_status, warning_s, danger_s and change (the alarm's last change
 * seq). Plans and targets come from the alarm engine (vigil/alarm.h). */
int stn_alarm_list_json(struct stn_store *s, bool include_closed, void **out);  /* array */
/* One alarm's list object; STN_E_NOTFOUND when there is none. */
int stn_alarm_item_json(struct stn_store *s, int64_t id, void **out);
/* The list object plus account (phone withheld for a silent kind), steps,
 * call_list, dispatch, history and events (newest first, at most 50). */
int stn_alarm_detail_json(struct stn_store *s, int64_t id, void **out);
/* A set-up session (docs/console.md, "Set-up sessions"): the panel's
 * programming reports since it opened (never digits: slot, result, rule,
 * colliding slot) and the account's alarms since then, with delivery times
 * and whether their plan has a dispatch step; STN_E_NOTFOUND. */
int stn_setup_json(struct stn_store *s, int64_t id, void **out);
/* The alarm's account number (for a passcode check); STN_E_NOTFOUND. */
int stn_alarm_account(struct stn_store *s, int64_t id, char out[32]);
/* The police dispatch record of an alarm in ASAP-to-PSAP / NIEM em:Alarm
 * field names; STN_E_NOTFOUND when the alarm has none. */
int stn_dispatch_json(struct stn_store *s, int64_t id, void **out);

/* The dispute packet of an alarm (docs/audit.md, "The dispute packet"): the
 * customer, signals (raw and decoded), zones and users, verification
 * attempts, dispatch record and times, finding and invoice line, operator
 * actions, and the audit trail from the alarm's first entry to its end with
 * the head file — a json_t object read in one snapshot. generated_by (may be
 * NULL) names who asked. STN_E_NOTFOUND when there is no such alarm. Never
 * holds a password, passcode, hash of one, key or token. */
int stn_dispute_json(struct stn_store *s, int64_t id, const char *generated_by, void **out);
/* That packet as one self-contained printable HTML page (inline CSS, no
 * script, no external resource, every value escaped); malloc'd, NUL-ended,
 * *len its length. NULL when out of memory. */
char *stn_dispute_html(const void *packet, size_t *len);

/* PRAGMA data_version of this connection: moves when another connection commits. */
int stn_store_data_version(struct stn_store *s, int64_t *out);
/* A descriptor that becomes readable when another connection commits
 * (PostgreSQL's LISTEN/NOTIFY socket: poll it, then call
 * stn_store_data_version); -1 on SQLite, which is polled. */
int stn_store_notify_fd(struct stn_store *s);
/* The change log (alarm_changes): oldest and latest seq kept (0, 0 when empty). */
int stn_alarm_changes_range(struct stn_store *s, int64_t *oldest, int64_t *latest);
/* Each alarm changed after seq `after`, once, with its latest seq, in the
 * order of those seqs; at most `limit` alarms. fn returns non-zero to stop. */
int stn_alarm_changes_each(struct stn_store *s, int64_t after, int64_t limit,
                           int (*fn)(void *ctx, int64_t seq, int64_t alarm_id), void *ctx);

/* Operators. Passwords are generated here (STN_PASSWORD_LEN characters from
 * an alphabet without look-alikes) and stored only as argon2id hashes. The
 * caller wipes the password it got (sodium_memzero) once shown. */
#define STN_PASSWORD_LEN 20
#define STN_OPERATOR_NAME_MAX 32
int stn_operator_add(struct stn_store *s, const char *name, const char *role,
                     char password[STN_PASSWORD_LEN + 1]);        /* EXISTS, INVAL */
int stn_operator_reset(struct stn_store *s, const char *name,
                       char password[STN_PASSWORD_LEN + 1]);      /* NOTFOUND */
int stn_operator_set_disabled(struct stn_store *s, const char *name, bool disabled);
int stn_operators_json(struct stn_store *s, void **out);  /* [{name, role, disabled, created_at}] */
/* 0 when an operator of that name exists (disabled or not), STN_E_NOTFOUND. */
int stn_operator_exists(struct stn_store *s, const char *name);
/* The role of an operator who exists and is not disabled; STN_E_NOTFOUND
 * otherwise (a session of a disabled operator ends at its next request). */
int stn_operator_role(struct stn_store *s, const char *name, char role[16]);
/* A login: 0 and role filled ("operator", "supervisor", "admin") when the
 * name exists, is not disabled and the password matches; STN_E_NOTFOUND
 * otherwise (one answer for every failure, in about the same time). */
int stn_operator_login(struct stn_store *s, const char *name, const char *password,
                       size_t len, char role[16]);

/* A verbal passcode an operator typed, checked against the account's two
 * hashes. Both are always checked (a missing one against a dummy) so the
 * time taken says nothing about which matched. */
enum stn_passcode_result { STN_PASSCODE_NO_MATCH, STN_PASSCODE_NORMAL, STN_PASSCODE_DURESS };
int stn_passcode_check(struct stn_store *s, const char *number, const char *passcode,
                       size_t len, enum stn_passcode_result *out);
const char *stn_passcode_result_name(enum stn_passcode_result r);

/* A growable, NUL-ended text buffer (station/text.c) for hand-written pages
 * (dispute HTML, dispatch XML): start it zeroed; an append after a failed
 * allocation is dropped and sets `failed`; the caller frees `p`. */
struct stn_text {
    char  *p;
    size_t len, cap;
    bool   failed;
};
void stn_text_put(struct stn_text *b, const char *s, size_t n);
void stn_text_puts(struct stn_text *b, const char *s);

/* "2026-11-26T14:03:05.123Z" (25 bytes incl. NUL) */
void stn_iso8601_ms(int64_t ms, char out[32]);
/* ISO 8601 ("2026-11-26T14:03:05Z", "...05.123Z", "2026-11-26") or relative
 * ("10m", "2h", "3d", "30s") before now_ms. */
int stn_parse_since(const char *s, int64_t now_ms, int64_t *out_ms);

#ifdef __cplusplus
}
#endif
#endif /* VIGIL_STATION_H */
