/*
 * vigil/comm.h — the panel's communicator: delivers every event of the panel
 * core's outbound queue to the monitoring station as SIA DC-09 ADM-CID frames
 * (AES-CBC when the account has a key), matches the receiver's replies, retries
 * with backoff and jitter, keeps sequence numbers across restarts, supervises
 * the line with NULL polls, and runs a primary and a backup path.
 *
 * Portable C11 like the core: no allocation, no clock reads, no I/O of its
 * own. Time arrives as `now_ms` (monotonic); wall time for DC-09 timestamps is
 * `now_ms` plus an offset the caller sets once (comm_set_wall) and that NAKs
 * may correct within a bound. The network is a port: comm hands whole frames
 * to net->send(path, bytes) and the caller feeds back whatever bytes arrive,
 * with the path they came from (comm_receive).
 *
 * What it must never do: count an ACK from a path the frame did not go to,
 * or one dc09_reply_check refuses (another sequence or account, R or L not
 * echoed, a clear ACK to an encrypted frame, dated outside the station's
 * window or before the send); reuse a
 * sequence number still unacknowledged, even across a power cut (sequences
 * follow the core's persisted event ids, so a resent event keeps its own);
 * give up on a priority-1 (duress, hold-up) event; let routine traffic delay
 * one (priority-1 events never wait for a routine frame in flight); write
 * storage for a duress (or its ACK) that a normal entry would not; log a key.
 *
 * Delivery order: pnl_queue_at() order (priority, then age). Priority-1
 * events each get a frame at once (up to COMM_INFLIGHT_MAX in flight); every
 * other event goes one at a time, in order (stop-and-wait), so the station
 * receives routine events in the order they happened.
 *
 * Paths: routine traffic moves to the backup after path_fail_max timeouts in
 * a row. A priority-1 event goes to the other path after its first timeout on
 * one, and, when two paths are configured and the primary failed (declared
 * failed, or a priority-1 frame timed out on it) less than COMM_BOTH_PATHS_MS
 * ago, goes on both paths at once: the same frame, the same sequence (the
 * station stores it once and ACKs both).
 *
 * Replies are judged by dc09_reply_check (the same check `vigil dc09 send`
 * makes): kind, sequence, account, R and L echoed, the time within the
 * station's window seen from the panel and not before the first send.
 *
 * Errors: 0 or a negative enum comm_err; comm_strerror() names each.
 */
#ifndef VIGIL_COMM_H
#define VIGIL_COMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil/dc09.h"
#include "vigil/panel.h"

