/*
 * daemon.h — private to vigil-station: the daemon's state shared by its
 * loop-side files (main.c, rx.c, rx_tcp.c, conns.c, rx_udp.c, accounts.c,
 * commit.c, supervision.c); the transports' own types are in transport.h.
 * Everything here is touched only on the libuv loop thread, except a job
 * while the commit worker holds it.
 */
#ifndef STN_DAEMON_H
#define STN_DAEMON_H

#include <uv.h>

#include "stn_internal.h"
#include "vigil/dc09_openssl.h"

struct stn;

/* An account as the receiver knows it (accounts.c). */
struct stn_account {
    uint32_t id;
    char     number[DC09_ACCOUNT_MAX + 1];
    uint32_t quirks;
    bool     has_key;
    uint8_t  key_len;
    uint8_t  key_digest[16];      /* to notice a changed key without keeping it twice */
    struct dc09_ossl cipher;      /* keyed once per key */
    int64_t  supervision_s;
    int32_t  window_past_s;       /* -1: the config's */
    int32_t  window_future_s;
    int64_t  last_seen_ms;
    bool     seen_dirty;          /* a last-seen update sits in batch seen_batch */
    uint64_t seen_batch;
    int64_t  seen_stored_ms;      /* last_seen last put in a batch */
    size_t   seen_index;
    bool     comm_failed;         /* a comm_failure alarm is open for it */
    bool     flooding;            /* a flood episode is on */
    int64_t  replay_until_ms;     /* a replay episode lasts until then (0: none) */
    bool     no_line_logged;      /* a frame without the L token was logged once */
    struct stn_bucket bucket;
    bool     mark;                /* reload sweep */
};

struct stn_accounts {
    struct stn_account **slots;   /* open addressing by number */
    size_t nslots;                /* power of two */
    size_t count;
};

int  stn_accounts_init(struct stn_accounts *t);
void stn_accounts_free(struct stn_accounts *t);
struct stn_account *stn_accounts_find(struct stn_accounts *t, const char *number);
/* Merges freshly loaded rows: adds, updates (re-keys on a key change), removes. */
int  stn_accounts_merge(struct stn *s, const struct stn_account_row *rows, size_t n);

/* How much a connection has shown it is a panel (conns.c). Near
 * max_connections the lowest tier gives its slot up first: bytes that never
 * made a valid frame cost an attacker nothing, a valid frame costs a CRC, an
 * accepted frame needs a registered account (and its key, if it has one). */
enum stn_tier {
    STN_TIER_SILENT,     /* no frame with a good CRC and length yet */
    STN_TIER_VALID,      /* valid frames, none accepted for a registered account */
    STN_TIER_ACCEPTED,   /* at least one frame accepted */
    STN_TIER_N
};

/* Connections of one tier, oldest first: SILENT by accept time, the others
 * by their last valid frame (so the head is the one idle longest). */
struct stn_conn_list {
    struct stn_conn *head, *tail;
    size_t n;
};

struct stn_addrs {
    struct stn_addr_count **buckets;
    size_t nbuckets;               /* power of two, fixed at start */
};

/* Signals of unknown accounts, per source address (unknown.c): anyone who
 * reaches the port can claim any number, so they are limited in total and
 * per source, and each source's signals of a window join one alarm per
 * priority, whatever numbers they claim; those beyond the limits are counted
 * into that alarm (event_count) without being stored. */
