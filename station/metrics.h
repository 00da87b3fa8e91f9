/*
 * metrics.h — the Prometheus text exposition (format 0.0.4) both daemons
 * write: a few writers for HELP/TYPE lines and samples (metrics_text.c), and
 * the gauges read from the store (store_metrics.c), which vigil-station's
 * endpoint (metrics_listen) and vigil-console's /metrics both serve.
 *
 * docs/station.md, "Metrics", lists every name; they are contracts.
 */
#ifndef STN_METRICS_H
#define STN_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "vigil/station.h"

/* The content type of a scrape's answer. */
#define STN_PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* "# HELP name help" and "# TYPE name type" (type: counter, gauge, histogram,
 * summary); every family is introduced once, before its samples. */
void stn_prom_family(struct stn_text *t, const char *name, const char *type, const char *help);
/* One sample: name{labels} value. labels: NULL or 'k="v",k2="v2"' (values
 * already escaped: the callers' values are fixed words and numbers). */
void stn_prom_u64(struct stn_text *t, const char *name, const char *labels, uint64_t v);
void stn_prom_f64(struct stn_text *t, const char *name, const char *labels, double v);

/* ---- store_metrics.c: gauges read from the store ---------------------- */

#define STN_PRIO_N  5                /* priorities 1..5 */
#define STN_OPEN_STATES 4            /* new, escalated, taken, dispatched */
extern const char *const stn_open_state_names[STN_OPEN_STATES];

struct stn_store_metrics {
    bool    ok;                      /* the store answered */
    int64_t open[STN_PRIO_N][STN_OPEN_STATES];   /* alarms not closed, [priority-1][state] */
    int64_t oldest_untaken_p1_ms;    /* received_at_ms of the oldest new/escalated P1; 0: none */
    int64_t store_bytes;             /* the store file and its WAL */
    int64_t last_backup_s;           /* Unix time of the last `vigil backup`; 0: none recorded */
};

struct db;
/* Reads them on db (a connection of the caller's thread) and the files
 * beside store_path; *m is filled either way (ok false on a store error). */
void stn_store_metrics_read(struct db *db, const char *store_path, struct stn_store_metrics *m);
/* Writes their families (vigil_alarms_open, ...) at now_ms. */
void stn_store_metrics_write(const struct stn_store_metrics *m, int64_t now_ms,
                             struct stn_text *t);

/* The last successful backup is recorded in a file beside the store:
 * STORE.last-backup, one line "UNIX_SECONDS\n" (written by `vigil backup`
 * after the copy is complete, replaced atomically). */
int  stn_backup_mark_path(const char *store_path, char *out, size_t cap);
int  stn_backup_mark_write(const char *store_path, int64_t when_s, char *msg, size_t cap);
int64_t stn_backup_mark_read(const char *store_path);   /* 0: none or unreadable */

/* ---- metrics.c (vigil-station only): the metrics_listen endpoint ------ */

/* A libmicrohttpd server on its own thread: a scrape copies the counters the
 * loop published last (under a mutex, once a second) and reads the store on
 * a connection of its own, at most once a second; it never waits on the
 * loop and the loop never waits on it. */
struct stn;
#define STN_METRICS_CONNS_MAX 8u      /* scrapers at once (counted in the fd reserve) */
/* Starts it when metrics_listen is set (0, or STN_E_NET / STN_E_CONFIG with msg). */
int  stn_metrics_start(struct stn *s, char *msg, size_t cap);
/* The port it listens on (0: none). */
int  stn_metrics_port(void);
/* The loop's counters as a scrape shows them (loop thread). */
void stn_metrics_publish(const struct stn *s);
void stn_metrics_stop(void);

#endif
