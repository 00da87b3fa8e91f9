/*
 * store_admin.c — the administrative side of the store, for the `vigil` tool
 * (and later the HTTP API): accounts and their users, zones, call list and
 * verbal passcodes; event, alarm and refused-signal queries as JSON; a
 * consistent backup while the daemon runs.
 *
 * Works on its own SQLite connection (WAL, busy_timeout); the daemon notices
 * account changes through PRAGMA data_version. Must never return, print or
 * log a key or a passcode (nor its hash): only "AES-128" and "set".
 *
 * Also the operators' side read by vigil-console: alarms with their plan
 * state, an alarm's detail and police dispatch record, the change log, the
 * operators and the checks of their passwords and of verbal passcodes. Plans,
 * targets and every alarm rule come from the engine (vigil/alarm.h): this
 * file only reads rows and never decides. Never returns a password or a hash.
 */
#define _XOPEN_SOURCE 700   /* strptime */
#include "stn_internal.h"
#include "vigil/agency.h"
#include "vigil/alarm.h"
#include "vigil/audit.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include "db.h"
#include <sqlite3.h>    /* the online backup: SQLite only */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct stn_store {
    struct db *db;
    struct stn_keystore ks;        /* loaded on the first key it must seal */
    char key_store_path[STN_PATH_MAX];
    char path[STN_PATH_MAX];       /* the store's file: its audit head file is beside it */
    char actor[64];                /* who the audit entries of its writes name */
    char err[512];                 /* the last error's message, for the caller */
    int64_t admin_fee_cents;       /* billing_admin_fee_cents: the next false dispatch's cost */
};

struct db *stn_store_db(struct stn_store *s)
{
    return s->db;
}

const char *stn_store_path(const struct stn_store *s)
{
    return s->path;
}

int stn_store_begin(struct stn_store *s)
{
    return db_exec(s->db, "BEGIN IMMEDIATE", NULL) == DB_OK ? 0
                                                                                : STN_E_STORE;
}

int stn_store_end(struct stn_store *s, int rc, const struct stn_audit_entry *e)
{
    int64_t seq = 0;
    char hash[STN_AUDIT_HASH_HEX];
    if (rc == 0 && e && stn_audit_append(s->db, e, &seq, hash) != 0)
        rc = STN_E_STORE;
    if (rc == 0 && db_exec(s->db, "COMMIT", NULL) != DB_OK)
        rc = STN_E_STORE;
    if (rc != 0) {
        if (!db_get_autocommit(s->db))
            db_exec(s->db, "ROLLBACK", NULL);
        return rc;
    }
    /* committed: the head follows — unless the head file no longer matches
     * the trail (edited, recomputed, truncated, or the file removed): then
     * it is left as it is, as evidence (docs/audit.md) */
    int64_t hseq = 0;
    char hhash[STN_AUDIT_HASH_HEX];
    int hr = seq ? stn_audit_head_read(s->path, &hseq, hhash) : 0;
    bool linked = hr == -ENOENT ? seq == 1
                : hr == 0 ? stn_audit_has(s->db, hseq, hhash) == 1 : false;
    if (seq && (!linked || stn_audit_head_write(s->path, seq, hash) != 0)) {
        snprintf(s->err, sizeof s->err, "the audit head file beside %.400s %s", s->path,
                 linked ? "could not be written" : "does not match the trail: left as it is");
        STN_ERROR("audit", "%s (`vigil audit verify` tells more)", s->err);
    }
    return 0;
}

int stn_store_audit(struct stn_store *s, const struct stn_audit_entry *e)
{
    int rc = stn_store_begin(s);
    return rc ? rc : stn_store_end(s, 0, e);
}

const char *stn_store_last_error(const struct stn_store *s)
{
    return s && s->err[0] ? s->err : NULL;
}

int stn_store_open(const struct stn_config *cfg, struct stn_store **out, char *msg, size_t cap)
{
    return stn_store_open_ex(cfg, true, NULL, out, msg, cap);
}

int stn_store_open_existing(const struct stn_config *cfg, struct stn_store **out, char *msg,
                            size_t cap)
{
    return stn_store_open_ex(cfg, false, NULL, out, msg, cap);
}

int stn_store_open_ex(const struct stn_config *cfg, bool create, bool *created,
                      struct stn_store **out, char *msg, size_t cap)
{
    if (created)
        *created = false;
    struct stn_store *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(msg, cap, "out of memory");
        return STN_E_NOMEM;
    }
    int rc = stn_db_open_ex(cfg->store_path, create, created, &s->db, msg, cap);
    if (rc) {
        free(s);
        return rc;
    }
    snprintf(s->key_store_path, sizeof s->key_store_path, "%s", cfg->key_store_path);
    s->admin_fee_cents = cfg->billing_admin_fee_cents;
    snprintf(s->path, sizeof s->path, "%s", stn_store_base(cfg));   /* the head file's */
    snprintf(s->actor, sizeof s->actor, "vigil-cli");
    *out = s;
    return 0;
}

void stn_store_close(struct stn_store *s)
{
    if (!s)
        return;
    stn_audit_forget(s->db);
    db_close(s->db);
    stn_keystore_wipe(&s->ks);
    free(s);
}

/* ---- time ------------------------------------------------------------- */

void stn_iso8601_ms(int64_t ms, char out[32])
{
    time_t t = (time_t)(ms / 1000);
    int frac = (int)(ms % 1000);
    if (frac < 0) {
        frac += 1000;
        t -= 1;
    }
    struct tm tm;
    gmtime_r(&t, &tm);
    char base[24];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 32, "%s.%03dZ", base, frac);
}

int stn_parse_since(const char *s, int64_t now_ms, int64_t *out_ms)
{
    size_t n = strlen(s);
    if (n >= 2 && n < 12) {
        char *end;
        long long v = strtoll(s, &end, 10);
        if (end != s && v >= 0 && end[0] && !end[1]) {
            int64_t unit;
            switch (end[0]) {
            case 's': unit = 1000; break;
            case 'm': unit = 60000; break;
            case 'h': unit = 3600000; break;
            case 'd': unit = 86400000; break;
            default: unit = 0; break;
            }
            if (unit) {
                *out_ms = now_ms - (int64_t)v * unit;
                return 0;
            }
        }
    }
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    int ms = 0;
    const char *p = strptime(s, "%Y-%m-%d", &tm);
    if (!p)
        return STN_E_INVAL;
    if (*p == 'T' || *p == ' ') {
        p = strptime(p + 1, "%H:%M", &tm);
        if (!p)
            return STN_E_INVAL;
        if (*p == ':') {
            p = strptime(p + 1, "%S", &tm);
            if (!p)
                return STN_E_INVAL;
            if (*p == '.') {
                p++;
                int digits = 0;
                while (isdigit((unsigned char)*p) && digits < 3) {
                    ms = ms * 10 + (*p - '0');
                    p++;
                    digits++;
                }
                while (digits++ < 3)
                    ms *= 10;
                while (isdigit((unsigned char)*p))
                    p++;
            }
        }
    }
    if (*p == 'Z')
        p++;
    if (*p)
        return STN_E_INVAL;   /* offsets other than Z: not accepted, say UTC */
    time_t t = timegm(&tm);
    *out_ms = (int64_t)t * 1000 + ms;
    return 0;
}

/* ---- accounts ----------------------------------------------------------- */

