/*
 * rx.c — what happens to one received frame, TCP or UDP alike, in three
 * steps: gather what is known of it (header, account lookup, full decode with
 * that account's key and quirks, the replay index, the duplicate window, the
 * rate limiter, the pending batch), ask verdict.c's pure rules what becomes
 * of it, and act on the answer: count, log, reply now or put the batch item
 * that carries it to the store (and its reply to after the commit).
 *
 * Replies: CRC/length wrong → silence; timestamp outside the window → NAK
 * (now, never waits for the store); unknown account, bad payload, wrong key,
 * clear frame for a keyed account → DUH after the refused signal (and its
 * alarm) is stored; accepted → ACK or *ACK only after the batch carrying it has
 * committed. Tells the transport whether the frame's CRC and length were good:
 * only such a frame keeps a TCP connection's slot (rx_tcp.c, conns.c).
 * Must never ACK anything before it is durable, never throttle or hold back a
 * duress, and never log a key or the payload of an encrypted frame.
 */
#include "daemon.h"
#include "reply.h"
#include "verdict.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* A replay episode of an account ends after this long without a replay. */
#define REPLAY_QUIET_MS (60 * 1000)

static int copy_common(struct stn_job *j, struct stn_item *it, const uint8_t *frame, size_t len,
                       const char *peer)
{
    if (stn_job_copy(j, frame, len, &it->raw_off))
        return STN_E_NOMEM;
    it->raw_len = len;
    size_t pl = strlen(peer);
    if (stn_job_copy(j, peer, pl, &it->peer_off))
        return STN_E_NOMEM;
    it->peer_len = pl;
    return 0;
}

static void fill_payload(struct stn_item *it, const struct dc09_frame *f)
{
    it->seq = f->seq;
    it->id = (uint8_t)f->id;
    it->encrypted = f->encrypted;
    it->has_cid = f->has_cid;
    it->cid = f->cid;
    it->has_sia = f->has_sia;
    it->sia = f->sia;
    it->has_frame_time = f->has_time;
    it->frame_time_s = f->time_s;
}

/* Sets the reply target of an item (holds a connection reference). */
static void target(struct stn_item *it, const struct stn_reply_to *to)
{
    it->to = *to;
    stn_reply_hold(&it->to);
}

/* A refused signal: kept with an alarm, answered DUH after it is stored.
 * account: the number as stored (upper case). Limits: refused signals are
 * kept up to STN_UNK_RATE_PER_S in total; an unknown account's also up to
 * STN_UNK_SRC_RATE_PER_S per source address, whatever they claim (a readable
 * duress included: anyone can claim one), and they join their source's alarm
 * of the window (unknown.c). Beyond the limits: DUH now, not stored; an
 * unknown account's is counted into its source's alarm within a second. */
