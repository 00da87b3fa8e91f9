/*
 * restore.c — puts a backup (`vigil backup`) in the place of the store
 * (`vigil restore`, docs/backup.md).
 *
 * Order: refuse while anything has the store open (the station's control
 * socket answers, or SQLite's shared-memory lock is held by another process:
 * the console, a `vigil` command); copy the backup into a temporary file in
 * the store's folder; check it there (PRAGMA integrity_check; a schema no
 * newer than this program's, an older one migrated as the station would);
 * check that its sealed account keys open with the key store in place (which
 * restore never touches); then keep the old store beside it
 * (STORE.before-restore-TIME, with its WAL checkpointed into it), rename the
 * copy over the store and fsync the folder. The audit head file follows the
 * restored trail (the old one kept beside it), and the restore is the first
 * entry appended after the backup's last one.
 */
#include "vigil/audit.h"
#include "vigil/station.h"
#include "stn_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include "db.h"
#include <sqlite3.h>    /* a backup is a SQLite file */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* ---- is the store in use? --------------------------------------------- */

bool stn_ctl_answers(const char *path)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    if (!path[0] || strlen(path) >= sizeof a.sun_path)
        return false;
    memcpy(a.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    bool up = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return up;
}

/* Every SQLite connection to a WAL store holds a read lock on the "dead man
 * switch" byte of STORE-shm (offset 128, SQLite's unix VFS) for as long as it
 * is open: a lock there held by another process means a connection is open. */
static bool shm_in_use(const char *store_path)
{
    char shm[STN_PATH_MAX + 96];
    snprintf(shm, sizeof shm, "%s-shm", store_path);
    int fd = open(shm, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 128, .l_len = 1 };
    bool used = fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
    close(fd);
    return used;
}

/* ---- files ------------------------------------------------------------ */

/* Copies src to a new file dst (0600), fsynced. */
static int copy_file(const char *src, const char *dst, char *msg, size_t cap)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        snprintf(msg, cap, "cannot read backup %s: %s", src, strerror(errno));
        return STN_E_NOTFOUND;
    }
    int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0) {
        snprintf(msg, cap, "cannot create %s: %s", dst, strerror(errno));
        close(in);
        return STN_E_OPEN;
    }
    char buf[65536];
    ssize_t n;
    int rc = 0;
    while ((n = read(in, buf, sizeof buf)) > 0) {
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                rc = -1;
                break;
            }
            off += w;
        }
        if (rc)
            break;
    }
    if (n < 0 || rc || fsync(out) != 0) {
        snprintf(msg, cap, "cannot copy %s to %s: %s", src, dst, strerror(errno));
        rc = STN_E_STORE;
    }
    if (close(out) != 0 && !rc) {
        snprintf(msg, cap, "cannot copy %s to %s: %s", src, dst, strerror(errno));
        rc = STN_E_STORE;
    }
    close(in);
    if (rc)
        unlink(dst);
    return rc;
}

static void unlink_db(const char *path)
{
    char p[STN_PATH_MAX + 96];
    unlink(path);
    snprintf(p, sizeof p, "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", path);
    unlink(p);
}

/* ---- checks on the copy ----------------------------------------------- */

static int integrity(const char *path, int *version, char *msg, size_t cap)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        snprintf(msg, cap, "the backup cannot be opened: %s",
                 db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return STN_E_OPEN;
    }
    sqlite3_stmt *st = NULL;
    int rc = 0;
    if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK) {
        snprintf(msg, cap, "the backup fails its integrity check: %s", sqlite3_errmsg(db));
        rc = STN_E_STORE;
    } else {
        int r = sqlite3_step(st);
        const char *first = r == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
        if (!first || strcmp(first, "ok") != 0) {
            snprintf(msg, cap, "the backup fails its integrity check: %s",
                     first ? first : sqlite3_errmsg(db));
            rc = STN_E_STORE;
        }
    }
    sqlite3_finalize(st);
    st = NULL;
    if (!rc && sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        *version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    /* a store at all: the table every version has */
    if (!rc && (sqlite3_prepare_v2(db, "SELECT count(*) FROM accounts", -1, &st, NULL)
                != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW)) {
        snprintf(msg, cap, "the backup is not a Vigil store (no accounts table)");
        rc = STN_E_STORE;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}

/* Counts the sealed keys and those that open with ks (not loaded: none do). */
static int check_keys(sqlite3 *db, const struct stn_keystore *ks, struct stn_restore_report *r)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT number, key FROM accounts WHERE key IS NOT NULL"
                           " ORDER BY number", -1, &st, NULL) != SQLITE_OK)
        return STN_E_STORE;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        r->accounts_keyed++;
        const void *blob = sqlite3_column_blob(st, 1);
        size_t len = (size_t)sqlite3_column_bytes(st, 1);
        if (!stn_key_is_sealed(blob, len)) {
            r->keys_clear++;
            continue;
        }
        r->keys_sealed++;
        uint8_t key[32];
        size_t kl = 0;
        if (ks->loaded && stn_key_open(ks, (const char *)sqlite3_column_text(st, 0), blob, len,
                                       key, &kl) == 0) {
            r->keys_open++;
        } else if (!r->first_closed[0]) {
            snprintf(r->first_closed, sizeof r->first_closed, "%s",
                     (const char *)sqlite3_column_text(st, 0));
        }
        sodium_memzero(key, sizeof key);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : STN_E_STORE;
}