int stn_account_number_norm(const char *n, char out[DC09_ACCOUNT_MAX + 1])
{
    size_t len = strlen(n);
    if (len < 3 || len > DC09_ACCOUNT_MAX)
        return STN_E_INVAL;
    for (size_t i = 0; i < len; i++) {
        if (!isxdigit((unsigned char)n[i]))
            return STN_E_INVAL;
        out[i] = (char)toupper((unsigned char)n[i]);
    }
    out[len] = '\0';
    return 0;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void bind_opt(struct db_stmt *st, int i, const char *v)
{
    if (v)
        db_bind_text(st, i, v, -1, DB_TRANSIENT);
    else
        db_bind_null(st, i);
}

static int store_err(struct db *db, int rc)
{
    if (rc == DB_CONSTRAINT)
        return STN_E_EXISTS;
    (void)db;
    return STN_E_STORE;
}

/* An account names its agency by the id of imported rules (`vigil agency
 * list`): a typo would leave its false dispatches unbilled. */
static int agency_known(struct stn_store *s, const char *id)
{
    struct db_stmt *st;
    if (!agy_id_valid(id)) {
        snprintf(s->err, sizeof s->err, "agency '%s': not an agency id (a-z, 0-9, -; see "
                 "vigil agency list)", id);
        return STN_E_INVAL;
    }
    if (db_prepare(s->db, "SELECT 1 FROM agencies WHERE id=?", &st))
        return STN_E_STORE;
    db_bind_text(st, 1, id, -1, DB_TRANSIENT);
    int rc = db_step(st);
    db_finalize(st);
    if (rc == DB_DONE)
        snprintf(s->err, sizeof s->err, "agency '%s' is not imported (vigil agency list; "
                 "vigil agency import FILE)", id);
    return rc == DB_ROW ? 0 : rc == DB_DONE ? STN_E_INVAL : STN_E_STORE;
}

static int exec_account(struct stn_store *s, const char *sql, const char *number,
                        const struct stn_account_input *in, bool add)
{
    char num[DC09_ACCOUNT_MAX + 1];
    if (stn_account_number_norm(number, num))
        return STN_E_INVAL;
    if (in->has_key && in->key_len && in->key_len != 16 && in->key_len != 24 && in->key_len != 32)
        return STN_E_INVAL;
    if (in->has_supervision && in->supervision_s < 0)
        return STN_E_INVAL;
    if (in->has_window && (in->window_past_s > 86400 || in->window_future_s > 86400 ||
                           in->window_past_s < -1 || in->window_future_s < -1))
        return STN_E_INVAL;
    if (in->police_status && strcmp(in->police_status, "normal") &&
        strcmp(in->police_status, "cautioned") && strcmp(in->police_status, "suspended"))
        return STN_E_INVAL;
    if (in->location && strcmp(in->location, "residential") && strcmp(in->location, "commercial"))
        return STN_E_INVAL;
    if (in->has_permit_expires && in->permit_expires_ms < 0)
        return STN_E_INVAL;
    int arc = in->agency && in->agency[0] ? agency_known(s, in->agency) : 0;
    if (arc)
        return arc;
    uint8_t sealed[STN_SEALED_KEY_MAX];
    size_t sealed_len = 0;
    if (in->has_key && in->key_len) {
        int n = 0, krc;
        if (!s->ks.loaded &&
            (krc = stn_keystore_prepare(s->db, s->key_store_path, &s->ks, &n, s->err,
                                        sizeof s->err)) != 0)
            return krc;
        if (stn_key_seal(&s->ks, num, in->key, in->key_len, sealed, &sealed_len) != 0)
            return STN_E_STORE;
    }
    struct db_stmt *st;
    if (db_prepare(s->db, sql, &st) != DB_OK)
        return STN_E_STORE;
    bind_opt(st, 1, in->name);
    bind_opt(st, 2, in->address);
    bind_opt(st, 3, in->time_zone);
    bind_opt(st, 4, in->phone);
    bind_opt(st, 5, in->agency);
    bind_opt(st, 6, in->permit);
    db_bind_int(st, 7, in->has_key);
    if (in->has_key && in->key_len)
        db_bind_blob(st, 8, sealed, (int)sealed_len, DB_TRANSIENT);   /* never clear */
    else
        db_bind_null(st, 8);
    db_bind_int(st, 9, in->has_supervision);
    db_bind_int64(st, 10, in->has_supervision ? in->supervision_s : 0);
    db_bind_int(st, 11, in->has_quirks);
    db_bind_int64(st, 12, in->has_quirks ? in->quirks : 0);
    db_bind_int64(st, 13, now_ms());
    db_bind_text(st, 14, num, -1, DB_TRANSIENT);
    db_bind_int(st, 15, in->has_window);
    if (in->has_window && in->window_past_s >= 0) db_bind_int64(st, 16, in->window_past_s);
    else db_bind_null(st, 16);
    if (in->has_window && in->window_future_s >= 0) db_bind_int64(st, 17, in->window_future_s);
    else db_bind_null(st, 17);
    bind_opt(st, 18, in->police_status);
    bind_opt(st, 19, in->location);
    db_bind_int(st, 20, in->has_permit_expires);
    if (in->has_permit_expires && in->permit_expires_ms > 0)
        db_bind_int64(st, 21, in->permit_expires_ms);
    else
        db_bind_null(st, 21);
    int rc = db_step(st);
    db_finalize(st);
    if (rc != DB_DONE)
        return store_err(s->db, rc);
    if (!add && db_changes(s->db) == 0)
        return STN_E_NOTFOUND;
    return 0;
}

static int account_add_do(struct stn_store *s, const char *number, const struct stn_account_input *in)
{
    return exec_account(s,
        "INSERT INTO accounts (name, address, time_zone, phone, agency, permit, key,"
        " supervision_s, quirks, created_at_ms, updated_at_ms, number, window_past_s,"
        " window_future_s, police_status, location, permit_expires_ms)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, CASE WHEN ?7 THEN ?8 ELSE NULL END,"
        " CASE WHEN ?9 THEN ?10 ELSE 0 END, CASE WHEN ?11 THEN ?12 ELSE 0 END, ?13, ?13, ?14,"
        " CASE WHEN ?15 THEN ?16 END, CASE WHEN ?15 THEN ?17 END,"
        " COALESCE(?18, 'normal'), COALESCE(?19, 'residential'), CASE WHEN ?20 THEN ?21 END)",
        number, in, true);
}

static int account_edit_do(struct stn_store *s, const char *number, const struct stn_account_input *in)
{
    return exec_account(s,
        "UPDATE accounts SET name=COALESCE(?1,name), address=COALESCE(?2,address),"
        " time_zone=COALESCE(?3,time_zone), phone=COALESCE(?4,phone),"
        " agency=COALESCE(?5,agency), permit=COALESCE(?6,permit),"
        " key=CASE WHEN ?7 THEN ?8 ELSE key END,"
        " supervision_s=CASE WHEN ?9 THEN ?10 ELSE supervision_s END,"
        " quirks=CASE WHEN ?11 THEN ?12 ELSE quirks END, updated_at_ms=?13,"
        " window_past_s=CASE WHEN ?15 THEN ?16 ELSE window_past_s END,"
        " window_future_s=CASE WHEN ?15 THEN ?17 ELSE window_future_s END,"
        " police_status=COALESCE(?18,police_status), location=COALESCE(?19,location),"
        " permit_expires_ms=CASE WHEN ?20 THEN ?21 ELSE permit_expires_ms END"
        " WHERE number=?14",
        number, in, false);
}

static int simple_exec(struct stn_store *s, const char *sql, const char *number,
                       const char *t1, int64_t i1, bool has_i1, bool need_change)
{
    char num[DC09_ACCOUNT_MAX + 1];
    if (stn_account_number_norm(number, num))
        return STN_E_INVAL;
    struct db_stmt *st;
    if (db_prepare(s->db, sql, &st) != DB_OK)
        return STN_E_STORE;
    db_bind_text(st, 1, num, -1, DB_TRANSIENT);
    if (has_i1)
        db_bind_int64(st, 2, i1);
    if (t1)
        db_bind_text(st, 3, t1, -1, DB_TRANSIENT);
    int rc = db_step(st);
    db_finalize(st);
    if (rc != DB_DONE)
        return store_err(s->db, rc);
    if (need_change && db_changes(s->db) == 0)
        return STN_E_NOTFOUND;
    return 0;
}

static bool account_exists(struct stn_store *s, const char *number)
{
    char num[DC09_ACCOUNT_MAX + 1];
    if (stn_account_number_norm(number, num))
        return false;
    struct db_stmt *st;
    if (db_prepare(s->db, "SELECT 1 FROM accounts WHERE number=?", &st))
        return false;
    db_bind_text(st, 1, num, -1, DB_TRANSIENT);
    bool ok = db_step(st) == DB_ROW;
    db_finalize(st);
    return ok;
}

static int account_remove_do(struct stn_store *s, const char *number)
{
    return simple_exec(s, "DELETE FROM accounts WHERE number=?1", number, NULL, 0, false, true);
}

static int account_user_set_do(struct stn_store *s, const char *number, int64_t user, const char *name)
{
    if (user < 0 || user > 9999 || !name || !*name)
        return STN_E_INVAL;
    if (!account_exists(s, number))
        return STN_E_NOTFOUND;
    return simple_exec(s, "INSERT INTO account_users (account_id, user_number, name)"
                          " SELECT id, ?2, ?3 FROM accounts WHERE number=?1"
                          " ON CONFLICT (account_id, user_number) DO UPDATE SET name=excluded.name",
                       number, name, user, true, true);
}

static int account_user_remove_do(struct stn_store *s, const char *number, int64_t user)
{
    return simple_exec(s, "DELETE FROM account_users WHERE user_number=?2 AND account_id="
                          "(SELECT id FROM accounts WHERE number=?1)", number, NULL, user, true, true);
}

static int account_zone_set_do(struct stn_store *s, const char *number, int64_t zone, const char *name)
{
    if (zone < 0 || zone > 9999 || !name || !*name)
        return STN_E_INVAL;
    if (!account_exists(s, number))
        return STN_E_NOTFOUND;
    return simple_exec(s, "INSERT INTO account_zones (account_id, zone_number, name)"
                          " SELECT id, ?2, ?3 FROM accounts WHERE number=?1"
                          " ON CONFLICT (account_id, zone_number) DO UPDATE SET name=excluded.name",
                       number, name, zone, true, true);
}

static int account_zone_remove_do(struct stn_store *s, const char *number, int64_t zone)
{
    return simple_exec(s, "DELETE FROM account_zones WHERE zone_number=?2 AND account_id="
                          "(SELECT id FROM accounts WHERE number=?1)", number, NULL, zone, true, true);
}

int stn_account_contact_add(struct stn_store *s, const char *number, const char *name,
                            const char *phone, const char *relation, bool lives_at_premises)
{
    return stn_account_contact_add_user(s, number, name, phone, relation, lives_at_premises, -1);
}

static int account_contact_add_user_do(struct stn_store *s, const char *number, const char *name,
                                 const char *phone, const char *relation, bool lives_at_premises,
                                 int64_t user_number)
{
    char num[DC09_ACCOUNT_MAX + 1];
    if (stn_account_number_norm(number, num) || !name || !*name || !phone || !*phone ||
        user_number < -1 || user_number > 9999)
        return STN_E_INVAL;
    if (!account_exists(s, number))
        return STN_E_NOTFOUND;
    struct db_stmt *st;
    if (db_prepare(s->db, "INSERT INTO account_contacts (account_id, position, name, phone, relation,"
            " lives_at_premises, user_number) SELECT a.id, COALESCE((SELECT max(position) FROM"
            " account_contacts WHERE account_id=a.id),0)+1, ?2, ?3, ?4, ?5, ?6"
            " FROM accounts a WHERE a.number=?1", &st) != DB_OK)
        return STN_E_STORE;
    db_bind_text(st, 1, num, -1, DB_TRANSIENT);
    db_bind_text(st, 2, name, -1, DB_TRANSIENT);
    db_bind_text(st, 3, phone, -1, DB_TRANSIENT);
    bind_opt(st, 4, relation);
    db_bind_int(st, 5, lives_at_premises);
    if (user_number >= 0)
        db_bind_int64(st, 6, user_number);
    else
        db_bind_null(st, 6);
    int rc = db_step(st);
    db_finalize(st);
    return rc == DB_DONE ? 0 : store_err(s->db, rc);
}

static int account_contact_remove_do(struct stn_store *s, const char *number, int64_t position)
{
    return simple_exec(s, "DELETE FROM account_contacts WHERE position=?2 AND account_id="
                          "(SELECT id FROM accounts WHERE number=?1)", number, NULL, position,
                       true, true);
}

int stn_account_passcode_set(struct stn_store *s, const char *number, bool duress,
                             const char *passcode, size_t len)
{
    if (!passcode || len < 4 || len > 128)
        return STN_E_INVAL;
    if (!account_exists(s, number))
        return STN_E_NOTFOUND;
    if (sodium_init() < 0)
        return STN_E_STORE;
    char hash[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str_alg(hash, passcode, len, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE,
                              crypto_pwhash_ALG_ARGON2ID13) != 0)
        return STN_E_NOMEM;
    /* hashed before the write transaction: argon2id's time never holds the
     * store's write lock (the station's commits wait for it) */
    char num[DC09_ACCOUNT_MAX + 1];
    stn_account_number_norm(number, num);
    int rc = stn_store_begin(s);
    if (rc == 0)
        rc = stn_store_end(s, simple_exec(s, duress
                 ? "UPDATE accounts SET duress_passcode_hash=?3 WHERE number=?1"
                 : "UPDATE accounts SET passcode_hash=?3 WHERE number=?1",
                 number, hash, 0, false, true),
             &(struct stn_audit_entry){ .at_ms = now_ms(), .actor = s->actor,
                                        .kind = "account.passcode", .subject = num,
                                        .after = duress ? "{\"duress_passcode\":\"set\"}"
                                                        : "{\"passcode\":\"set\"}" });
    sodium_memzero(hash, sizeof hash);
    return rc;
}

/* ---- JSON ------------------------------------------------------------- */

json_t *stn__col_text(struct db_stmt *st, int i)
{
    if (db_column_type(st, i) == DB_NULL)
        return json_null();
    const char *t = (const char *)db_column_text(st, i);
    json_t *j = json_stringn(t, (size_t)db_column_bytes(st, i));
    return j ? j : json_null();
}

json_t *stn__col_int(struct db_stmt *st, int i)
{
    if (db_column_type(st, i) == DB_NULL)
        return json_null();
    return json_integer(db_column_int64(st, i));
}

json_t *stn__col_time(struct db_stmt *st, int i)
{
    if (db_column_type(st, i) == DB_NULL)
        return json_null();
    char b[32];
    stn_iso8601_ms(db_column_int64(st, i), b);
    return json_string(b);
}

/* Raw frame bytes as a JSON string: bytes >= 0x80 (binary CRC quirk) map to
 * U+0080..U+00FF so the text stays valid UTF-8 and byte-for-byte readable. */
json_t *stn__col_raw(struct db_stmt *st, int i)
{
    const uint8_t *p = db_column_blob(st, i);
    int n = db_column_bytes(st, i);
    if (!p || n <= 0)
        return json_string("");
    char *u = malloc((size_t)n * 2 + 1);
    if (!u)
        return json_null();
    size_t k = 0;
    for (int x = 0; x < n; x++) {
        if (p[x] < 0x80) {
            u[k++] = (char)p[x];
        } else {
            u[k++] = (char)(0xC0 | (p[x] >> 6));
            u[k++] = (char)(0x80 | (p[x] & 0x3F));
        }
    }
    json_t *j = json_stringn(u, k);
    free(u);
    return j ? j : json_null();
}

/* cid object from 4 columns starting at i, or null */
static json_t *col_cid(struct db_stmt *st, int i)
{
    if (db_column_type(st, i + 1) == DB_NULL)
        return json_null();
    return json_pack("{s:i,s:i,s:i,s:i}", "qualifier", db_column_int(st, i),
                     "event", db_column_int(st, i + 1),
                     "partition", db_column_int(st, i + 2),
                     "zone", db_column_int(st, i + 3));
}

/* sia object from 5 columns (code, area, user, zone, text) at i, or null */
static json_t *col_sia(struct db_stmt *st, int i)
{
    if (db_column_type(st, i) == DB_NULL)
        return json_null();
    return json_pack("{s:o,s:o,s:o,s:o,s:o}", "code", stn__col_text(st, i), "area", stn__col_int(st, i + 1),
                     "user", stn__col_int(st, i + 2), "zone", stn__col_int(st, i + 3),
                     "text", stn__col_text(st, i + 4));
}

static const char *key_label(int len)
{
    switch (stn_key_bits_of_stored(len > 0 ? (size_t)len : 0)) {
    case 128: return "AES-128";
    case 192: return "AES-192";
    case 256: return "AES-256";
    default:  return NULL;
    }
}

static json_t *quirk_list(uint32_t q)
{
    json_t *a = json_array();
    for (uint32_t bit = 1; bit && bit <= q; bit <<= 1) {
        if (q & bit) {
            const char *n = dc09_quirk_name(bit);
            json_array_append_new(a, json_string(n ? n : "?"));
        }
    }
    return a;
}

static int sub_list(struct stn_store *s, const char *sql, int64_t account_id, json_t *arr,
                    int kind)
{
    struct db_stmt *st;
    if (db_prepare(s->db, sql, &st) != DB_OK)
        return STN_E_STORE;
    db_bind_int64(st, 1, account_id);
    while (db_step(st) == DB_ROW) {
        json_t *o;
        if (kind == 0)
            o = json_pack("{s:I,s:o}", "number", (json_int_t)db_column_int64(st, 0),
                          "name", stn__col_text(st, 1));
        else
            o = json_pack("{s:I,s:o,s:o,s:o,s:b,s:o}", "position",
                          (json_int_t)db_column_int64(st, 0), "name", stn__col_text(st, 1),
                          "phone", stn__col_text(st, 2), "relation", stn__col_text(st, 3),
                          "lives_at_premises", db_column_int(st, 4),
                          "user", stn__col_int(st, 5));
        if (o)
            json_array_append_new(arr, o);
    }
    db_finalize(st);
    return 0;
}

static const char account_cols[] =
    "SELECT id, number, name, address, time_zone, phone, agency, permit, length(key), quirks,"
    " supervision_s, passcode_hash IS NOT NULL, duress_passcode_hash IS NOT NULL,"
    " created_at_ms, updated_at_ms, last_seen_ms, window_past_s, window_future_s,"
    " police_status, location, permit_expires_ms FROM accounts";

/* Every row of a prepared statement as one JSON object (row() builds it),
 * into an array; finalizes the statement. STN_E_STORE on a failed step,
 * STN_E_NOMEM when an object cannot be built or kept. */
static int rows_json(struct db_stmt *st, json_t *(*row)(struct stn_store *s, struct db_stmt *st),
                     struct stn_store *s, void **out)
{
    json_t *arr = json_array();
    int rc = arr ? DB_DONE : DB_NOMEM;
    while (arr && (rc = db_step(st)) == DB_ROW) {
        json_t *o = row(s, st);
        if (!o || json_array_append_new(arr, o) != 0) {
            rc = DB_NOMEM;
            break;
        }
    }
    db_finalize(st);
    if (rc != DB_DONE) {
        json_decref(arr);
        return rc == DB_NOMEM ? STN_E_NOMEM : STN_E_STORE;
    }
    *out = arr;
    return 0;
}

static json_t *charge_obj(struct db_stmt *st);
static const char charge_cols[] =
    "SELECT c.id, c.alarm_id, c.account, a.name, c.agency, c.kind, c.location, c.finding,"
    " c.at_ms, c.operator, c.psap_event_number, c.count_in_window, c.forgiven, c.billed,"
    " c.currency, c.agency_fee_cents, c.admin_fee_cents, c.total_cents, c.rule, c.counted"
    " FROM charges c LEFT JOIN accounts a ON a.id = c.account_id";

/* The account's invoice lines, newest first (at most 100). */
static json_t *false_dispatches(struct stn_store *s, int64_t account_id)
{
    char sql[768];
    snprintf(sql, sizeof sql, "%s WHERE c.account_id=? ORDER BY c.at_ms DESC, c.id DESC"
             " LIMIT 100", charge_cols);
    json_t *arr = json_array();
    struct db_stmt *st;
    if (!arr || db_prepare(s->db, sql, &st))
        return arr;
    db_bind_int64(st, 1, account_id);
    while (db_step(st) == DB_ROW) {
        json_t *o = charge_obj(st);
        if (o)
            json_array_append_new(arr, o);
    }
    db_finalize(st);
    return arr;
}

/* The account's alarms for its page in the console: the open ones first, then
 * the newest, at most 20 (index alarms_account: that account's rows only). */
static json_t *account_alarms(struct stn_store *s, int64_t account_id)
{
    json_t *arr = json_array();
    struct db_stmt *st;
    if (!arr || db_prepare(s->db, "SELECT id, priority, kind, state, received_at_ms, taken_by, closed_at_ms,"
            " disposition, test, dispatched_at_ms FROM alarms WHERE account_id=?"
            " ORDER BY state = 'closed', id DESC LIMIT 20", &st))
        return arr;
    db_bind_int64(st, 1, account_id);
    while (db_step(st) == DB_ROW) {
        json_t *o = json_pack("{s:I,s:i,s:o,s:o,s:o,s:o,s:o,s:o,s:b,s:o}",
            "id", (json_int_t)db_column_int64(st, 0), "priority", db_column_int(st, 1),
            "kind", stn__col_text(st, 2), "state", stn__col_text(st, 3), "received_at", stn__col_time(st, 4),
            "taken_by", stn__col_text(st, 5), "closed_at", stn__col_time(st, 6),
            "disposition", stn__col_text(st, 7), "test", db_column_int(st, 8) != 0,
            "dispatched_at", stn__col_time(st, 9));
        if (o)
            json_array_append_new(arr, o);
    }
    db_finalize(st);
    return arr;
}

static json_t *account_obj(struct stn_store *s, struct db_stmt *st, bool detail)
{
    const char *kl = key_label(db_column_int(st, 8));
    json_t *o = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:I,s:b,s:b,s:o,s:o,s:o}",
        "number", stn__col_text(st, 1), "name", stn__col_text(st, 2), "address", stn__col_text(st, 3),
        "time_zone", stn__col_text(st, 4), "phone", stn__col_text(st, 5), "agency", stn__col_text(st, 6),
        "permit", stn__col_text(st, 7), "key", kl ? json_string(kl) : json_null(),
        "quirks", quirk_list((uint32_t)db_column_int64(st, 9)),
        "supervision_s", (json_int_t)db_column_int64(st, 10),
        "passcode", db_column_int(st, 11), "duress_passcode", db_column_int(st, 12),
        "created_at", stn__col_time(st, 13), "updated_at", stn__col_time(st, 14),
        "last_seen", stn__col_time(st, 15));
    if (o) {
        json_object_set_new(o, "window_past_s", stn__col_int(st, 16));
        json_object_set_new(o, "window_future_s", stn__col_int(st, 17));
        json_object_set_new(o, "police_status", stn__col_text(st, 18));
        json_object_set_new(o, "location", stn__col_text(st, 19));
        json_object_set_new(o, "permit_expires", stn__col_time(st, 20));
    }
    if (o && detail) {
        int64_t id = db_column_int64(st, 0);
        json_t *users = json_array(), *zones = json_array(), *contacts = json_array();
        sub_list(s, "SELECT user_number, name FROM account_users WHERE account_id=?"
                    " ORDER BY user_number", id, users, 0);
        sub_list(s, "SELECT zone_number, name FROM account_zones WHERE account_id=?"
                    " ORDER BY zone_number", id, zones, 0);
        sub_list(s, "SELECT position, name, phone, relation, lives_at_premises, user_number FROM"
                    " account_contacts WHERE account_id=? ORDER BY position", id, contacts, 1);
        json_object_set_new(o, "users", users);
        json_object_set_new(o, "zones", zones);
        json_object_set_new(o, "contacts", contacts);
        json_object_set_new(o, "agency_standing",
                            stn__agency_standing_json(s->db, id, NULL, now_ms(), s->admin_fee_cents));
        json_object_set_new(o, "false_dispatches", false_dispatches(s, id));
        json_object_set_new(o, "alarms", account_alarms(s, id));
    }
    return o;
}