#ifdef __cplusplus
extern "C" {
#endif

#define COMM_PATHS          2u    /* 0 primary, 1 backup */
#define COMM_INFLIGHT_MAX   4u    /* frames awaiting an ACK at once */
#define COMM_TROUBLE_MAX    8u    /* the panel's own reports: path trouble (CID 350),
                                     programming results (SIA YG) */
#define COMM_TROUBLE_RESERVE 2u   /* of those, kept for path trouble: comm_report_sia
                                     never takes the last two */
#define COMM_TEXT_MAX       40u   /* text of an own SIA report */
#define COMM_RX_BUF         224u  /* reply reassembly per path: the longest reply a
                                     receiver sends (an *ACK with R, L, a 16-digit
                                     account and 32 bytes of pad) is about 150 */
#define COMM_TX_MAX         320u  /* the longest frame the communicator writes: an
                                     encrypted own SIA report with the longest text,
                                     account, receiver and line is 280 (test_comm
                                     largest_frame_fits) */
#define COMM_BOTH_PATHS_MS  3600000u /* a priority-1 event goes on both paths at once
                                     while the primary failed less than this ago */

enum comm_err {
    COMM_OK          = 0,
    COMM_E_INVAL     = -1,   /* caller passed an invalid argument / config */
    COMM_E_STORAGE   = -2,   /* the storage port failed */
    COMM_E_EMPTY     = -3,   /* no record stored yet */
    COMM_E_CORRUPT   = -4,   /* no slot holds a record whose checksum matches */
    COMM_E_VERSION   = -5,   /* record of an unknown format version */
    COMM_E_TRUNCATED = -6,   /* a slot shorter than the record */
    COMM_E_NOSPACE   = -7,   /* storage slot smaller than comm_record_size() */
    COMM_E_ENCODE    = -8,   /* the DC-09 encoder refused the frame (bad account...) */
    COMM_E_FULL      = -9,   /* comm_report_sia: the own-report table is full (reports
                                wait for the station's ACK): try again after one is ACKed */
};
const char *comm_strerror(int err);

/* ---- ports ----------------------------------------------------------- */

/* The network. send: one whole frame on `path`; 0 when handed to the
 * transport, negative when the path cannot send now (e.g. TCP not
 * connected): counted as a failed attempt, retried later. Never blocks. */
struct comm_net {
    int (*send)(struct comm_net *n, unsigned path, const uint8_t *frame, size_t len);
};

/* What happened, for logs and the simulator's `tx`/`rx` lines. Never holds a
 * key. `frame` (COMM_N_TX, COMM_N_RX) points into comm's scratch: valid only
 * during the call. */
enum comm_note_kind {
    COMM_N_TX = 1,       /* frame sent: path, seq, event_id (0 poll), attempt, cid */
    COMM_N_RX,           /* a reply arrived (raw frame), before judging it */
    COMM_N_ACKED,        /* event delivered: event_id, seq, path, latency_ms */
    COMM_N_POLL_ACKED,   /* NULL poll answered: path */
    COMM_N_IGNORED,      /* a reply that did not count: reason */
    COMM_N_CLOCK,        /* NAK: clock corrected: delta_s asked, applied_s taken */
    COMM_N_DUH,          /* receiver cannot process: event_id, seq, path */
    COMM_N_GIVE_UP,      /* a routine event refused (DUH) on every path: dropped
                            (pnl_queue_drop; never a priority-1 event) */
    COMM_N_TIMEOUT,      /* no ACK in time: event_id, seq, path, attempt */
    COMM_N_PATH_FAIL,    /* path declared failed; traffic moves to the other */
    COMM_N_PATH_RESTORE, /* path answers again */
    COMM_N_STORAGE,      /* the comm record could not be saved: err */
};
/* Why a reply did not count (comm_note.reason of COMM_N_IGNORED): one of the
 * communicator's own, or COMM_IGN_VERDICT + a dc09_reply_check verdict
 * (DC09_V_*, -9..2), or COMM_IGN_DECODE + a decode error (DC09_E_*, < 0). */
enum comm_ignored {
    COMM_IGN_NO_POLL = 1,        /* ACK 0000 with no poll in flight on this path */
    COMM_IGN_NOT_IN_FLIGHT,      /* ACK for a sequence not in flight */
    COMM_IGN_OTHER_PATH,         /* ACK from a path the frame did not go to */
    COMM_IGN_NAK_IDLE,           /* NAK with nothing in flight on this path */
    COMM_IGN_NAK_NO_TIME,        /* NAK without the receiver's time */
    COMM_IGN_DUH_NOT_IN_FLIGHT,  /* DUH for a sequence not in flight on this path */
    COMM_IGN_OVERSIZE,           /* a reply longer than the reader's buffer */
    COMM_IGN_VERDICT = 64,
    COMM_IGN_DECODE = 128,
};
/* The reason's text: the ones above, dc09_verdict_name(), dc09_errname(),
 * else "unknown" (static). Not needed on the panel: for logs. */
const char *comm_ignored_name(int reason);

struct comm_note {
    uint8_t  kind;         /* enum comm_note_kind */
    uint8_t  path;
    uint16_t seq;
    uint32_t event_id;     /* core event id; trouble events have COMM_TROUBLE_ID set */
    uint16_t attempt;
    struct dc09_cid cid;   /* the event (COMM_N_TX, ACKED, DUH, TIMEOUT, GIVE_UP) */
    bool     encrypted;
    int64_t  delta_s;      /* COMM_N_CLOCK: what the NAK asked */
    int64_t  applied_s;    /* COMM_N_CLOCK: what was applied (bounded) */
    uint64_t latency_ms;   /* COMM_N_ACKED: first send → ACK */
    int      err;
    int16_t  reason;       /* COMM_N_IGNORED: enum comm_ignored (text: comm_ignored_name) */
    const char *sia;       /* own SIA report (COMM_N_TX/ACKED): its code, else NULL */
    const char *text;      /*   ... and its text; valid only during the call */
    const uint8_t *frame;
    size_t   frame_len;
};
struct comm_notes {
    void (*note)(struct comm_notes *n, const struct comm_note *note);
};

/* Trouble events the communicator raises itself carry this bit in their id. */
#define COMM_TROUBLE_ID 0x80000000u

struct comm_ports {
    struct pnl         *panel;    /* required: the queue to drain */
    struct comm_net    *net;      /* required */
    struct pnl_storage *storage;  /* required: its own two slots (A/B) */
    struct dc09_cipher *cipher;   /* NULL: clear frames (account without key) */
    struct dc09_rng    *rng;      /* required: pad bytes and retry jitter */
    struct comm_notes  *notes;    /* may be NULL */
};

struct comm_config {
    char     account[DC09_ACCOUNT_MAX + 1];  /* 3..16 hex chars */
    char     receiver[DC09_RECEIVER_MAX + 1];/* "" = no R token */
    char     line[DC09_LINE_MAX + 1];        /* default "0" */
    uint8_t  paths;              /* 1 (primary only) or 2 (primary + backup) */
    uint32_t ack_timeout_ms;     /* first retry after; default 3000 */
    uint32_t backoff_max_ms;     /* retry interval cap; default 60000 */
    uint32_t urgent_backoff_max_ms; /* cap for priority 1; default 6000 */
    uint8_t  path_fail_max;      /* timeouts in a row before a path fails; default 3 */
    uint32_t supervision_s;      /* NULL poll interval; 0 = no polls; default 0 */
    uint32_t probe_s;            /* while on backup, poll the primary every; default 60 */
    uint32_t clock_max_s;        /* NAK corrections move the clock at most this
                                    far from the set wall time; default 3600 */
    uint32_t ack_tolerance_s;    /* an *ACK may be this much older than the first
                                    send (receiver clock skew); default 25; and it
                                    must lie in the station's window seen from the
                                    panel (dc09_reply_check) */
    uint32_t reply_quirks;       /* enum dc09_quirk flags accepted in the receiver's
                                    replies (e.g. pad-no-bar); default 0: strict */
    uint8_t  one_in_flight;      /* receiver quirk `one-in-flight`: at most one frame
                                    awaits its reply per path (priority 1 still first),
                                    for receivers that take each TCP read as one frame */
};
void comm_config_defaults(struct comm_config *c);
int  comm_config_validate(const struct comm_config *c);

/* ---- the communicator ------------------------------------------------ */

/* Internal layout: read through the functions. */
struct comm__flight {
    uint32_t id;            /* core event id, or COMM_TROUBLE_ID|n; 0 = slot free */
    uint16_t seq;
    uint8_t  urgent;        /* priority 1 */
    uint8_t  sent_once;     /* 0: restored / new, never sent in this run */
    uint8_t  path;          /* path of the last send */
    uint8_t  path_mask;     /* paths this seq went to (an ACK may come from any) */
    uint8_t  duh_mask;      /* paths that answered DUH */
    uint8_t  duh;           /* DUHs in total */
    uint8_t  naks;          /* NAK-triggered resends */
    uint8_t  known;         /* cid/urgent filled */
    uint8_t  waiting;       /* a send is out and its timer runs until due_ms */
    uint8_t  send_failed;   /* the last send found its path unable to send */
    uint8_t  flip;          /* priority 1: timed out on `path`, next send on the other */
    uint8_t  wait_mask;     /* paths the last send went to (while waiting) */
    uint16_t attempt;
    struct dc09_cid cid;
    int64_t  first_wall_s;  /* wall time of the first send in this run */
    uint64_t first_ms;
    uint64_t due_ms;        /* next (re)send */
};
struct comm__trouble {
    uint32_t id;            /* COMM_TROUBLE_ID | n; 0 = free */
    struct dc09_cid cid;    /* ADM-CID report; or, when sia[0], SIA-DCS with
                               area = cid.partition, zone = cid.zone */
    char     sia[3];
    char     text[COMM_TEXT_MAX + 1];
};
struct comm__poll {
    uint8_t  active;
    int64_t  sent_wall_s;
    uint64_t due_ms;        /* timeout */
};

struct comm {
    struct comm_ports  ports;
    struct comm_config cfg;
    int64_t  wall_offset_ms;     /* wall = now_ms + offset */
    int64_t  wall_set_offset_ms; /* as set by comm_set_wall: NAKs stay within clock_max_s */
    uint32_t next_trouble;
    struct comm__flight fl[COMM_INFLIGHT_MAX];
    struct comm__trouble tr[COMM_TROUBLE_MAX];
    uint8_t  active;             /* path in use */
    uint8_t  fails[COMM_PATHS];  /* timeouts in a row */
    uint8_t  down[COMM_PATHS];
    uint8_t  prim_failed;        /* the primary failed (declared, or a priority-1 timeout) */
    uint64_t prim_fail_ms;       /*   ... last at this time */
    struct comm__poll poll[COMM_PATHS];
    uint64_t next_poll_ms;       /* supervision on the active path */
    uint64_t next_probe_ms;      /* primary probe while on backup */
    uint64_t now_ms;
    uint32_t save_seq;
    uint8_t  save_slot;
    uint8_t  has_record;
    uint8_t  dirty;
    uint32_t acked;              /* counters */
    uint32_t ignored;
    struct dc09_reader rd[COMM_PATHS];
    uint8_t  rdbuf[COMM_PATHS][COMM_RX_BUF];
    uint8_t  rx_path;
    struct dc09_frame scratch;   /* encode / decode, one at a time */
    uint8_t  out[COMM_TX_MAX];
};

/* Size of one stored record (every save writes exactly this many bytes). */
size_t comm_record_size(void);

/* Sets up a communicator (does not touch storage or the network). */
int comm_init(struct comm *c, const struct comm_ports *ports, const struct comm_config *cfg,
              uint64_t now_ms);
/* Loads the communicator's own trouble events (the only thing it stores:
 * sequence numbers follow the core's persisted event ids). COMM_E_EMPTY on a
 * fresh panel (not an error). COMM_E_CORRUPT also for a record whose checksums
 * hold but whose reports this core never writes (it could never send them).
 * Never writes storage; on error *c is unchanged. */
int comm_load(struct comm *c);
/* Wall clock: at monotonic `now_ms` it is `unix_ms` (e.g. from the RTC). */
void comm_set_wall(struct comm *c, uint64_t now_ms, int64_t unix_ms);
int64_t comm_wall_s(const struct comm *c, uint64_t now_ms);

/* Sends what is due: new events at once (call after anything that may have
 * queued one, e.g. each key press), retries whose timer ran out, polls. */
int comm_tick(struct comm *c, uint64_t now_ms);
/* Bytes that arrived on `path`. datagram: one UDP datagram (a whole frame). */
void comm_receive(struct comm *c, unsigned path, const uint8_t *data, size_t len,
                  bool datagram, uint64_t now_ms);
/* The transport lost `path` (TCP closed): partial input is dropped and the
 * frames in flight there are resent at once (on the path then active; a
 * priority-1 event on the other path, as after its first timeout). */
void comm_path_lost(struct comm *c, unsigned path, uint64_t now_ms);

/* The transport (re)gained `path` (TCP connected): frames whose last send
 * found it unable to send go at once instead of at their retry timer. */
void comm_path_up(struct comm *c, unsigned path, uint64_t now_ms);

/* Queues one of the panel's own reports that is not a core event — e.g. the
 * result of programming a code ("duress code programmed", "code refused R2
 * one-edit slot 1"; never digits) — as SIA-DCS `code` (two capitals) with area,
 * zone and text (printable, no ^ [ ] |; cut at COMM_TEXT_MAX). Kept in the
 * communicator's record until ACKed; sent after alarms, with the routine
 * traffic. COMM_E_INVAL on a bad code or text; COMM_E_FULL when
 * COMM_TROUBLE_MAX - COMM_TROUBLE_RESERVE own reports already wait (the rest
 * is kept for path trouble): nothing is queued, the caller keeps the report
 * and tries again once comm_trouble_count() has gone down (an ACK). */
int comm_report_sia(struct comm *c, const char *code, uint8_t area, uint16_t zone,
                    const char *text);

/* Inspection. */
unsigned comm_active_path(const struct comm *c);
unsigned comm_inflight(const struct comm *c);
unsigned comm_trouble_count(const struct comm *c);
/* Earliest time comm_tick has something to do (for an event loop's timer). */
uint64_t comm_next_due_ms(const struct comm *c);

#ifdef __cplusplus
}
#endif
#endif /* VIGIL_COMM_H */
