/*
 * ratelimit.c — the per-account token bucket: `burst` frames at once, then
 * `rate_per_s` sustained. Must never be consulted for a duress frame (rx.c
 * checks the class first): a duress is never throttled.
 */
#include "stn_internal.h"

static void refill(struct stn_bucket *b, int64_t now_ms, int64_t rate_per_s, int64_t burst)
{
    if (!b->primed) {
        b->tokens = (double)burst;
        b->last_ms = now_ms;
        b->primed = true;
        return;
    }
    if (now_ms > b->last_ms) {
        b->tokens += (double)(now_ms - b->last_ms) * (double)rate_per_s / 1000.0;
        b->last_ms = now_ms;
    }
    if (b->tokens > (double)burst)
        b->tokens = (double)burst;
}

bool stn_bucket_take(struct stn_bucket *b, int64_t now_ms, int64_t rate_per_s, int64_t burst)
{
    if (rate_per_s <= 0)
        return true;
    refill(b, now_ms, rate_per_s, burst);
    if (b->tokens >= 1.0) {
        b->tokens -= 1.0;
        return true;
    }
    return false;
}

bool stn_bucket_full(struct stn_bucket *b, int64_t now_ms, int64_t rate_per_s, int64_t burst)
{
    if (rate_per_s <= 0)
        return true;
    refill(b, now_ms, rate_per_s, burst);
    return b->tokens >= (double)burst;
}