static json_t *account_row(struct stn_store *s, struct db_stmt *st)
{
    return account_obj(s, st, false);
}

int stn_accounts_json(struct stn_store *s, void **out)
{
    char sql[512];
    snprintf(sql, sizeof sql, "%s ORDER BY number", account_cols);
    struct db_stmt *st;
    if (db_prepare(s->db, sql, &st) != DB_OK)
        return STN_E_STORE;
    return rows_json(st, account_row, s, out);
}

int stn_account_json(struct stn_store *s, const char *number, void **out)
{
    char num[DC09_ACCOUNT_MAX + 1];
    if (stn_account_number_norm(number, num))
        return STN_E_INVAL;
    char sql[512];
    snprintf(sql, sizeof sql, "%s WHERE number=?", account_cols);
    struct db_stmt *st;
    if (db_prepare(s->db, sql, &st) != DB_OK)
        return STN_E_STORE;
    db_bind_text(st, 1, num, -1, DB_TRANSIENT);
    int rc = db_step(st);
    if (rc != DB_ROW) {
        db_finalize(st);
        return rc == DB_DONE ? STN_E_NOTFOUND : STN_E_STORE;
    }
    json_t *o = account_obj(s, st, true);
    db_finalize(st);
    if (!o)
        return STN_E_NOMEM;
    *out = o;
    return 0;
}

