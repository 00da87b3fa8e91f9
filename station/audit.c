/*
 * audit.c — the audit trail's chain (docs/audit.md): the hash of an entry,
 * appending one inside the caller's write transaction, the head file beside
 * the store, and the walk that verifies the whole chain against it.
 *
 * The encoding hashed is defined in docs/audit.md precisely enough for an
 * independent script (a dispute's reader) to recompute it; change it only
 * with a new version tag there and here.
 *
 * Must never: write a password, passcode, key or token into an entry (the
 * callers choose the fields; nothing here adds any), append outside a write
 * transaction (two writers would fork the chain), or report a chain good
 * that it did not walk to the end.
 */
#include "stn_internal.h"
#include "vigil/audit.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include "db.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define AUDIT_TAG "vigil-audit-v1"

/* ---- the hash ---------------------------------------------------------- */

/* A field as a netstring ("LEN:BYTES,"), or "~" for NULL. */
static void put_field(crypto_hash_sha256_state *h, const char *v, size_t len)
{
    if (!v) {
        crypto_hash_sha256_update(h, (const unsigned char *)"~", 1);
        return;
    }
    char pre[24];
    int n = snprintf(pre, sizeof pre, "%zu:", len);
    crypto_hash_sha256_update(h, (const unsigned char *)pre, (unsigned long long)n);
    crypto_hash_sha256_update(h, (const unsigned char *)v, len);
    crypto_hash_sha256_update(h, (const unsigned char *)",", 1);
}

static void put_str(crypto_hash_sha256_state *h, const char *v)
{
    put_field(h, v, v ? strlen(v) : 0);
}

static void put_int(crypto_hash_sha256_state *h, int64_t v)
{
    char t[24];
    int n = snprintf(t, sizeof t, "%" PRId64, v);
    put_field(h, t, (size_t)n);
}

