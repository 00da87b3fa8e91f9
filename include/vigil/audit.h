/*
 * vigil/audit.h — the tamper-evident audit trail (docs/audit.md): one
 * append-only table `audit` in the store, each entry hashed (SHA-256) over a
 * canonical encoding of its fields and the previous entry's hash, and the
 * chain head (seq + hash) also kept in a file beside the store
 * (STORE.audit-head) so that a deleted tail or a chain recomputed by hand is
 * caught.
 *
 * One chain, one writer at a time: an entry is appended inside the caller's
 * own write transaction (BEGIN IMMEDIATE), which reads the last entry and
 * inserts the next one; SQLite's write lock serialises the station and the
 * `vigil` tool. Never put a password, passcode, key or token in an entry.
 */
#ifndef VIGIL_AUDIT_H
#define VIGIL_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define STN_AUDIT_HASH_HEX 65u        /* 64 lower-case hex digits + NUL */
#define STN_AUDIT_GENESIS \
    "0000000000000000000000000000000000000000000000000000000000000000"

/* What one entry says. subject, before and after may be NULL; before and
 * after are JSON texts (objects) as the caller wrote them. */
struct stn_audit_entry {
    int64_t     at_ms;     /* wall clock, UTC, milliseconds */
    const char *actor;     /* operator name, "station", "vigil-cli", "vigil-console" */
    const char *kind;      /* "alarm.view", "alarm.take", "login", "station.start", ... */
    const char *subject;   /* alarm id, account number, operator name, or NULL */
    const char *before;
    const char *after;
};

/* The hash of entry seq whose predecessor's hash is prev (hex), as hex. */
void stn_audit_hash(int64_t seq, const struct stn_audit_entry *e, const char *prev,
                    char out[STN_AUDIT_HASH_HEX]);

struct db;
/* Appends one entry inside the caller's open write transaction (the caller
 * began it with BEGIN IMMEDIATE). *seq and hash (either may be NULL) get the
 * new head. Returns 0 or an SQLite result code. */
int stn_audit_append(struct db *db, const struct stn_audit_entry *e, int64_t *seq,
                     char hash[STN_AUDIT_HASH_HEX]);

/* Finalizes the statements stn_audit_append keeps on db (before closing it). */
void stn_audit_forget(struct db *db);

/* The head file beside a store: STORE.audit-head. */
int stn_audit_head_path(const char *store_path, char *out, size_t cap);
/* Writes the head (temp file, fsync, rename, fsync of the folder) unless the
 * file already names a later seq (two writers racing: the later head wins).
 * Returns 0 or -errno. A store ":memory:" has no head file: 0. */
int stn_audit_head_write(const char *store_path, int64_t seq, const char *hash);
/* The same; create: make the file when there is none (a backup's copy). A
 * missing head file is otherwise made only for entry 1: removed later, it is
 * evidence, never recreated (-ENOENT). */
int stn_audit_head_write_ex(const char *store_path, int64_t seq, const char *hash, bool create);
/* 0, -ENOENT when there is no head file, -EINVAL when it is unreadable. */
int stn_audit_head_read(const char *store_path, int64_t *seq, char hash[STN_AUDIT_HASH_HEX]);

/* ---- through the administrative store (vigil, vigil-console) ---------- */

struct stn_store;
enum stn_audit_verdict {
    STN_AUDIT_OK = 0,
    STN_AUDIT_BAD_ENTRY,      /* an entry's hash or link is wrong: edited or inserted */
    STN_AUDIT_GAP,            /* a seq missing inside the chain: deleted */
    STN_AUDIT_TAIL_MISSING,   /* the head file names an entry the table no longer has */
    STN_AUDIT_HEAD_MISMATCH,  /* the table is consistent but not the chain the head names */
    STN_AUDIT_NO_HEAD,        /* entries, but no head file */
};
struct stn_audit_report {
    enum stn_audit_verdict verdict;
    int64_t entries;          /* entries checked */
    int64_t last_seq;         /* the table's last seq (0: empty) */
    char    last_hash[STN_AUDIT_HASH_HEX];
    int64_t head_seq;         /* from the head file (0: none) */
    char    head_hash[STN_AUDIT_HASH_HEX];
    int64_t bad_seq;          /* the first bad entry (verdict != OK) */
    char    why[256];
};
/* Walks the whole chain and compares it with the head file. 0 (see
 * r->verdict) or an stn_err when the store cannot be read. */
int stn_audit_verify(struct stn_store *s, struct stn_audit_report *r);

/* Entries as a JSON array (json_t *, caller decrefs): alarm (NULL: all) keeps
 * the entries whose subject is that alarm id; since_ms (0: all). */
int stn_audit_list_json(struct stn_store *s, const char *alarm, int64_t since_ms,
                        int64_t limit, void **out);

/* Appends one entry in its own write transaction and writes the head file
 * (the `vigil` tool's own entries). */
int stn_store_audit(struct stn_store *s, const struct stn_audit_entry *e);
/* A change and its entry in one transaction: begin (BEGIN IMMEDIATE), make
 * the change with the store's functions, then end: when rc is 0 the entry is
 * appended and the transaction committed, and the head file written; else
 * everything is rolled back. Returns rc, or the failure of the append or the
 * commit (then nothing was changed). */
int stn_store_begin(struct stn_store *s);
/* Who the store's own entries name (default "vigil-cli"). */
void stn_store_set_actor(struct stn_store *s, const char *actor);
int stn_store_end(struct stn_store *s, int rc, const struct stn_audit_entry *e);

#ifdef __cplusplus
}
#endif
#endif
