/*
 * accounts.c — the receiver's account table: number → account (key context,
 * quirks, supervision, rate bucket, last seen), refreshed from the store
 * whenever another connection (the `vigil` tool) changed it.
 *
 * Each key gets one OpenSSL context, made when the key first appears or
 * changes (re-keying per frame costs 5x). Must never log or keep a second
 * copy of a key: a digest tells a changed key apart.
 */
#include "daemon.h"

#include <ctype.h>
#include <sodium.h>
#include <string.h>

int stn_accounts_init(struct stn_accounts *t)
{
    memset(t, 0, sizeof *t);
    t->nslots = 1024;
    t->slots = stn_calloc(t->nslots, sizeof *t->slots);
    return t->slots ? 0 : STN_E_NOMEM;
}

static void account_free(struct stn_account *a)
{
    if (a->has_key)
        dc09_ossl_free(&a->cipher);
    sodium_memzero(a, sizeof *a);
    stn_free(a);
}

void stn_accounts_free(struct stn_accounts *t)
{
    for (size_t i = 0; i < t->nslots; i++)
        if (t->slots && t->slots[i])
            account_free(t->slots[i]);
    stn_free(t->slots);
    memset(t, 0, sizeof *t);
}

static size_t hash_number(const char *n)
{
    uint64_t h = 1469598103934665603ull;
    for (; *n; n++) {
        h ^= (uint8_t)toupper((unsigned char)*n);
        h *= 1099511628211ull;
    }
    return (size_t)h;
}

static bool same_number(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (toupper((unsigned char)*a) != toupper((unsigned char)*b))
            return false;
    return *a == *b;
}

struct stn_account *stn_accounts_find(struct stn_accounts *t, const char *number)
{
    size_t mask = t->nslots - 1;
    for (size_t i = hash_number(number) & mask, n = 0; n < t->nslots; i = (i + 1) & mask, n++) {
        struct stn_account *a = t->slots[i];
        if (!a)
            return NULL;
        if (same_number(a->number, number))
            return a;
    }
    return NULL;
}

static void insert_slot(struct stn_account **slots, size_t nslots, struct stn_account *a)
{
    size_t mask = nslots - 1;
    size_t i = hash_number(a->number) & mask;
    while (slots[i])
        i = (i + 1) & mask;
    slots[i] = a;
}

/* Rebuilds the slot array (after removals or growth). */
static int rebuild(struct stn_accounts *t, size_t want)
{
    size_t ns = 1024;
    while (ns < want * 2)
        ns <<= 1;
    struct stn_account **slots = stn_calloc(ns, sizeof *slots);
    if (!slots)
        return STN_E_NOMEM;
    size_t count = 0;
    for (size_t i = 0; i < t->nslots; i++) {
        struct stn_account *a = t->slots[i];
        if (!a)
            continue;
        if (!a->mark) {
            STN_INFO("accounts", "account %s removed", a->number);
            account_free(a);
            continue;
        }
        insert_slot(slots, ns, a);
        count++;
    }
    stn_free(t->slots);
    t->slots = slots;
    t->nslots = ns;
    t->count = count;
    return 0;
}

static int set_key(struct stn_account *a, const struct stn_account_row *r)
{
    if (r->key_error) {
        /* fail closed: never as a keyless account that would take clear frames */
        STN_ERROR("accounts", "account %s: its key does not open with the key store "
                  "(replaced or wrong key_store_file?): its frames are refused", r->number);
        return -1;
    }
    uint8_t digest[16];
    if (r->key_len)
        crypto_generichash(digest, sizeof digest, r->key, r->key_len, NULL, 0);
    else
        memset(digest, 0, sizeof digest);
    bool same = (a->has_key == (r->key_len != 0)) &&
                (!a->has_key || (a->key_len == r->key_len &&
                                 sodium_memcmp(digest, a->key_digest, sizeof digest) == 0));
    if (same)
        return 0;
    if (a->has_key) {
        dc09_ossl_free(&a->cipher);
        a->has_key = false;
    }
    if (r->key_len) {
        struct dc09_key k;
        memcpy(k.bytes, r->key, r->key_len);
        k.len = r->key_len;
        int rc = dc09_ossl_init(&a->cipher, &k);
        dc09_key_wipe(&k);
        if (rc != 0) {
            STN_ERROR("accounts", "account %s: cannot set up its AES-%d context: %s",
                      a->number, r->key_len * 8, dc09_strerror(rc));
            return STN_E_INVAL;
        }
        a->has_key = true;
        a->key_len = r->key_len;
        memcpy(a->key_digest, digest, sizeof digest);
    }
    return 0;
}

