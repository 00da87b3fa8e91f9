/*
 * commit.c — group commit. The loop appends items to the pending job; when
 * the worker is idle (checked after each loop iteration, like Redis's
 * beforeSleep) the pending job becomes the in-flight one and runs on the
 * libuv thread pool in one transaction, while the loop keeps reading. When it
 * returns, that batch's replies are written — ACKs only if COMMIT succeeded.
 * Three jobs turn: one filling (pending), one committing (inflight), one
 * being answered (answering) — the next commit may start before the replies
 * of the last one are written.
 *
 * Must never send an ACK for an item of a failed batch, and never run two
 * jobs at once (one SQLite connection, batches commit in order).
 */
#include "daemon.h"
#include "reply.h"
#include "vigil/alarm.h"

#include <string.h>

static void work_cb(uv_work_t *req)
{
    struct stn *s = req->data;
    stn_wstore_run(s->ws, s->inflight);
}

/* What a committed item did, logged only now: a line written inside the
 * transaction could tell of an alarm that was rolled back. */
static void log_outcome(const struct stn_item *it)
{
    const char *under = it->alarm_account[0] && strcmp(it->alarm_account, it->account) != 0
                        ? it->alarm_account : NULL;
    switch (it->type) {
    case STN_ITEM_REJECTED:
        if (it->alarm_id)
            STN_WARN("rx", "account %s: %s: refused (DUH), alarm %lld %s (priority %d %s%s%s) "
                     "alarm=%lld account=%s kind=%s priority=%d reason=%s",
                     it->account, it->reason ? it->reason : "refused", (long long)it->alarm_id,
                     it->alarm_opened ? "opened" : "joined", it->priority,
                     it->kind ? it->kind : "?", under ? ", under account " : "",
                     under ? under : "", (long long)it->alarm_id, under ? under : it->account,
                     it->kind ? it->kind : "?", it->priority,
                     it->reason ? it->reason : "refused");
        else
            STN_WARN("rx", "account %s: %s: refused (DUH), kept account=%s reason=%s",
                     it->account, it->reason ? it->reason : "refused", it->account,
                     it->reason ? it->reason : "refused");
        return;
    case STN_ITEM_RESTORE:
        STN_INFO("alarm", "%s of account %s restored account=%s kind=%s", it->kind, it->account,
                 it->account, it->kind);
        return;
    default:
        break;
    }
    if (!it->alarm_opened)
        return;
    const char *kind = it->type == STN_ITEM_EVENT ? it->cls.kind : it->kind;
    int priority = it->type == STN_ITEM_EVENT ? it->cls.priority : it->priority;
    const char *acct = under ? under : it->account;
    if (priority == 1)
        STN_WARN("alarm", "alarm %lld opened: priority 1 %s account %s "
                 "alarm=%lld account=%s kind=%s priority=1 event=raised",
                 (long long)it->alarm_id, kind, acct, (long long)it->alarm_id, acct, kind);
    else
        STN_INFO("alarm", "alarm %lld opened: priority %d %s account %s "
                 "alarm=%lld account=%s kind=%s priority=%d event=raised",
                 (long long)it->alarm_id, priority, kind, acct, (long long)it->alarm_id, acct,
                 kind, priority);
}

/* Sends the replies of a finished job, coalescing runs on one connection.
 * Returns how many connections got a reply. */
static size_t answer(struct stn *s, struct stn_job *j)
{
    size_t conns = 0;
    struct stn_replies out;
    out.cur = NULL;
    out.len = 0;
    if (j->rc != 0)
        stn_dedup_batch_failed(&s->dedup, j->batch);
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
            send = j->rc == 0 && stn_dedup_valid(&s->dedup, it->dedup_gen, it->orig_batch);
            break;
        case STN_ITEM_POLL:
        case STN_ITEM_REJECTED:
            send = j->rc == 0;
            break;
        case STN_ITEM_RESTORE:
            if (j->rc != 0 && strcmp(it->kind, "comm_failure") == 0) {
                /* the restore was not stored: the alarm is still open, so the
                 * account's next frame must restore it again */
                struct stn_account *a = stn_accounts_find(&s->accounts, it->account);
                if (a)
                    a->comm_failed = true;
            }
            break;
        case STN_ITEM_ALARM:
            if (j->rc != 0) {
                /* not stored: let the next check or frame raise it again */
                struct stn_account *a = stn_accounts_find(&s->accounts, it->account);
                if (a && strcmp(it->kind, "comm_failure") == 0)
                    a->comm_failed = false;
                else if (a && strcmp(it->kind, "flood") == 0)
                    a->flooding = false;
                else if (a && strcmp(it->kind, "replay") == 0)
                    a->replay_until_ms = 0;
                else if (it->count > 1)
                    STN_WARN("alarm", "%u signals of unknown accounts (account %s) were not "
                             "counted in an alarm: the commit failed", it->count,
                             it->alarm_account[0] ? it->alarm_account : it->account);
            }
            break;
        default:
            break;
        }
        if (j->rc == 0 && it->type == STN_ITEM_EVENT)
            s->c.events_stored++;
        if (j->rc == 0)
            log_outcome(it);
        if (send && it->reply_len) {
            if (it->reply_kind == 'A')
                s->c.acks++;
            else if (it->reply_kind == 'D')
                s->c.duhs++;
            if (stn_reply_answered(&it->to, j->batch))
                conns++;
        }
        stn_replies_add(&out, &it->to, it->reply, send ? it->reply_len : 0);
    }
    stn_replies_flush(&out);
    stn_control_answer(s, j);
    /* drop the references only now: a closed connection may be freed here */
    for (size_t i = 0; i < j->n; i++)
        stn_reply_release(&j->items[i].to);
    return conns;
}

