/*
 * unknown.c — signals of unknown accounts, per source address. Anyone who
 * reaches the station's port can claim any account number and any event, a
 * "duress" included, so such signals are limited in total and per source
 * (rx.c takes the tokens), and each source's signals of a window
 * (STN_UNK_WINDOW_MS) join one alarm per priority — raised under the first
 * number that source claimed in the window — whatever numbers they claim.
 * Signals beyond the limits are answered (DUH) and counted here; once a
 * second the counts go into their source's alarm (event_count) as one batch
 * item per source and priority, so none is lost silently and an attacker
 * inventing numbers makes neither thousands of alarms nor thousands of rows.
 *
 * Bounded: STN_UNK_SLOTS sources by address (a keyed hash: a sender choosing
 * addresses cannot aim at one probe run); a source that finds no slot shares
 * the overflow entry. Must never allocate after init, nor hold a registered
 * account's frame back (only rx.c's reject() of an unknown account calls it).
 */
#include "daemon.h"
#include "transport.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#define PROBE 8
#define FLUSH_MAX 256   /* batch items per flush; the rest wait a second */

int stn_unknown_init(struct stn_unknown *u)
{
    memset(u, 0, sizeof *u);
    u->slots = stn_calloc(STN_UNK_SLOTS, sizeof *u->slots);
    if (!u->slots)
        return STN_E_NOMEM;
    u->nslots = STN_UNK_SLOTS;
    u->overflow.used = true;
    snprintf(u->overflow.addr, sizeof u->overflow.addr, "many sources");
    return 0;
}

void stn_unknown_free(struct stn_unknown *u)
{
    stn_free(u->slots);
    memset(u, 0, sizeof *u);
}

static bool key_of(const struct sockaddr *sa, uint8_t key[17], char *text, size_t cap)
{
    memset(key, 0, 17);
    if (!sa)
        return false;
    key[0] = (uint8_t)sa->sa_family;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const void *)sa;
        memcpy(key + 1, &a->sin_addr, 4);
        inet_ntop(AF_INET, &a->sin_addr, text, (socklen_t)cap);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const void *)sa;
        memcpy(key + 1, &a->sin6_addr, 16);
        inet_ntop(AF_INET6, &a->sin6_addr, text, (socklen_t)cap);
    } else {
        return false;
    }
    return true;
}

static bool idle(const struct stn_usrc *e)
{
    for (int p = 0; p < STN_UNK_PRIO_N; p++)
        if (e->unstored[p])
            return false;
    return true;
}

struct stn_usrc *stn_unknown_source(struct stn *s, struct stn_conn *conn,
                                    const struct sockaddr *peer, int64_t now_ms)
{
    struct stn_unknown *u = &s->unknown;
    struct sockaddr_storage ss;
    if (conn) {
        int sl = sizeof ss;
        peer = uv_tcp_getpeername(&conn->tcp, (struct sockaddr *)&ss, &sl) == 0
               ? (const struct sockaddr *)&ss : NULL;
    }
    uint8_t key[17];
    char text[48] = "";
    struct stn_usrc *e = NULL;
    if (key_of(peer, key, text, sizeof text)) {
        size_t mask = u->nslots - 1;
        size_t h = (size_t)stn_dedup_hash(&s->dedup, key, sizeof key);
        struct stn_usrc *victim = NULL;
        for (size_t i = 0; i < PROBE && !e; i++) {
            struct stn_usrc *c = &u->slots[(h + i) & mask];
            if (c->used && memcmp(c->key, key, sizeof key) == 0)
                e = c;
            else if (!c->used)
                victim = victim && !victim->used ? victim : c;
            else if (idle(c) && (!victim || (victim->used && c->last_ms < victim->last_ms)))
                victim = c;    /* the one idle longest whose counts are flushed */
        }
        /* a new source takes a token: addresses sprayed (spoofed UDP, an IPv6
         * prefix) share the overflow entry, and its one alarm per window */
        if (!e && victim && stn_bucket_take(&u->new_sources, now_ms, STN_UNK_NEW_PER_S,
                                            STN_UNK_NEW_BURST)) {
            memset(victim, 0, sizeof *victim);
            victim->used = true;
            memcpy(victim->key, key, sizeof key);
            snprintf(victim->addr, sizeof victim->addr, "%s", text);
            e = victim;
        }
    }
    if (!e)
        e = &u->overflow;
    if (!e->window_start_ms || now_ms - e->window_start_ms >= STN_UNK_WINDOW_MS) {
        e->window_start_ms = now_ms;
        for (int p = 0; p < STN_UNK_PRIO_N; p++)
            if (!e->unstored[p])     /* counts not yet flushed keep their alarm's number */
                e->alarm_account[p][0] = '\0';
    }
    e->last_ms = now_ms;
    return e;
}

static bool flush_one(struct stn *s, struct stn_usrc *e, int p, size_t *budget)
{
    if (!e->unstored[p])
        return true;
    if (*budget == 0)
        return false;
    struct stn_job *j = s->pending;
    struct stn_item *it = stn_job_add(j);
    if (!it)
        return false;
    char detail[160];
    int dl = snprintf(detail, sizeof detail, "signals of unknown accounts from %s: "
                      "%u beyond the limits counted here, not stored", e->addr,
                      e->unstored[p]);
    it->type = STN_ITEM_ALARM;
    it->account_id = 0;
    snprintf(it->account, sizeof it->account, "%s", e->alarm_account[p]);
    snprintf(it->alarm_account, sizeof it->alarm_account, "%s", e->alarm_account[p]);
    it->received_ms = e->unstored_last_ms[p];
    it->kind = "unknown_account";
    it->priority = p;
    it->count = e->unstored[p];
    if (dl > 0 && stn_job_copy(j, detail, (size_t)dl, &it->detail_off) == 0)
        it->detail_len = (size_t)dl;
    e->unstored[p] = 0;
    (*budget)--;
    return true;
}

static bool flush_entry(struct stn *s, struct stn_usrc *e, size_t *budget)
{
    bool all = true;
    for (int p = 1; p < STN_UNK_PRIO_N; p++)
        if (!flush_one(s, e, p, budget))
            all = false;
    return all;
}

void stn_unknown_flush(struct stn *s, int64_t now_ms)
{
    struct stn_unknown *u = &s->unknown;
    (void)now_ms;
    if (!u->dirty)
        return;
    size_t budget = FLUSH_MAX;
    bool all = flush_entry(s, &u->overflow, &budget);
    for (size_t i = 0; i < u->nslots; i++)
        if (u->slots[i].used && !flush_entry(s, &u->slots[i], &budget))
            all = false;
    u->dirty = !all;
}
