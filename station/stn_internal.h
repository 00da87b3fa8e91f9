/*
 * stn_internal.h — private to vigil-station: the pieces its files share
 * (allocation, logging, priority table, duplicate window, rate limiter,
 * batch items and the commit worker's interface to the store).
 *
 * Nothing here is for other programs: they use vigil/station.h.
 */
#ifndef STN_INTERNAL_H
#define STN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil/dc09.h"
#include "vigil/station.h"

/* ---- alloc.c: every daemon allocation goes through here -------------- */

void  *stn_malloc(size_t n);
void  *stn_calloc(size_t n, size_t size);
void  *stn_realloc(void *p, size_t n);
void   stn_free(void *p);
size_t stn_alloc_bytes(void);      /* bytes currently allocated */
size_t stn_alloc_count(void);      /* blocks currently allocated */
/* Test hook: the n-th allocation from now fails (0 = never). */
void   stn_alloc_fail_after(unsigned long n);

/* ---- log.c: one line per event, level and component first ------------ */

/* From here on lines go through a bounded buffer and a writer thread: a slow
 * stderr never blocks the caller; lines that find it full are dropped. */
int  stn_log_async_start(void);
/* Waits up to wait_ms for the buffer to drain, then writes directly again. */
void stn_log_async_stop(int wait_ms);
/* Once a second: "N similar lines suppressed" for call sites quiet since. */
void stn_log_tick(void);
uint64_t stn_log_dropped(void);      /* lines lost to a full buffer */
uint64_t stn_log_suppressed(void);   /* lines over a call site's rate */
void stn_log_set_level(int level);
int  stn_log_level(void);
void stn_log(int level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define STN_DEBUG(c, ...) do { if (stn_log_level() <= STN_LOG_DEBUG) stn_log(STN_LOG_DEBUG, c, __VA_ARGS__); } while (0)
#define STN_INFO(c, ...)  stn_log(STN_LOG_INFO, c, __VA_ARGS__)
#define STN_WARN(c, ...)  stn_log(STN_LOG_WARN, c, __VA_ARGS__)
#define STN_ERROR(c, ...) stn_log(STN_LOG_ERROR, c, __VA_ARGS__)

int64_t stn_now_ms(void);          /* wall clock, UTC, milliseconds */
/* One column of a SQLite row as JSON (store_admin.c; also dispute.c): text,
 * integer, time (ISO 8601 UTC with ms) or raw frame bytes (>= 0x80 as
 * U+0080..U+00FF, so the text stays valid UTF-8); SQL NULL as null. */
struct db_stmt;
struct json_t;
struct json_t *stn__col_text(struct db_stmt *st, int i);
struct json_t *stn__col_int(struct db_stmt *st, int i);
struct json_t *stn__col_time(struct db_stmt *st, int i);
struct json_t *stn__col_raw(struct db_stmt *st, int i);

/* ---- priority.c: DURESS.md's priority table as data ------------------ */

struct stn_class {
    const char *kind;   /* "duress", "fire", ... or NULL: stored, no alarm */
    int priority;       /* 1..5; 0 = none */
    bool restore;       /* a restore of `kind` (marks an open alarm restored) */
    bool is_user;       /* the CID ZZZ field is a user number, not a zone */
};
void stn_classify_cid(const struct dc09_cid *c, struct stn_class *out);
void stn_classify_sia(const struct dc09_sia *s, struct stn_class *out);
/* Classifies a decoded frame (NULL polls and unparsed payloads: no kind). */
void stn_classify_frame(const struct dc09_frame *f, struct stn_class *out);
/* Priority of the station's own alarm kinds ("comm_failure", "flood", ...). */
int  stn_kind_priority(const char *kind);
/* Duress or hold-up: never throttled, never merged into another kind. */
bool stn_class_is_duress(const struct stn_class *c);
/* Priority 1-3 (duress, hold-up, fire, medical, panic), not a restore: never
 * held back by the per-account rate limit (only routine frames are). */
bool stn_class_is_urgent(const struct stn_class *c);

/* ---- dedup.c: the retry window, in memory ---------------------------- */

struct stn_dedup_entry {
    uint64_t gen;        /* insertion number, 1-based; 0 = empty */
    uint64_t next_gen;   /* older entry in the same bucket */
    uint64_t hash;       /* keyed hash of the data block */
    int64_t  time_ms;
    uint64_t batch;      /* commit batch that carries the original */
    uint32_t account_id;
    uint16_t seq;
    bool     failed;     /* its commit failed: not a duplicate of anything */
};

struct stn_dedup {
    struct stn_dedup_entry *ring;
    size_t   cap;        /* entries */
    uint64_t *buckets;   /* newest gen per bucket */
    size_t   nbuckets;   /* power of two */
    uint64_t next_gen;
    uint64_t failed_batch;  /* the latest batch whose commit failed (0: none) */
    uint8_t  key[16];    /* SipHash key, random per process */
};

int  stn_dedup_init(struct stn_dedup *d, size_t cap);
void stn_dedup_free(struct stn_dedup *d);
uint64_t stn_dedup_hash(const struct stn_dedup *d, const void *data, size_t len);
/* Newest live entry for (account, seq) within window_ms of now, with the same
 * hash: returns its gen (0 if none) and the batch that carries it. */
uint64_t stn_dedup_find(const struct stn_dedup *d, uint32_t account_id, uint16_t seq,
                        uint64_t hash, int64_t now_ms, int64_t window_ms, uint64_t *batch);
uint64_t stn_dedup_insert(struct stn_dedup *d, uint32_t account_id, uint16_t seq,
                          uint64_t hash, int64_t time_ms, uint64_t batch);
/* The same ring used as the replay index (a struct stn_dedup of its own):
 * encrypted data blocks by (account, keyed hash of the ciphertext), whatever
 * their sequence number. A block is sent once: a retry is encrypted again
 * with a fresh pad. Returns the gen of the newest entry of that block within
 * window_ms (0: none) and the sequence number it came with. */
uint64_t stn_blocks_find(const struct stn_dedup *d, uint32_t account_id, uint64_t hash,
                         int64_t now_ms, int64_t window_ms, uint16_t *seq);
uint64_t stn_blocks_insert(struct stn_dedup *d, uint32_t account_id, uint16_t seq,
                           uint64_t hash, int64_t time_ms);
/* The entry's commit failed: it must not make a retry look like a duplicate. */
void stn_dedup_forget(struct stn_dedup *d, uint64_t gen);
/* Batch `batch` failed to commit (called before its entries are forgotten). */
void stn_dedup_batch_failed(struct stn_dedup *d, uint64_t batch);
/* May a duplicate of entry gen, whose original travels in `batch` (as
 * stn_dedup_find returned it), be ACKed now that the batch carrying the
 * duplicate has committed? The duplicate rides in the original's batch or the
 * next one, so its original either committed or is the latest failed batch.
 * An entry still in the ring answers by its own mark; one pushed out of the
 * ring (a small duplicate_entries_max under a burst) by the batch number —
 * never "old, hence committed". */
bool stn_dedup_valid(const struct stn_dedup *d, uint64_t gen, uint64_t batch);

/* ---- ratelimit.c: per-account token bucket --------------------------- */

struct stn_bucket {
    double  tokens;
    int64_t last_ms;
    bool    primed;
};
/* Takes one token; false when empty. rate_per_s 0 = unlimited. */
bool stn_bucket_take(struct stn_bucket *b, int64_t now_ms, int64_t rate_per_s, int64_t burst);
/* True when the bucket has refilled to burst (an episode of flooding is over). */
bool stn_bucket_full(struct stn_bucket *b, int64_t now_ms, int64_t rate_per_s, int64_t burst);

/* ---- batch items: what the loop hands to the commit worker ----------- */

enum stn_item_type {
    STN_ITEM_EVENT = 1,   /* store an event (+ alarm per its class), then ACK */
    STN_ITEM_POLL,        /* NULL poll: only last-seen; then ACK */
    STN_ITEM_ACK_ONLY,    /* duplicate of an event in a batch not yet committed */
    STN_ITEM_REJECTED,    /* refused signal (DUH): kept + alarm */
    STN_ITEM_ALARM,       /* station's own alarm: flood, comm_failure */
    STN_ITEM_RESTORE,     /* mark the open alarm of (account, kind) restored */
};

struct stn_conn;
struct stn_listener;

/* Where a reply goes (reply.c): a TCP connection (a batch item holds a
 * reference) or a UDP peer of a listener. */
struct stn_reply_to {
    struct stn_conn *conn;
    struct stn_listener *udp;
    uint8_t  peer_addr[28];       /* struct sockaddr_in6 max */
};

struct stn_item {
    uint8_t  type;
    struct stn_reply_to to;       /* where the reply goes */
    uint8_t  reply_len;
    char     reply_kind;          /* 'A' ACK, 'D' DUH */
    uint8_t  reply[200];
    uint64_t dedup_gen;           /* EVENT: its entry; ACK_ONLY: the original's */
    uint64_t orig_batch;          /* ACK_ONLY: the batch carrying the original */
    /* what is stored */
    uint32_t account_id;          /* 0: unknown account */
    char     account[DC09_ACCOUNT_MAX + 1];
    int64_t  received_ms;
    uint16_t seq;
    uint8_t  id;                  /* enum dc09_id */
    bool     encrypted;
    bool     has_cid, has_sia;
    struct dc09_cid cid;
    struct dc09_sia sia;
    bool     has_frame_time;
    int64_t  frame_time_s;
    struct stn_class cls;
    const char *kind;             /* ALARM/REJECTED/RESTORE: kind; EVENT: cls.kind */
    int      priority;
    const char *reason;           /* REJECTED: "unknown_account", "decrypt", ... */
    size_t   raw_off, raw_len;    /* in the job's arena */
    size_t   data_off, data_len;
    size_t   peer_off, peer_len;
    size_t   detail_off, detail_len;
    /* REJECTED of an unknown account, ALARM: the account number the alarm is
     * raised under ("" = `account`): an unknown account's signals join their
     * source address's alarm of the window, whatever number they claim */
    char     alarm_account[DC09_ACCOUNT_MAX + 1];
    uint32_t count;               /* ALARM: signals it stands for (0 = 1) */
    /* set by the worker, read after the commit (commit.c logs what happened) */
    int64_t  alarm_id;            /* the alarm raised or joined (0: none) */
    bool     alarm_opened;        /* ... and it is new */
    bool     stored_retry;        /* EVENT: another node stored it already (shared store) */
};

struct stn_seen { uint32_t account_id; int64_t ms; };

/* A loaded account row (the worker reads them, the loop merges them). */
struct stn_account_row {
    uint32_t id;
    char     number[DC09_ACCOUNT_MAX + 1];
    uint8_t  key[32];
    uint8_t  key_len;
    uint32_t quirks;
    int64_t  supervision_s;
    int64_t  last_seen_ms;
    bool     comm_failed;     /* an unrestored comm_failure alarm is open */
    int32_t  window_past_s;   /* -1: the config's time_window_past_s */
    int32_t  window_future_s; /* -1: the config's time_window_future_s */
    bool     key_error;       /* a sealed key that does not open: refuse the account */
};

struct stn_dup_row { uint32_t account_id; uint16_t seq; uint64_t hash; int64_t time_ms; };

/* An operator's action from the control socket (control.c): decided by the
 * alarm engine and written by the worker in the batch's transaction, then
 * answered after the commit (docs/console.md, "The control socket"). */
#define STN_CTL_LINE_MAX 4096u
#define STN_CTL_REPLY_MAX 400u
struct stn_ctl;
struct stn_ctl_req {
    struct stn_ctl *ctl;          /* where the reply goes (ref held) */
    size_t line_off, line_len;    /* the request line, in the job's arena */
    char   reply[STN_CTL_REPLY_MAX];   /* the worker's answer (one JSON line) */
};

/* files.c — the folder of a path ("." for a bare name, "/" at the root), and
 * an fsync of it (0, or -errno) so that a name just made there lasts. */
void stn_dir_of(const char *path, char *out, size_t cap);
int  stn_fsync_dir_of(const char *path);

/* linger.c — whether lingering for a fuller batch pays, measured. It pays
 * where a commit costs mostly per commit (an fdatasync that carries any number
 * of rows: SQLite); where each row costs the server real work (PostgreSQL) a
 * fuller batch takes as much longer as it carries more, and the time lingered
 * is lost — there two half batches taking turns, one read while the other
 * commits, go faster. The station runs in epochs of STN_LINGER_EPOCH commits,
 * each one way (lingering allowed or not), keeps the items committed per
 * second of each way, runs the faster — lingering only where it is clearly
 * faster (STN_LINGER_GAIN_MIN: a linger holds its batch's frames back, and at
 * a rate the panels set both ways commit the same) — and tries the other way
 * one epoch in STN_LINGER_EXPLORE (traffic changes). An epoch that spans a
 * pause in traffic is no measurement and starts again. */
#define STN_LINGER_EPOCH 64u
#define STN_LINGER_EXPLORE 8u
#define STN_LINGER_GAIN_MIN 1.03
#define STN_LINGER_PAUSE_NS (100u * 1000000u)
struct stn_linger_meter {
    double   rate[2];             /* items per second: [0] not lingering, [1] lingering */
    uint32_t seen[2];             /* epochs measured each way */
    bool     mode;                /* this epoch: lingering allowed */
    uint32_t epochs;              /* epochs since the other way was last tried */
    uint32_t cycles;              /* commits so far in this epoch ... */
    uint64_t items;               /* ... their items ... */
    uint64_t start_ns, last_ns;   /* ... since, and the last commit's return */
};
void stn_linger_meter_init(struct stn_linger_meter *m);      /* the first epoch lingers */
/* A commit of `items` returned at now_ns (monotonic); m->mode says what follows. */
void stn_linger_meter_note(struct stn_linger_meter *m, size_t items, uint64_t now_ns);

struct stn_job {
    uint64_t batch;
    struct stn_ctl_req *ctl;      /* operator actions (at most ctl_cap) */
    size_t nctl, ctl_cap;
    /* the take lease: operators present (names in the arena, NUL-terminated);
     * alarms held by anyone else since before lease_before_ms are released */
    bool    lease_check;
    int64_t lease_before_ms;
    size_t  present_off[256];
    size_t  npresent;
    struct stn_item *items;
    size_t n, cap;
    uint8_t *arena;
    size_t arena_len, arena_cap;
    struct stn_seen *seen;
    size_t nseen, seen_cap;
    bool   has_duress;
    /* maintenance asked by the loop */
    bool    check_accounts;
    bool    force_accounts;
    int64_t prune_before_ms;      /* 0: no pruning */
    int64_t escalate_before_ms;   /* 0: no escalation check */
    int64_t admin_fee_cents;      /* billing_admin_fee_cents, for invoice lines written now */
    int64_t setup_session_max_s;  /* setup_session_max_s, test_mode_max_s: their bounds now */
    int64_t test_mode_max_s;
    bool    setup_check;          /* end test modes and set-up sessions past their time */
    int64_t now_ms;
    bool    wal_finish;           /* after COMMIT, checkpoint the WAL's tail (see commit.c) */
    /* where a batch's time goes (stn_mono_ns): first item added, handed to the
     * worker, worker started, worker done */
    uint64_t t_first_ns, t_kick_ns, t_start_ns, t_end_ns;
    /* results */
    int     rc;                   /* 0 committed; STN_E_STORE: nothing of it stored */
    int64_t commit_us;            /* wall time of the transaction */
    int64_t rows_us;              /* of which BEGIN and the statements, before COMMIT */
    bool    prune_more;           /* more events past retention remain */
    bool    accounts_loaded;      /* rows: read in this job (force_accounts) */
    bool    accounts_changed;     /* others committed: the loop has the reader read them */
    bool    leader;               /* this node does supervision (one node of several) */
    int     wal_frames;           /* frames in the WAL after this job's commit */
    /* the station's own audit entries for this batch (config.reload...):
     * "kind\0after\0" in the arena */
    size_t  note_off[8];
    size_t  nnotes;
    /* the audit trail: set when the job appended; after the commit, the
     * chain's head as committed (the loop hands it to the head file writer) */
    bool    audited;
    uint32_t audit_failed;        /* entries that could not be appended (logged after) */
    int64_t known_seq;            /* the head the station last appended (set at kick) ... */
    char    known_hash[65];
    bool    audit_broken;         /* ... is no longer in the trail: someone rewrote it */
    int64_t audit_seq;
    char    audit_hash[65];
    struct stn_account_row *rows;
    size_t  nrows;
};

uint64_t stn_mono_ns(void);     /* CLOCK_MONOTONIC, as uv_hrtime() */
int  stn_job_init(struct stn_job *j, size_t items_cap, size_t ctl_cap);
void stn_job_clear(struct stn_job *j);   /* after use: releases conn refs elsewhere */
void stn_job_free(struct stn_job *j);
struct stn_item *stn_job_add(struct stn_job *j);
/* Copies bytes into the arena; returns 0 or STN_E_NOMEM. */
int  stn_job_copy(struct stn_job *j, const void *p, size_t len, size_t *off);
/* An audit entry of the station's own to append with the job (after: JSON
 * text); 0, or STN_E_NOMEM / STN_E_INVAL (8 per job at most). */
int  stn_job_note(struct stn_job *j, const char *kind, const char *after);

/* ---- store_worker.c: the worker's side of the store ------------------ */

struct stn_wstore;   /* one SQLite connection, used by one thread at a time */
int  stn_wstore_open(const struct stn_config *cfg, struct stn_wstore **out, char *msg, size_t cap);
void stn_wstore_close(struct stn_wstore *w);
/* Runs a job in one transaction (plus maintenance); sets j->rc. */
void stn_wstore_run(struct stn_wstore *w, struct stn_job *j);
/* Loads accounts (startup). */
int  stn_wstore_load_accounts(struct stn_wstore *w, struct stn_account_row **rows, size_t *n);
/* Reads the duplicate window back (startup): events received after since_ms. */
int  stn_wstore_load_recent(struct stn_wstore *w, int64_t since_ms,
                            struct stn_dup_row **rows, size_t *n,
                            uint64_t (*hash)(void *ctx, const void *p, size_t len), void *ctx);

/* The accounts read on their own connection, off the loop and beside
 * commits (the worker's keystore opens their keys). */
struct stn_reader;
int  stn_reader_open(const struct stn_config *cfg, const struct stn_wstore *w,
                     struct stn_reader **out, char *msg, size_t cap);
void stn_reader_close(struct stn_reader *r);
int  stn_reader_load_accounts(struct stn_reader *r, struct stn_account_row **rows, size_t *n);

/* WAL checkpoints on their own connection, off the loop and beside commits. */
struct stn_ckpt;
int  stn_ckpt_open(const struct stn_config *cfg, struct stn_ckpt **out, char *msg, size_t cap);
void stn_ckpt_close(struct stn_ckpt *c);
/* One PASSIVE checkpoint; returns true when it copied every frame the WAL
 * held when it began (the writer can then finish the tail quickly). */
bool stn_ckpt_run(struct stn_ckpt *c);

struct db;
/* audit.c: appends an entry in the job's transaction (the commit worker). */
struct stn_audit_entry;
int stn_audit_job(struct db *db, struct stn_job *j, const struct stn_audit_entry *e);
/* 1 when entry seq still has that hash, 0 when not, < 0 on an SQLite error. */
int stn_audit_has(struct db *db, int64_t seq, const char *hash);
/* The chain's last entry as the transaction sees it (seq 0: none). */
int stn_audit_last(struct db *db, int64_t *seq, char hash[65]);
/* One entry of the station's own in its own transaction (start, stop);
 * the head is returned for the caller to write. */
int stn_wstore_audit(struct stn_wstore *w, const char *kind, const char *after, int64_t *seq,
                     char hash[65]);
const char *stn_wstore_path(const struct stn_wstore *w);
/* stn_audit_has on the worker's connection (loop thread, no job running). */
int stn_wstore_audit_has(struct stn_wstore *w, int64_t seq, const char *hash);
int stn_wstore_audit_last(struct stn_wstore *w, int64_t *seq, char hash[65]);

/* store_admin.c: the administrative store's connection and file (audit.c) */
struct db *stn_store_db(struct stn_store *s);
const char *stn_store_path(const struct stn_store *s);

/* store_setup.c: assisted duress set-up in the worker's transaction
 * (setup_open, setup_close, test_on, test_off; the ends at their time) */
struct json_t;
int stn__setup_request(struct db *db, struct stn_job *j, struct stn_ctl_req *q,
                       struct json_t *o, const char *op);
int stn__setup_expire(struct db *db, struct stn_job *j);

/* store_admin.c: an account number as stored (3–16 hex digits, upper case);
 * STN_E_INVAL when it is not one. */
int stn_account_number_norm(const char *n, char out[DC09_ACCOUNT_MAX + 1]);

/* ---- store_shared.c: a store several nodes share (PostgreSQL) ---------- */
struct stn_shared;
int  stn__shared_open(struct db *db, struct stn_shared **out, char *msg, size_t cap);
void stn__shared_close(struct stn_shared *sh);
/* The same on every node: BLAKE2b-64 of the account and the payload. */
int64_t stn__shared_hash(const char *account, const void *data, size_t len);
int  stn__shared_prune(struct stn_shared *sh, int64_t before_ms);
/* Records every EVENT item's (account, seq, payload) in `recent_frames`,
 * one statement per 64; sets stored_retry on those another node stored
 * within window_ms. */
int  stn__shared_seen_job(struct stn_shared *sh, struct stn_job *j, int64_t window_ms);
/* The window's rule as SQL, after the rows of an INSERT INTO recent_frames
 * (?1: the window, ms): a key seen within the window is left alone (a retry:
 * no row returned); one older takes the new time. */
#define STN_SHARED_UPSERT \
    " ON CONFLICT (account_id, seq, data_hash) DO UPDATE" \
    " SET received_at_ms = excluded.received_at_ms" \
    " WHERE recent_frames.received_at_ms < excluded.received_at_ms - ?1"
/* The next at most `cap` EVENT items of the job from *i on, with their
 * hashes, each marked stored_retry until its key comes back new; the same
 * key twice in one statement is refused by PostgreSQL, so a repeat is left
 * out (a retry of the first). Returns how many. */
int  stn__shared_next(struct stn_job *j, size_t *i, struct stn_item **items, int64_t *hash,
                      int cap);
/* A key a statement returned (inserted or renewed): that event is new. */
void stn__shared_new(struct stn_item **items, const int64_t *hash, int n, int64_t account_id,
                     int64_t seq, int64_t data_hash);

/* ---- store_actions.c: operator actions and the take lease, in the worker's
 * transaction (the alarm engine decides, this file persists) ----------- */
struct db;
struct stn_actstore;
int  stn_actstore_open(struct db *db, struct stn_actstore **out, char *msg, size_t cap);
void stn_actstore_close(struct stn_actstore *a);
/* Runs the job's control requests (each in a savepoint: a refusal or a failed
 * statement changes nothing else) and the lease check; fills each reply.
 * Returns non-zero only when the transaction itself is lost. */
int  stn_actstore_run(struct stn_actstore *a, struct stn_job *j);

/* ---- store_agency.c: agencies, standing and invoice lines (the rules are
 * vigil/agency.h's; this file reads and writes their rows) -------------- */
struct agy_rules;
/* The rules of an agency by id: 0, STN_E_NOTFOUND, STN_E_STORE. */
int stn__agency_rules(struct db *db, const char *id, struct agy_rules *out);
/* What the charge of a police finding needs to know about the alarm. */
struct stn_finding {
    int64_t     alarm_id, account_id, at_ms, admin_fee_cents, permit_expires_ms;
    const char *account, *kind, *agency, *permit, *location, *operator_name, *event_number;
    const char *finding;          /* "false" or "cancelled" */
    bool        arrived;
};
/* Writes the invoice line of a finding (and raises accounts.police_status to
 * the standing it leaves); detail: a sentence for the alarm's history.
 * 0 (also when the account has no agency rules: detail says so), or an
 * SQLite error code. */
int stn__agency_charge(struct db *db, const struct stn_finding *f, char *detail,
                       size_t cap);
/* The account's standing with its agency for an alarm of `kind` (NULL: the
 * account's view) and the next false dispatch's cost, as a json_t: null when
 * the account names no agency (docs/console.md, "agency_standing"). */
void *stn__agency_standing_json(struct db *db, int64_t account_id, const char *kind,
                                int64_t now_ms, int64_t admin_fee_cents);

/* ---- keystore.c: account keys sealed at rest -------------------------- */

#define STN_SEALED_KEY_MAX 75u   /* "VK1" + 24-byte nonce + 32-byte key + 16-byte tag */
struct stn_keystore {
    uint8_t key[32];
    bool    loaded;
    bool    created;              /* made by this load */
};
/* Reads the key store at path, creating it (0600) when missing and create_missing. */
int  stn_keystore_load(const char *path, bool create_missing, struct stn_keystore *ks,
                       char *msg, size_t cap);
void stn_keystore_wipe(struct stn_keystore *ks);
bool stn_key_is_sealed(const void *blob, size_t len);
/* AES key size in bits of a stored key blob (sealed or clear), 0 if neither. */
int  stn_key_bits_of_stored(size_t len);
int  stn_key_seal(const struct stn_keystore *ks, const char *account, const uint8_t *key,
                  size_t len, uint8_t out[STN_SEALED_KEY_MAX], size_t *out_len);
int  stn_key_open(const struct stn_keystore *ks, const char *account, const uint8_t *blob,
                  size_t len, uint8_t key[32], size_t *key_len);
/* Loads the key store for a store (created only when the store holds no sealed
 * key yet) and seals every key still in the clear; *sealed: how many. */
struct db;
int  stn_keystore_prepare(struct db *db, const char *path, struct stn_keystore *ks,
                          int *sealed, char *msg, size_t cap);

/* ---- the schema and opening a store (store_worker.c, schema_*.c) ----- */

#define STN_SCHEMA_VERSION 6
extern const char *const stn_schema_sqlite[STN_SCHEMA_VERSION];
extern const char *const stn_schema_pg[STN_SCHEMA_VERSION];
struct db;
/* creates / migrates the schema on a connection */
int stn_schema_migrate(struct db *db, char *msg, size_t cap);
/* where: a SQLite path or a postgresql:// URI (the config's store_path). */
int stn_db_open(const char *where, struct db **out, char *msg, size_t cap);
/* The same; create false: STN_E_NOTFOUND (msg names the file) when a SQLite
 * store does not exist, and nothing is made. *created (may be NULL): made now. */
int stn_db_open_ex(const char *where, bool create, bool *created, struct db **out,
                   char *msg, size_t cap);

/* ---- counters --------------------------------------------------------- */

/* What became of a received frame, decided on receipt (metrics.c names
 * them): ACK means taken for storage and answered once durable. */
enum stn_verdict {
    STN_V_ACK, STN_V_DUPLICATE, STN_V_NAK, STN_V_DUH, STN_V_REPLAY, STN_V_THROTTLED,
    STN_V_BUSY, STN_V_CRC_ERROR, STN_V_LENGTH_ERROR, STN_V_UNREADABLE, STN_V_NO_REPLY,
    STN_V_COUNT
};
#define STN_FRAME_IDS 7           /* enum dc09_id 1..6; 0: header unreadable */

struct stn_counters {
    uint64_t frames_rx, frames_ok, acks, naks, duhs;
    uint64_t crc_errors, length_errors, format_errors, oversize;
    uint64_t decrypt_failures, clear_on_keyed, time_rejects, replays;
    uint64_t unknown_accounts, duplicates, throttled, batch_full_drops, polls;
    uint64_t refused_unstored;    /* refused signals over the limits: answered, not stored
                                   * (an unknown account's are counted in its source's alarm) */
    uint64_t commits, commit_failures, events_stored;
    uint64_t commit_us_total, commit_us_max, committed_items;
    uint64_t conns_accepted, conns_refused, conns_timed_out, conns_open;
    uint64_t conns_evicted;       /* closed to give a new connection their slot */
    uint64_t accept_failures;     /* accept(2) failed: descriptors or memory ran out */
    uint64_t udp_rx;
    uint64_t wal_restarts;        /* the WAL began again from its start */
    uint64_t wal_frames_max;      /* the longest the WAL grew, in pages */
    uint64_t lingers, linger_skips;
    /* per committed batch, summed (µs): first item -> handed to the worker,
     * -> worker running, -> back on the loop, -> replies written */
    uint64_t wait_us_total, to_worker_us_total, to_loop_us_total, answer_us_total;
    uint64_t rows_us_total;       /* inside the commit: BEGIN + statements, before COMMIT */
    /* commit times since start, 100 µs buckets; the last holds 20 ms and more */
    uint32_t commit_hist[201];
    uint64_t frames_by[STN_FRAME_IDS][STN_V_COUNT];   /* by DC-09 id and verdict */
    uint64_t duress_rx;           /* duress / hold-up events taken for storage */
    uint64_t supervision_failures;   /* comm_failure alarms raised by supervision */
};

#endif /* STN_INTERNAL_H */
