/*
 * rx.c — what happens to one received frame, TCP or UDP alike: header,
 * account lookup, full decode with that account's key and quirks, the reply
 * rules of docs/DC09.md, duplicates, the rate limit, and the batch item that
 * carries it to the store.
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

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* A replay episode of an account ends after this long without a replay. */
#define REPLAY_QUIET_MS (60 * 1000)

static void peer_text(struct stn_conn *conn, const struct sockaddr *peer, char *out, size_t cap)
{
    if (conn) {
        snprintf(out, cap, "%s", conn->peer);
        return;
    }
    char host[64] = "?";
    int port = 0;
    if (peer && peer->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const void *)peer;
        uv_ip4_name(a, host, sizeof host);
        port = ntohs(a->sin_port);
    } else if (peer && peer->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const void *)peer;
        uv_ip6_name(a, host, sizeof host);
        port = ntohs(a->sin6_port);
    }
    snprintf(out, cap, "udp %s:%d", host, port);
}

static void send_now(struct stn_conn *conn, struct stn_listener *l, const struct sockaddr *peer,
                     const uint8_t *p, size_t len)
{
    if (conn)
        stn_conn_send(conn, p, len);
    else if (l)
        stn_udp_send(l, peer, p, len);
}

/* Sets the reply target of an item (takes a connection reference). */
static void target(struct stn_item *it, struct stn_conn *conn, struct stn_listener *l,
                   const struct sockaddr *peer)
{
    if (conn) {
        it->conn = conn;
        conn->refs++;
    } else {
        it->udp = l;
        size_t n = peer->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                               : sizeof(struct sockaddr_in);
        memcpy(it->peer_addr, peer, n);
    }
}

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

/* A refused signal: kept with an alarm, answered DUH after it is stored.
 * account: the number as stored (upper case). Limits: refused signals are
 * kept up to STN_UNK_RATE_PER_S in total; an unknown account's also up to
 * STN_UNK_SRC_RATE_PER_S per source address, whatever they claim (a readable
 * duress included: anyone can claim one), and they join their source's alarm
 * of the window (unknown.c). Beyond the limits: DUH now, not stored; an
 * unknown account's is counted into its source's alarm within a second. */