#define STN_UNK_PRIO_N 5          /* priorities 1..4 (index 0 unused) */
struct stn_usrc {
    uint8_t  key[17];             /* family byte + address; all zero: the overflow entry */
    bool     used;
    char     addr[48];            /* the address as text, for the alarm's detail */
    struct stn_bucket bucket;
    int64_t  window_start_ms;     /* 0: no window open */
    int64_t  last_ms;
    char     alarm_account[STN_UNK_PRIO_N][DC09_ACCOUNT_MAX + 1];   /* "" none yet */
    uint32_t unstored[STN_UNK_PRIO_N];   /* counted, not stored, since the last flush */
    int64_t  unstored_last_ms[STN_UNK_PRIO_N];
};
struct stn_unknown {
    struct stn_usrc *slots;       /* open addressing, nslots a power of two */
    size_t nslots;
    struct stn_usrc overflow;     /* when a source finds no slot */
    struct stn_bucket total;      /* refused signals stored, all accounts */
    struct stn_bucket new_sources;   /* sources given an entry of their own */
    bool   dirty;                 /* some source has unstored counts */
};
#define STN_UNK_RATE_PER_S     100     /* refused signals stored per second, in total */
#define STN_UNK_BURST          1000
#define STN_UNK_SRC_RATE_PER_S 5       /* an unknown account's signals stored per source */
#define STN_UNK_SRC_BURST      50
#define STN_UNK_WINDOW_MS      (600 * 1000)   /* one alarm per source, priority and window */
#define STN_UNK_SLOTS          4096
#define STN_UNK_NEW_PER_S      1       /* new sources with an entry (and alarms) of their own */
#define STN_UNK_NEW_BURST      32
int  stn_unknown_init(struct stn_unknown *u);
void stn_unknown_free(struct stn_unknown *u);
/* The entry of the frame's source (TCP: conn; UDP: peer); never NULL. Opens a
 * new window when the last one is over. */
struct stn_usrc *stn_unknown_source(struct stn *s, struct stn_conn *conn,
                                    const struct sockaddr *peer, int64_t now_ms);
/* Puts the counts of signals not stored into their sources' alarms (a batch
 * item per source and priority); called once a second. */
void stn_unknown_flush(struct stn *s, int64_t now_ms);

/* How long a stop waits for the commit in flight before it gives up on it
 * (exit status 1; nothing of it was ACKed). */
#define STN_STOP_WAIT_MS 10000

struct stn {
    uv_loop_t *loop;
    struct stn_config cfg;
    const char *config_path;
    struct stn_listener *listeners;
    size_t nlisteners;
    struct stn_conn_list tiers[STN_TIER_N];   /* open TCP connections */
    struct stn_addrs addrs;       /* open connections per source address */
    int64_t  conns_max;           /* max_connections in force (0 in the file: what fits) */
    uint64_t nofile;              /* the open-file limit, raised at start */
    uv_pipe_t ctl_server;         /* control socket (control.c) */
    bool     ctl_open;
    struct stn_ctl *ctls;         /* its connections */
    size_t nctls;
    bool     want_lease;          /* the next job checks the take lease */
    size_t nconns;
    struct stn_accounts accounts;
    struct stn_dedup dedup;
    struct stn_dedup blocks;      /* replay index: encrypted blocks seen (dedup.c) */
    struct stn_unknown unknown;   /* unknown accounts' signals per source (unknown.c) */
    struct stn_wstore *ws;
    struct stn_ckpt *ckpt;
    uv_work_t ckpt_work;
    bool ckpt_busy;
    /* the accounts read again on the reader's connection when others changed
     * them (main.c, stn_accounts_reload): asked, running, its result, and how
     * long the last read took (the next waits 9 times as long: a store of a
     * million accounts is not read back to back) */
    struct stn_reader *reader;
    uv_work_t reload_work;
    bool     reload_wanted, reload_busy, reload_failing;
    int      reload_rc;
    struct stn_account_row *reload_rows;
    size_t   reload_n;
    uint64_t reload_started_ns, reload_next_ns;
    /* accounts merged from a job's own read (an operator's request) since the
     * reader began: then its older read is dropped and asked again */
    uint64_t accounts_forced, reload_forced_at_start;
    /* the audit trail's head file (audit_head.c): the head committed, the
     * one being written on the thread pool, the one written last */
    uv_work_t head_work;
    bool     head_busy;
    bool     audit_stopped;       /* station.stop appended */
    bool     head_frozen;         /* the trail no longer matches the head: never moved again */
    int      head_rc;
    int64_t  head_want_seq, head_job_seq, head_done_seq;
    char     head_want[65], head_job[65];

    /* group commit: the loop fills `pending`, the worker runs `inflight`, and
     * the loop answers `answering` (the job just committed) while the next
     * one may already be in flight */
    struct stn_job jobs[3];
    struct stn_job *pending, *inflight, *answering;
    uv_work_t work;
    uint64_t next_batch;
    uint64_t committed_batch;     /* highest batch number committed */
    bool     want_accounts, force_accounts, want_escalate;
    /* this node raises supervision failures: always on SQLite; on a shared
     * PostgreSQL store, the one node holding the lock (store_worker.c) */
    bool     supervision_leader;
    int64_t  stop_began_ms;       /* SIGTERM: when; see STN_STOP_WAIT_MS */
    int64_t  want_prune_before_ms;

