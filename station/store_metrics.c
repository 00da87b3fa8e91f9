/*
 * store_metrics.c — the gauges a scrape reads from the store: alarms open by
 * priority and state, the age of the oldest untaken priority-1 alarm, the
 * store's size and the last backup. Two short reads on the caller's own
 * connection (db.h), both served by the alarms_queue index.
 */
#include "vigil/metrics.h"
#include "db.h"
#include "stn_internal.h"

#include <pthread.h>
#include <stdlib.h>

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

const char *const stn_open_state_names[STN_OPEN_STATES] = {
    "new", "escalated", "taken", "dispatched",
};

static int state_index(const char *s)
{
    for (int i = 0; i < STN_OPEN_STATES; i++)
        if (s && strcmp(s, stn_open_state_names[i]) == 0)
            return i;
    return -1;
}

static int64_t file_bytes(const char *path, const char *suffix)
{
    char p[STN_PATH_MAX + 16];
    struct stat st;
    if (snprintf(p, sizeof p, "%s%s", path, suffix) >= (int)sizeof p || stat(p, &st) != 0)
        return 0;
    return (int64_t)st.st_size;
}

static void store_metrics_read(struct db *db, const char *store_path, struct stn_store_metrics *m)
{
    memset(m, 0, sizeof *m);
    m->store_bytes = file_bytes(store_path, "") + file_bytes(store_path, "-wal");
    m->last_backup_s = stn_backup_mark_read(store_path);
    if (!db)
        return;
    struct db_stmt *st = NULL;
    bool ok = db_exec(db, "BEGIN", NULL) == DB_OK;     /* one snapshot for both reads */
    if (ok && db_prepare(db, "SELECT priority, state, count(*) FROM alarms"
                         " WHERE state != 'closed' GROUP BY priority, state", &st) == DB_OK) {
        int rc;
        while ((rc = db_step(st)) == DB_ROW) {
            int p = db_column_int(st, 0);
            int s = state_index((const char *)db_column_text(st, 1));
            if (p >= 1 && p <= STN_PRIO_N && s >= 0)
                m->open[p - 1][s] = db_column_int64(st, 2);
        }
        ok = rc == DB_DONE;
    } else {
        ok = false;
    }
    db_finalize(st);
    st = NULL;
    if (ok && db_prepare(db, "SELECT min(received_at_ms) FROM alarms WHERE priority=1"
                         " AND state IN ('new','escalated')", &st) == DB_OK) {
        int rc = db_step(st);
        if (rc == DB_ROW && db_column_type(st, 0) != DB_NULL)
            m->oldest_untaken_p1_ms = db_column_int64(st, 0);
        ok = rc == DB_ROW;
    } else {
        ok = false;
    }
    db_finalize(st);
    st = NULL;
    /* PostgreSQL: the database's size (a SQLite store is its files, above) */
    if (ok && db_kind(db) == DB_KIND_PG &&
        db_prepare(db, "SELECT pg_database_size(current_database())", &st) == DB_OK) {
        int rc = db_step(st);
        if (rc == DB_ROW)
            m->store_bytes = db_column_int64(st, 0);
        ok = rc == DB_ROW;
        db_finalize(st);
    }
    db_exec(db, "COMMIT", NULL);
    m->ok = ok;
}

void stn_store_metrics_write(const struct stn_store_metrics *m, int64_t now_ms,
                             struct stn_text *t)
{
    stn_prom_family(t, "vigil_store_up", "gauge",
                    "1 when the store answered this scrape's reads, else 0");
    stn_prom_u64(t, "vigil_store_up", NULL, m->ok ? 1 : 0);
    if (m->ok) {
        stn_prom_family(t, "vigil_alarms_open", "gauge",
                        "Alarms not closed, by priority (1 highest) and state");
        for (int p = 0; p < STN_PRIO_N; p++)
            for (int s = 0; s < STN_OPEN_STATES; s++) {
                char labels[64];
                snprintf(labels, sizeof labels, "priority=\"%d\",state=\"%s\"", p + 1,
                         stn_open_state_names[s]);
                stn_prom_u64(t, "vigil_alarms_open", labels, (uint64_t)m->open[p][s]);
            }
        stn_prom_family(t, "vigil_alarm_oldest_untaken_priority1_age_seconds", "gauge",
                        "Age of the oldest priority-1 alarm nobody has taken (new or "
                        "escalated); 0 when there is none");
        double age = 0.0;
        if (m->oldest_untaken_p1_ms > 0 && now_ms > m->oldest_untaken_p1_ms)
            age = (double)(now_ms - m->oldest_untaken_p1_ms) / 1000.0;
        stn_prom_f64(t, "vigil_alarm_oldest_untaken_priority1_age_seconds", NULL, age);
    }
    stn_prom_family(t, "vigil_store_size_bytes", "gauge",
                    "Size of the store: SQLite its file and write-ahead log, PostgreSQL "
                    "the database (pg_database_size)");
    stn_prom_u64(t, "vigil_store_size_bytes", NULL, (uint64_t)m->store_bytes);
    stn_prom_family(t, "vigil_store_last_backup_timestamp_seconds", "gauge",
                    "Unix time of the last successful `vigil backup` of this store; 0: none "
                    "recorded");
    stn_prom_u64(t, "vigil_store_last_backup_timestamp_seconds", NULL,
                 (uint64_t)m->last_backup_s);
}

/* ---- the reader: its own connection, at most one read a second -------- */

struct stn_metrics_reader {
    pthread_mutex_t mu;
    char    path[STN_PATH_MAX];
    struct db *db;
    bool    warned;
    struct stn_store_metrics m;
    int64_t read_ms;              /* 0: never */
};

struct stn_metrics_reader *stn_metrics_reader_new(const char *store_path)
{
    struct stn_metrics_reader *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    pthread_mutex_init(&r->mu, NULL);
    snprintf(r->path, sizeof r->path, "%s", store_path);
    return r;
}

void stn_metrics_reader_write(struct stn_metrics_reader *r, struct stn_text *t)
{
    int64_t now = stn_now_ms();
    pthread_mutex_lock(&r->mu);
    if (!r->read_ms || now - r->read_ms >= 1000 || now < r->read_ms) {
        if (!r->db) {
            char msg[256];
            /* the store's own engine (a PostgreSQL URI opened as a file name
             * failed, and the failure named the URI, password and all) */
            if (db_open(db_is_pg_uri(r->path) ? DB_KIND_PG : DB_KIND_SQLITE, r->path, 0, &r->db,
                        msg, sizeof msg) != DB_OK) {
                if (!r->warned)
                    stn_log(STN_LOG_WARN, "metrics", "cannot open the store for the metrics: "
                            "%s", msg);
                r->warned = true;
                r->db = NULL;
            }
        }
        store_metrics_read(r->db, r->path, &r->m);
        r->read_ms = now;
    }
    struct stn_store_metrics m = r->m;
    pthread_mutex_unlock(&r->mu);
    stn_store_metrics_write(&m, now, t);
}

void stn_metrics_reader_free(struct stn_metrics_reader *r)
{
    if (!r)
        return;
    db_close(r->db);
    pthread_mutex_destroy(&r->mu);
    free(r);
}
