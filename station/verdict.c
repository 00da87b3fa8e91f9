/*
 * verdict.c — the reply rules of docs/DC09.md (and docs/station.md, "Replies")
 * as one pure function: what becomes of a received frame, given what is
 * known of it. The order of the rules is the order below: a frame whose CRC
 * is wrong is never answered whatever else it claims; a timestamp outside the
 * window is NAKed before anything is stored; a replay is refused before it
 * can look like a retry; a retry is ACKed again before the rate limit could
 * hold it back; a duress is never throttled nor dropped for a full batch.
 * Must never answer ACK to anything that is not stored (ACK_COMMIT) or stored
 * already (ACK_RETRY), and never answer a frame whose CRC or length is wrong.
 */
#include "verdict.h"

#include <string.h>

static const char *const why_names[STN_WHY_N] = {
    [STN_WHY_ACCEPTED] = "accepted", [STN_WHY_OVERSIZE] = "oversize",
    [STN_WHY_FRAMING] = "framing", [STN_WHY_UNREADABLE] = "unreadable",
    [STN_WHY_CRC] = "crc", [STN_WHY_LENGTH] = "length",
    [STN_WHY_UNKNOWN_ACCOUNT] = "unknown_account", [STN_WHY_TIME] = "time",
    [STN_WHY_CLEAR_ON_KEYED] = "clear_on_keyed", [STN_WHY_CRYPTO] = "crypto",
    [STN_WHY_DECRYPT] = "decrypt", [STN_WHY_NO_LINE] = "no_line",
    [STN_WHY_FORMAT] = "format", [STN_WHY_PAYLOAD] = "payload",
    [STN_WHY_REPLAY] = "replay", [STN_WHY_DUPLICATE] = "duplicate",
    [STN_WHY_THROTTLED] = "throttled", [STN_WHY_BUSY] = "busy",
};

const char *stn_why_name(enum stn_why why)
{
    return (unsigned)why < STN_WHY_N ? why_names[why] : "?";
}

static void set(struct stn_rx_verdict *v, enum stn_why why, enum stn_act act, int metric)
{
    v->why = why;
    v->act = act;
    v->metric = metric;
}

static void refuse(struct stn_rx_verdict *v, enum stn_why why, const char *reason,
                   const char *kind)
{
    set(v, why, STN_ACT_DUH_STORE, STN_V_DUH);
    v->reason = reason;
    v->kind = kind;
}

static bool cipher_error(int rc)
{
    return rc == DC09_E_DECRYPT || rc == DC09_E_PAD || rc == DC09_E_NOKEY;
}

void stn_verdict_decide(const struct stn_rx_facts *in, struct stn_rx_verdict *v)
{
    memset(v, 0, sizeof *v);
    /* the transport could not cut a frame out of the bytes: not a frame */
    if (in->framing_rc == DC09_E_OVERSIZE) {
        set(v, STN_WHY_OVERSIZE, STN_ACT_SILENT, -1);
        return;
    }
    if (in->framing_rc != 0) {
        set(v, STN_WHY_FRAMING, STN_ACT_SILENT, -1);
        return;
    }
    if (in->head_rc != 0) {   /* nothing to echo in a reply */
        set(v, STN_WHY_UNREADABLE, STN_ACT_SILENT, STN_V_UNREADABLE);
        return;
    }
    if (in->rc == DC09_E_CRC) {
        set(v, STN_WHY_CRC, STN_ACT_SILENT, STN_V_CRC_ERROR);
        return;
    }
    if (in->rc == DC09_E_LENGTH) {
        set(v, STN_WHY_LENGTH, STN_ACT_SILENT, STN_V_LENGTH_ERROR);
        return;
    }
    if (!in->known) {
        refuse(v, STN_WHY_UNKNOWN_ACCOUNT, "unknown_account", "unknown_account");
        return;
    }
    switch (in->rc) {
    case 0:
        break;
    case DC09_E_TIME:
        set(v, STN_WHY_TIME, STN_ACT_NAK, STN_V_NAK);
        return;
    case DC09_E_CLEAR:
        refuse(v, STN_WHY_CLEAR_ON_KEYED, "clear_on_keyed", "clear_on_keyed");
        return;
    case DC09_E_CRYPTO:
        set(v, STN_WHY_CRYPTO, STN_ACT_SILENT, STN_V_NO_REPLY);
        return;
    default:
        if (cipher_error(in->rc))
            refuse(v, STN_WHY_DECRYPT, "decrypt", "decrypt_failure");
        else if (in->no_line && in->diag_field && strcmp(in->diag_field, "line") == 0)
            refuse(v, STN_WHY_NO_LINE, "no_line", "unknown_event");   /* so it stops retrying */
        else
            refuse(v, STN_WHY_FORMAT, "format", "unknown_event");
        return;
    }
    if (!in->poll && !in->has_payload) {
        refuse(v, STN_WHY_PAYLOAD, "payload", "unknown_event");
        return;
    }
    if (in->replay) {   /* a captured frame with its header rewritten */
        set(v, STN_WHY_REPLAY, STN_ACT_DUH_NOW, STN_V_REPLAY);
        return;
    }
    if (!in->poll && in->duplicate) {
        set(v, STN_WHY_DUPLICATE, STN_ACT_ACK_RETRY, STN_V_DUPLICATE);
        return;
    }
    if (!in->urgent && !in->rate_ok) {
        set(v, STN_WHY_THROTTLED, STN_ACT_SILENT, STN_V_THROTTLED);
        return;
    }
    if (!in->duress && in->batch_full) {   /* no ACK: the panel retries */
        set(v, STN_WHY_BUSY, STN_ACT_SILENT, STN_V_BUSY);
        v->pause = in->transport == STN_TR_TCP;
        return;
    }
    set(v, STN_WHY_ACCEPTED, STN_ACT_ACK_COMMIT, STN_V_ACK);
}