static int64_t count_of(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    int64_t n = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* ---- the restore ------------------------------------------------------ */

int stn_store_restore(const struct stn_config *cfg, const char *backup, bool force,
                      struct stn_restore_report *r, char *msg, size_t cap)
{
    memset(r, 0, sizeof *r);
    const char *store = cfg->store_path;
    if (db_is_pg_uri(store)) {
        snprintf(msg, cap, "a PostgreSQL store is restored with PostgreSQL's own tools "
                 "(pg_restore, or a base backup: docs/deploy.md), not `vigil restore`");
        return STN_E_INVAL;
    }
    if (stn_ctl_answers(cfg->control_socket_path)) {
        snprintf(msg, cap, "vigil-station is running on %s (its control socket %s answers): "
                 "stop it first (systemctl stop vigil-station vigil-console)", store,
                 cfg->control_socket_path);
        return STN_E_EXISTS;
    }
    if (shm_in_use(store)) {
        snprintf(msg, cap, "%s is open in another process (vigil-console, a vigil command, "
                 "or a station whose control socket is elsewhere): stop it first", store);
        return STN_E_EXISTS;
    }
    struct stat sb;
    if (stat(backup, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        snprintf(msg, cap, "backup %s: %s", backup,
                 errno && stat(backup, &sb) != 0 ? strerror(errno) : "not a file");
        return STN_E_NOTFOUND;
    }
    char real_b[PATH_MAX], real_s[PATH_MAX];
    if (realpath(backup, real_b) && realpath(store, real_s) && strcmp(real_b, real_s) == 0) {
        snprintf(msg, cap, "the backup %s is the store itself", backup);
        return STN_E_INVAL;
    }
    bool exists = stat(store, &sb) == 0;
    if (exists && !force) {
        snprintf(msg, cap, "store %s exists: restoring replaces it (--force; the present one "
                 "is kept as %s.before-restore-TIME)", store, store);
        return STN_E_EXISTS;
    }

    /* the copy, beside the store (same file system: the rename is atomic) */
    char tmp[STN_PATH_MAX + 32];
    snprintf(tmp, sizeof tmp, "%s.restore-%ld", store, (long)getpid());
    unlink_db(tmp);
    int rc = copy_file(backup, tmp, msg, cap);
    if (rc)
        return rc;
    if ((rc = integrity(tmp, &r->backup_version, msg, cap)) != 0)
        goto fail;
    struct db *sdb = NULL;
    char why[400];
    if ((rc = stn_db_open_ex(tmp, false, NULL, &sdb, why, sizeof why)) != 0) {
        snprintf(msg, cap, "backup %s: %s", backup, why);   /* a newer schema says so */
        goto fail;
    }
    sqlite3 *db = db_sqlite_handle(sdb);   /* the copy is a SQLite file */
    r->program_version = (int)count_of(db, "PRAGMA user_version");
    r->events = count_of(db, "SELECT count(*) FROM events");
    r->alarms_open = count_of(db, "SELECT count(*) FROM alarms WHERE state != 'closed'");
    r->last_event_ms = count_of(db, "SELECT coalesce(max(received_at_ms), 0) FROM events");
    struct stn_keystore ks;
    memset(&ks, 0, sizeof ks);
    int krc = stn_keystore_load(cfg->key_store_path, false, &ks, why, sizeof why);
    r->keystore_present = krc == 0;
    rc = check_keys(db, &ks, r);
    stn_keystore_wipe(&ks);
    int64_t aseq = 0;
    char ahash[STN_AUDIT_HASH_HEX] = "";
    if (!rc && db_exec(sdb, "BEGIN", NULL) == DB_OK) {
        if (stn_audit_last(sdb, &aseq, ahash) != 0)
            aseq = 0;
        db_exec(sdb, "COMMIT", NULL);
    }
    stn_audit_forget(sdb);
    db_close(sdb);     /* the last connection: the WAL is folded into the file */
    if (rc) {
        snprintf(msg, cap, "backup %s: cannot read its accounts", backup);
        goto fail;
    }
    /* `vigil backup` wrote the copy's head beside it: the trail must match it */
    int64_t bseq = 0;
    char bhash[STN_AUDIT_HASH_HEX];
    if (stn_audit_head_read(backup, &bseq, bhash) == 0 &&
        (bseq != aseq || strcmp(bhash, ahash) != 0)) {
        snprintf(msg, cap, "backup %s: its audit trail ends at entry %lld but its head file "
                 "%s.audit-head names entry %lld with another hash: altered since the backup? "
                 "(to restore it all the same, move that head file away and say why in the "
                 "incident report)", backup, (long long)aseq, backup, (long long)bseq);
        rc = STN_E_STORE;
        goto fail;
    }
    if (r->keys_open < r->keys_sealed) {
        snprintf(msg, cap, "%lld of the backup's %lld sealed account keys do not open with the "
                 "key store %s (first: account %s): the station would refuse to start on it. "
                 "Put the key store that goes with this backup in place first",
                 (long long)(r->keys_sealed - r->keys_open), (long long)r->keys_sealed,
                 cfg->key_store_path, r->first_closed);
        rc = STN_E_CONFIG;
        goto fail;
    }

    /* the present store, whole in one file, kept beside */
    if (exists) {
        if (shm_in_use(store) || stn_ctl_answers(cfg->control_socket_path)) {
            snprintf(msg, cap, "%s was opened while the backup was checked: stop what uses it",
                     store);
            rc = STN_E_EXISTS;
            goto fail;
        }
        sqlite3 *old = NULL;
        if (sqlite3_open_v2(store, &old, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK)
            sqlite3_exec(old, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
        sqlite3_close(old);
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        char stamp[32];
        strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
        snprintf(r->kept, sizeof r->kept, "%s.before-restore-%s", store, stamp);
        if (link(store, r->kept) != 0) {
            snprintf(msg, cap, "cannot keep the present store as %s: %s", r->kept,
                     strerror(errno));
            r->kept[0] = '\0';
            rc = STN_E_STORE;
            goto fail;
        }
        char p[STN_PATH_MAX + 96];
        snprintf(p, sizeof p, "%s-wal", store);   /* empty after the checkpoint */
        unlink(p);
        snprintf(p, sizeof p, "%s-shm", store);
        unlink(p);
    }
    if (rename(tmp, store) != 0) {
        snprintf(msg, cap, "cannot move the restored store into place: %s", strerror(errno));
        rc = STN_E_STORE;
        goto fail;
    }
    char p[STN_PATH_MAX + 96];
    snprintf(p, sizeof p, "%s-shm", tmp);
    unlink(p);
    int drc = stn_fsync_dir_of(store);
    if (drc != 0) {
        snprintf(msg, cap, "restored, but the folder of %s could not be synced: %s", store,
                 strerror(-drc));
        return STN_E_STORE;
    }

    /* the audit head follows the restored trail; the old head is kept */
    char head[STN_PATH_MAX + 96];
    if (aseq > 0 && stn_audit_head_path(store, head, sizeof head) == 0) {
        if (r->kept[0]) {
            char keep[STN_PATH_MAX + 192];
            snprintf(keep, sizeof keep, "%s.before-restore%s", head,
                     strrchr(r->kept, '-'));
            if (rename(head, keep) != 0 && errno != ENOENT)
                unlink(head);
        } else {
            unlink(head);
        }
        if (stn_audit_head_write_ex(store, aseq, ahash, true) != 0) {
            snprintf(msg, cap, "restored, but its audit head file could not be written");
            return STN_E_STORE;
        }
    }
    r->audit_seq = aseq;
    return 0;
fail:
    unlink_db(tmp);
    return rc;
}