    uv_timer_t linger;            /* ends a linger nobody came back for */
    uint64_t linger_until_ns;     /* uv_hrtime(); 0: no linger */
    uint64_t linger_batch;        /* the batch whose answered panels the linger waits for */
    size_t   linger_conns;        /* how many connections that batch answered */
    size_t   linger_back;         /* how many of them have sent again since */
    uint32_t linger_score;        /* 0..1024: share of answered panels back within a linger */
    uint32_t linger_probe;        /* cycles since the last linger while the score is low */
    struct stn_linger_meter linger_meter;   /* does lingering pay here? (linger.c) */
    bool     batch_answered;      /* a job was answered: paused connections read again */
    bool     wal_finish;          /* the next job copies the WAL's tail (writer side) */
    bool     ckpt_caught_up;      /* the last checkpoint copied all it found */
    int      wal_frames;          /* frames in the WAL after the last commit */
    uv_timer_t tick;
    uv_check_t check;
    uv_signal_t sig_term, sig_int, sig_hup, sig_usr1;
    int64_t  started_ms;
    int64_t  last_supervision_ms, last_prune_ms, last_stats_ms;
    bool     stopping;
    bool     accounts_ready;
    struct stn_counters c;
    int exit_code;
};

/* rx.c: one frame from a transport. What the transport needs to know of it
 * (the verdict itself is rx.c's business, verdict.c's rules). */
struct stn_rx_result {
    bool     valid;       /* CRC and length good (whatever became of it): the
                           * sender speaks DC-09 */
    bool     accepted;    /* decoded for a registered account: framing follows it */
    uint32_t framing;     /* then: the account's framing quirks (DC09_Q_BINARY_CRC) */
    bool     pause;       /* the batch is full: stop reading until it commits */
};
void stn_rx_frame(struct stn *s, const struct stn_reply_to *to, const uint8_t *frame,
                  size_t len, struct stn_rx_result *out);
/* Bytes the transport could not cut into a frame: err DC09_E_OVERSIZE
 * (longer than frame_bytes_max), or another DC-09 error (a binary-CRC length
 * field that does not end at a CR). Counted and logged; never answered. */
void stn_rx_dropped(struct stn *s, const struct stn_reply_to *to, size_t len, int err);
/* commit.c */
int  stn_commit_init(struct stn *s);
void stn_commit_free(struct stn *s);
void stn_commit_kick(struct stn *s);         /* submit pending if the worker is idle */
void stn_commit_maybe_kick(struct stn *s);   /* the same, unless lingering for a fuller batch */
bool stn_commit_idle(const struct stn *s);
bool stn_pending_full(const struct stn *s);
/* audit_head.c: the chain's head after a commit that appended: written to
 * the head file on the thread pool, off the ACK path (coalesced: at most
 * one write in flight, the latest head next) */
void stn_audit_head_note(struct stn *s, int64_t seq, const char *hash);
/* The station's own entry (station.start, station.stop) in its own
 * transaction, head file written before it returns; no job may be running. */
int  stn_audit_station(struct stn *s, const char *kind, const char *after);
/* main.c: a PASSIVE checkpoint on the thread pool, unless one runs */
void stn_ckpt_kick(struct stn *s);
/* Others changed the accounts (a job said so): read them again on the
 * reader's connection when the last read allows, then merge them. */
void stn_accounts_reload(struct stn *s);
/* control.c: at most this many control connections at once (the console
 * opens one per request); counted in the open-file reserve */
#define STN_CTL_CONNS_MAX 64u
int  stn_control_listen(struct stn *s);
void stn_control_stop(struct stn *s);
void stn_control_answer(struct stn *s, struct stn_job *j);
/* Puts the operators present into the job and asks for the lease check. */
void stn_control_lease(struct stn *s, struct stn_job *j, int64_t now_ms);
/* supervision.c */
void stn_supervision_check(struct stn *s, int64_t now_ms);
void stn_account_seen(struct stn *s, struct stn_account *a, int64_t now_ms);
void stn_raise_own_alarm(struct stn *s, const char *account, uint32_t account_id,
                         const char *kind, int64_t now_ms, const char *detail);

void stn_log_counters(const struct stn *s);

#endif /* STN_DAEMON_H */
