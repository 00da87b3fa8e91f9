/*
 * commit.c — group commit. The loop appends items to the pending job; when
 * the worker is idle (checked after each loop iteration, like Redis's
 * beforeSleep) the pending job becomes the in-flight one and runs on the
 * libuv thread pool in one transaction, while the loop keeps reading. When it
 * returns, that batch's replies are written — ACKs only if COMMIT succeeded.
 *
 * Must never send an ACK for an item of a failed batch, and never run two
 * jobs at once (one SQLite connection, batches commit in order).
 */
#include "daemon.h"

#include <string.h>

static void work_cb(uv_work_t *req)
{
    struct stn *s = req->data;
    stn_wstore_run(s->ws, s->inflight);
}

/* Sends the replies of a finished job, coalescing runs on one connection. */
static size_t answer(struct stn *s, struct stn_job *j)
{
    size_t acks = 0;
    uint8_t out[8192];
    size_t out_len = 0;
    struct stn_conn *cur = NULL;
    for (size_t i = 0; i < j->n; i++) {
        struct stn_item *it = &j->items[i];
        bool send = false;
        switch (it->type) {
        case STN_ITEM_EVENT:
            if (j->rc == 0)
                send = true;
            else
                stn_dedup_forget(&s->dedup, it->dedup_gen);
            break;
        case STN_ITEM_ACK_ONLY:
            send = j->rc == 0 && stn_dedup_valid(&s->dedup, it->dedup_gen);
            break;
        case STN_ITEM_POLL:
        case STN_ITEM_REJECTED:
            send = j->rc == 0;
            break;
        case STN_ITEM_ALARM:
            if (j->rc != 0) {
                /* not stored: let the next check or frame raise it again */
                struct stn_account *a = stn_accounts_find(&s->accounts, it->account);
                if (a && strcmp(it->kind, "comm_failure") == 0)
                    a->comm_failed = false;
                else if (a && strcmp(it->kind, "flood") == 0)
                    a->flooding = false;
            }
            break;
        default:
            break;
        }
        if (j->rc == 0 && it->type == STN_ITEM_EVENT)
            s->c.events_stored++;
        if (send && it->reply_len) {
            if (it->reply_kind == 'A') {
                s->c.acks++;
                acks++;
            }
            else if (it->reply_kind == 'D')
                s->c.duhs++;
        }
        if (it->conn) {
            if (cur != it->conn || out_len + it->reply_len > sizeof out) {
                if (cur && out_len)
                    stn_conn_send(cur, out, out_len);
                out_len = 0;
                cur = it->conn;
            }
            if (send && it->reply_len) {
                memcpy(out + out_len, it->reply, it->reply_len);
                out_len += it->reply_len;
            }
        } else if (send && it->udp && it->reply_len) {
            stn_udp_send(it->udp, it->peer_addr, it->reply, it->reply_len);
        }
    }
    if (cur && out_len)
        stn_conn_send(cur, out, out_len);
    /* drop the references only now: a closed connection may be freed here */
    for (size_t i = 0; i < j->n; i++)
        if (j->items[i].conn)
            stn_conn_unref(j->items[i].conn);
    return acks;
}

static void after_cb(uv_work_t *req, int status)
{
    struct stn *s = req->data;
    struct stn_job *j = s->inflight;
    (void)status;
    if (j->rc == 0) {
        if (j->n) {
            s->c.commits++;
            s->c.committed_items += j->n;
            s->c.commit_us_total += (uint64_t)j->commit_us;
            if ((uint64_t)j->commit_us > s->c.commit_us_max)
                s->c.commit_us_max = (uint64_t)j->commit_us;
        }
        s->committed_batch = j->batch;
    } else {
        s->c.commit_failures++;
    }
    size_t acks = answer(s, j);
    /* Linger: panels answered just now send their next frame about one round
     * trip later. Waiting a little for them (at most half the last commit's
     * time, at most commit_linger_us) lets one commit carry both the frames
     * that arrived during the commit and theirs, instead of two half-full
     * commits taking turns. A duress, a full batch or a stop ends it at once. */
    if (acks && s->cfg.commit_linger_us > 0 && j->rc == 0) {
        int64_t linger_us = j->commit_us / 2;
        if (linger_us > s->cfg.commit_linger_us)
            linger_us = s->cfg.commit_linger_us;
        s->linger_until_ns = uv_hrtime() + (uint64_t)linger_us * 1000u;
        s->linger_target = s->pending->n + acks;
    } else {
        s->linger_until_ns = 0;
    }
    if (j->accounts_loaded) {
        if (stn_accounts_merge(s, j->rows, j->nrows) != 0)
            STN_ERROR("accounts", "cannot apply the reloaded accounts (out of memory)");
        for (size_t i = 0; i < j->nrows; i++)
            memset(j->rows[i].key, 0, sizeof j->rows[i].key);
    }
    if (j->prune_more && !s->stopping)
        s->want_prune_before_ms = j->prune_before_ms;   /* next step with the next job */
    stn_job_clear(j);
    s->inflight = NULL;
    stn_tcp_pause_all_resume(s);
    stn_commit_maybe_kick(s);
}