static void reject(struct stn *s, struct stn_conn *conn, struct stn_listener *l,
                   const struct sockaddr *peer, const struct dc09_frame *head,
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
        src = stn_unknown_source(s, conn, peer, now_ms);
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
        peer_text(conn, peer, ptxt, sizeof ptxt);
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
            send_now(conn, l, peer, duh, duh_len);
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
    target(it, conn, l, peer);
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

static bool cipher_error(int rc)
{
    return rc == DC09_E_DECRYPT || rc == DC09_E_PAD || rc == DC09_E_NOKEY;
}

/* Counts a frame by its DC-09 id (0: header unreadable) and what became of it. */
#define VERDICT(id, v) \
    (s->c.frames_by[(unsigned)(id) < STN_FRAME_IDS ? (unsigned)(id) : 0u][(v)]++)

bool stn_rx_frame(struct stn *s, struct stn_conn *conn, struct stn_listener *l,
                  const struct sockaddr *peer, const uint8_t *frame, size_t len)
{
    int64_t now_ms = stn_now_ms();
    int64_t now_s = now_ms / 1000;
    s->c.frames_rx++;
    if (conn && s->linger_until_ns && conn->answered_batch == s->linger_batch) {
        conn->answered_batch = 0;    /* a panel the linger waits for is back */
        s->linger_back++;
    }

    struct dc09_frame head;
    struct dc09_diag diag = { 0 };
    int rc = dc09_decode_head(frame, len, DC09_Q_BARE_L, &head, &diag);
    if (rc != 0)
        rc = dc09_decode_head(frame, len, DC09_Q_BARE_L | DC09_Q_BINARY_CRC, &head, &diag);
    /* a header without the L token (some outside diallers): readable enough to
     * answer; accepted only for an account with the no-line quirk */
    bool no_line = false;
    if (rc != 0 && diag.field && strcmp(diag.field, "line") == 0) {
        struct dc09_diag d2 = { 0 };
        int r2 = dc09_decode_head(frame, len, DC09_Q_BARE_L | DC09_Q_NO_LINE, &head, &d2);
        if (r2 != 0)
            r2 = dc09_decode_head(frame, len, DC09_Q_BARE_L | DC09_Q_NO_LINE | DC09_Q_BINARY_CRC,
                                  &head, &d2);
        if (r2 == 0) {
            rc = 0;
            no_line = true;
        }
    }
    if (rc != 0) {
        /* nothing to echo in a reply: stay silent */
        s->c.format_errors++;
        VERDICT(0, STN_V_UNREADABLE);
        STN_INFO("rx", "unreadable frame header from %s: %s (%s)",
                 conn ? conn->peer : "udp", dc09_errname(rc), diag.field ? diag.field : "?");
        return false;
    }

    /* the number as stored, used everywhere from here (replies echo it as sent) */
    char acct[DC09_ACCOUNT_MAX + 1];
    size_t an = 0;
    for (; head.account[an] && an < DC09_ACCOUNT_MAX; an++)
        acct[an] = (char)toupper((unsigned char)head.account[an]);
    acct[an] = '\0';

    struct stn_account *a = stn_accounts_find(&s->accounts, acct);
    struct dc09_frame f;
    struct dc09_decode_opts o;
    dc09_decode_opts_init(&o, now_s);
    o.window_past_s = (int32_t)s->cfg.time_window_past_s;
    o.window_future_s = (int32_t)s->cfg.time_window_future_s;

    if (!a) {
        o.check_time = false;
        if (no_line)
            o.quirks = DC09_Q_NO_LINE;   /* read a clear payload all the same */
        rc = dc09_decode(frame, len, &o, &f, &diag);
        if (rc == DC09_E_CRC || rc == DC09_E_LENGTH) {
            if (rc == DC09_E_CRC) s->c.crc_errors++; else s->c.length_errors++;
            VERDICT(head.id, rc == DC09_E_CRC ? STN_V_CRC_ERROR : STN_V_LENGTH_ERROR);
            STN_INFO("rx", "%s error in frame from %s: no reply", dc09_errname(rc),
                     conn ? conn->peer : "udp");
            return false;
        }
        s->c.unknown_accounts++;
        VERDICT(head.id, STN_V_DUH);
        STN_WARN("rx", "unknown account %s (%s%s%s) from %s: refused", acct,
                 head.encrypted ? "*" : "", dc09_id_name(head.id),
                 no_line ? ", no L token" : "", conn ? conn->peer : "udp");
        reject(s, conn, l, peer, &head, rc == 0 ? &f : NULL, 0, acct, frame, len, now_ms,
               "unknown_account", "unknown_account");
        return true;
    }

    o.quirks = a->quirks;
    o.cipher = a->has_key ? &a->cipher.base : NULL;
    if (a->window_past_s >= 0)
        o.window_past_s = a->window_past_s;
    if (a->window_future_s >= 0)
        o.window_future_s = a->window_future_s;
    o.check_time = true;
    rc = dc09_decode(frame, len, &o, &f, &diag);
    switch (rc) {
    case 0:
        break;
    case DC09_E_CRC:
    case DC09_E_LENGTH:
        if (rc == DC09_E_CRC) s->c.crc_errors++; else s->c.length_errors++;
        VERDICT(head.id, rc == DC09_E_CRC ? STN_V_CRC_ERROR : STN_V_LENGTH_ERROR);
        STN_INFO("rx", "%s error in frame of account %s: no reply", dc09_errname(rc), a->number);
        return false;
    case DC09_E_TIME: {
        uint8_t nak[96];
        size_t nl = 0;
        s->c.time_rejects++;
        VERDICT(head.id, STN_V_NAK);
        if (head.encrypted) {
            s->c.replays++;
            STN_WARN("rx", "account %s seq %04u: timestamp outside the window: possible replay; NAK",
                     a->number, head.seq);
        } else {
            STN_INFO("rx", "account %s seq %04u: timestamp outside the window; NAK",
                     a->number, head.seq);
        }
        if (dc09_reply_nak(now_s, nak, sizeof nak, &nl) == 0) {
            send_now(conn, l, peer, nak, nl);
            s->c.naks++;
        }
        return true;
    }
    case DC09_E_CLEAR:
        s->c.clear_on_keyed++;
        VERDICT(head.id, STN_V_DUH);
        STN_WARN("rx", "account %s has a key but sent a clear frame: refused", a->number);
        reject(s, conn, l, peer, &head, NULL, a->id, a->number, frame, len, now_ms,
               "clear_on_keyed", "clear_on_keyed");
        return true;
    case DC09_E_CRYPTO:
        VERDICT(head.id, STN_V_NO_REPLY);
        STN_ERROR("rx", "account %s: the crypto back end failed: no reply", a->number);
        return true;
    default:
        VERDICT(head.id, STN_V_DUH);
        if (cipher_error(rc)) {
            s->c.decrypt_failures++;
            STN_WARN("rx", "account %s: frame cannot be decrypted (%s): refused",
                     a->number, dc09_errname(rc));
            reject(s, conn, l, peer, &head, NULL, a->id, a->number, frame, len, now_ms,
                   "decrypt", "decrypt_failure");
        } else if (no_line && diag.field && strcmp(diag.field, "line") == 0) {
            /* an outside dialler's frame without the L token: DUH (so it does
             * not retry for ever), logged once per account */
            s->c.format_errors++;
            if (!a->no_line_logged) {
                a->no_line_logged = true;
                STN_WARN("rx", "account %s: frame without the L token: refused (DUH); the "
                         "account's quirk no-line accepts such frames (logged once)", a->number);
            }
            reject(s, conn, l, peer, &head, NULL, a->id, a->number, frame, len, now_ms,
                   "no_line", "unknown_event");
        } else {
            s->c.format_errors++;
            STN_WARN("rx", "account %s: malformed frame (%s at %s): refused", a->number,
                     dc09_errname(rc), diag.field ? diag.field : "?");
            reject(s, conn, l, peer, &head, NULL, a->id, a->number, frame, len, now_ms,
                   "format", "unknown_event");
        }
        return true;
    }

    if (conn) {   /* framing follows the account (a binary CRC may hold CR or LF) */
        conn->reader.quirks = a->quirks & DC09_Q_BINARY_CRC;
        conn->framed = true;
    }

    stn_account_seen(s, a, now_ms);

    struct stn_class cls;
    stn_classify_frame(&f, &cls);
    bool duress = stn_class_is_duress(&cls);
    bool poll = f.id == DC09_ID_NULL;
    if (!poll && !f.has_cid && !f.has_sia) {
        s->c.format_errors++;
        VERDICT(f.id, STN_V_DUH);
        STN_WARN("rx", "account %s seq %04u: payload not understood: refused", a->number, f.seq);
        reject(s, conn, l, peer, &head, &f, a->id, a->number, frame, len, now_ms, "payload",
               "unknown_event");
        return true;
    }

    /* replays: an encrypted block is sent once (a retry is encrypted again,
     * with a fresh pad); the same block seen within the window under another
     * sequence number is a captured frame with its header rewritten: no ACK,
     * nothing stored, counted, one alarm per episode. The same block with the
     * same sequence number goes on as a retry would (duplicate: ACK again). */
    const uint8_t *cp;
    size_t cn;
    if (f.encrypted && cipher_span(frame, len, &cp, &cn)) {
        uint64_t bh = stn_dedup_hash(&s->blocks, cp, cn);
        int64_t bwin = s->cfg.time_window_past_s + s->cfg.time_window_future_s;
        if (bwin < s->cfg.duplicate_window_s)
            bwin = s->cfg.duplicate_window_s;
        uint16_t first_seq = 0;
        if (stn_blocks_find(&s->blocks, a->id, bh, now_ms, bwin * 1000, &first_seq) &&
            first_seq != f.seq) {
            s->c.replays++;
            VERDICT(f.id, STN_V_REPLAY);
            STN_WARN("rx", "account %s seq %04u from %s: encrypted block already received "
                     "with seq %04u: replay, refused (DUH), not stored", a->number, f.seq,
                     conn ? conn->peer : "udp", first_seq);
            if (now_ms >= a->replay_until_ms) {
                char detail[160];
                char ptxt[64];
                peer_text(conn, peer, ptxt, sizeof ptxt);
                snprintf(detail, sizeof detail, "a captured frame sent again with its header "
                         "rewritten (seq %04u, first seen as %04u) from %s", f.seq, first_seq,
                         ptxt);
                stn_raise_own_alarm(s, a->number, a->id, "replay", now_ms, detail);
            }
            a->replay_until_ms = now_ms + REPLAY_QUIET_MS;
            uint8_t duh[200];
            size_t dl = 0;
            if (dc09_reply_duh(&head, duh, sizeof duh, &dl) == 0) {
                send_now(conn, l, peer, duh, dl);
                s->c.duhs++;
            }
            return true;
        }
        if (!stn_blocks_find(&s->blocks, a->id, bh, now_ms, bwin * 1000, NULL))
            stn_blocks_insert(&s->blocks, a->id, f.seq, bh, now_ms);
    }

    /* duplicates: same account, seq and data block within the window */
    uint64_t hash = 0;
    if (!poll) {
        hash = stn_dedup_hash(&s->dedup, f.data, f.data_len);
        uint64_t obatch = 0;
        uint64_t ogen = stn_dedup_find(&s->dedup, a->id, f.seq, hash, now_ms,
                                       s->cfg.duplicate_window_s * 1000, &obatch);
        if (ogen) {
            s->c.duplicates++;
            VERDICT(f.id, STN_V_DUPLICATE);
            uint8_t ack[200];
            size_t al = 0;
            if (dc09_reply_ack(&f, o.cipher, &dc09_ossl_rng, now_s, ack, sizeof ack, &al) != 0)
                return true;
            STN_INFO("rx", "account %s seq %04u: duplicate, ACK again, stored once",
                     a->number, f.seq);
            if (obatch <= s->committed_batch) {
                send_now(conn, l, peer, ack, al);
                s->c.acks++;
                return true;
            }
            /* the original is not durable yet: answer with its batch (or the next) */
            struct stn_item *it = stn_job_add(s->pending);
            if (!it)
                return true;
            it->type = STN_ITEM_ACK_ONLY;
            it->dedup_gen = ogen;
            it->orig_batch = obatch;
            memcpy(it->reply, ack, al);
            it->reply_len = (uint8_t)al;
            it->reply_kind = 'A';
            target(it, conn, l, peer);
            return true;
        }
    }

    /* rate limit: routine frames only (priority 1-3 bypass it, like a duress) */
    if (!stn_class_is_urgent(&cls)) {
        /* an episode ends once the bucket has refilled completely */
        if (a->flooding && stn_bucket_full(&a->bucket, now_ms, s->cfg.account_rate_per_s,
                                           s->cfg.account_burst))
            a->flooding = false;
        bool ok = stn_bucket_take(&a->bucket, now_ms, s->cfg.account_rate_per_s,
                                  s->cfg.account_burst);
        if (!ok) {
            s->c.throttled++;
            VERDICT(f.id, STN_V_THROTTLED);
            if (!a->flooding) {
                a->flooding = true;
                STN_WARN("rx", "account %s exceeds %lld frames/s: routine frames unanswered, "
                         "flood alarm", a->number, (long long)s->cfg.account_rate_per_s);
                stn_raise_own_alarm(s, a->number, a->id, "flood", now_ms,
                                    "frames beyond the account's rate were not acknowledged");
            }
            return true;
        }
    }
    if (!duress && stn_pending_full(s)) {
        /* the batch is full: no ACK, the panel retries; stop reading this connection */
        s->c.batch_full_drops++;
        VERDICT(f.id, STN_V_BUSY);
        if (conn && !conn->paused && !conn->closing) {
            uv_read_stop((uv_stream_t *)&conn->tcp);
            conn->paused = true;
        }
        return true;
    }

    struct stn_job *j = s->pending;
    struct stn_item *it = stn_job_add(j);
    if (!it) {
        STN_ERROR("rx", "out of memory: frame of account %s unanswered", a->number);
        VERDICT(f.id, STN_V_NO_REPLY);
        return true;
    }
    uint8_t *reply = it->reply;
    size_t rl = 0;
    rc = dc09_reply_ack(&f, o.cipher, &dc09_ossl_rng, now_s, reply, sizeof it->reply, &rl);
    if (rc != 0) {
        j->n--;
        STN_ERROR("rx", "account %s: cannot build the ACK: %s", a->number, dc09_strerror(rc));
        VERDICT(f.id, STN_V_NO_REPLY);
        return true;
    }
    it->reply_len = (uint8_t)rl;
    it->reply_kind = 'A';
    it->account_id = a->id;
    memcpy(it->account, a->number, sizeof it->account);
    it->received_ms = now_ms;
    fill_payload(it, &f);
    it->cls = cls;
    if (poll) {
        it->type = STN_ITEM_POLL;
        s->c.polls++;
    } else {
        char ptxt[64];
        peer_text(conn, peer, ptxt, sizeof ptxt);
        if (copy_common(j, it, frame, len, ptxt) ||
            stn_job_copy(j, f.data, f.data_len, &it->data_off)) {
            j->n--;
            STN_ERROR("rx", "out of memory: frame of account %s unanswered", a->number);
            VERDICT(f.id, STN_V_NO_REPLY);
            return true;
        }
        it->data_len = f.data_len;
        it->type = STN_ITEM_EVENT;
        it->dedup_gen = stn_dedup_insert(&s->dedup, a->id, f.seq, hash, now_ms, j->batch);
        if (duress) {
            j->has_duress = true;
            s->c.duress_rx++;
            STN_WARN("rx", "account %s: %s (priority 1) received account=%s kind=%s priority=1 "
                     "seq=%04u", a->number, cls.kind, a->number, cls.kind, f.seq);
        }
    }
    target(it, conn, l, peer);
    s->c.frames_ok++;
    VERDICT(f.id, STN_V_ACK);
    return true;
}
