/*
 * dedup.c — the duplicate window in memory: a retry carries the same account,
 * sequence and payload with a fresh timestamp (docs/DC09.md); within
 * duplicate_window_s it is ACKed again and stored once.
 *
 * A ring of the last `cap` frames in arrival order plus a hash index on
 * (account, seq); each bucket chains newest to oldest through `next_gen`, so
 * an entry overwritten in the ring simply ends its chain. Payloads are keyed
 * by SipHash with a per-process random key (no crafted collisions). Rebuilt
 * from the store at startup. Must never allocate after init.
 */
#include "stn_internal.h"

#include <sodium.h>
#include <string.h>

int stn_dedup_init(struct stn_dedup *d, size_t cap)
{
    memset(d, 0, sizeof *d);
    if (cap < 16)
        cap = 16;
    size_t nb = 16;
    while (nb < cap)
        nb <<= 1;
    d->ring = stn_calloc(cap, sizeof *d->ring);
    d->buckets = stn_calloc(nb, sizeof *d->buckets);
    if (!d->ring || !d->buckets) {
        stn_dedup_free(d);
        return STN_E_NOMEM;
    }
    d->cap = cap;
    d->nbuckets = nb;
    d->next_gen = 1;
    randombytes_buf(d->key, sizeof d->key);
    return 0;
}

void stn_dedup_free(struct stn_dedup *d)
{
    stn_free(d->ring);
    stn_free(d->buckets);
    memset(d, 0, sizeof *d);
}

uint64_t stn_dedup_hash(const struct stn_dedup *d, const void *data, size_t len)
{
    uint64_t h;
    _Static_assert(crypto_shorthash_BYTES == sizeof h, "SipHash-2-4 gives 64 bits");
    _Static_assert(crypto_shorthash_KEYBYTES == sizeof d->key, "SipHash key is 16 bytes");
    crypto_shorthash((unsigned char *)&h, data, len, d->key);
    return h | 1u;   /* never 0 */
}

static size_t bucket_of(const struct stn_dedup *d, uint32_t account_id, uint16_t seq)
{
    uint64_t x = ((uint64_t)account_id << 16) ^ seq;
    x *= 0x9E3779B97F4A7C15ull;
    return (size_t)(x >> 17) & (d->nbuckets - 1);
}

static const struct stn_dedup_entry *at(const struct stn_dedup *d, uint64_t gen)
{
    if (gen == 0 || gen >= d->next_gen || d->next_gen - gen > d->cap)
        return NULL;   /* never issued, or overwritten */
    const struct stn_dedup_entry *e = &d->ring[(gen - 1) % d->cap];
    return e->gen == gen ? e : NULL;
}

uint64_t stn_dedup_find(const struct stn_dedup *d, uint32_t account_id, uint16_t seq,
                        uint64_t hash, int64_t now_ms, int64_t window_ms, uint64_t *batch)
{
    uint64_t g = d->buckets[bucket_of(d, account_id, seq)];
    for (size_t steps = 0; steps < d->cap; steps++) {
        const struct stn_dedup_entry *e = at(d, g);
        if (!e)
            return 0;
        if (now_ms - e->time_ms > window_ms)
            return 0;          /* chain is newest first: the rest is older still */
        if (e->account_id == account_id && e->seq == seq && !e->failed) {
            /* the newest use of this sequence number decides */
            if (e->hash != hash)
                return 0;
            if (batch)
                *batch = e->batch;
            return e->gen;
        }
        g = e->next_gen;
    }
    return 0;
}

uint64_t stn_dedup_insert(struct stn_dedup *d, uint32_t account_id, uint16_t seq,
                          uint64_t hash, int64_t time_ms, uint64_t batch)
{
    uint64_t gen = d->next_gen++;
    struct stn_dedup_entry *e = &d->ring[(gen - 1) % d->cap];
    size_t b = bucket_of(d, account_id, seq);
    e->gen = gen;
    e->next_gen = d->buckets[b];
    e->hash = hash;
    e->time_ms = time_ms;
    e->batch = batch;
    e->account_id = account_id;
    e->seq = seq;
    e->failed = false;
    d->buckets[b] = gen;
    return gen;
}

/* ---- the replay index: (account, ciphertext hash) -------------------- */

static size_t block_bucket(const struct stn_dedup *d, uint32_t account_id, uint64_t hash)
{
    uint64_t x = ((uint64_t)account_id << 32) ^ hash;
    x *= 0x9E3779B97F4A7C15ull;
    return (size_t)(x >> 17) & (d->nbuckets - 1);
}

uint64_t stn_blocks_find(const struct stn_dedup *d, uint32_t account_id, uint64_t hash,
                         int64_t now_ms, int64_t window_ms, uint16_t *seq)
{
    uint64_t g = d->buckets[block_bucket(d, account_id, hash)];
    for (size_t steps = 0; steps < d->cap; steps++) {
        const struct stn_dedup_entry *e = at(d, g);
        if (!e || now_ms - e->time_ms > window_ms)
            return 0;          /* newest first: the rest is older still */
        if (e->account_id == account_id && e->hash == hash) {
            if (seq)
                *seq = e->seq;
            return e->gen;
        }
        g = e->next_gen;
    }
    return 0;
}

uint64_t stn_blocks_insert(struct stn_dedup *d, uint32_t account_id, uint16_t seq,
                           uint64_t hash, int64_t time_ms)
{
    uint64_t gen = d->next_gen++;
    struct stn_dedup_entry *e = &d->ring[(gen - 1) % d->cap];
    size_t b = block_bucket(d, account_id, hash);
    e->gen = gen;
    e->next_gen = d->buckets[b];
    e->hash = hash;
    e->time_ms = time_ms;
    e->batch = 0;
    e->account_id = account_id;
    e->seq = seq;
    e->failed = false;
    d->buckets[b] = gen;
    return gen;
}

void stn_dedup_forget(struct stn_dedup *d, uint64_t gen)
{
    struct stn_dedup_entry *e = (struct stn_dedup_entry *)at(d, gen);
    if (e)
        e->failed = true;
}

void stn_dedup_batch_failed(struct stn_dedup *d, uint64_t batch)
{
    if (batch > d->failed_batch)
        d->failed_batch = batch;
}

bool stn_dedup_valid(const struct stn_dedup *d, uint64_t gen, uint64_t batch)
{
    if (gen == 0 || gen >= d->next_gen || batch == 0 || batch == d->failed_batch)
        return false;
    const struct stn_dedup_entry *e = at(d, gen);
    return e == NULL || !e->failed;
}