/* Frames of the WAL past which the checkpointer is started at once rather
 * than at the next tick: 256 pages (1 MiB) keeps the WAL short, each
 * checkpoint's burst of writes to the database file small (a commit's
 * fdatasync queues behind it), the tail copy quick, and every later commit an
 * overwrite of blocks the file already has. */
#define WAL_CHECKPOINT_FRAMES 256

/* Lingering pays only when the panels just answered send again at once
 * (stop-and-wait panels behind one batch). The score follows the share of
 * the connections answered that sent again within a linger; below half, no
 * linger, but one cycle in 64 tries again so the score can recover (a probe
 * in vain costs that one batch at most half a commit's time). */
#define LINGER_SCORE_MAX 1024u
#define LINGER_PROBE_EVERY 64u

static bool want_linger(struct stn *s, const struct stn_job *j)
{
    if (j->n == 0 || s->cfg.commit_linger_us <= 0 || j->rc != 0 || s->stopping)
        return false;
    if (!s->linger_meter.mode) {
        s->c.linger_skips++;
        return false;
    }
    if (s->linger_score >= LINGER_SCORE_MAX / 2)
        return true;
    if (++s->linger_probe >= LINGER_PROBE_EVERY) {
        s->linger_probe = 0;
        return true;
    }
    s->c.linger_skips++;
    return false;
}

/* A linger ended (the batch is about to be committed): what share of the
 * connections answered before it sent again meanwhile. */
static void linger_scored(struct stn *s)
{
    if (!s->linger_conns)
        return;
    size_t back = s->linger_back < s->linger_conns ? s->linger_back : s->linger_conns;
    uint32_t share = (uint32_t)(back * LINGER_SCORE_MAX / s->linger_conns);
    s->linger_score = (s->linger_score * 7u + share) / 8u;
    s->linger_conns = 0;
}

static void after_cb(uv_work_t *req, int status)
{
    struct stn *s = req->data;
    struct stn_job *j = s->inflight;
    (void)status;
    uint64_t t_back = stn_mono_ns();
    if (j->rc == 0) {
        if (j->n) {
            s->c.wait_us_total += (j->t_kick_ns - j->t_first_ns) / 1000u;
            s->c.to_worker_us_total += (j->t_start_ns - j->t_kick_ns) / 1000u;
            s->c.to_loop_us_total += (t_back - j->t_end_ns) / 1000u;
            s->c.commits++;
            s->c.committed_items += j->n;
            stn_linger_meter_note(&s->linger_meter, j->n, t_back);
            s->c.commit_us_total += (uint64_t)j->commit_us;
            s->c.rows_us_total += (uint64_t)j->rows_us;
            size_t b = (size_t)(j->commit_us / 100);
            const size_t nb = sizeof s->c.commit_hist / sizeof s->c.commit_hist[0];
            s->c.commit_hist[b < nb ? b : nb - 1]++;
            if ((uint64_t)j->commit_us > s->c.commit_us_max)
                s->c.commit_us_max = (uint64_t)j->commit_us;
        }
        s->committed_batch = j->batch;
    } else {
        s->c.commit_failures++;
    }
    if (j->wal_frames < s->wal_frames)
        s->c.wal_restarts++;
    s->wal_frames = j->wal_frames;
    if ((uint64_t)j->wal_frames > s->c.wal_frames_max)
        s->c.wal_frames_max = (uint64_t)j->wal_frames;
    if (j->wal_frames >= WAL_CHECKPOINT_FRAMES && !s->stopping)
        stn_ckpt_kick(s);

    s->inflight = NULL;
    s->answering = j;
    /* Linger: panels answered just now send their next frame about one round
     * trip later. Waiting a little for them (at most half the last commit's
     * time, at most commit_linger_us) lets one commit carry both the frames
     * that arrived during the commit and theirs, instead of two half-full
     * commits taking turns. A duress, a full batch or a stop ends it at once.
     * Without a linger, the next commit starts before this one's replies are
     * written, so the disk works while the loop answers. */
    bool linger = want_linger(s, j);   /* and only if answer() reaches a connection */
    if (!linger || s->pending->has_duress)
        stn_commit_maybe_kick(s);
    size_t conns = answer(s, j);
    if (j->rc == 0 && j->n)
        s->c.answer_us_total += (stn_mono_ns() - t_back) / 1000u;
    if (j->rc == 0 && j->audit_broken && !s->head_frozen) {
        s->head_frozen = true;
        STN_ERROR("audit", "audit entry %lld is no longer in the trail as this station wrote it: "
                  "the trail was changed under the station; the head file is left as it is "
                  "(`vigil audit verify` names the first bad entry)", (long long)j->known_seq);
    }
    if (j->rc == 0 && j->audit_failed)
        STN_ERROR("audit", "%u audit entries of batch %llu could not be appended (what they "
                  "record is stored; `vigil audit verify` checks the rest)", j->audit_failed,
                  (unsigned long long)j->batch);
    /* the audit head file: after the replies are on their way, never before */
    if (j->rc == 0 && j->audit_seq)
        stn_audit_head_note(s, j->audit_seq, j->audit_hash);
    if (linger && conns && !s->inflight) {
        int64_t linger_us = j->commit_us / 2;
        if (linger_us > s->cfg.commit_linger_us)
            linger_us = s->cfg.commit_linger_us;
        s->linger_until_ns = uv_hrtime() + (uint64_t)linger_us * 1000u;
        s->linger_batch = j->batch;
        s->linger_conns = conns;
        s->linger_back = 0;
        s->c.lingers++;
    } else if (!s->inflight) {
        s->linger_until_ns = 0;
    }
    s->supervision_leader = j->leader;
    if (j->accounts_changed)
        stn_accounts_reload(s);
    if (j->accounts_loaded) {
        s->accounts_forced++;
        if (stn_accounts_merge(s, j->rows, j->nrows) != 0)
            STN_ERROR("accounts", "cannot apply the reloaded accounts (out of memory)");
        for (size_t i = 0; i < j->nrows; i++)
            memset(j->rows[i].key, 0, sizeof j->rows[i].key);
    }
    if (j->prune_more && !s->stopping)
        s->want_prune_before_ms = j->prune_before_ms;   /* next step with the next job */
    stn_job_clear(j);
    s->answering = NULL;
    s->batch_answered = true;     /* paused connections read again (main.c, next check) */
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
        s->linger_back < s->linger_conns && !stn_pending_full(s)) {
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
    if (!s->inflight) {
        if (s->linger_until_ns)
            linger_scored(s);
        s->linger_until_ns = 0;
    }
    stn_commit_kick(s);
}