static void reject(struct stn *s, const struct stn_reply_to *to, const struct dc09_frame *head,
                   const struct dc09_frame *full, uint32_t account_id, const char *account,
                   const uint8_t *frame, size_t len, int64_t now_ms,
                   const char *reason, const char *kind)
{
    uint8_t duh[200];
    size_t duh_len = 0;
    if (dc09_reply_duh(head, duh, sizeof duh, &duh_len) != 0)
        duh_len = 0;
    struct stn_class cls = { 0 };
    if (full && !full->encrypted)
        stn_classify_frame(full, &cls);
    int priority = kind ? stn_kind_priority(kind) : 0;
    /* a clear payload we could read: an unregistered panel's duress still ranks 1 */
    if (kind && cls.kind && !cls.restore && cls.priority > 0 && cls.priority < priority)
        priority = cls.priority;
    bool unknown = account_id == 0;
    struct stn_usrc *src = NULL;
    if (unknown) {
        src = stn_unknown_source(s, to->conn,
                                 to->conn ? NULL : (const struct sockaddr *)to->peer_addr,
                                 now_ms);
        if (priority < 1 || priority >= STN_UNK_PRIO_N)
            priority = stn_kind_priority("unknown_account");
        if (!src->alarm_account[priority][0])
            snprintf(src->alarm_account[priority], sizeof src->alarm_account[priority], "%s",
                     account);
    }
    bool keep = (!src || stn_bucket_take(&src->bucket, now_ms, STN_UNK_SRC_RATE_PER_S,
                                         STN_UNK_SRC_BURST)) &&
                stn_bucket_take(&s->unknown.total, now_ms, STN_UNK_RATE_PER_S, STN_UNK_BURST) &&
                !stn_pending_full(s);
    struct stn_job *j = s->pending;
    struct stn_item *it = keep ? stn_job_add(j) : NULL;
    char ptxt[64];
    if (it) {
        stn_reply_peer_text(to, ptxt, sizeof ptxt);
        if (copy_common(j, it, frame, len, ptxt)) {
            j->n--;
            it = NULL;
        }
    }
    if (!it) {
        /* too many refused signals to keep them all: answer, count, do not store */
        s->c.refused_unstored++;
        if (src) {
            src->unstored[priority]++;
            src->unstored_last_ms[priority] = now_ms;
            s->unknown.dirty = true;
        }
        STN_INFO("rx", "account %s: %s: refused (DUH) beyond the refused-signal limits: "
                 "not stored%s", account, reason,
                 src ? ", counted in its source's alarm" : "");
        if (duh_len) {
            stn_reply_send(to, duh, duh_len);
            s->c.duhs++;
        }
        return;
    }
    it->type = STN_ITEM_REJECTED;
    it->account_id = account_id;
    snprintf(it->account, sizeof it->account, "%s", account);
    it->received_ms = now_ms;
    it->seq = head->seq;
    it->id = (uint8_t)head->id;
    it->encrypted = head->encrypted;
    it->reason = reason;
    it->kind = kind;
    it->priority = priority;
    if (full && !full->encrypted) {
        fill_payload(it, full);
        it->cls = cls;
    }
    if (src) {
        snprintf(it->alarm_account, sizeof it->alarm_account, "%s",
                 src->alarm_account[priority]);
        char detail[128];
        int dl = snprintf(detail, sizeof detail, "signals of unknown accounts from %s",
                          src->addr);
        if (dl > 0 && stn_job_copy(j, detail, (size_t)dl, &it->detail_off) == 0)
            it->detail_len = (size_t)dl;
    }
    if (duh_len) {
        memcpy(it->reply, duh, duh_len);
        it->reply_len = (uint8_t)duh_len;
        it->reply_kind = 'D';
    }
    target(it, to);
    /* only a registered account's duress hurries the commit (an unknown
     * account's is P1 in the queue, after every registered one) */
    if (it->priority == 1 && !unknown)
        j->has_duress = true;
}

/* The ciphertext of an encrypted frame: from after the data block's '[' to
 * the CR (the header holds no '['). */
static bool cipher_span(const uint8_t *frame, size_t len, const uint8_t **p, size_t *n)
{
    const uint8_t *q = memchr(frame, '"', len);
    if (!q)
        return false;
    const uint8_t *b = memchr(q, '[', len - (size_t)(q - frame));
    if (!b || len < 1 || b + 1 > frame + len - 1)
        return false;
    *p = b + 1;
    *n = (size_t)(frame + len - 1 - (b + 1));
    return *n > 0;
}

/* Counts a frame by its DC-09 id (0: header unreadable) and what became of it. */
static void count_verdict(struct stn *s, unsigned id, int v)
{
    if (v >= 0)
        s->c.frames_by[id < STN_FRAME_IDS ? id : 0u][v]++;
}

/* How long the replay index remembers a block: the time window, at least
 * the duplicate window. */
static int64_t stn_block_window_ms(const struct stn *s)
{
    int64_t bwin = s->cfg.time_window_past_s + s->cfg.time_window_future_s;
    if (bwin < s->cfg.duplicate_window_s)
        bwin = s->cfg.duplicate_window_s;
    return bwin * 1000;
}

/* One frame and everything gathered about it. */
struct rx {
    struct stn *s;
    const struct stn_reply_to *to;
    const uint8_t *frame;
    size_t len;
    int64_t now_ms, now_s;
    struct stn_rx_facts in;
    struct dc09_frame head, f;
    struct dc09_decode_opts o;
    struct dc09_diag diag;             /* the header's, then the full decode's (as it left it) */
    char acct[DC09_ACCOUNT_MAX + 1];   /* the number as stored (replies echo it as sent) */
    struct stn_account *a;
    struct stn_class cls;
    bool has_block;                    /* an encrypted block: the replay index knows it by bh */
    bool block_known;                  /* ... and has it already (whatever its seq) */
    uint64_t bh, hash;                 /* keyed hashes of the block, of the data */
    uint16_t first_seq;                /* replay: the seq the block came with first */
    uint64_t ogen, obatch;             /* duplicate: the original's entry and batch */
};

