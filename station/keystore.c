/*
 * keystore.c — account AES keys sealed at rest.
 *
 * A panel's DC-09 key in the store would let whoever reads the store (a backup
 * copy, a support dump) speak as that panel. So the store holds each key
 * sealed: "VK1" | 24-byte nonce | XChaCha20-Poly1305(key), with the account
 * number as associated data (a sealed key moved to another account does not
 * open). The sealing key lives in the key store file (`key_store_file`,
 * default STORE.keys beside the store, mode 0600): one line
 * "vigil-key-store 1" and 64 hex digits. Backups of the store alone carry no
 * usable key; the key store file must be kept (and backed up) apart.
 *
 * Must never log a key or the sealing key, and never leave either in memory
 * it frees (sodium_memzero).
 */
#include "stn_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KS_HEADER "vigil-key-store 1\n"
#define SEAL_MAGIC "VK1"
#define SEAL_OVERHEAD (3u + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + \
                       crypto_aead_xchacha20poly1305_ietf_ABYTES)
_Static_assert(sizeof ((struct stn_keystore *)0)->key ==
               crypto_aead_xchacha20poly1305_ietf_KEYBYTES, "sealing key size");

static int parse(const char *path, const char *text, size_t len, struct stn_keystore *ks,
                 char *msg, size_t cap)
{
    size_t hl = sizeof KS_HEADER - 1;
    size_t bin_len = 0;
    if (len < hl + 64 || memcmp(text, KS_HEADER, hl) != 0 ||
        sodium_hex2bin(ks->key, sizeof ks->key, text + hl, 64, NULL, &bin_len, NULL) != 0 ||
        bin_len != sizeof ks->key) {
        snprintf(msg, cap, "key store %s is not a vigil key store (want the line "
                 "'vigil-key-store 1' and 64 hex digits)", path);
        sodium_memzero(ks->key, sizeof ks->key);
        return STN_E_CONFIG;
    }
    return 0;
}

/* 0, an STN_E_* code with msg, or STN_E_NOTFOUND (msg untouched) when the
 * file does not exist. */
static int read_file(const char *path, struct stn_keystore *ks, char *msg, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return STN_E_NOTFOUND;
        snprintf(msg, cap, "cannot open key store %s: %s", path, strerror(errno));
        return STN_E_OPEN;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        snprintf(msg, cap, "key store %s is not a regular file", path);
        return STN_E_CONFIG;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        close(fd);
        snprintf(msg, cap, "key store %s is open to other users (mode %03o): chmod 600 it",
                 path, (unsigned)(st.st_mode & 0777));
        return STN_E_CONFIG;
    }
    char buf[256];
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    int rc = n < 0 ? STN_E_CONFIG : parse(path, buf, (size_t)n, ks, msg, cap);
    if (n < 0)
        snprintf(msg, cap, "cannot read key store %s: %s", path, strerror(errno));
    sodium_memzero(buf, sizeof buf);
    return rc;
}

/* Writes a new key store under a temporary name and links it into place, so
 * a reader never sees half a file and two creators never both win. */
static int create(const char *path, struct stn_keystore *ks, char *msg, size_t cap)
{
    char tmp[STN_PATH_MAX + 32];
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(msg, cap, "cannot create key store %s: %s", path, strerror(errno));
        return STN_E_OPEN;
    }
    char text[sizeof KS_HEADER + 64 + 2];
    randombytes_buf(ks->key, sizeof ks->key);
    memcpy(text, KS_HEADER, sizeof KS_HEADER - 1);
    sodium_bin2hex(text + sizeof KS_HEADER - 1, 65, ks->key, sizeof ks->key);
    size_t len = sizeof KS_HEADER - 1 + 64;
    text[len++] = '\n';
    bool ok = write(fd, text, len) == (ssize_t)len && fsync(fd) == 0;
    int err = errno;
    close(fd);
    sodium_memzero(text, sizeof text);
    if (ok && link(tmp, path) != 0) {
        err = errno;
        ok = false;
    }
    unlink(tmp);
    if (!ok) {
        sodium_memzero(ks->key, sizeof ks->key);
        if (err == EEXIST) {                        /* another process made it first */
            int rc = read_file(path, ks, msg, cap);
            if (rc == STN_E_NOTFOUND)
                snprintf(msg, cap, "key store %s vanished while it was made", path);
            return rc == STN_E_NOTFOUND ? STN_E_OPEN : rc;
        }
        snprintf(msg, cap, "cannot create key store %s: %s", path, strerror(err));
        return STN_E_OPEN;
    }
    /* the new name must survive a crash too: sync its folder */
    (void)stn_fsync_dir_of(path);
    ks->created = true;
    return 0;
}

int stn_keystore_load(const char *path, bool create_missing, struct stn_keystore *ks,
                      char *msg, size_t cap)
{
    memset(ks, 0, sizeof *ks);
    if (sodium_init() < 0) {
        snprintf(msg, cap, "libsodium cannot start");
        return STN_E_CONFIG;
    }
    int rc = read_file(path, ks, msg, cap);
    if (rc == STN_E_NOTFOUND) {
        if (!create_missing) {
            snprintf(msg, cap, "key store %s does not exist", path);
            return STN_E_NOTFOUND;
        }
        rc = create(path, ks, msg, cap);
    }
    if (rc == 0)
        ks->loaded = true;
    return rc;
}

void stn_keystore_wipe(struct stn_keystore *ks)
{
    sodium_memzero(ks, sizeof *ks);
}