int stn_accounts_merge(struct stn *s, const struct stn_account_row *rows, size_t n)
{
    struct stn_accounts *t = &s->accounts;
    for (size_t i = 0; i < t->nslots; i++)
        if (t->slots[i])
            t->slots[i]->mark = false;
    size_t added = 0, changed = 0, before = t->count;
    /* grow first so inserts always find a free slot */
    if ((t->count + n) * 2 > t->nslots) {
        for (size_t i = 0; i < t->nslots; i++)
            if (t->slots[i])
                t->slots[i]->mark = true;
        if (rebuild(t, t->count + n) != 0)
            return STN_E_NOMEM;
        for (size_t i = 0; i < t->nslots; i++)
            if (t->slots[i])
                t->slots[i]->mark = false;
    }
    for (size_t i = 0; i < n; i++) {
        const struct stn_account_row *r = &rows[i];
        struct stn_account *a = stn_accounts_find(t, r->number);
        if (a && a->id != r->id) {
            /* removed and added again under the same number: a new account */
            a->mark = false;
            a = NULL;
        }
        if (!a) {
            a = stn_calloc(1, sizeof *a);
            if (!a)
                return STN_E_NOMEM;
            a->id = r->id;
            snprintf(a->number, sizeof a->number, "%s", r->number);
            /* the supervision clock starts when the station learns of the account */
            int64_t start = s->accounts_ready ? stn_now_ms() : s->started_ms;
            a->last_seen_ms = r->last_seen_ms > start ? r->last_seen_ms : start;
            a->comm_failed = r->comm_failed;   /* the next frame restores it, even after a restart */
            if (set_key(a, r) != 0) {
                account_free(a);
                continue;     /* logged; frames for it get DUH as unknown */
            }
            /* a removed twin with this number may still sit in a slot: unmarked, it goes */
            insert_slot(t->slots, t->nslots, a);
            t->count++;
            if (s->accounts_ready)
                STN_INFO("accounts", "account %s added", a->number);
            added++;
        } else {
            if (set_key(a, r) != 0) {
                continue;     /* stays unmarked: removed */
            }
            if (a->quirks != r->quirks || a->supervision_s != r->supervision_s)
                changed++;
        }
        if (s->accounts_ready) {
            /* what the store knows of it, which other nodes of a shared store
             * write: their last-seen times (every 10 s), and whether a
             * supervision failure is open (raised by the watching node, to be
             * restored by the next frame wherever it lands) */
            if (r->last_seen_ms > a->last_seen_ms)
                a->last_seen_ms = r->last_seen_ms;
            a->comm_failed = r->comm_failed;
        }
        a->quirks = r->quirks;
        if (a->window_past_s != r->window_past_s || a->window_future_s != r->window_future_s)
            changed++;
        a->window_past_s = r->window_past_s;
        a->window_future_s = r->window_future_s;
        if (a->supervision_s != r->supervision_s) {
            a->supervision_s = r->supervision_s;
            int64_t now = stn_now_ms();
            if (a->last_seen_ms < now)
                a->last_seen_ms = now;   /* a new interval counts from now */
        }
        a->mark = true;
    }
    int rc = rebuild(t, t->count);
    if (rc)
        return rc;
    if (added || changed || before != t->count || !s->accounts_ready)
        STN_INFO("accounts", "%zu accounts loaded (%zu new, %zu changed)", t->count, added,
                 changed);
    return 0;
}
