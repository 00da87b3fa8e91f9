/*
 * supervision.c — every account with a supervision interval is watched: a
 * silence longer than interval + supervision_grace_s raises a comm_failure
 * alarm (priority 4); the next frame from it marks that alarm restored.
 * Also raises the station's own alarms (flood, comm_failure) as batch items.
 *
 * Decision: after a daemon start an account's clock starts at the later of
 * its stored last-seen time and the start, so a restart does not raise a
 * storm of alarms for the time the station itself was down.
 * Must never hold an alarm back: items go into the pending batch, which
 * commits next.
 */
#include "daemon.h"

#include <stdio.h>
#include <string.h>

#define STN_SEEN_STORE_MS 10000

void stn_raise_own_alarm(struct stn *s, const char *account, uint32_t account_id,
                         const char *kind, int64_t now_ms, const char *detail)
{
    struct stn_job *j = s->pending;
    struct stn_item *it = stn_job_add(j);
    if (!it) {
        STN_ERROR("alarm", "out of memory: %s alarm of account %s not raised", kind, account);
        return;
    }
    it->type = STN_ITEM_ALARM;
    it->account_id = account_id;
    snprintf(it->account, sizeof it->account, "%s", account);
    it->received_ms = now_ms;
    it->kind = kind;
    it->priority = stn_kind_priority(kind);
    if (detail) {
        size_t dl = strlen(detail);
        if (stn_job_copy(j, detail, dl, &it->detail_off) == 0)
            it->detail_len = dl;
    }
}

static void add_restore(struct stn *s, struct stn_account *a, const char *kind, int64_t now_ms)
{
    struct stn_item *it = stn_job_add(s->pending);
    if (!it)
        return;
    it->type = STN_ITEM_RESTORE;
    it->account_id = a->id;
    memcpy(it->account, a->number, sizeof it->account);
    it->received_ms = now_ms;
    it->kind = kind;
}

void stn_account_seen(struct stn *s, struct stn_account *a, int64_t now_ms)
{
    a->last_seen_ms = now_ms;
    struct stn_job *j = s->pending;
    /* Supervision runs on the in-memory time; the store's last_seen_ms is for
     * people and restarts: written at most every STN_SEEN_STORE_MS per account,
     * once per batch. */
    if (now_ms - a->seen_stored_ms < STN_SEEN_STORE_MS) {
        /* nothing to write */
    } else if (!a->seen_dirty || a->seen_batch != j->batch) {
        if (j->nseen == j->seen_cap) {
            struct stn_seen *p = stn_realloc(j->seen, j->seen_cap * 2 * sizeof *p);
            if (p) {
                j->seen = p;
                j->seen_cap *= 2;
            }
        }
        if (j->nseen < j->seen_cap) {
            j->seen[j->nseen].account_id = a->id;
            j->seen[j->nseen].ms = now_ms;
            j->nseen++;
            a->seen_dirty = true;
            a->seen_batch = j->batch;
            a->seen_index = j->nseen - 1;
            a->seen_stored_ms = now_ms;
        }
    } else {
        j->seen[a->seen_index].ms = now_ms;
    }
    if (a->comm_failed) {
        a->comm_failed = false;
        STN_INFO("supervision", "account %s reports again: communication restored", a->number);
        add_restore(s, a, "comm_failure", now_ms);
    }
}

void stn_supervision_check(struct stn *s, int64_t now_ms)
{
    struct stn_accounts *t = &s->accounts;
    for (size_t i = 0; i < t->nslots; i++) {
        struct stn_account *a = t->slots[i];
        if (!a || a->supervision_s <= 0 || a->comm_failed)
            continue;
        int64_t limit_ms = (a->supervision_s + s->cfg.supervision_grace_s) * 1000;
        if (now_ms - a->last_seen_ms <= limit_ms)
            continue;
        /* Several nodes on one store: one of them watches (the others' panels
         * reach it as last-seen times through the account reloads). */
        if (!s->supervision_leader)
            continue;
        a->comm_failed = true;
        s->c.supervision_failures++;
        STN_WARN("supervision", "account %s silent for %llds (interval %llds + grace %llds): "
                 "communication failure", a->number,
                 (long long)((now_ms - a->last_seen_ms) / 1000), (long long)a->supervision_s,
                 (long long)s->cfg.supervision_grace_s);
        stn_raise_own_alarm(s, a->number, a->id, "comm_failure", now_ms,
                            "no signal within the supervision interval plus grace");
    }
}