void stn_audit_hash(int64_t seq, const struct stn_audit_entry *e, const char *prev,
                    char out[STN_AUDIT_HASH_HEX])
{
    crypto_hash_sha256_state h;
    unsigned char d[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_init(&h);
    crypto_hash_sha256_update(&h, (const unsigned char *)AUDIT_TAG, strlen(AUDIT_TAG));
    put_int(&h, seq);
    put_int(&h, e->at_ms);
    put_str(&h, e->actor);
    put_str(&h, e->kind);
    put_str(&h, e->subject);
    put_str(&h, e->before);
    put_str(&h, e->after);
    put_str(&h, prev);
    crypto_hash_sha256_final(&h, d);
    sodium_bin2hex(out, STN_AUDIT_HASH_HEX, d, sizeof d);
}

/* ---- appending --------------------------------------------------------- */

static void bind_or_null(struct db_stmt *s, int i, const char *v)
{
    if (v)
        db_bind_text(s, i, v, -1, DB_TRANSIENT);
    else
        db_bind_null(s, i);
}

static const char *const sql_last = "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1";
static const char *const sql_insert = "INSERT INTO audit (seq, at_ms, actor, kind, subject,"
    " before, after, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?)";
static const char *const sql_at = "SELECT hash FROM audit WHERE seq=?";
static const char *const sql_savepoint = "SAVEPOINT audit";
static const char *const sql_release = "RELEASE audit";
static const char *const sql_rollback_to = "ROLLBACK TO audit";

/* The connection's prepared copy of sql, prepared once and kept until
 * stn_audit_forget (the connection's own statement list is the cache, so
 * every connection that appends — the station's, vigil's — has its own
 * without any state here). Parsing an INSERT costs more than running it. */
static int stmt(struct db *db, const char *sql, struct db_stmt **out)
{
    for (struct db_stmt *s = db_next_stmt(db, NULL); s; s = db_next_stmt(db, s))
        if (!db_stmt_busy(s) && strcmp(db_sql(s), sql) == 0) {
            *out = s;
            return DB_OK;
        }
    return db_prepare(db, sql, out);
}

static const char *col(struct db_stmt *s, int i);

static void done_with(struct db_stmt *s)
{
    db_reset(s);
    db_clear_bindings(s);
}

void stn_audit_forget(struct db *db)
{
    struct db_stmt *s = db_next_stmt(db, NULL);
    while (s) {
        struct db_stmt *next = db_next_stmt(db, s);
        const char *t = db_sql(s);
        if (strcmp(t, sql_last) == 0 || strcmp(t, sql_insert) == 0 || strcmp(t, sql_at) == 0 ||
            strcmp(t, sql_savepoint) == 0 || strcmp(t, sql_release) == 0 ||
            strcmp(t, sql_rollback_to) == 0)
            db_finalize(s);
        s = next;
    }
}

/* The last entry, read inside the writer's transaction: never cached, so a
 * savepoint rolled back or another process's append cannot fork the chain.
 * One probe of the rowid b-tree. */
int stn_audit_last(struct db *db, int64_t *seq, char hash[STN_AUDIT_HASH_HEX])
{
    struct db_stmt *s;
    int rc = stmt(db, sql_last, &s);
    if (rc != DB_OK)
        return rc;
    rc = db_step(s);
    if (rc == DB_ROW) {
        *seq = db_column_int64(s, 0);
        const unsigned char *t = db_column_text(s, 1);
        snprintf(hash, STN_AUDIT_HASH_HEX, "%s", t ? (const char *)t : "");
        rc = DB_OK;
    } else if (rc == DB_DONE) {
        *seq = 0;
        snprintf(hash, STN_AUDIT_HASH_HEX, "%s", STN_AUDIT_GENESIS);
        rc = DB_OK;
    }
    done_with(s);
    return rc;
}

int stn_audit_append(struct db *db, const struct stn_audit_entry *e, int64_t *seq_out,
                     char hash_out[STN_AUDIT_HASH_HEX])
{
    assert(e->actor && e->kind);
    assert(!db_get_autocommit(db));   /* only inside the writer's transaction */
    int64_t seq = 0;
    char prev[STN_AUDIT_HASH_HEX], hash[STN_AUDIT_HASH_HEX];
    int rc = stn_audit_last(db, &seq, prev);
    if (rc != DB_OK)
        return rc;
    seq++;
    stn_audit_hash(seq, e, prev, hash);
    struct db_stmt *s;
    rc = stmt(db, sql_insert, &s);
    if (rc != DB_OK)
        return rc;
    db_bind_int64(s, 1, seq);
    db_bind_int64(s, 2, e->at_ms);
    db_bind_text(s, 3, e->actor, -1, DB_TRANSIENT);
    db_bind_text(s, 4, e->kind, -1, DB_TRANSIENT);
    bind_or_null(s, 5, e->subject);
    bind_or_null(s, 6, e->before);
    bind_or_null(s, 7, e->after);
    db_bind_text(s, 8, prev, -1, DB_TRANSIENT);
    db_bind_text(s, 9, hash, -1, DB_TRANSIENT);
    rc = db_step(s);
    done_with(s);
    if (rc != DB_DONE)
        return rc;
    if (seq_out)
        *seq_out = seq;
    if (hash_out)
        memcpy(hash_out, hash, STN_AUDIT_HASH_HEX);
    return 0;
}

static int exec_cached(struct db *db, const char *sql)
{
    struct db_stmt *s;
    int rc = stmt(db, sql, &s);
    if (rc != DB_OK)
        return rc;
    rc = db_step(s);
    done_with(s);
    return rc == DB_DONE ? DB_OK : rc;
}

/* In the station's batch: an entry that cannot be appended (a damaged or
 * removed audit table, a full disk that still lets the rest through) is
 * rolled back alone and counted, never the batch: the frames of a duress
 * and the operators' actions on it must not wait on the trail. The loop
 * logs the count after the commit (commit.c). */
/* Whether entry seq of the trail still has that hash (the head a writer
 * knows): 1 yes, 0 no (edited, recomputed, deleted), or an SQLite code < 0. */
int stn_audit_has(struct db *db, int64_t seq, const char *hash)
{
    struct db_stmt *s;
    int rc = stmt(db, sql_at, &s);
    if (rc != DB_OK)
        return -rc;
    db_bind_int64(s, 1, seq);
    rc = db_step(s);
    int out = rc == DB_ROW ? (col(s, 0) && strcmp(col(s, 0), hash) == 0)
            : rc == DB_DONE ? 0 : -rc;
    done_with(s);
    return out;
}

int stn_audit_job(struct db *db, struct stn_job *j, const struct stn_audit_entry *e)
{
    int rc = exec_cached(db, sql_savepoint);
    if (rc == DB_OK)
        rc = stn_audit_append(db, e, NULL, NULL);
    if (rc == DB_OK) {
        j->audited = true;
        return exec_cached(db, sql_release);
    }
    j->audit_failed++;
    if (!db_get_autocommit(db)) {
        exec_cached(db, sql_rollback_to);
        exec_cached(db, sql_release);
    }
    return 0;
}

/* ---- the head file ----------------------------------------------------- */

static bool no_file(const char *store_path)
{
    return !store_path[0] || strcmp(store_path, ":memory:") == 0 ||
           strncmp(store_path, "file:", 5) == 0;
}

int stn_audit_head_path(const char *store_path, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s.audit-head", store_path);
    return n > 0 && (size_t)n < cap ? 0 : -ENAMETOOLONG;
}

static int parse_head(const char *text, int64_t *seq, char hash[STN_AUDIT_HASH_HEX])
{
    long long s = 0;
    char h[STN_AUDIT_HASH_HEX + 8];
    if (sscanf(text, "vigil-audit-head 1\nseq %lld\nhash %70s", &s, h) != 2 || s < 0 ||
        strlen(h) != STN_AUDIT_HASH_HEX - 1)
        return -EINVAL;
    *seq = s;
    memcpy(hash, h, STN_AUDIT_HASH_HEX);
    return 0;
}

static int read_all(int fd, char *buf, size_t cap)
{
    size_t len = 0;
    ssize_t n;
    while (len + 1 < cap && (n = read(fd, buf + len, cap - 1 - len)) > 0)
        len += (size_t)n;
    buf[len] = '\0';
    return (int)len;
}

int stn_audit_head_read(const char *store_path, int64_t *seq, char hash[STN_AUDIT_HASH_HEX])
{
    char path[STN_PATH_MAX + 16], buf[256];
    if (no_file(store_path) || stn_audit_head_path(store_path, path, sizeof path) != 0)
        return -ENOENT;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    read_all(fd, buf, sizeof buf);
    close(fd);
    return parse_head(buf, seq, hash);
}

/* Under an exclusive lock on STORE.audit-head.lock: the station's head
 * writer and a `vigil` command never interleave their renames, and a head
 * already later than ours is left as it is. */
int stn_audit_head_write(const char *store_path, int64_t seq, const char *hash)
{
    return stn_audit_head_write_ex(store_path, seq, hash, seq == 1);
}

int stn_audit_head_write_ex(const char *store_path, int64_t seq, const char *hash, bool create)
{
    char path[STN_PATH_MAX + 16], tmp[STN_PATH_MAX + 24], lock[STN_PATH_MAX + 24];
    if (no_file(store_path))
        return 0;
    if (stn_audit_head_path(store_path, path, sizeof path) != 0)
        return -ENAMETOOLONG;
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    snprintf(lock, sizeof lock, "%s.lock", path);
    int lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lfd < 0)
        return -errno;
    int rc = 0;
    if (flock(lfd, LOCK_EX) != 0) {
        rc = -errno;
        close(lfd);
        return rc;
    }
    int64_t cur = 0;
    char cur_hash[STN_AUDIT_HASH_HEX];
    int hr = stn_audit_head_read(store_path, &cur, cur_hash);
    if (hr == 0 && cur >= seq)
        goto out;   /* a later head is already there */
    if (hr == -ENOENT && !create) {
        rc = -ENOENT;   /* gone after entry 1: evidence, never recreated (docs/audit.md) */
        goto out;
    }
    char text[128];
    int n = snprintf(text, sizeof text, "vigil-audit-head 1\nseq %" PRId64 "\nhash %s\n", seq,
                     hash);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    if (write(fd, text, (size_t)n) != n || fsync(fd) != 0)
        rc = errno ? -errno : -EIO;
    close(fd);
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -errno;
    if (rc == 0)
        rc = stn_fsync_dir_of(path);
    if (rc != 0)
        unlink(tmp);
out:
    flock(lfd, LOCK_UN);
    close(lfd);
    return rc;
}

