/*
 * audit_head.c — the daemon's side of the audit trail's head file
 * (docs/audit.md): after each commit that appended entries, the chain's head
 * (seq + hash) is written beside the store, fsync'd, on the thread pool.
 *
 * Why not inside the commit: a batch's ACKs (a duress's among them) are sent
 * as soon as COMMIT returns; the head file's two fsyncs must not stand
 * between them. The file so trails the table by at most the writes in
 * flight; `vigil audit verify` checks the entry it names and reports the
 * newer ones as not yet covered. Must never: run two writes at once, or
 * write a head older than one already written.
 */
#include "daemon.h"
#include "vigil/audit.h"

#include <string.h>

static void head_kick(struct stn *s);

static void head_work_cb(uv_work_t *req)
{
    struct stn *s = req->data;
    s->head_rc = stn_audit_head_write(stn_wstore_path(s->ws), s->head_job_seq, s->head_job);
}

static void head_after_cb(uv_work_t *req, int status)
{
    struct stn *s = req->data;
    (void)status;
    s->head_busy = false;
    if (s->head_rc == 0) {
        s->head_done_seq = s->head_job_seq;
    } else {
        STN_ERROR("audit", "cannot write the audit head file beside %s: %s (retried with the "
                  "next entry)", stn_wstore_path(s->ws), strerror(-s->head_rc));
    }
    if (s->head_rc == 0)
        head_kick(s);   /* a stop's maybe_finish waits for this (on_check runs next) */
}

static void head_kick(struct stn *s)
{
    if (s->head_busy || s->head_want_seq <= s->head_done_seq)
        return;
    s->head_job_seq = s->head_want_seq;
    memcpy(s->head_job, s->head_want, sizeof s->head_job);
    s->head_busy = true;
    s->head_work.data = s;
    if (uv_queue_work(s->loop, &s->head_work, head_work_cb, head_after_cb) != 0) {
        /* cannot happen with a live loop; write it here rather than not at all */
        head_work_cb(&s->head_work);
        head_after_cb(&s->head_work, 0);
    }
}

void stn_audit_head_note(struct stn *s, int64_t seq, const char *hash)
{
    if (seq <= s->head_want_seq)
        return;
    s->head_want_seq = seq;
    snprintf(s->head_want, sizeof s->head_want, "%s", hash);
    head_kick(s);
}

int stn_audit_station(struct stn *s, const char *kind, const char *after)
{
    int64_t seq = 0, head_seq = 0;
    char hash[65], head[65];
    int rc = stn_wstore_audit(s->ws, kind, after, &seq, hash);
    /* a head file ahead of the table: entries were lost (an older copy of
     * the store put back?); the head is left as it is, as evidence */
    if (rc == 0 && stn_audit_head_read(stn_wstore_path(s->ws), &head_seq, head) == 0 &&
        head_seq >= seq)
        STN_ERROR("audit", "the audit head file names entry %lld but the store's trail ends at "
                  "%lld: entries are missing (`vigil audit verify` reports it)",
                  (long long)head_seq, (long long)seq - 1);
    if (rc != 0) {
        STN_ERROR("audit", "cannot append %s to the audit trail", kind);
        return rc;
    }
    if (seq > s->head_want_seq) {
        s->head_want_seq = seq;
        memcpy(s->head_want, hash, sizeof s->head_want);
    }
    int hr = stn_audit_head_write(stn_wstore_path(s->ws), seq, hash);
    if (hr != 0)
        STN_ERROR("audit", "cannot write the audit head file beside %s: %s",
                  stn_wstore_path(s->ws), strerror(-hr));
    else if (seq > s->head_done_seq)
        s->head_done_seq = seq;
    return 0;
}
