/*
 * alloc.c — the one allocation wrapper of vigil-station: counts bytes and
 * blocks so leaks and per-connection memory can be measured, and lets a test
 * make the n-th allocation fail. Every daemon allocation goes through here
 * (libuv, SQLite and OpenSSL keep their own). Must never abort on failure:
 * callers handle NULL.
 */
#include "stn_internal.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* A header in front of every block keeps its size (16 bytes keeps alignment). */
struct hdr { size_t size; size_t magic; };
_Static_assert(sizeof(struct hdr) == 16, "header keeps max_align_t alignment");
#define STN_ALLOC_MAGIC ((size_t)0x5354414cu)

static atomic_size_t bytes_now;
static atomic_size_t blocks_now;
static atomic_ulong fail_countdown;

size_t stn_alloc_bytes(void) { return atomic_load(&bytes_now); }
size_t stn_alloc_count(void) { return atomic_load(&blocks_now); }
void stn_alloc_fail_after(unsigned long n) { atomic_store(&fail_countdown, n); }

static bool inject_failure(void)
{
    unsigned long c = atomic_load(&fail_countdown);
    while (c > 0) {
        if (atomic_compare_exchange_weak(&fail_countdown, &c, c - 1))
            return c == 1;
    }
    return false;
}

void *stn_malloc(size_t n)
{
    if (n > SIZE_MAX - sizeof(struct hdr) || inject_failure())
        return NULL;
    struct hdr *h = malloc(sizeof *h + n);
    if (!h)
        return NULL;
    h->size = n;
    h->magic = STN_ALLOC_MAGIC;
    atomic_fetch_add(&bytes_now, n);
    atomic_fetch_add(&blocks_now, 1);
    return h + 1;
}

/* calloc underneath: large zeroed blocks stay untouched (lazily mapped) until used. */
void *stn_calloc(size_t n, size_t size)
{
    if ((size && n > SIZE_MAX / size) || n * size > SIZE_MAX - sizeof(struct hdr) ||
        inject_failure())
        return NULL;
    struct hdr *h = calloc(1, sizeof *h + n * size);
    if (!h)
        return NULL;
    h->size = n * size;
    h->magic = STN_ALLOC_MAGIC;
    atomic_fetch_add(&bytes_now, n * size);
    atomic_fetch_add(&blocks_now, 1);
    return h + 1;
}

void *stn_realloc(void *p, size_t n)
{
    if (!p)
        return stn_malloc(n);
    if (n > SIZE_MAX - sizeof(struct hdr) || inject_failure())
        return NULL;
    struct hdr *h = (struct hdr *)p - 1;
    size_t old = h->size;
    struct hdr *nh = realloc(h, sizeof *nh + n);
    if (!nh)
        return NULL;
    nh->size = n;
    atomic_fetch_sub(&bytes_now, old);
    atomic_fetch_add(&bytes_now, n);
    return nh + 1;
}

void stn_free(void *p)
{
    if (!p)
        return;
    struct hdr *h = (struct hdr *)p - 1;
    atomic_fetch_sub(&bytes_now, h->size);
    atomic_fetch_sub(&blocks_now, 1);
    h->magic = 0;
    free(h);
}
