/*
 * conns.c — who holds vigil-station's TCP connection slots: the tiers a
 * connection climbs as it proves to be a panel, the choice of the one to close
 * when a new connection needs a slot, the per-source-address count
 * (max_connections_per_address), and the open-file budget that max_connections
 * must fit in.
 *
 * Must never let bytes that are not a valid frame keep a slot from a panel
 * (docs/station.md, Bounds), never scan every connection to pick a victim (an
 * attacker's connect rate would buy a scan each), and never let
 * max_connections promise more descriptors than the process may open.
 */
#include "daemon.h"
#include "transport.h"
#include "metrics.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

/* ---- tiers ------------------------------------------------------------ */

static void list_remove(struct stn_conn_list *l, struct stn_conn *c)
{
    if (c->prev) c->prev->next = c->next;
    else l->head = c->next;
    if (c->next) c->next->prev = c->prev;
    else l->tail = c->prev;
    c->prev = c->next = NULL;
    assert(l->n > 0);
    l->n--;
}

static void list_append(struct stn_conn_list *l, struct stn_conn *c)
{
    c->next = NULL;
    c->prev = l->tail;
    if (l->tail) l->tail->next = c;
    else l->head = c;
    l->tail = c;
    l->n++;
}

void stn_conns_link(struct stn *s, struct stn_conn *c)
{
    c->tier = STN_TIER_SILENT;
    list_append(&s->tiers[STN_TIER_SILENT], c);
    s->nconns++;
    s->c.conns_open = s->nconns;
}

void stn_conns_unlink(struct stn *s, struct stn_conn *c)
{
    assert(c->tier < STN_TIER_N);
    list_remove(&s->tiers[c->tier], c);
    s->nconns--;
    s->c.conns_open = s->nconns;
    if (c->addr) {
        stn_addrs_release(s, c->addr);
        c->addr = NULL;
    }
}

void stn_conns_heard(struct stn *s, struct stn_conn *c, bool accepted, int64_t now_ms)
{
    uint8_t tier = accepted || c->tier == STN_TIER_ACCEPTED ? STN_TIER_ACCEPTED : STN_TIER_VALID;
    list_remove(&s->tiers[c->tier], c);
    c->tier = tier;
    list_append(&s->tiers[tier], c);   /* last in line: it is the latest heard */
    c->last_valid_ms = now_ms;
}

struct stn_conn *stn_conns_victim(const struct stn *s)
{
    for (int t = 0; t < STN_TIER_N; t++)
        if (s->tiers[t].head)
            return s->tiers[t].head;
    return NULL;
}

/* ---- per source address ----------------------------------------------- */

int stn_conns_init(struct stn *s)
{
    /* sized once: chains stay short up to a few connections per bucket */
    size_t want = (size_t)(s->conns_max > 0 ? s->conns_max : STN_CONNS_AUTO_MAX) / 4;
    size_t nb = 256;
    while (nb < want && nb < ((size_t)1 << 20))
        nb <<= 1;
    s->addrs.buckets = stn_calloc(nb, sizeof *s->addrs.buckets);
    if (!s->addrs.buckets)
        return STN_E_NOMEM;
    s->addrs.nbuckets = nb;
    return 0;
}

void stn_conns_free(struct stn *s)
{
    for (size_t i = 0; s->addrs.buckets && i < s->addrs.nbuckets; i++) {
        struct stn_addr_count *a = s->addrs.buckets[i];
        while (a) {
            struct stn_addr_count *next = a->next;
            stn_free(a);
            a = next;
        }
    }
    stn_free(s->addrs.buckets);
    s->addrs.buckets = NULL;
}