static int append_cb(void *ctx, void *obj)
{
    return json_array_append_new(ctx, obj) == 0 ? 0 : STN_E_NOMEM;
}

int stn_events_json(struct stn_store *s, const struct stn_event_filter *f, void **out)
{
    json_t *arr = json_array();
    if (!arr)
        return STN_E_NOMEM;
    int rc = stn_events_each(s, f, append_cb, arr);
    if (rc) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return 0;
}

/* The columns of event_cols, in order. */
static json_t *event_obj(struct db_stmt *st)
{
    return json_pack("{s:I,s:o,s:o,s:i,s:o,s:b,s:o,s:o,s:o,s:o,s:o,s:o,s:o}",
        "id", (json_int_t)db_column_int64(st, 0), "account", stn__col_text(st, 1),
        "received_at", stn__col_time(st, 2), "seq", db_column_int(st, 3),
        "id_token", stn__col_text(st, 4), "encrypted", db_column_int(st, 5),
        "cid", col_cid(st, 6), "sia", col_sia(st, 10), "raw", stn__col_raw(st, 15),
        "kind", stn__col_text(st, 16), "priority", stn__col_int(st, 17),
        "data", stn__col_text(st, 18),
        "peer", stn__col_text(st, 19));
}

int stn_events_each(struct stn_store *s, const struct stn_event_filter *f,
                    int (*fn)(void *ctx, void *obj), void *ctx)
{
    char num[DC09_ACCOUNT_MAX + 1] = "";
    if (f->account && stn_account_number_norm(f->account, num))
        return STN_E_INVAL;
    struct db_stmt *st;
    if (db_prepare(s->db, "SELECT id, account, received_at_ms, seq, id_token, encrypted,"
            " cid_q, cid_event, cid_partition, cid_zone,"
            " sia_code, sia_area, sia_user, sia_zone, sia_text, raw, kind, priority, data, peer"
            " FROM events WHERE (?1 IS NULL OR account=?1) AND received_at_ms>=?2"
            " ORDER BY id LIMIT ?3", &st) != DB_OK)
        return STN_E_STORE;
    if (f->account)
        db_bind_text(st, 1, num, -1, DB_TRANSIENT);
    db_bind_int64(st, 2, f->since_ms);
    db_bind_int64(st, 3, f->limit > 0 ? f->limit : INT64_MAX);
    int rc;
    while ((rc = db_step(st)) == DB_ROW) {
        json_t *o = event_obj(st);
        if (!o || fn(ctx, o) != 0) {
            db_finalize(st);
            return STN_E_NOMEM;
        }
    }
    db_finalize(st);
    return rc == DB_DONE ? 0 : STN_E_STORE;
}

/* The 27 alarm columns of stn_alarms_json (ALARM_COLS), in order. */
static json_t *alarm_obj(struct db_stmt *st)
{
    json_t *o = json_pack("{s:I,s:o,s:i,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:I,s:o,s:o,"
                          "s:o,s:o,s:o,s:o,s:o}",
        "id", (json_int_t)db_column_int64(st, 0), "account", stn__col_text(st, 1),
        "priority", db_column_int(st, 2), "state", stn__col_text(st, 3),
        "kind", stn__col_text(st, 4), "cid", col_cid(st, 5), "sia", col_sia(st, 9),
        "partition", stn__col_int(st, 14), "zone", stn__col_int(st, 15), "user", stn__col_int(st, 16),
        "received_at", stn__col_time(st, 17), "taken_by", stn__col_text(st, 18),
        "event_count", (json_int_t)db_column_int64(st, 19),
        "last_event_at", stn__col_time(st, 20), "escalated_at", stn__col_time(st, 21),
        "restored_at", stn__col_time(st, 22), "detail", stn__col_text(st, 23),
        "disposition", stn__col_text(st, 24), "closed_at", stn__col_time(st, 25),
        "event_id", stn__col_int(st, 26));
    if (o) {
        json_object_set_new(o, "escalated", json_boolean(
            db_column_type(st, 21) != DB_NULL));
        json_object_set_new(o, "restored", json_boolean(
            db_column_type(st, 22) != DB_NULL));
    }
    return o;
}

static json_t *alarm_row(struct stn_store *s, struct db_stmt *st)
{
    (void)s;
    json_t *o = alarm_obj(st);
    if (o)   /* raised while its account was on test (column 27) */
        json_object_set_new(o, "test", json_boolean(db_column_int(st, 27) != 0));
    return o;
}

int stn_alarms_json(struct stn_store *s, bool include_closed, void **out)
{
    struct db_stmt *st;
    if (db_prepare(s->db, "SELECT id, account, priority, state, kind, cid_q, cid_event, cid_partition, cid_zone,"
            " sia_code, sia_area, sia_user, sia_zone, sia_text, partition, zone, \"user\","
            " received_at_ms, taken_by, event_count, last_event_at_ms, escalated_at_ms,"
            " restored_at_ms, detail, disposition, closed_at_ms, event_id, test"
            " FROM alarms WHERE (?1 OR state != 'closed')"
            " ORDER BY " ALM_QUEUE_ORDER_SQL(""), &st) != DB_OK)
        return STN_E_STORE;
    db_bind_int(st, 1, include_closed);
    return rows_json(st, alarm_row, s, out);
}

static json_t *rejected_row(struct stn_store *s, struct db_stmt *st)
{
    (void)s;
    return json_pack("{s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}",
        "id", (json_int_t)db_column_int64(st, 0), "received_at", stn__col_time(st, 1),
        "account", stn__col_text(st, 2), "reason", stn__col_text(st, 3), "id_token", stn__col_text(st, 4),
        "seq", stn__col_int(st, 5), "peer", stn__col_text(st, 6), "raw", stn__col_raw(st, 7),
        "alarm_id", stn__col_int(st, 8));
}

int stn_rejected_json(struct stn_store *s, int64_t since_ms, void **out)
{
    struct db_stmt *st;
    if (db_prepare(s->db, "SELECT id, received_at_ms, account, reason, id_token, seq, peer, raw, alarm_id"
            " FROM signals_rejected WHERE received_at_ms>=? ORDER BY id", &st)
        != DB_OK)
        return STN_E_STORE;
    db_bind_int64(st, 1, since_ms);
    return rows_json(st, rejected_row, s, out);
}

int stn_store_backup(struct stn_store *s, const char *path, char *msg, size_t cap)
{
    /* Created here, owner-only (it holds the passcode hashes), and only if it
     * does not exist yet — no check-then-create window. */
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        int e = errno;
        if (e == EEXIST)
            snprintf(msg, cap, "%s already exists: refusing to overwrite it", path);
        else
            snprintf(msg, cap, "cannot create %s: %s", path, strerror(e));
        return e == EEXIST ? STN_E_EXISTS : STN_E_OPEN;
    }
    close(fd);
    sqlite3 *src = db_sqlite_handle(s->db), *dh = NULL;
    if (!src) {
        remove(path);
        snprintf(msg, cap, "a PostgreSQL store is backed up with PostgreSQL's own tools "
                 "(pg_dump, pg_basebackup: docs/deploy.md), not `vigil backup`");
        return STN_E_INVAL;
    }
    if (sqlite3_open_v2(path, &dh, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        snprintf(msg, cap, "cannot create %s: %s", path, dh ? sqlite3_errmsg(dh) : "?");
        sqlite3_close(dh);
        remove(path);
        return STN_E_OPEN;
    }
    sqlite3_busy_timeout(dh, 5000);
    sqlite3_backup *b = sqlite3_backup_init(dh, "main", src, "main");
    if (!b) {
        snprintf(msg, cap, "backup to %s: %s", path, sqlite3_errmsg(dh));
        sqlite3_close(dh);
        remove(path);
        return STN_E_STORE;
    }
    /* one step copies everything under one read transaction: a consistent copy */
    int rc = sqlite3_backup_step(b, -1);
    sqlite3_backup_finish(b);
    sqlite3_close(dh);
    struct db *dst = NULL;
    char omsg[256];
    if (rc != SQLITE_DONE || db_open(DB_KIND_SQLITE, path, 0, &dst, omsg, sizeof omsg) != DB_OK) {
        snprintf(msg, cap, "backup to %s failed: %s", path,
                 rc != SQLITE_DONE ? sqlite3_errstr(rc) : omsg);
        remove(path);
        return STN_E_STORE;
    }
    /* the copy's audit head beside it (docs/audit.md): the copy verifies on
     * its own, and a later copy of the live head tells what came after */
    int64_t seq = 0;
    char hash[STN_AUDIT_HASH_HEX];
    if (db_exec(dst, "BEGIN", NULL) == DB_OK) {
        if (stn_audit_last(dst, &seq, hash) != 0)
            seq = 0;
        db_exec(dst, "COMMIT", NULL);
    }
    stn_audit_forget(dst);
    db_close(dst);
    if (seq > 0 && stn_audit_head_write_ex(path, seq, hash, true) != 0) {
        snprintf(msg, cap, "backup to %s: its audit head file could not be written", path);
        return STN_E_STORE;
    }
    return 0;
}

/* ---- the operators' side: alarms as the console shows them ------------- */

/* The alarm columns of alarm_obj (0..26), then account name and police
 * status, the dispatch record's status and cancel mark, and the alarm's
 * last change seq (27..31). The change seq is found by scanning the change
 * log back from its newest row: a changed alarm is near the end. */
