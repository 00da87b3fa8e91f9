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

#include <errno.h>
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
    } else if (s->head_rc == -ENOENT) {
        s->head_frozen = true;   /* removed under the station: evidence, not recreated */
        STN_ERROR("audit", "the audit head file beside %s was removed: it is not recreated "
                  "(`vigil audit verify` reports it)", stn_wstore_path(s->ws));
    } else {
        STN_ERROR("audit", "cannot write the audit head file beside %s: %s (retried with the "
                  "next entry)", stn_wstore_path(s->ws), strerror(-s->head_rc));
    }
    if (s->head_rc == 0)
        head_kick(s);   /* a stop's maybe_finish waits for this (on_check runs next) */
}

static void head_kick(struct stn *s)
{
    if (s->head_busy || s->head_frozen || s->head_want_seq <= s->head_done_seq)
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

/* At the start: the head file must name an entry the trail still has, with
 * its hash; else (edited, recomputed, truncated, an older copy of the store
 * put back, the file removed) it is left as it is, as evidence, and this
 * station never moves it. */
static void check_head_at_start(struct stn *s)
{
    int64_t head_seq = 0;
    char head[65];
    int hr = stn_audit_head_read(stn_wstore_path(s->ws), &head_seq, head);
    if (hr == -ENOENT) {
        /* no head file: fine for an empty trail (a new or upgraded store) */
        int64_t last = 0;
        char h[65];
        if (stn_wstore_audit_last(s->ws, &last, h) == 0 && last > 0) {
            s->head_frozen = true;
            STN_ERROR("audit", "the audit head file beside %s is missing but the trail has %lld "
                      "entries: it is not recreated (`vigil audit verify` reports it)",
                      stn_wstore_path(s->ws), (long long)last);
        }
        return;
    }
    if (hr != 0 || stn_wstore_audit_has(s->ws, head_seq, head) != 1) {
        s->head_frozen = true;
        STN_ERROR("audit", "the audit head file names entry %lld, which the store's trail does "
                  "not hold with that hash: the trail was changed; the head file is left as it "
                  "is (`vigil audit verify` names the first bad entry)", (long long)head_seq);
    }
}

int stn_audit_station(struct stn *s, const char *kind, const char *after)
{
    int64_t seq = 0;
    char hash[65];
    if (strcmp(kind, "station.start") == 0)
        check_head_at_start(s);
    int rc = stn_wstore_audit(s->ws, kind, after, &seq, hash);
    if (rc != 0) {
        STN_ERROR("audit", "cannot append %s to the audit trail", kind);
        return rc;
    }
    if (seq > s->head_want_seq) {
        s->head_want_seq = seq;
        memcpy(s->head_want, hash, sizeof s->head_want);
    }
    if (s->head_frozen)
        return 0;
    int hr = stn_audit_head_write(stn_wstore_path(s->ws), seq, hash);
    if (hr != 0)
        STN_ERROR("audit", "cannot write the audit head file beside %s: %s",
                  stn_wstore_path(s->ws), strerror(-hr));
    else if (seq > s->head_done_seq)
        s->head_done_seq = seq;
    return 0;
}