/* ---- verifying --------------------------------------------------------- */

static const char *col(struct db_stmt *s, int i)
{ /* NULL for NULL */
    return db_column_type(s, i) == DB_NULL ? NULL : (const char *)db_column_text(s, i);
}

static void bad(struct stn_audit_report *r, enum stn_audit_verdict v, int64_t seq,
                const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void bad(struct stn_audit_report *r, enum stn_audit_verdict v, int64_t seq,
                const char *fmt, ...)
{
    r->verdict = v;
    r->bad_seq = seq;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->why, sizeof r->why, fmt, ap);
    va_end(ap);
}

/* The walk: every entry's seq follows the last, its prev_hash is the last
 * one's hash, and its hash is recomputed from its fields. */
static int walk(struct db *db, struct stn_audit_report *r)
{
    struct db_stmt *s;
    if (db_prepare(db, "SELECT seq, at_ms, actor, kind, subject, before, after,"
                           " prev_hash, hash FROM audit ORDER BY seq", &s) != DB_OK)
        return STN_E_STORE;
    char prev[STN_AUDIT_HASH_HEX] = STN_AUDIT_GENESIS;
    int64_t expect = 1;
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        int64_t seq = db_column_int64(s, 0);
        struct stn_audit_entry e = { .at_ms = db_column_int64(s, 1), .actor = col(s, 2),
                                     .kind = col(s, 3), .subject = col(s, 4),
                                     .before = col(s, 5), .after = col(s, 6) };
        const char *stored_prev = col(s, 7), *stored = col(s, 8);
        char h[STN_AUDIT_HASH_HEX];
        if (seq != expect) {
            bad(r, STN_AUDIT_GAP, expect, "entry %" PRId64 " is missing (the next is %" PRId64
                "): entries were deleted", expect, seq);
            break;
        }
        if (!stored_prev || strcmp(stored_prev, prev) != 0) {
            bad(r, STN_AUDIT_BAD_ENTRY, seq, "entry %" PRId64 ": prev_hash is not entry %"
                PRId64 "'s hash: the chain was broken here", seq, seq - 1);
            break;
        }
        stn_audit_hash(seq, &e, prev, h);
        if (!stored || strcmp(stored, h) != 0) {
            bad(r, STN_AUDIT_BAD_ENTRY, seq, "entry %" PRId64 ": its hash does not match its "
                "contents: the entry was edited", seq);
            break;
        }
        memcpy(prev, h, sizeof prev);
        r->entries++;
        r->last_seq = seq;
        expect++;
    }
    db_finalize(s);
    memcpy(r->last_hash, prev, sizeof prev);
    return rc == DB_DONE || rc == DB_ROW ? 0 : STN_E_STORE;
}