#define ALARM_ITEM_SQL \
    "SELECT a.id, a.account, a.priority, a.state, a.kind, a.cid_q, a.cid_event," \
    " a.cid_partition, a.cid_zone, a.sia_code, a.sia_area, a.sia_user, a.sia_zone, a.sia_text," \
    " a.partition, a.zone, a.user, a.received_at_ms, a.taken_by, a.event_count," \
    " a.last_event_at_ms, a.escalated_at_ms, a.restored_at_ms, a.detail, a.disposition," \
    " a.closed_at_ms, a.event_id, acc.name, acc.police_status, d.psap_status," \
    " d.cancel_requested_at_ms," \
    " (SELECT seq FROM alarm_changes WHERE alarm_id=a.id ORDER BY seq DESC LIMIT 1)," \
    " a.test, acc.test_until_ms" \
    " FROM alarms a LEFT JOIN accounts acc ON acc.id=a.account_id" \
    " LEFT JOIN dispatches d ON d.alarm_id=a.id"

static const char *col_str(struct db_stmt *st, int i, const char *dflt)
{
    const char *t = (const char *)db_column_text(st, i);
    return t ? t : dflt;
}

/* The plan steps an alarm has ticked, into v->done (borrowing buf). */
static int load_done(struct stn_store *s, int64_t id, struct alm_view *v,
                     char buf[ALM_STEPS_MAX][32])
{
    struct db_stmt *st;
    if (db_prepare(s->db, "SELECT step FROM alarm_steps WHERE alarm_id=? ORDER BY done_at_ms", &st) != DB_OK)
        return STN_E_STORE;
    db_bind_int64(st, 1, id);
    v->ndone = 0;
    int rc;
    while ((rc = db_step(st)) == DB_ROW && v->ndone < ALM_STEPS_MAX) {
        snprintf(buf[v->ndone], 32, "%s", col_str(st, 0, ""));
        v->done[v->ndone] = buf[v->ndone];
        v->ndone++;
    }
    db_finalize(st);
    return rc == DB_ROW || rc == DB_DONE ? 0 : STN_E_STORE;
}

static bool step_done(const struct alm_view *v, const char *id)
{
    for (size_t i = 0; i < v->ndone; i++)
        if (strcmp(v->done[i], id) == 0)
            return true;
    return false;
}

/* The engine's view of the row ALARM_ITEM_SQL returned (strings borrowed from st). */
static void view_of_row(struct db_stmt *st, struct alm_view *v)
{
    memset(v, 0, sizeof *v);
    v->id = db_column_int64(st, 0);
    v->kind = col_str(st, 4, "");
    v->priority = db_column_int(st, 2);
    enum alm_state state = ALM_NEW;
    if (alm_state_parse(col_str(st, 3, "new"), &state) == 0)
        v->state = state;
    v->taken_by = (const char *)db_column_text(st, 18);
    v->escalated = db_column_type(st, 21) != DB_NULL;
    v->police_status = col_str(st, 28, "normal");
    enum alm_psap p = ALM_PSAP_NONE;
    if (db_column_type(st, 29) != DB_NULL && alm_psap_parse(col_str(st, 29, ""), &p) == 0)
        v->psap = p;
    v->cancel_requested = db_column_type(st, 30) != DB_NULL;
    v->test = db_column_int(st, 32) != 0;
}

/* The list object of the row ALARM_ITEM_SQL returned: plan, steps and
 * targets as the engine says (never a rule of its own here). */
static json_t *alarm_item_obj(struct stn_store *s, struct db_stmt *st)
{
    json_t *o = alarm_obj(st);
    if (!o)
        return NULL;
    struct alm_view v;
    char done_buf[ALM_STEPS_MAX][32];
    view_of_row(st, &v);
    if (load_done(s, v.id, &v, done_buf) != 0) {
        json_decref(o);
        return NULL;
    }
    const struct alm_step *steps[ALM_STEPS_MAX];
    size_t nsteps = alm_plan_steps_test(v.kind, v.police_status, v.test, steps), ndone = 0;
    for (size_t i = 0; i < nsteps; i++)
        ndone += step_done(&v, steps[i]->id);
    const char *open[ALM_STEPS_MAX];
    size_t nopen = alm_open_mandatory(&v, open);
    json_t *mand = json_array();
    for (size_t i = 0; i < nopen; i++)
        json_array_append_new(mand, json_string(open[i]));
    const char *plan = alm_plan_name(v.kind, v.test);
    int warning_s = 0, danger_s = 0;
    alm_targets(v.priority, &warning_s, &danger_s);
    json_object_set_new(o, "account_name", stn__col_text(st, 27));
    json_object_set_new(o, "police_status", json_string(v.police_status));
    json_object_set_new(o, "plan", plan ? json_string(plan) : json_null());
    /* TEST: raised while the account was on test (no dispatch step, never
     * escalated); test_until: the account's test mode end, if still on */
    json_object_set_new(o, "test", json_boolean(v.test));
    json_object_set_new(o, "account_test_until",
                        db_column_type(st, 33) != DB_NULL &&
                        db_column_int64(st, 33) > stn_now_ms() ? stn__col_time(st, 33)
                                                                    : json_null());
    json_object_set_new(o, "steps_total", json_integer((json_int_t)nsteps));
    json_object_set_new(o, "steps_done", json_integer((json_int_t)ndone));
    json_object_set_new(o, "mandatory_open", mand);
    json_object_set_new(o, "dispatch_status", stn__col_text(st, 29));
    json_object_set_new(o, "warning_s", json_integer(warning_s));
    json_object_set_new(o, "danger_s", json_integer(danger_s));
    json_object_set_new(o, "change", stn__col_int(st, 31));
    return o;
}

int stn_alarm_list_json(struct stn_store *s, bool include_closed, void **out)
{
    struct db_stmt *st;
    if (db_prepare(s->db, ALARM_ITEM_SQL " WHERE (?1 OR a.state != 'closed')"
                           " ORDER BY " ALM_QUEUE_ORDER_SQL("a."), &st) != DB_OK)
        return STN_E_STORE;
    db_bind_int(st, 1, include_closed);
    return rows_json(st, alarm_item_obj, s, out);
}

int stn_alarm_item_json(struct stn_store *s, int64_t id, void **out)
{
    struct db_stmt *st;
    if (db_prepare(s->db, ALARM_ITEM_SQL " WHERE a.id=?1", &st) != DB_OK)
        return STN_E_STORE;
    db_bind_int64(st, 1, id);
    int rc = db_step(st);
    json_t *o = rc == DB_ROW ? alarm_item_obj(s, st) : NULL;
    db_finalize(st);
    if (rc != DB_ROW)
        return rc == DB_DONE ? STN_E_NOTFOUND : STN_E_STORE;
    if (!o)
        return STN_E_STORE;
    *out = o;
    return 0;
}

int stn_alarm_account(struct stn_store *s, int64_t id, char out[32])
{
    struct db_stmt *st;
    if (db_prepare(s->db, "SELECT account FROM alarms WHERE id=?", &st))
        return STN_E_STORE;
    db_bind_int64(st, 1, id);
    int rc = db_step(st);
    if (rc == DB_ROW)
        snprintf(out, 32, "%s", col_str(st, 0, ""));
    db_finalize(st);
    return rc == DB_ROW ? 0 : rc == DB_DONE ? STN_E_NOTFOUND : STN_E_STORE;
}

/* ---- the detail of one alarm ------------------------------------------ */

struct alarm_ref {
    int64_t account_id;
    char    kind[64];
    int64_t user;          /* -1: none */
    char    police_status[16];
    bool    test;          /* raised while its account was on test */
};

static int alarm_ref(struct stn_store *s, int64_t id, struct alarm_ref *r)
{
    struct db_stmt *st;
    if (db_prepare(s->db, "SELECT a.account_id, a.kind, a.user, acc.police_status,"
                           " a.test FROM alarms a LEFT JOIN accounts acc ON acc.id=a.account_id"
                           " WHERE a.id=?", &st))
        return STN_E_STORE;
    db_bind_int64(st, 1, id);
    int rc = db_step(st);
    if (rc == DB_ROW) {
        r->account_id = db_column_int64(st, 0);
        snprintf(r->kind, sizeof r->kind, "%s", col_str(st, 1, ""));
        r->user = db_column_type(st, 2) == DB_NULL ? -1 : db_column_int64(st, 2);
        snprintf(r->police_status, sizeof r->police_status, "%s", col_str(st, 3, "normal"));
        r->test = db_column_int(st, 4) != 0;
    }
    db_finalize(st);
    return rc == DB_ROW ? 0 : rc == DB_DONE ? STN_E_NOTFOUND : STN_E_STORE;
}

/* The premises' phone is withheld for a silent alarm: a call there could
 * warn whoever holds the user under threat (docs/DURESS.md). */
static json_t *detail_account(struct stn_store *s, const struct alarm_ref *r)
{
    struct db_stmt *st;
    if (db_prepare(s->db, "SELECT number, name, address, phone, police_status, agency,"
                           " permit, location FROM accounts WHERE id=?", &st))
        return NULL;
    db_bind_int64(st, 1, r->account_id);
    json_t *o = NULL;
    if (db_step(st) == DB_ROW) {
        bool silent = alm_kind_is_silent(r->kind);
        o = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "number", stn__col_text(st, 0),
                      "name", stn__col_text(st, 1), "address", stn__col_text(st, 2),
                      "phone", silent ? json_null() : stn__col_text(st, 3),
                      "police_status", stn__col_text(st, 4), "agency", stn__col_text(st, 5),
                      "permit", stn__col_text(st, 6), "location", stn__col_text(st, 7));
        if (o && silent)
            json_object_set_new(o, "phone_withheld", json_string(
                "silent alarm: never call the premises (whoever is there may be under threat)"));
    }
    db_finalize(st);
    return o ? o : json_null();
}

static json_t *detail_steps(struct stn_store *s, int64_t id, const struct alarm_ref *r)
{
    const struct alm_step *steps[ALM_STEPS_MAX];
    size_t n = alm_plan_steps_test(r->kind, r->police_status, r->test, steps);
    json_t *arr = json_array();
    struct db_stmt *st;
    if (!arr || db_prepare(s->db, "SELECT done_by, done_at_ms, note FROM alarm_steps"
                                   " WHERE alarm_id=? AND step=?", &st))
        return arr;
    for (size_t i = 0; i < n; i++) {
        db_reset(st);
        db_bind_int64(st, 1, id);
        db_bind_text(st, 2, steps[i]->id, -1, DB_STATIC);
        bool done = db_step(st) == DB_ROW;
        json_t *o = json_pack("{s:s,s:s,s:b,s:b,s:o,s:o,s:o}", "id", steps[i]->id,
            "text", steps[i]->text, "mandatory", (steps[i]->flags & ALM_STEP_MANDATORY) != 0,
            "done", done, "done_by", done ? stn__col_text(st, 0) : json_null(),
            "done_at", done ? stn__col_time(st, 1) : json_null(),
            "note", done ? stn__col_text(st, 2) : json_null());
        if (o)
            json_array_append_new(arr, o);
    }
    db_finalize(st);
    return arr;
}