/* The account by the number as stored, and the full decode with its key,
 * quirks and time window. */
static void gather_decode(struct rx *r)
{
    struct stn *s = r->s;
    size_t an = 0;
    for (; r->head.account[an] && an < DC09_ACCOUNT_MAX; an++)
        r->acct[an] = (char)toupper((unsigned char)r->head.account[an]);
    r->acct[an] = '\0';
    r->a = stn_accounts_find(&s->accounts, r->acct);
    struct stn_rx_account ra;
    if (r->a) {
        ra.quirks = r->a->quirks;
        ra.cipher = r->a->has_key ? &r->a->cipher.base : NULL;
        ra.window_past_s = r->a->window_past_s;
        ra.window_future_s = r->a->window_future_s;
    }
    stn_rx_read_frame(r->frame, r->len, r->a ? &ra : NULL, r->now_s,
                      (int32_t)s->cfg.time_window_past_s, (int32_t)s->cfg.time_window_future_s,
                      &r->in, &r->o, &r->f, &r->diag);
}

/* A frame decoded for a registered account: the account was heard from
 * (supervision), whatever the verdict; then its class, and what the replay
 * index, the duplicate window, the rate limiter and the batch say. Reads
 * only: what they keep is changed by act() once the verdict is known. */
static void gather_accepted(struct rx *r)
{
    struct stn *s = r->s;
    struct stn_account *a = r->a;
    const struct dc09_frame *f = &r->f;
    stn_account_seen(s, a, r->now_ms);
    stn_rx_classify(f, &r->in, &r->cls);

    /* replays: an encrypted block is sent once (a retry is encrypted again,
     * with a fresh pad); the same block seen within the window under another
     * sequence number is a captured frame with its header rewritten. The same
     * block with the same sequence number goes on as a retry would. */
    const uint8_t *cp;
    size_t cn;
    if (f->encrypted && cipher_span(r->frame, r->len, &cp, &cn)) {
        r->has_block = true;
        r->bh = stn_dedup_hash(&s->blocks, cp, cn);
        uint16_t first_seq = 0;
        r->block_known = stn_blocks_find(&s->blocks, a->id, r->bh, r->now_ms,
                                         stn_block_window_ms(s), &first_seq) != 0;
        r->in.replay = r->block_known && first_seq != f->seq;
        r->first_seq = first_seq;
    }
    /* duplicates: same account, seq and data block within the window */
    if (!r->in.poll) {
        r->hash = stn_dedup_hash(&s->dedup, f->data, f->data_len);
        r->ogen = stn_dedup_find(&s->dedup, a->id, f->seq, r->hash, r->now_ms,
                                 s->cfg.duplicate_window_s * 1000, &r->obatch);
        r->in.duplicate = r->ogen != 0;
    }
    /* the rate limit, asked on a copy of the bucket (act() takes the token) */
    struct stn_bucket peek = a->bucket;
    r->in.rate_ok = stn_bucket_take(&peek, r->now_ms, s->cfg.account_rate_per_s,
                                    s->cfg.account_burst);
    r->in.batch_full = stn_pending_full(s);
}

static void send_nak(struct rx *r)
{
    uint8_t nak[96];
    size_t nl = 0;
    if (dc09_reply_nak(r->now_s, nak, sizeof nak, &nl) == 0) {
        stn_reply_send(r->to, nak, nl);
        r->s->c.naks++;
    }
}

static void send_duh(struct rx *r)
{
    uint8_t duh[200];
    size_t dl = 0;
    if (dc09_reply_duh(&r->head, duh, sizeof duh, &dl) == 0) {
        stn_reply_send(r->to, duh, dl);
        r->s->c.duhs++;
    }
}

/* The frames that decoded for a registered account but are not stored:
 * counters, log lines, alarms, the NAK or DUH now. */