bool stn_key_is_sealed(const void *blob, size_t len)
{
    return (len == SEAL_OVERHEAD + 16 || len == SEAL_OVERHEAD + 24 ||
            len == SEAL_OVERHEAD + 32) && memcmp(blob, SEAL_MAGIC, 3) == 0;
}

int stn_key_bits_of_stored(size_t len)
{
    if (len == 16 || len == 24 || len == 32)
        return (int)len * 8;
    if (len == SEAL_OVERHEAD + 16 || len == SEAL_OVERHEAD + 24 || len == SEAL_OVERHEAD + 32)
        return (int)(len - SEAL_OVERHEAD) * 8;
    return 0;
}

int stn_key_seal(const struct stn_keystore *ks, const char *account, const uint8_t *key,
                 size_t len, uint8_t out[STN_SEALED_KEY_MAX], size_t *out_len)
{
    if (!ks->loaded || (len != 16 && len != 24 && len != 32))
        return STN_E_INVAL;
    uint8_t *nonce = out + 3;
    memcpy(out, SEAL_MAGIC, 3);
    randombytes_buf(nonce, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
    unsigned long long clen = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(
        nonce + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, &clen, key, len,
        (const unsigned char *)account, strlen(account), NULL, nonce, ks->key);
    *out_len = 3 + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + (size_t)clen;
    return 0;
}

int stn_key_open(const struct stn_keystore *ks, const char *account, const uint8_t *blob,
                 size_t len, uint8_t key[32], size_t *key_len)
{
    if (!ks->loaded || !stn_key_is_sealed(blob, len))
        return STN_E_INVAL;
    const uint8_t *nonce = blob + 3;
    const uint8_t *c = nonce + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
    size_t clen = len - 3 - crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
    unsigned long long mlen = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(key, &mlen, NULL, c, clen,
                                                   (const unsigned char *)account,
                                                   strlen(account), nonce, ks->key) != 0) {
        sodium_memzero(key, 32);
        return STN_E_STORE;
    }
    *key_len = (size_t)mlen;
    return 0;
}

/* ---- the store's side ------------------------------------------------- */

#include "db.h"

static int64_t count_sealed(struct db *db)
{
    struct db_stmt *st;
    int64_t n = -1;
    if (db_prepare(db, "SELECT count(*) FROM accounts WHERE key IS NOT NULL"
                           " AND length(key) NOT IN (16, 24, 32)", &st) != DB_OK)
        return -1;
    if (db_step(st) == DB_ROW)
        n = db_column_int64(st, 0);
    db_finalize(st);
    return n;
}

/* Seals, in one transaction, every key still stored in the clear (a store
 * from before sealing, or written by hand). */
static int seal_clear(struct db *db, const struct stn_keystore *ks, int *sealed, char *msg,
                      size_t cap)
{
    struct db_stmt *sel = NULL, *upd = NULL;
    int rc = DB_OK, n = 0;
    if (db_exec(db, "BEGIN IMMEDIATE", NULL) != DB_OK ||
        db_prepare(db, "SELECT id, number, key FROM accounts WHERE key IS NOT NULL"
                           " AND length(key) IN (16, 24, 32)", &sel) != DB_OK ||
        db_prepare(db, "UPDATE accounts SET key=? WHERE id=?", &upd)
            != DB_OK) {
        rc = DB_ERROR;
        goto out;
    }
    while ((rc = db_step(sel)) == DB_ROW) {
        uint8_t blob[STN_SEALED_KEY_MAX];
        size_t bl = 0;
        if (stn_key_seal(ks, (const char *)db_column_text(sel, 1),
                         db_column_blob(sel, 2), (size_t)db_column_bytes(sel, 2),
                         blob, &bl) != 0) {
            rc = DB_ERROR;
            goto out;
        }
        db_bind_blob(upd, 1, blob, (int)bl, DB_TRANSIENT);
        db_bind_int64(upd, 2, db_column_int64(sel, 0));
        rc = db_step(upd);
        db_reset(upd);
        if (rc != DB_DONE)
            goto out;
        n++;
    }
    if (rc == DB_DONE)
        rc = db_exec(db, "COMMIT", NULL);
out:
    db_finalize(sel);
    db_finalize(upd);
    if (rc != DB_OK) {
        snprintf(msg, cap, "cannot seal the account keys stored in the clear: %s",
                 db_errmsg(db));
        db_exec(db, "ROLLBACK", NULL);
        return STN_E_STORE;
    }
    *sealed = n;
    return 0;
}

int stn_keystore_prepare(struct db *db, const char *path, struct stn_keystore *ks, int *sealed,
                         char *msg, size_t cap)
{
    *sealed = 0;
    int64_t n = count_sealed(db);
    if (n < 0) {
        snprintf(msg, cap, "cannot read the accounts: %s", db_errmsg(db));
        return STN_E_STORE;
    }
    /* a store whose keys are sealed needs ITS key store: never make a new one */
    int rc = stn_keystore_load(path, n == 0, ks, msg, cap);
    if (rc == STN_E_NOTFOUND) {
        snprintf(msg, cap, "the store holds %lld sealed account keys but the key store %s "
                 "does not exist: restore it (key_store_file names it)", (long long)n, path);
        return STN_E_CONFIG;
    }
    if (rc)
        return rc;
    rc = seal_clear(db, ks, sealed, msg, cap);
    if (rc)
        stn_keystore_wipe(ks);
    return rc;
}
