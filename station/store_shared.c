/*
 * store_shared.c — what a store shared by several station nodes needs beside
 * the single node's in-memory duplicate window (dedup.c): the window of
 * recent frames as a table with a unique key, so that a retry that reaches
 * another node (a panel switching to its backup path after the first node
 * committed but never answered) is stored once — by the constraint, not by
 * luck of timing.
 *
 * `recent_frames` holds (account, sequence, payload hash) -> first received.
 * One upsert per batch (64 rows a statement): a new key inserts; a key seen
 * within the duplicate window is left alone and the event is a retry; a key
 * older than the window (the sequence wrapped, the same payload again) takes
 * the new time. RETURNING names the rows inserted or renewed (DO UPDATE ...
 * WHERE false returns nothing): the events not named are retries. Rows older
 * than the window are pruned with the events.
 *
 * A batch of routine events only does the same in store_worker.c
 * (routine_shared): the window's rows and the events in one statement, the
 * same key and the same rule.
 *
 * Used only where the store can be shared (PostgreSQL): a SQLite store has
 * one station, whose in-memory window already sees every frame. The hash is
 * BLAKE2b (libsodium), keyless, so every node computes the same one.
 * Must never: call an event a retry unless its row was there before this
 * transaction's upsert.
 */
#include "stn_internal.h"
#include "db.h"

#include <sodium.h>
#include <string.h>

enum { R_PRUNE, R_COUNT };

static const char *const sql_text[R_COUNT] = {
    [R_PRUNE] = "DELETE FROM recent_frames WHERE received_at_ms < ?",
};

#define CHUNK 64    /* rows per upsert: one round trip for up to 64 frames */

struct stn_shared {
    struct db *db;
    struct db_stmt *st[R_COUNT];
    struct db_stmt *many[CHUNK + 1];   /* [n]: the upsert of n rows, prepared when first used */
};

int stn__shared_open(struct db *db, struct stn_shared **out, char *msg, size_t cap)
{
    *out = NULL;
    struct stn_shared *sh = stn_calloc(1, sizeof *sh);
    if (!sh) {
        snprintf(msg, cap, "out of memory");
        return STN_E_NOMEM;
    }
    sh->db = db;
    for (int i = 0; i < R_COUNT; i++)
        if (db_prepare(db, sql_text[i], &sh->st[i]) != DB_OK) {
            snprintf(msg, cap, "cannot prepare the shared duplicate window: %s", db_errmsg(db));
            stn__shared_close(sh);
            return STN_E_OPEN;
        }
    *out = sh;
    return 0;
}

void stn__shared_close(struct stn_shared *sh)
{
    if (!sh)
        return;
    for (int i = 0; i < R_COUNT; i++)
        db_finalize(sh->st[i]);
    for (int i = 0; i <= CHUNK; i++)
        db_finalize(sh->many[i]);
    stn_free(sh);
}

int64_t stn__shared_hash(const char *account, const void *data, size_t len)
{
    uint8_t h[8];
    crypto_generichash_state g;
    crypto_generichash_init(&g, NULL, 0, sizeof h);
    crypto_generichash_update(&g, (const uint8_t *)account, strlen(account) + 1);
    crypto_generichash_update(&g, data, len);
    crypto_generichash_final(&g, h, sizeof h);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | h[i];
    return (int64_t)(v >> 1);   /* a positive BIGINT */
}

int stn__shared_prune(struct stn_shared *sh, int64_t before_ms)
{
    struct db_stmt *s = sh->st[R_PRUNE];
    db_bind_int64(s, 1, before_ms);
    int rc = db_step(s);
    db_reset(s);
    return rc == DB_DONE ? 0 : rc;
}

/* The upsert of n rows (?1: the window; then 4 per row). */
static struct db_stmt *many(struct stn_shared *sh, int n)
{
    if (sh->many[n])
        return sh->many[n];
    char sql[256 + CHUNK * 40];
    int off = snprintf(sql, sizeof sql, "INSERT INTO recent_frames (account_id, seq, data_hash,"
                       " received_at_ms) VALUES ");
    for (int i = 0; i < n; i++)
        off += snprintf(sql + off, sizeof sql - (size_t)off, "%s(?%d, ?%d, ?%d, ?%d)",
                        i ? "," : "", 2 + 4 * i, 3 + 4 * i, 4 + 4 * i, 5 + 4 * i);
    snprintf(sql + off, sizeof sql - (size_t)off,
             STN_SHARED_UPSERT " RETURNING account_id, seq, data_hash");
    if (db_prepare(sh->db, sql, &sh->many[n]) != DB_OK)
        return NULL;
    return sh->many[n];
}

int stn__shared_next(struct stn_job *j, size_t *i, struct stn_item **items, int64_t *hash,
                     int cap)
{
    int n = 0;
    for (; *i < j->n && n < cap; (*i)++) {
        struct stn_item *it = &j->items[*i];
        if (it->type != STN_ITEM_EVENT)
            continue;
        int64_t h = stn__shared_hash(it->account, j->arena + it->data_off, it->data_len);
        it->stored_retry = true;     /* until a statement returns its key */
        bool again = false;          /* (dedup.c keeps that from happening) */
        for (int k = 0; k < n && !again; k++)
            again = items[k]->account_id == it->account_id && items[k]->seq == it->seq &&
                    hash[k] == h;
        if (again)
            continue;
        items[n] = it;
        hash[n++] = h;
    }
    return n;
}

void stn__shared_new(struct stn_item **items, const int64_t *hash, int n, int64_t account_id,
                     int64_t seq, int64_t data_hash)
{
    for (int k = 0; k < n; k++)
        if (items[k]->account_id == account_id && items[k]->seq == seq && hash[k] == data_hash)
            items[k]->stored_retry = false;
}

int stn__shared_seen_job(struct stn_shared *sh, struct stn_job *j, int64_t window_ms)
{
    struct stn_item *items[CHUNK];
    int64_t hash[CHUNK];
    size_t i = 0;
    while (i < j->n) {
        int n = stn__shared_next(j, &i, items, hash, CHUNK);
        if (n == 0)
            continue;
        struct db_stmt *s = many(sh, n);
        if (!s)
            return db_errcode(sh->db) ? db_errcode(sh->db) : DB_ERROR;
        db_bind_int64(s, 1, window_ms);
        for (int k = 0; k < n; k++) {
            db_bind_int64(s, 2 + 4 * k, items[k]->account_id);
            db_bind_int(s, 3 + 4 * k, items[k]->seq);
            db_bind_int64(s, 4 + 4 * k, hash[k]);
            db_bind_int64(s, 5 + 4 * k, items[k]->received_ms);
        }
        int rc;
        while ((rc = db_step(s)) == DB_ROW)    /* new: stored below */
            stn__shared_new(items, hash, n, db_column_int64(s, 0), db_column_int64(s, 1),
                            db_column_int64(s, 2));
        db_reset(s);
        if (rc != DB_DONE)
            return rc;
    }
    return 0;
}