/* A silent alarm's call list leaves out whoever lives at the premises and
 * the user who sent the duress (their own phone may be with the attacker). */
static json_t *detail_call_list(struct stn_store *s, const struct alarm_ref *r)
{
    json_t *arr = json_array();
    struct db_stmt *st;
    if (!arr || db_prepare(s->db, "SELECT position, name, phone, relation,"
                                   " lives_at_premises, user_number FROM account_contacts"
                                   " WHERE account_id=? ORDER BY position", &st))
        return arr;
    db_bind_int64(st, 1, r->account_id);
    bool silent = alm_kind_is_silent(r->kind);
    while (db_step(st) == DB_ROW) {
        bool own = r->user >= 0 && db_column_type(st, 5) != DB_NULL &&
                   db_column_int64(st, 5) == r->user;
        if (silent && (db_column_int(st, 4) || own))
            continue;
        json_t *o = json_pack("{s:I,s:o,s:o,s:o}", "position",
                              (json_int_t)db_column_int64(st, 0), "name", stn__col_text(st, 1),
                              "phone", stn__col_text(st, 2), "relation", stn__col_text(st, 3));
        if (o)
            json_array_append_new(arr, o);
    }
    db_finalize(st);
    return arr;
}

static json_t *detail_history(struct stn_store *s, int64_t id)
{
    json_t *arr = json_array();
    struct db_stmt *st;
    if (!arr || db_prepare(s->db, "SELECT at_ms, operator, action, detail FROM"
                                   " alarm_history WHERE alarm_id=? ORDER BY id", &st))
        return arr;
    db_bind_int64(st, 1, id);
    while (db_step(st) == DB_ROW) {
        json_t *o = json_pack("{s:o,s:o,s:o,s:o}", "at", stn__col_time(st, 0),
                              "operator", stn__col_text(st, 1), "action", stn__col_text(st, 2),
                              "detail", stn__col_text(st, 3));
        if (o)
            json_array_append_new(arr, o);
    }
    db_finalize(st);
    return arr;
}

#define DETAIL_EVENTS_MAX 50

static json_t *detail_events(struct stn_store *s, int64_t id)
{
    json_t *arr = json_array();
    struct db_stmt *st;
    if (!arr || db_prepare(s->db, "SELECT e.id, e.account, e.received_at_ms, e.seq, e.id_token, e.encrypted,"
            " e.cid_q, e.cid_event, e.cid_partition, e.cid_zone, e.sia_code, e.sia_area,"
            " e.sia_user, e.sia_zone, e.sia_text, e.raw, e.kind, e.priority, e.data, e.peer"
            " FROM alarm_events ae JOIN events e ON e.id=ae.event_id WHERE ae.alarm_id=?"
            " ORDER BY ae.event_id DESC LIMIT ?", &st))
        return arr;
    db_bind_int64(st, 1, id);
    db_bind_int(st, 2, DETAIL_EVENTS_MAX);
    while (db_step(st) == DB_ROW) {
        json_t *o = event_obj(st);
        if (o)
            json_array_append_new(arr, o);
    }
    db_finalize(st);
    return arr;
}

static json_t *dispatch_obj(struct stn_store *s, int64_t id, int *rc);

static json_t *alarm_charge(struct stn_store *s, int64_t id)
{
    char sql[768];
    snprintf(sql, sizeof sql, "%s WHERE c.alarm_id=?", charge_cols);
    struct db_stmt *st;
    json_t *o = NULL;
    if (db_prepare(s->db, sql, &st))
        return json_null();
    db_bind_int64(st, 1, id);
    if (db_step(st) == DB_ROW)
        o = charge_obj(st);
    db_finalize(st);
    return o ? o : json_null();
}

int stn_alarm_detail_json(struct stn_store *s, int64_t id, void **out)
{
    void *item = NULL;
    int rc = stn_alarm_item_json(s, id, &item);
    if (rc)
        return rc;
    struct alarm_ref r;
    if ((rc = alarm_ref(s, id, &r)) != 0) {
        json_decref(item);
        return rc;
    }
    json_t *o = item;
    int drc = 0;
    json_t *d = dispatch_obj(s, id, &drc);
    json_object_set_new(o, "account", detail_account(s, &r));
    json_object_set_new(o, "steps", detail_steps(s, id, &r));
    json_object_set_new(o, "call_list", detail_call_list(s, &r));
    json_object_set_new(o, "dispatch", d ? d : json_null());
    json_object_set_new(o, "history", detail_history(s, id));
    json_object_set_new(o, "events", detail_events(s, id));
    json_object_set_new(o, "agency_standing",
                        stn__agency_standing_json(s->db, r.account_id, r.kind, now_ms(),
                                                  s->admin_fee_cents));
    json_object_set_new(o, "charge", alarm_charge(s, id));
    *out = o;
    return 0;
}

/* ---- the police dispatch record (ASAP-to-PSAP / NIEM em:Alarm names) ---- */

static json_t *dispatch_row(struct db_stmt *st)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "AlarmEventCategory", stn__col_text(st, 0));
    json_object_set_new(o, "AlarmEventLocationCategory", stn__col_text(st, 2));
    json_object_set_new(o, "AlarmAudibleDescriptionCode", stn__col_text(st, 1));
    json_object_set_new(o, "AlarmEventDetailsText", stn__col_text(st, 3));
    json_object_set_new(o, "AlarmEventCallBackTelephoneNumber", stn__col_text(st, 7));
    json_object_set_new(o, "AlarmEventRequestorReceiveDate", stn__col_time(st, 25));
    json_object_set_new(o, "AlarmEventCallToPremisesIndicator",
                        json_boolean(db_column_int(st, 10)));
    json_object_set_new(o, "AlarmEventPermit", stn__col_text(st, 5));
    json_object_set_new(o, "AlarmEventDispatchAgency", stn__col_text(st, 4));
    json_object_set_new(o, "AlarmMonitoringServiceProvider", json_pack("{s:o,s:o,s:o}",
                        "name", stn__col_text(st, 8), "operator", stn__col_text(st, 9),
                        "receive_time", stn__col_time(st, 25)));
    json_object_set_new(o, "AlarmConfirmation", json_pack("{s:o,s:o}",
                        "method", stn__col_text(st, 11), "call_to_premises_result", stn__col_text(st, 12)));
    json_object_set_new(o, "Location", stn__col_text(st, 6));
    json_object_set_new(o, "Account", stn__col_text(st, 26));
    json_object_set_new(o, "DispatchRequestedDate", stn__col_time(st, 13));
    json_object_set_new(o, "PsapStatus", stn__col_text(st, 14));
    json_object_set_new(o, "PsapEventNumber", stn__col_text(st, 15));
    json_object_set_new(o, "PsapRejectReason", stn__col_text(st, 16));
    json_object_set_new(o, "PsapAcceptedDate", stn__col_time(st, 18));
    json_object_set_new(o, "PsapDispatchedDate", stn__col_time(st, 20));
    json_object_set_new(o, "PsapArrivedDate", stn__col_time(st, 21));
    json_object_set_new(o, "PsapClosedDate", stn__col_time(st, 22));
    json_object_set_new(o, "PsapDisposition", stn__col_text(st, 17));
    json_object_set_new(o, "CancelRequestedDate", stn__col_time(st, 23));
    json_object_set_new(o, "CancelConfirmedBy", stn__col_text(st, 24));
    return o;
}

static json_t *dispatch_obj(struct stn_store *s, int64_t id, int *rc)
{
    struct db_stmt *st;
    if (db_prepare(s->db, "SELECT d.category, d.audible, d.location_category, d.details, d.agency, d.permit,"
            " d.address, d.callback_phone, d.provider_name, d.operator, d.call_to_premises,"
            " d.confirmation_method, d.call_to_premises_result, d.requested_at_ms,"
            " d.psap_status, d.psap_event_number, d.reject_reason, d.psap_disposition,"
            " d.accepted_at_ms, d.rejected_at_ms, d.dispatched_at_ms, d.arrived_at_ms,"
            " d.psap_closed_at_ms, d.cancel_requested_at_ms, d.cancel_confirmed_by,"
            " a.received_at_ms, a.account"
            " FROM dispatches d JOIN alarms a ON a.id=d.alarm_id WHERE d.alarm_id=?", &st) != DB_OK) {
        *rc = STN_E_STORE;
        return NULL;
    }
    db_bind_int64(st, 1, id);
    int r = db_step(st);
    json_t *o = r == DB_ROW ? dispatch_row(st) : NULL;
    db_finalize(st);
    *rc = r == DB_ROW ? (o ? 0 : STN_E_NOMEM) : r == DB_DONE ? STN_E_NOTFOUND : STN_E_STORE;
    return o;
}

int stn_dispatch_json(struct stn_store *s, int64_t id, void **out)
{
    int rc = 0;
    json_t *o = dispatch_obj(s, id, &rc);
    if (rc)
        return rc;
    *out = o;
    return 0;
}

/* ---- the change log (live stream) ------------------------------------- */

int stn_store_data_version(struct stn_store *s, int64_t *out)
{
    if (db_data_version(s->db, out) != DB_OK) {
        if (db_errcode(s->db) == DB_LOST)
            db_reconnect(s->db);   /* the next call may find it back */
        return STN_E_STORE;
    }
    return 0;
}

int stn_store_notify_fd(struct stn_store *s)
{
    return db_notify_fd(s->db);
}

int stn_alarm_changes_range(struct stn_store *s, int64_t *oldest, int64_t *latest)
{
    struct db_stmt *st;
    if (db_prepare(s->db, "SELECT coalesce(min(seq),0), coalesce(max(seq),0)"
                           " FROM alarm_changes", &st) != DB_OK)
        return STN_E_STORE;
    int rc = db_step(st);
    if (rc == DB_ROW) {
        *oldest = db_column_int64(st, 0);
        *latest = db_column_int64(st, 1);
    }
    db_finalize(st);
    return rc == DB_ROW ? 0 : STN_E_STORE;
}