static void act_refused(struct rx *r, const struct stn_rx_verdict *v)
{
    struct stn *s = r->s;
    struct stn_account *a = r->a;
    const char *who = stn_reply_who(r->to);
    switch (v->why) {
    case STN_WHY_TIME:
        s->c.time_rejects++;
        if (r->head.encrypted) {
            s->c.replays++;
            STN_WARN("rx", "account %s seq %04u: timestamp outside the window: possible replay; NAK",
                     a->number, r->head.seq);
        } else {
            STN_INFO("rx", "account %s seq %04u: timestamp outside the window; NAK",
                     a->number, r->head.seq);
        }
        send_nak(r);
        return;
    case STN_WHY_CRYPTO:
        STN_ERROR("rx", "account %s: the crypto back end failed: no reply", a->number);
        return;
    case STN_WHY_REPLAY:
        s->c.replays++;
        STN_WARN("rx", "account %s seq %04u from %s: encrypted block already received "
                 "with seq %04u: replay, refused (DUH), not stored", a->number, r->f.seq,
                 who, r->first_seq);
        if (r->now_ms >= a->replay_until_ms) {
            char detail[160];
            char ptxt[64];
            stn_reply_peer_text(r->to, ptxt, sizeof ptxt);
            snprintf(detail, sizeof detail, "a captured frame sent again with its header "
                     "rewritten (seq %04u, first seen as %04u) from %s", r->f.seq, r->first_seq,
                     ptxt);
            stn_raise_own_alarm(s, a->number, a->id, "replay", r->now_ms, detail);
        }
        a->replay_until_ms = r->now_ms + REPLAY_QUIET_MS;
        send_duh(r);
        return;
    case STN_WHY_THROTTLED:
        s->c.throttled++;
        if (!a->flooding) {
            a->flooding = true;
            STN_WARN("rx", "account %s exceeds %lld frames/s: routine frames unanswered, "
                     "flood alarm", a->number, (long long)s->cfg.account_rate_per_s);
            stn_raise_own_alarm(s, a->number, a->id, "flood", r->now_ms,
                                "frames beyond the account's rate were not acknowledged");
        }
        return;
    case STN_WHY_BUSY:
        /* the batch is full: no ACK, the panel retries; the transport stops
         * reading the connection until it commits */
        s->c.batch_full_drops++;
        return;
    default:
        return;
    }
}

/* A refused signal kept with its alarm: counters and log line, then reject(). */
static void act_duh_store(struct rx *r, const struct stn_rx_verdict *v)
{
    struct stn *s = r->s;
    struct stn_account *a = r->a;
    const struct dc09_frame *full = NULL;
    switch (v->why) {
    case STN_WHY_UNKNOWN_ACCOUNT:
        s->c.unknown_accounts++;
        STN_WARN("rx", "unknown account %s (%s%s%s) from %s: refused", r->acct,
                 r->head.encrypted ? "*" : "", dc09_id_name(r->head.id),
                 r->in.no_line ? ", no L token" : "", stn_reply_who(r->to));
        reject(s, r->to, &r->head, r->in.rc == 0 ? &r->f : NULL, 0, r->acct, r->frame, r->len,
               r->now_ms, v->reason, v->kind);
        return;
    case STN_WHY_CLEAR_ON_KEYED:
        s->c.clear_on_keyed++;
        STN_WARN("rx", "account %s has a key but sent a clear frame: refused", a->number);
        break;
    case STN_WHY_DECRYPT:
        s->c.decrypt_failures++;
        STN_WARN("rx", "account %s: frame cannot be decrypted (%s): refused",
                 a->number, dc09_errname(r->in.rc));
        break;
    case STN_WHY_NO_LINE:
        /* an outside dialler's frame without the L token: DUH (so it does
         * not retry for ever), logged once per account */
        s->c.format_errors++;
        if (!a->no_line_logged) {
            a->no_line_logged = true;
            STN_WARN("rx", "account %s: frame without the L token: refused (DUH); the "
                     "account's quirk no-line accepts such frames (logged once)", a->number);
        }
        break;
    case STN_WHY_FORMAT:
        s->c.format_errors++;
        STN_WARN("rx", "account %s: malformed frame (%s at %s): refused", a->number,
                 dc09_errname(r->in.rc), r->in.diag_field ? r->in.diag_field : "?");
        break;
    case STN_WHY_PAYLOAD:
        s->c.format_errors++;
        STN_WARN("rx", "account %s seq %04u: payload not understood: refused", a->number,
                 r->f.seq);
        full = &r->f;
        break;
    default:
        return;
    }
    reject(s, r->to, &r->head, full, a->id, a->number, r->frame, r->len, r->now_ms, v->reason,
           v->kind);
}

/* A retry of an event already taken: ACK again, stored once — now if the
 * original is durable, else with its batch (or the next). */