/* The head file against the table. The station writes it just after each
 * commit that appended (off the ACK path), so the table may be a few entries
 * ahead of it (a crash in between): then the entry the head names must be
 * there with that hash; the later ones are reported as not yet covered. */
static void compare_head(struct db *db, const char *store_path, int hr,
                         struct stn_audit_report *r)
{
    if (hr == -ENOENT) {
        if (r->entries)
            bad(r, STN_AUDIT_NO_HEAD, r->last_seq, "the head file %s.audit-head is missing: "
                "the chain's end cannot be checked", store_path);
        return;
    }
    if (hr != 0) {
        bad(r, STN_AUDIT_NO_HEAD, r->last_seq, "the head file %s.audit-head is unreadable",
            store_path);
        return;
    }
    if (r->head_seq > r->last_seq) {
        bad(r, STN_AUDIT_TAIL_MISSING, r->last_seq + 1, "entry %" PRId64 " is missing: the "
            "head file names entry %" PRId64 " but the table ends at %" PRId64 " (the tail "
            "was deleted)", r->last_seq + 1, r->head_seq, r->last_seq);
        return;
    }
    if (r->head_seq == 0)
        return;
    struct db_stmt *s;
    if (db_prepare(db, "SELECT hash FROM audit WHERE seq=?", &s) != DB_OK)
        return;
    db_bind_int64(s, 1, r->head_seq);
    bool match = db_step(s) == DB_ROW && col(s, 0) &&
                 strcmp(col(s, 0), r->head_hash) == 0;
    db_finalize(s);
    if (!match)
        bad(r, STN_AUDIT_HEAD_MISMATCH, r->head_seq, "entry %" PRId64 ": its hash differs "
            "from the head file's: the trail was rewritten (recomputed, or cut and appended to) "
            "up to here or later",
            r->head_seq);
}