int stn_alarm_changes_each(struct stn_store *s, int64_t after, int64_t limit,
                           int (*fn)(void *ctx, int64_t seq, int64_t alarm_id), void *ctx)
{
    struct db_stmt *st;
    if (db_prepare(s->db, "SELECT max(seq) AS m, alarm_id FROM alarm_changes"
                           " WHERE seq > ?1 GROUP BY alarm_id ORDER BY m LIMIT ?2", &st) != DB_OK)
        return STN_E_STORE;
    db_bind_int64(st, 1, after);
    db_bind_int64(st, 2, limit > 0 ? limit : INT64_MAX);
    int rc;
    while ((rc = db_step(st)) == DB_ROW)
        if (fn(ctx, db_column_int64(st, 0), db_column_int64(st, 1)) != 0) {
            rc = DB_DONE;
            break;
        }
    db_finalize(st);
    return rc == DB_DONE ? 0 : STN_E_STORE;
}

/* ---- operators and verbal passcodes ------------------------------------ */

/* No look-alikes (0/O/o, 1/l/I/i): a password is read off a screen and typed. */
static const char password_alphabet[] = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

static bool valid_operator_name(const char *n)
{
    size_t len = n ? strlen(n) : 0;
    if (len < 1 || len > STN_OPERATOR_NAME_MAX || !isalnum((unsigned char)n[0]))
        return false;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)n[i]) && n[i] != '.' && n[i] != '_' && n[i] != '-')
            return false;
    return true;
}

static bool valid_role(const char *r)
{
    return r && (!strcmp(r, "operator") || !strcmp(r, "supervisor") || !strcmp(r, "admin"));
}

/* A new password and its argon2id hash; the caller wipes both. */
static int new_password(char pw[STN_PASSWORD_LEN + 1], char hash[crypto_pwhash_STRBYTES])
{
    if (sodium_init() < 0)
        return STN_E_STORE;
    for (size_t i = 0; i < STN_PASSWORD_LEN; i++)
        pw[i] = password_alphabet[randombytes_uniform(sizeof password_alphabet - 1)];
    pw[STN_PASSWORD_LEN] = '\0';
    if (crypto_pwhash_str_alg(hash, pw, STN_PASSWORD_LEN, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE,
                              crypto_pwhash_ALG_ARGON2ID13) != 0)
        return STN_E_NOMEM;
    return 0;
}

static int operator_write(struct stn_store *s, const char *sql, const char *name,
                          const char *role, const char *hash, int64_t flag)
{
    struct db_stmt *st;
    if (db_prepare(s->db, sql, &st) != DB_OK)
        return STN_E_STORE;
    db_bind_text(st, 1, name, -1, DB_TRANSIENT);
    bind_opt(st, 2, role);
    bind_opt(st, 3, hash);
    db_bind_int64(st, 4, flag);
    db_bind_int64(st, 5, now_ms());
    int rc = db_step(st);
    db_finalize(st);
    if (rc != DB_DONE)
        return store_err(s->db, rc);
    return db_changes(s->db) ? 0 : STN_E_NOTFOUND;
}

/* An operator's change and its audit entry in one transaction (the password's
 * hash is made before it: argon2id never holds the write lock). */
static int operator_tx(struct stn_store *s, const char *sql, const char *name, const char *role,
                       const char *hash, int64_t flag, const char *kind, const char *after)
{
    int rc = stn_store_begin(s);
    if (rc)
        return rc;
    rc = operator_write(s, sql, name, role, hash, flag);
    struct stn_audit_entry e = { .at_ms = now_ms(), .actor = s->actor, .kind = kind,
                                 .subject = name, .after = after };
    return stn_store_end(s, rc, &e);
}

int stn_operator_add(struct stn_store *s, const char *name, const char *role,
                     char password[STN_PASSWORD_LEN + 1])
{
    if (!valid_operator_name(name) || !valid_role(role))
        return STN_E_INVAL;
    char hash[crypto_pwhash_STRBYTES];
    int rc = new_password(password, hash);
    char after[64];
    snprintf(after, sizeof after, "{\"role\":\"%s\"}", role);
    if (rc == 0)
        rc = operator_tx(s, "INSERT INTO operators (name, role, password_hash, disabled,"
                            " created_at_ms, updated_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                         name, role, hash, 0, "operator.add", after);
    sodium_memzero(hash, sizeof hash);
    if (rc)
        sodium_memzero(password, STN_PASSWORD_LEN + 1);
    return rc;
}

int stn_operator_reset(struct stn_store *s, const char *name, char password[STN_PASSWORD_LEN + 1])
{
    if (!valid_operator_name(name))
        return STN_E_NOTFOUND;
    char hash[crypto_pwhash_STRBYTES];
    int rc = new_password(password, hash);
    if (rc == 0)
        rc = operator_tx(s, "UPDATE operators SET password_hash=?3, updated_at_ms=?5"
                            " WHERE name=?1 AND ?2 IS NULL AND ?4=0", name, NULL, hash, 0,
                         "operator.reset", "{\"password\":\"reset\"}");
    sodium_memzero(hash, sizeof hash);
    if (rc)
        sodium_memzero(password, STN_PASSWORD_LEN + 1);
    return rc;
}

int stn_operator_set_disabled(struct stn_store *s, const char *name, bool disabled)
{
    if (!valid_operator_name(name))
        return STN_E_NOTFOUND;
    return operator_tx(s, "UPDATE operators SET disabled=?4, updated_at_ms=?5"
                          " WHERE name=?1 AND ?2 IS NULL AND ?3 IS NULL",
                       name, NULL, NULL, disabled,
                       disabled ? "operator.disable" : "operator.enable",
                       disabled ? "{\"disabled\":true}" : "{\"disabled\":false}");
}

static json_t *operator_row(struct stn_store *s, struct db_stmt *st)
{
    (void)s;
    return json_pack("{s:o,s:o,s:b,s:o}", "name", stn__col_text(st, 0), "role", stn__col_text(st, 1),
                     "disabled", db_column_int(st, 2), "created_at", stn__col_time(st, 3));
}

int stn_operators_json(struct stn_store *s, void **out)
{
    struct db_stmt *st;
    if (db_prepare(s->db, "SELECT name, role, disabled, created_at_ms FROM operators"
                           " ORDER BY name", &st) != DB_OK)
        return STN_E_STORE;
    return rows_json(st, operator_row, s, out);
}

int stn_operator_exists(struct stn_store *s, const char *name)
{
    struct db_stmt *st;
    if (db_prepare(s->db, "SELECT 1 FROM operators WHERE name=?", &st)
        != DB_OK)
        return STN_E_STORE;
    db_bind_text(st, 1, name ? name : "", -1, DB_TRANSIENT);
    int rc = db_step(st);
    db_finalize(st);
    return rc == DB_ROW ? 0 : rc == DB_DONE ? STN_E_NOTFOUND : STN_E_STORE;
}

int stn_operator_role(struct stn_store *s, const char *name, char role[16])
{
    struct db_stmt *st;
    if (db_prepare(s->db, "SELECT role FROM operators WHERE name=? AND disabled=0", &st) != DB_OK)
        return STN_E_STORE;
    db_bind_text(st, 1, name ? name : "", -1, DB_TRANSIENT);
    int rc = db_step(st);
    if (rc == DB_ROW)
        snprintf(role, 16, "%s", col_str(st, 0, ""));
    db_finalize(st);
    return rc == DB_ROW ? 0 : rc == DB_DONE ? STN_E_NOTFOUND : STN_E_STORE;
}

/* A hash of random bytes no one knows: checked in place of a missing one so
 * that "no such operator" and "no duress passcode" take the usual time. */
static char dummy_hash[crypto_pwhash_STRBYTES];
static void dummy_hash_make(void)
{
    unsigned char r[32];
    if (sodium_init() < 0)
        return;
    randombytes_buf(r, sizeof r);
    if (crypto_pwhash_str_alg(dummy_hash, (const char *)r, sizeof r,
                              crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE,
                              crypto_pwhash_ALG_ARGON2ID13) != 0)
        dummy_hash[0] = '\0';
    sodium_memzero(r, sizeof r);
}

static bool hash_matches(const char *hash, const char *pw, size_t len)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, dummy_hash_make);
    bool real = hash && *hash;
    const char *h = real ? hash : dummy_hash;
    if (!*h)
        return false;
    return crypto_pwhash_str_verify(h, pw, len) == 0 && real;
}

int stn_operator_login(struct stn_store *s, const char *name, const char *password,
                       size_t len, char role[16])
{
    char hash[crypto_pwhash_STRBYTES] = "";
    char r[16] = "";
    bool disabled = true;
    struct db_stmt *st;
    if (db_prepare(s->db, "SELECT role, password_hash, disabled FROM operators"
                           " WHERE name=?", &st) != DB_OK)
        return STN_E_STORE;
    db_bind_text(st, 1, name ? name : "", -1, DB_TRANSIENT);
    int rc = db_step(st);
    if (rc == DB_ROW) {
        snprintf(r, sizeof r, "%s", col_str(st, 0, ""));
        snprintf(hash, sizeof hash, "%s", col_str(st, 1, ""));
        disabled = db_column_int(st, 2) != 0;
    }
    db_finalize(st);
    if (rc != DB_ROW && rc != DB_DONE)
        return STN_E_STORE;
    bool ok = hash_matches(hash, password, len) && !disabled;
    sodium_memzero(hash, sizeof hash);
    if (!ok)
        return STN_E_NOTFOUND;
    memcpy(role, r, sizeof r);
    return 0;
}

const char *stn_passcode_result_name(enum stn_passcode_result r)
{
    switch (r) {
    case STN_PASSCODE_NORMAL: return "normal";
    case STN_PASSCODE_DURESS: return "duress";
    default:                  return "no_match";
    }
}

int stn_passcode_check(struct stn_store *s, const char *number, const char *passcode,
                       size_t len, enum stn_passcode_result *out)
{
    char num[DC09_ACCOUNT_MAX + 1];
    if (stn_account_number_norm(number, num) || !passcode)
        return STN_E_INVAL;
    char normal[crypto_pwhash_STRBYTES] = "", duress[crypto_pwhash_STRBYTES] = "";
    struct db_stmt *st;
    if (db_prepare(s->db, "SELECT passcode_hash, duress_passcode_hash FROM accounts"
                           " WHERE number=?", &st) != DB_OK)
        return STN_E_STORE;
    db_bind_text(st, 1, num, -1, DB_TRANSIENT);
    int rc = db_step(st);
    if (rc == DB_ROW) {
        snprintf(normal, sizeof normal, "%s", col_str(st, 0, ""));
        snprintf(duress, sizeof duress, "%s", col_str(st, 1, ""));
    }
    db_finalize(st);
    if (rc != DB_ROW)
        return rc == DB_DONE ? STN_E_NOTFOUND : STN_E_STORE;
    /* both always: the time taken must not say which one matched */
    bool is_normal = hash_matches(normal, passcode, len);
    bool is_duress = hash_matches(duress, passcode, len);
    sodium_memzero(normal, sizeof normal);
    sodium_memzero(duress, sizeof duress);
    /* the same words set as both: the duress meaning wins (the safe reading) */
    *out = is_duress ? STN_PASSCODE_DURESS : is_normal ? STN_PASSCODE_NORMAL
                                                      : STN_PASSCODE_NO_MATCH;
    return 0;
}