static void on_linger_end(uv_timer_t *h)
{
    stn_commit_maybe_kick(h->data);
}

/* Frames arriving wake the loop and re-run this from the uv_check; the timer
 * (ms granularity) only ends a linger whose panels never came back. */
void stn_commit_maybe_kick(struct stn *s)
{
    struct stn_job *j = s->pending;
    if (!s->inflight && s->linger_until_ns && !s->stopping && !j->has_duress &&
        j->n < s->linger_target && !stn_pending_full(s)) {
        uint64_t now = uv_hrtime();
        if (now < s->linger_until_ns) {
            if (!uv_is_active((uv_handle_t *)&s->linger)) {
                uint64_t ms = (s->linger_until_ns - now + 999999u) / 1000000u;
                uv_timer_start(&s->linger, on_linger_end, ms ? ms : 1, 0);
            }
            return;
        }
    }
    if (uv_is_active((uv_handle_t *)&s->linger))
        uv_timer_stop(&s->linger);
    if (!s->inflight)
        s->linger_until_ns = 0;
    stn_commit_kick(s);
}

int stn_commit_init(struct stn *s)
{
    size_t cap = (size_t)s->cfg.commit_batch_max;
    if (stn_job_init(&s->jobs[0], cap) || stn_job_init(&s->jobs[1], cap))
        return STN_E_NOMEM;
    s->pending = &s->jobs[0];
    s->inflight = NULL;
    s->next_batch = 1;
    s->pending->batch = s->next_batch;
    s->work.data = s;
    uv_timer_init(s->loop, &s->linger);
    s->linger.data = s;
    return 0;
}

void stn_commit_free(struct stn *s)
{
    stn_job_free(&s->jobs[0]);
    stn_job_free(&s->jobs[1]);
}

bool stn_commit_idle(const struct stn *s)
{
    return s->inflight == NULL;
}

bool stn_pending_full(const struct stn *s)
{
    return s->pending->n >= (size_t)s->cfg.commit_batch_max;
}

void stn_commit_kick(struct stn *s)
{
    if (s->inflight)
        return;
    struct stn_job *j = s->pending;
    bool maintenance = s->want_accounts || s->force_accounts || s->want_escalate ||
                       s->want_prune_before_ms;
    if (j->n == 0 && j->nseen == 0 && !maintenance)
        return;
    j->check_accounts = s->want_accounts;
    j->force_accounts = s->force_accounts;
    j->now_ms = stn_now_ms();
    j->escalate_before_ms = s->want_escalate ? j->now_ms - s->cfg.escalate_after_s * 1000 : 0;
    j->prune_before_ms = s->want_prune_before_ms;
    s->want_accounts = s->force_accounts = s->want_escalate = false;
    s->want_prune_before_ms = 0;

    s->inflight = j;
    s->pending = j == &s->jobs[0] ? &s->jobs[1] : &s->jobs[0];
    stn_job_clear(s->pending);
    s->pending->batch = ++s->next_batch;
    int rc = uv_queue_work(s->loop, &s->work, work_cb, after_cb);
    if (rc != 0) {
        /* cannot happen with a live loop; run inline rather than lose the batch */
        STN_ERROR("store", "cannot queue the commit: %s; committing inline", uv_strerror(rc));
        work_cb(&s->work);
        after_cb(&s->work, 0);
    }
}
