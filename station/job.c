/*
 * job.c — a commit batch: items appended by the loop, run by the worker in
 * one transaction, then answered by the loop. Bytes an item needs (raw frame,
 * data block, peer) live in the job's arena so an item is a flat copy.
 * Must never be touched by the loop while the worker runs it.
 */
#include "stn_internal.h"

#include <string.h>
#include <time.h>

int stn_job_init(struct stn_job *j, size_t items_cap, size_t ctl_cap)
{
    memset(j, 0, sizeof *j);
    j->cap = items_cap ? items_cap : 16;
    j->items = stn_calloc(j->cap, sizeof *j->items);
    j->arena_cap = j->cap * 128;
    j->arena = stn_malloc(j->arena_cap);
    j->seen_cap = 64;
    j->seen = stn_malloc(j->seen_cap * sizeof *j->seen);
    j->ctl_cap = ctl_cap;
    j->ctl = ctl_cap ? stn_calloc(ctl_cap, sizeof *j->ctl) : NULL;
    if (!j->items || !j->arena || !j->seen || (ctl_cap && !j->ctl)) {
        stn_job_free(j);
        return STN_E_NOMEM;
    }
    return 0;
}

void stn_job_clear(struct stn_job *j)
{
    j->n = 0;
    j->arena_len = 0;
    j->nseen = 0;
    j->nctl = 0;
    j->lease_check = false;
    j->setup_check = false;
    j->npresent = 0;
    j->has_duress = false;
    j->check_accounts = false;
    j->force_accounts = false;
    j->prune_before_ms = 0;
    j->escalate_before_ms = 0;
    j->rc = 0;
    j->accounts_loaded = false;
    j->accounts_changed = false;
    j->prune_more = false;
    j->wal_finish = false;
    j->wal_frames = 0;
    j->nnotes = 0;
    j->audited = false;
    j->audit_failed = 0;
    j->known_seq = 0;
    j->audit_broken = false;
    j->audit_seq = 0;
    j->audit_hash[0] = '\0';
    stn_free(j->rows);
    j->rows = NULL;
    j->nrows = 0;
}

void stn_job_free(struct stn_job *j)
{
    stn_free(j->items);
    stn_free(j->arena);
    stn_free(j->seen);
    stn_free(j->ctl);
    stn_free(j->rows);
    memset(j, 0, sizeof *j);
}

uint64_t stn_mono_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

struct stn_item *stn_job_add(struct stn_job *j)
{
    if (j->n == 0)
        j->t_first_ns = stn_mono_ns();
    if (j->n == j->cap) {
        size_t ncap = j->cap * 2;
        struct stn_item *p = stn_realloc(j->items, ncap * sizeof *p);
        if (!p)
            return NULL;
        j->items = p;
        j->cap = ncap;
    }
    struct stn_item *it = &j->items[j->n++];
    memset(it, 0, offsetof(struct stn_item, reply));
    memset(&it->dedup_gen, 0, sizeof *it - offsetof(struct stn_item, dedup_gen));
    return it;
}

int stn_job_copy(struct stn_job *j, const void *p, size_t len, size_t *off)
{
    if (j->arena_len + len > j->arena_cap) {
        size_t ncap = j->arena_cap * 2;
        while (ncap < j->arena_len + len)
            ncap *= 2;
        uint8_t *a = stn_realloc(j->arena, ncap);
        if (!a)
            return STN_E_NOMEM;
        j->arena = a;
        j->arena_cap = ncap;
    }
    memcpy(j->arena + j->arena_len, p, len);
    *off = j->arena_len;
    j->arena_len += len;
    return 0;
}

int stn_job_note(struct stn_job *j, const char *kind, const char *after)
{
    if (j->nnotes >= sizeof j->note_off / sizeof j->note_off[0])
        return STN_E_INVAL;
    size_t kl = strlen(kind) + 1, al = strlen(after) + 1, off, off2;
    if (stn_job_copy(j, kind, kl, &off) != 0 || stn_job_copy(j, after, al, &off2) != 0)
        return STN_E_NOMEM;
    j->note_off[j->nnotes++] = off;   /* after follows kind's NUL */
    return 0;
}