static int act_retry(struct rx *r)
{
    struct stn *s = r->s;
    s->c.duplicates++;
    uint8_t ack[200];
    size_t al = 0;
    if (dc09_reply_ack(&r->f, r->o.cipher, &dc09_ossl_rng, r->now_s, ack, sizeof ack, &al) != 0)
        return STN_V_DUPLICATE;
    STN_INFO("rx", "account %s seq %04u: duplicate, ACK again, stored once",
             r->a->number, r->f.seq);
    if (r->obatch <= s->committed_batch) {
        stn_reply_send(r->to, ack, al);
        s->c.acks++;
        return STN_V_DUPLICATE;
    }
    struct stn_item *it = stn_job_add(s->pending);
    if (!it)
        return STN_V_DUPLICATE;
    it->type = STN_ITEM_ACK_ONLY;
    it->dedup_gen = r->ogen;
    it->orig_batch = r->obatch;
    memcpy(it->reply, ack, al);
    it->reply_len = (uint8_t)al;
    it->reply_kind = 'A';
    target(it, r->to);
    return STN_V_DUPLICATE;
}

/* An event or a poll taken for storage, its ACK built now and sent after the
 * commit. Returns the frame's verdict: ACK, or NO_REPLY when it could not be
 * taken (memory, the ACK's encryption). */
static int act_take(struct rx *r)
{
    struct stn *s = r->s;
    struct stn_account *a = r->a;
    const struct dc09_frame *f = &r->f;
    struct stn_job *j = s->pending;
    struct stn_item *it = stn_job_add(j);
    if (!it) {
        STN_ERROR("rx", "out of memory: frame of account %s unanswered", a->number);
        return STN_V_NO_REPLY;
    }
    size_t rl = 0;
    int rc = dc09_reply_ack(f, r->o.cipher, &dc09_ossl_rng, r->now_s, it->reply,
                            sizeof it->reply, &rl);
    if (rc != 0) {
        j->n--;
        STN_ERROR("rx", "account %s: cannot build the ACK: %s", a->number, dc09_strerror(rc));
        return STN_V_NO_REPLY;
    }
    it->reply_len = (uint8_t)rl;
    it->reply_kind = 'A';
    it->account_id = a->id;
    memcpy(it->account, a->number, sizeof it->account);
    it->received_ms = r->now_ms;
    fill_payload(it, f);
    it->cls = r->cls;
    if (r->in.poll) {
        it->type = STN_ITEM_POLL;
        s->c.polls++;
    } else {
        char ptxt[64];
        stn_reply_peer_text(r->to, ptxt, sizeof ptxt);
        if (copy_common(j, it, r->frame, r->len, ptxt) ||
            stn_job_copy(j, f->data, f->data_len, &it->data_off)) {
            j->n--;
            STN_ERROR("rx", "out of memory: frame of account %s unanswered", a->number);
            return STN_V_NO_REPLY;
        }
        it->data_len = f->data_len;
        it->type = STN_ITEM_EVENT;
        it->dedup_gen = stn_dedup_insert(&s->dedup, a->id, f->seq, r->hash, r->now_ms, j->batch);
        if (r->in.duress) {
            j->has_duress = true;
            s->c.duress_rx++;
            STN_WARN("rx", "account %s: %s (priority 1) received account=%s kind=%s priority=1 "
                     "seq=%04u", a->number, r->cls.kind, a->number, r->cls.kind, f->seq);
        }
    }
    target(it, r->to);
    s->c.frames_ok++;
    return STN_V_ACK;
}

/* What the station's state keeps of a frame decoded for a registered account
 * that got as far as the windows: its encrypted block (the replay index), and
 * a routine frame's token (an episode of flooding ends once the bucket has
 * refilled completely). */
static void note_windows(struct rx *r, const struct stn_rx_verdict *v)
{
    struct stn *s = r->s;
    struct stn_account *a = r->a;
    if (v->why == STN_WHY_PAYLOAD || v->why == STN_WHY_REPLAY)
        return;
    if (r->has_block && !r->block_known)   /* (nothing was inserted since gather_accepted) */
        stn_blocks_insert(&s->blocks, a->id, r->f.seq, r->bh, r->now_ms);
    if (v->why == STN_WHY_DUPLICATE || r->in.urgent)
        return;
    if (a->flooding && stn_bucket_full(&a->bucket, r->now_ms, s->cfg.account_rate_per_s,
                                       s->cfg.account_burst))
        a->flooding = false;
    (void)stn_bucket_take(&a->bucket, r->now_ms, s->cfg.account_rate_per_s,
                          s->cfg.account_burst);
}