void stn_rx_read_head(const uint8_t *frame, size_t len, struct stn_rx_facts *in,
                      struct dc09_frame *head, struct dc09_diag *diag)
{
    int rc = dc09_decode_head(frame, len, DC09_Q_BARE_L, head, diag);
    if (rc != 0)
        rc = dc09_decode_head(frame, len, DC09_Q_BARE_L | DC09_Q_BINARY_CRC, head, diag);
    /* a header without the L token (some outside diallers): readable enough to
     * answer; accepted only for an account with the no-line quirk */
    in->no_line = false;
    if (rc != 0 && diag->field && strcmp(diag->field, "line") == 0) {
        struct dc09_diag d2 = { 0 };
        int r2 = dc09_decode_head(frame, len, DC09_Q_BARE_L | DC09_Q_NO_LINE, head, &d2);
        if (r2 != 0)
            r2 = dc09_decode_head(frame, len, DC09_Q_BARE_L | DC09_Q_NO_LINE | DC09_Q_BINARY_CRC,
                                  head, &d2);
        if (r2 == 0) {
            rc = 0;
            in->no_line = true;
        }
    }
    in->head_rc = rc;
    in->diag_field = diag->field;
}

void stn_rx_read_frame(const uint8_t *frame, size_t len, const struct stn_rx_account *a,
                       int64_t now_s, int32_t window_past_s, int32_t window_future_s,
                       struct stn_rx_facts *in, struct dc09_decode_opts *o,
                       struct dc09_frame *f, struct dc09_diag *diag)
{
    dc09_decode_opts_init(o, now_s);
    o->window_past_s = window_past_s;
    o->window_future_s = window_future_s;
    if (!a) {
        o->check_time = false;
        if (in->no_line)
            o->quirks = DC09_Q_NO_LINE;   /* read a clear payload all the same */
    } else {
        o->quirks = a->quirks;
        o->cipher = a->cipher;
        if (a->window_past_s >= 0)
            o->window_past_s = a->window_past_s;
        if (a->window_future_s >= 0)
            o->window_future_s = a->window_future_s;
        o->check_time = true;
    }
    in->known = a != NULL;
    in->rc = dc09_decode(frame, len, o, f, diag);
    in->diag_field = diag->field;
}

void stn_rx_classify(const struct dc09_frame *f, struct stn_rx_facts *in, struct stn_class *cls)
{
    stn_classify_frame(f, cls);
    in->duress = stn_class_is_duress(cls);
    in->urgent = stn_class_is_urgent(cls);
    in->poll = f->id == DC09_ID_NULL;
    in->has_payload = f->has_cid || f->has_sia;
}