int stn_audit_verify(struct stn_store *st, struct stn_audit_report *r)
{
    memset(r, 0, sizeof *r);
    struct db *db = stn_store_db(st);
    /* The head file first, then the table's snapshot: a head is written only
     * after its entries committed, so the snapshot taken after reading it
     * holds them, even with the station appending meanwhile. */
    int hr = stn_audit_head_read(stn_store_path(st), &r->head_seq, r->head_hash);
    /* one read transaction: the walk and the head check see one snapshot */
    if (db_exec(db, "BEGIN", NULL) != DB_OK)
        return STN_E_STORE;
    int rc = walk(db, r);
    if (rc == 0 && r->verdict == STN_AUDIT_OK)
        compare_head(db, stn_store_path(st), hr, r);
    db_exec(db, "COMMIT", NULL);
    return rc;
}

/* ---- listing ----------------------------------------------------------- */

static json_t *text_or_null(const char *v)
{
    return v ? json_string(v) : json_null();
}

int stn_audit_list_json(struct stn_store *st, const char *alarm, int64_t since_ms,
                        int64_t limit, void **out)
{
    struct db *db = stn_store_db(st);
    struct db_stmt *s;
    *out = NULL;
    if (db_prepare(db, "SELECT seq, at_ms, actor, kind, subject, before, after,"
                           " prev_hash, hash FROM audit WHERE (?1 IS NULL OR (subject=?1 AND"
                           " kind LIKE 'alarm.%')) AND at_ms>=?2 ORDER BY seq LIMIT ?3", &s) != DB_OK)
        return STN_E_STORE;
    if (alarm)
        db_bind_text(s, 1, alarm, -1, DB_TRANSIENT);
    db_bind_int64(s, 2, since_ms);
    db_bind_int64(s, 3, limit > 0 ? limit : INT64_MAX);
    json_t *arr = json_array();
    int rc;
    while (arr && (rc = db_step(s)) == DB_ROW) {
        char at[32];
        stn_iso8601_ms(db_column_int64(s, 1), at);
        json_t *o = json_pack("{s:I,s:s,s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:o}",
                              "seq", (json_int_t)db_column_int64(s, 0), "at", at,
                              "at_ms", (json_int_t)db_column_int64(s, 1),
                              "actor", text_or_null(col(s, 2)), "kind", text_or_null(col(s, 3)),
                              "subject", text_or_null(col(s, 4)),
                              "before", text_or_null(col(s, 5)),
                              "after", text_or_null(col(s, 6)),
                              "prev_hash", text_or_null(col(s, 7)),
                              "hash", text_or_null(col(s, 8)));
        if (!o || json_array_append_new(arr, o) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    db_finalize(s);
    if (!arr)
        return STN_E_NOMEM;
    if (rc != DB_DONE) {
        json_decref(arr);
        return STN_E_STORE;
    }
    *out = arr;
    return 0;
}