/* ---- police agencies and invoice lines (vigil/agency.h) --------------- */

int stn_agency_import(struct stn_store *s, const char *text, size_t len, char id[64],
                      bool *replaced)
{
    struct agy_rules r;
    char msg[256];
    if (agy_from_json(text, len, &r, msg, sizeof msg) != 0) {
        snprintf(s->err, sizeof s->err, "%s", msg);
        return STN_E_INVAL;
    }
    struct db_stmt *st;
    int brc = stn_store_begin(s);
    if (brc)
        return brc;
    if (db_prepare(s->db, "INSERT INTO agencies (id, name, rules, imported_at_ms,"
                           " updated_at_ms) VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT(id) DO"
                           " UPDATE SET name=?2, rules=?3, updated_at_ms=?4"
                           " RETURNING imported_at_ms != updated_at_ms", &st))
        return stn_store_end(s, STN_E_STORE, NULL);
    db_bind_text(st, 1, r.id, -1, DB_TRANSIENT);
    db_bind_text(st, 2, r.name, -1, DB_TRANSIENT);
    db_bind_text(st, 3, text, (int)len, DB_TRANSIENT);
    db_bind_int64(st, 4, now_ms());
    int rc = db_step(st);
    if (rc == DB_ROW && replaced)
        *replaced = db_column_int(st, 0) != 0;
    if (rc == DB_ROW)
        rc = db_step(st);
    db_finalize(st);
    /* the rules as imported are the entry's "after": a later dispute can show
     * which fee schedule was in force */
    rc = stn_store_end(s, rc == DB_DONE ? 0 : STN_E_STORE,
                       &(struct stn_audit_entry){ .at_ms = now_ms(), .actor = s->actor,
                                                  .kind = "agency.import", .subject = r.id,
                                                  .after = text });
    if (rc)
        return rc;
    snprintf(id, 64, "%s", r.id);
    return 0;
}

static json_t *agency_row(struct stn_store *s, struct db_stmt *st)
{
    (void)s;
    struct agy_rules r;
    char msg[256];
    const char *t = (const char *)db_column_text(st, 2);
    bool ok = t && agy_from_json(t, (size_t)db_column_bytes(st, 2), &r, msg, sizeof msg) == 0;
    json_t *o = json_pack("{s:o,s:o,s:o,s:o}", "id", stn__col_text(st, 0), "name", stn__col_text(st, 1),
                          "imported_at", stn__col_time(st, 3), "updated_at", stn__col_time(st, 4));
    if (!o || !ok)
        return o;
    json_t *fees = json_array();
    for (size_t i = 0; i < r.nschedules; i++)
        json_array_append_new(fees, json_integer(r.schedules[i].residential[
            r.schedules[i].nresidential - 1].cents));
    json_object_set_new(o, "currency", json_string(r.currency));
    json_object_set_new(o, "billed", json_string(agy_billed_name(r.billed)));
    json_object_set_new(o, "cancel_fee_cents", json_integer(r.cancel_fee_cents));
    json_object_set_new(o, "forgiven", json_integer(r.forgiven));
    json_object_set_new(o, "window", json_pack("{s:s,s:I}", "type", agy_window_name(r.window),
                                               "days", (json_int_t)r.window_days));
    json_object_set_new(o, "caution_at", json_integer(r.caution_at));
    json_object_set_new(o, "suspension_at", json_integer(r.suspension.at));
    json_object_set_new(o, "revocation_at", json_integer(r.revocation.at));
    json_object_set_new(o, "permit_required", json_boolean(r.permit_required));
    json_object_set_new(o, "source", json_string(r.source));
    json_decref(fees);
    return o;
}

int stn_agencies_json(struct stn_store *s, void **out)
{
    struct db_stmt *st;
    if (db_prepare(s->db, "SELECT id, name, rules, imported_at_ms, updated_at_ms FROM"
                           " agencies ORDER BY id", &st) != DB_OK)
        return STN_E_STORE;
    return rows_json(st, agency_row, s, out);
}

static json_t *charge_obj(struct db_stmt *st)
{
    json_t *o = json_pack("{s:I,s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:I,s:b,s:o,s:o}",
        "id", (json_int_t)db_column_int64(st, 0),
        "alarm", (json_int_t)db_column_int64(st, 1), "account", stn__col_text(st, 2),
        "account_name", stn__col_text(st, 3), "agency", stn__col_text(st, 4), "kind", stn__col_text(st, 5),
        "location", stn__col_text(st, 6), "finding", stn__col_text(st, 7), "at", stn__col_time(st, 8),
        "operator", stn__col_text(st, 9), "psap_event_number", stn__col_text(st, 10),
        "count_in_window", (json_int_t)db_column_int64(st, 11),
        "forgiven", db_column_int(st, 12) != 0, "billed", stn__col_text(st, 13),
        "currency", stn__col_text(st, 14));
    if (!o)
        return NULL;
    json_object_set_new(o, "agency_fee_cents", json_integer(db_column_int64(st, 15)));
    json_object_set_new(o, "admin_fee_cents", json_integer(db_column_int64(st, 16)));
    json_object_set_new(o, "total_cents", json_integer(db_column_int64(st, 17)));
    json_object_set_new(o, "rule", stn__col_text(st, 18));
    json_object_set_new(o, "counted", json_boolean(db_column_int(st, 19) != 0));
    json_object_set_new(o, "at_ms", json_integer(db_column_int64(st, 8)));
    return o;
}

static json_t *charge_row(struct stn_store *s, struct db_stmt *st)
{
    (void)s;
    return charge_obj(st);
}

int stn_charges_json(struct stn_store *s, int64_t from_ms, int64_t to_ms, void **out)
{
    char sql[768];
    snprintf(sql, sizeof sql, "%s WHERE c.at_ms >= ? AND c.at_ms < ? ORDER BY c.at_ms, c.id",
             charge_cols);
    struct db_stmt *st;
    if (db_prepare(s->db, sql, &st) != DB_OK)
        return STN_E_STORE;
    db_bind_int64(st, 1, from_ms);
    db_bind_int64(st, 2, to_ms);
    return rows_json(st, charge_row, s, out);
}

/* ---- audited account writes ------------------------------------------- */

void stn_store_set_actor(struct stn_store *s, const char *actor)
{
    snprintf(s->actor, sizeof s->actor, "%s", actor && actor[0] ? actor : "vigil-cli");
}

/* The account as `vigil account show --json` prints it (never a key or a
 * passcode hash: their presence only), without last_seen (the receiver's,
 * not the administrator's); NULL when it does not exist. */
static char *account_snapshot(struct stn_store *s, const char *num)
{
    void *o = NULL;
    if (stn_account_json(s, num, &o) != 0 || !o)
        return NULL;
    json_object_del(o, "last_seen");
    char *t = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return t;
}

/* One account change and its entry in one write transaction: the account's
 * snapshot before and after it (kind account.create, account.edit, ...). */
struct acct_tx { char num[DC09_ACCOUNT_MAX + 1]; char *before; bool ok; };

static int acct_begin(struct stn_store *s, const char *number, struct acct_tx *t)
{
    memset(t, 0, sizeof *t);
    if (stn_account_number_norm(number ? number : "", t->num) != 0)
        return STN_E_INVAL;
    int rc = stn_store_begin(s);
    if (rc)
        return rc;
    t->before = account_snapshot(s, t->num);
    t->ok = true;
    return 0;
}

static int acct_end(struct stn_store *s, struct acct_tx *t, int rc, const char *kind)
{
    char *after = rc == 0 ? account_snapshot(s, t->num) : NULL;
    struct stn_audit_entry e = { .at_ms = now_ms(), .actor = s->actor, .kind = kind,
                                 .subject = t->num, .before = t->before, .after = after };
    rc = stn_store_end(s, rc, &e);
    free(t->before);
    free(after);
    return rc;
}

#define ACCT_TX(kind, call) do { \
        struct acct_tx t_; \
        int rc_ = acct_begin(s, number, &t_); \
        if (rc_) \
            return rc_; \
        return acct_end(s, &t_, (call), (kind)); \
    } while (0)

/* The key store is loaded (and any clear key sealed, in a transaction of
 * its own) before the account's transaction begins. */
static int keys_ready(struct stn_store *s, const struct stn_account_input *in)
{
    int n = 0;
    if (!in->has_key || !in->key_len || s->ks.loaded)
        return 0;
    return stn_keystore_prepare(s->db, s->key_store_path, &s->ks, &n, s->err, sizeof s->err);
}

int stn_account_add(struct stn_store *s, const char *number, const struct stn_account_input *in)
{
    int krc = keys_ready(s, in);
    if (krc)
        return krc;
    ACCT_TX("account.create", account_add_do(s, number, in));
}

int stn_account_edit(struct stn_store *s, const char *number, const struct stn_account_input *in)
{
    int krc = keys_ready(s, in);
    if (krc)
        return krc;
    ACCT_TX("account.edit", account_edit_do(s, number, in));
}

int stn_account_remove(struct stn_store *s, const char *number)
{
    ACCT_TX("account.remove", account_remove_do(s, number));
}

int stn_account_user_set(struct stn_store *s, const char *number, int64_t user, const char *name)
{
    ACCT_TX("account.user.set", account_user_set_do(s, number, user, name));
}

int stn_account_user_remove(struct stn_store *s, const char *number, int64_t user)
{
    ACCT_TX("account.user.remove", account_user_remove_do(s, number, user));
}

int stn_account_zone_set(struct stn_store *s, const char *number, int64_t zone, const char *name)
{
    ACCT_TX("account.zone.set", account_zone_set_do(s, number, zone, name));
}

int stn_account_zone_remove(struct stn_store *s, const char *number, int64_t zone)
{
    ACCT_TX("account.zone.remove", account_zone_remove_do(s, number, zone));
}

int stn_account_contact_add_user(struct stn_store *s, const char *number, const char *name,
                                 const char *phone, const char *relation, bool lives_at_premises,
                                 int64_t user_number)
{
    ACCT_TX("account.contact.add", account_contact_add_user_do(s, number, name, phone, relation,
                                                              lives_at_premises, user_number));
}

int stn_account_contact_remove(struct stn_store *s, const char *number, int64_t position)
{
    ACCT_TX("account.contact.remove", account_contact_remove_do(s, number, position));
}
