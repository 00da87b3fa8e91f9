/*
 * store_shared.c — what a store shared by several station nodes needs beside
 * the single node's in-memory duplicate window (dedup.c): the window of
 * recent frames as a table with a unique key, so that a retry that reaches
 * another node (a panel switching to its backup path after the first node
 * committed but never answered) is stored once — by the constraint, not by
 * luck of timing.
 *
 * `recent_frames` holds (account, sequence, payload hash) -> first received.
 * One upsert per event: a new key inserts; a key seen within the duplicate
 * window is left alone and the event is a retry; a key older than the window
 * (the sequence wrapped, the same payload again) takes the new time. Rows
 * older than the window are pruned with the events.
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

enum { R_SEEN, R_PRUNE, R_COUNT };

static const char *const sql_text[R_COUNT] = {
    /* RETURNING gives a row when the key is new or its old time is past the
     * window (DO UPDATE ... WHERE false returns nothing): no row, a retry */
    [R_SEEN] = "INSERT INTO recent_frames (account_id, seq, data_hash, received_at_ms)"
        " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (account_id, seq, data_hash) DO UPDATE"
        " SET received_at_ms = excluded.received_at_ms"
        " WHERE recent_frames.received_at_ms < excluded.received_at_ms - ?5"
        " RETURNING received_at_ms",
    [R_PRUNE] = "DELETE FROM recent_frames WHERE received_at_ms < ?",
};

struct stn_shared {
    struct db *db;
    struct db_stmt *st[R_COUNT];
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

int stn__shared_seen(struct stn_shared *sh, const struct stn_item *it, const void *data,
                     size_t len, int64_t window_ms, bool *retry)
{
    struct db_stmt *s = sh->st[R_SEEN];
    db_bind_int64(s, 1, it->account_id);
    db_bind_int(s, 2, it->seq);
    db_bind_int64(s, 3, stn__shared_hash(it->account, data, len));
    db_bind_int64(s, 4, it->received_ms);
    db_bind_int64(s, 5, window_ms);
    int rc = db_step(s);
    *retry = rc == DB_DONE;
    if (rc == DB_ROW)
        rc = db_step(s);
    db_reset(s);
    return rc == DB_DONE ? 0 : rc;
}

int stn__shared_prune(struct stn_shared *sh, int64_t before_ms)
{
    struct db_stmt *s = sh->st[R_PRUNE];
    db_bind_int64(s, 1, before_ms);
    int rc = db_step(s);
    db_reset(s);
    return rc == DB_DONE ? 0 : rc;
}