/* Acts on the verdict; returns the frames_by column to count (-1: none). */
static int act(struct rx *r, const struct stn_rx_verdict *v)
{
    struct stn *s = r->s;
    const char *who = stn_reply_who(r->to);
    if (r->in.known && r->in.rc == 0)
        note_windows(r, v);
    switch (v->why) {
    case STN_WHY_UNREADABLE:
        s->c.format_errors++;
        STN_INFO("rx", "unreadable frame header from %s: %s (%s)", who,
                 dc09_errname(r->in.head_rc), r->in.diag_field ? r->in.diag_field : "?");
        return v->metric;
    case STN_WHY_CRC:
    case STN_WHY_LENGTH:
        if (v->why == STN_WHY_CRC) s->c.crc_errors++; else s->c.length_errors++;
        if (r->a)
            STN_INFO("rx", "%s error in frame of account %s: no reply", dc09_errname(r->in.rc),
                     r->a->number);
        else
            STN_INFO("rx", "%s error in frame from %s: no reply", dc09_errname(r->in.rc), who);
        return v->metric;
    default:
        break;
    }
    switch (v->act) {
    case STN_ACT_DUH_STORE:
        act_duh_store(r, v);
        return v->metric;
    case STN_ACT_ACK_RETRY:
        return act_retry(r);
    case STN_ACT_ACK_COMMIT:
        return act_take(r);
    default:
        act_refused(r, v);
        return v->metric;
    }
}

void stn_rx_frame(struct stn *s, const struct stn_reply_to *to, const uint8_t *frame,
                  size_t len, struct stn_rx_result *out)
{
    struct rx r;
    memset(&r.in, 0, sizeof r.in);
    r.s = s;
    r.to = to;
    r.frame = frame;
    r.len = len;
    r.now_ms = stn_now_ms();
    r.now_s = r.now_ms / 1000;
    r.a = NULL;
    r.has_block = false;
    r.block_known = false;
    memset(&r.diag, 0, sizeof r.diag);
    r.in.transport = to->conn ? STN_TR_TCP : STN_TR_UDP;
    s->c.frames_rx++;

    stn_rx_read_head(frame, len, &r.in, &r.head, &r.diag);
    if (r.in.head_rc == 0) {
        gather_decode(&r);
        if (r.a && r.in.rc == 0)
            gather_accepted(&r);
    }
    struct stn_rx_verdict v;
    stn_verdict_decide(&r.in, &v);
    int metric = act(&r, &v);
    /* by the id as decoded: the header's, or the frame's once it decoded for an account */
    unsigned id = r.in.head_rc != 0 ? 0u
                : (unsigned)(r.a && r.in.rc == 0 ? r.f.id : r.head.id);
    count_verdict(s, id, metric);

    memset(out, 0, sizeof *out);
    out->valid = v.why != STN_WHY_UNREADABLE && v.why != STN_WHY_CRC &&
                 v.why != STN_WHY_LENGTH;
    out->accepted = r.a && r.in.rc == 0;
    out->framing = out->accepted ? (r.a->quirks & DC09_Q_BINARY_CRC) : 0;
    out->pause = v.pause;
}

void stn_rx_dropped(struct stn *s, const struct stn_reply_to *to, size_t len, int err)
{
    struct stn_rx_facts in = { .transport = to->conn ? STN_TR_TCP : STN_TR_UDP,
                               .framing_rc = err };
    struct stn_rx_verdict v;
    stn_verdict_decide(&in, &v);
    if (v.why == STN_WHY_OVERSIZE) {
        s->c.oversize++;
        if (to->conn)
            STN_WARN("rx", "%s: frame longer than %lld bytes dropped (%s)", stn_reply_who(to),
                     (long long)s->cfg.frame_bytes_max, dc09_errname(err));
        else
            STN_WARN("rx", "udp datagram of %zu bytes exceeds frame_bytes_max: dropped", len);
    } else {
        /* binary-CRC framing whose length field did not end at a CR */
        s->c.format_errors++;
        STN_WARN("rx", "%s: %zu bytes dropped: length field does not end at a CR (%s)",
                 stn_reply_who(to), len, dc09_errname(err));
    }
}
