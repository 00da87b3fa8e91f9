/*
 * vigil/metrics.h — the Prometheus text exposition (format 0.0.4) both daemons
 * write: a few writers for HELP/TYPE lines and samples (metrics_text.c), and
 * the gauges read from the store (store_metrics.c), which vigil-station's
 * endpoint (metrics_listen) and vigil-console's /metrics both serve.
 *
 * docs/station.md, "Metrics", lists every name; they are contracts.
 */
#ifndef VIGIL_METRICS_H
#define VIGIL_METRICS_H

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

/* Writes their families (vigil_alarms_open, ...) at now_ms. */
void stn_store_metrics_write(const struct stn_store_metrics *m, int64_t now_ms,
                             struct stn_text *t);

/* A reader of those gauges with a store connection of its own (opened on
 * first use; thread-safe): the store is read at most once a second, however
 * often it is scraped. */
struct stn_metrics_reader;
struct stn_metrics_reader *stn_metrics_reader_new(const char *store_path);
void stn_metrics_reader_write(struct stn_metrics_reader *r, struct stn_text *t);
void stn_metrics_reader_free(struct stn_metrics_reader *r);

/* The last successful backup is recorded in a file beside the store:
 * STORE.last-backup, one line "UNIX_SECONDS\n" (written by `vigil backup`
 * after the copy is complete, replaced atomically). */
int  stn_backup_mark_path(const char *store_path, char *out, size_t cap);
int  stn_backup_mark_write(const char *store_path, int64_t when_s, char *msg, size_t cap);
int64_t stn_backup_mark_read(const char *store_path);   /* 0: none or unreadable */

#endif