int stn_commit_init(struct stn *s)
{
    size_t cap = (size_t)s->cfg.commit_batch_max;
    for (size_t i = 0; i < sizeof s->jobs / sizeof s->jobs[0]; i++)
        if (stn_job_init(&s->jobs[i], cap, (size_t)s->cfg.control_items_per_batch_max))
            return STN_E_NOMEM;
    s->pending = &s->jobs[0];
    s->inflight = NULL;
    s->answering = NULL;
    s->linger_score = LINGER_SCORE_MAX;
    stn_linger_meter_init(&s->linger_meter);
    s->next_batch = 1;
    s->pending->batch = s->next_batch;
    s->work.data = s;
    uv_timer_init(s->loop, &s->linger);
    s->linger.data = s;
    return 0;
}

void stn_commit_free(struct stn *s)
{
    for (size_t i = 0; i < sizeof s->jobs / sizeof s->jobs[0]; i++)
        stn_job_free(&s->jobs[i]);
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
                       s->want_prune_before_ms || s->wal_finish || s->want_lease;
    if (j->n == 0 && j->nseen == 0 && j->nctl == 0 && j->nnotes == 0 && !maintenance)
        return;
    j->check_accounts = s->want_accounts;
    j->force_accounts = s->force_accounts;
    j->now_ms = stn_now_ms();
    j->known_seq = s->head_want_seq;
    memcpy(j->known_hash, s->head_want, sizeof j->known_hash);
    j->escalate_before_ms = s->want_escalate ?
        alm_escalate_cutoff_ms(j->now_ms, s->cfg.escalate_after_s) : 0;
    j->prune_before_ms = s->want_prune_before_ms;
    j->admin_fee_cents = s->cfg.billing_admin_fee_cents;
    j->setup_session_max_s = s->cfg.setup_session_max_s;
    j->test_mode_max_s = s->cfg.test_mode_max_s;
    j->setup_check = s->want_lease;   /* every tick: test modes and sessions end on time */
    if (s->want_lease)
        stn_control_lease(s, j, j->now_ms);
    s->want_lease = false;
    j->wal_finish = s->wal_finish;
    s->wal_finish = false;
    j->t_kick_ns = stn_mono_ns();
    if (j->n == 0)
        j->t_first_ns = j->t_kick_ns;
    s->want_accounts = s->force_accounts = s->want_escalate = false;
    s->want_prune_before_ms = 0;

    s->inflight = j;
    /* the new pending job: the one neither in flight nor being answered */
    for (size_t i = 0; i < sizeof s->jobs / sizeof s->jobs[0]; i++)
        if (&s->jobs[i] != j && &s->jobs[i] != s->answering) {
            s->pending = &s->jobs[i];
            break;
        }
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