static int addr_key(const struct sockaddr *sa, uint8_t key[17])
{
    memset(key, 0, 17);
    key[0] = (uint8_t)sa->sa_family;
    if (sa->sa_family == AF_INET)
        memcpy(key + 1, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
    else if (sa->sa_family == AF_INET6)
        memcpy(key + 1, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
    else
        return STN_E_INVAL;
    return 0;
}

int stn_addrs_take(struct stn *s, const struct sockaddr *addr, struct stn_addr_count **out)
{
    uint8_t key[17];
    *out = NULL;
    if (addr_key(addr, key) != 0)
        return 0;   /* not IP: not counted */
    /* keyed hash: a sender choosing its addresses cannot pile them in one chain */
    size_t b = (size_t)stn_dedup_hash(&s->dedup, key, sizeof key) & (s->addrs.nbuckets - 1);
    struct stn_addr_count *a = s->addrs.buckets[b];
    while (a && memcmp(a->key, key, sizeof key) != 0)
        a = a->next;
    if (a && a->n >= (uint64_t)s->cfg.max_connections_per_address)
        return STN_E_INVAL;
    if (!a) {
        a = stn_calloc(1, sizeof *a);
        if (!a)
            return STN_E_NOMEM;
        memcpy(a->key, key, sizeof key);
        a->next = s->addrs.buckets[b];
        s->addrs.buckets[b] = a;
    }
    a->n++;
    *out = a;
    return 0;
}

void stn_addrs_release(struct stn *s, struct stn_addr_count *a)
{
    assert(a->n > 0);
    if (--a->n > 0)
        return;
    size_t b = (size_t)stn_dedup_hash(&s->dedup, a->key, sizeof a->key) & (s->addrs.nbuckets - 1);
    struct stn_addr_count **pp = &s->addrs.buckets[b];
    while (*pp && *pp != a)
        pp = &(*pp)->next;
    assert(*pp == a);
    *pp = a->next;
    stn_free(a);
}

/* ---- the open-file budget ---------------------------------------------- */

uint64_t stn_nofile_now(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 0;
    return rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur;
}

uint64_t stn_nofile_raise(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 0;
    /* The soft limit is often 1024 for compatibility with select(); libuv
     * uses epoll, so take all the hard limit allows. */
    if (rl.rlim_cur != rl.rlim_max) {
        struct rlimit up = { .rlim_cur = rl.rlim_max, .rlim_max = rl.rlim_max };
        if (setrlimit(RLIMIT_NOFILE, &up) == 0)
            rl.rlim_cur = rl.rlim_max;
    }
    return rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur;
}

/* 64 for the process itself: stdin/out/err, libuv's epoll, async and signal
 * descriptors, two SQLite connections (database, WAL, shared memory each,
 * and temporary files), the key store, the ready file, the resolver, and the
 * one descriptor a connection beyond the bound is accepted with before it
 * is closed (or a victim is); plus the control socket's connections, and a
 * TCP and a UDP socket per listener. */
uint64_t stn_fd_reserve(size_t nlisteners)
{
    /* + the metrics endpoint: its scrapers, listening socket and store files */
    return 64u + STN_CTL_CONNS_MAX + (STN_METRICS_CONNS_MAX + 8u) + 2u * (uint64_t)nlisteners;
}

int stn_conns_fit(int64_t want, uint64_t nofile, size_t nlisteners, int64_t *out,
                  char *msg, size_t cap)
{
    uint64_t reserve = stn_fd_reserve(nlisteners);
    uint64_t room = nofile > reserve ? nofile - reserve : 0;
    if (want == 0) {
        *out = room < STN_CONNS_AUTO_MAX ? (int64_t)room : STN_CONNS_AUTO_MAX;
        if (*out > 0)
            return 0;
        snprintf(msg, cap, "the open-file limit %llu leaves no descriptor for a connection "
                 "beside the %llu kept for the store, logs and control socket "
                 "(raise it: ulimit -n, LimitNOFILE=)",
                 (unsigned long long)nofile, (unsigned long long)reserve);
        return STN_E_CONFIG;
    }
    if ((uint64_t)want <= room) {
        *out = want;
        return 0;
    }
    snprintf(msg, cap, "key 'max_connections' %lld does not fit the open-file limit %llu: "
             "%llu descriptors are kept for the store, logs and control socket, so at most "
             "%llu connections (lower max_connections, or raise the limit: ulimit -n, "
             "LimitNOFILE=)", (long long)want, (unsigned long long)nofile,
             (unsigned long long)reserve, (unsigned long long)room);
    return STN_E_CONFIG;
}
