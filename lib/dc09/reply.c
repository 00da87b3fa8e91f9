/*
 * reply.c — the sender's side of a reply: one check of an ACK/NAK/DUH
 * against the frame it answers (dc09_reply_check), used by the panel's
 * communicator and by `vigil dc09 send`, and the reply decode with the
 * receiver quirk for NAK tokens in another order (dc09_reply_decode: through
 * dc09_decode_reply, so a firmware reading replies links no payload parser).
 *
 * Must never allocate, read a clock or do I/O (runs on the Cortex-M0).
 * Must never count a reply that does not echo the frame's sequence, account,
 * R and L, a clear ACK to an encrypted frame, or an ACK dated outside the
 * station's window as seen from the sender (vigil/dc09.h).
 */
#include <string.h>

#include "dc09_internal.h"

/* Hex fields (receiver, line, account) compare without regard to case. */
static bool same_hex(const char *a, const char *b)
{
    if (a == NULL)
        a = "";
    if (b == NULL)
        b = "";
    for (;; a++, b++) {
        char x = *a, y = *b;
        if (x >= 'a' && x <= 'f')
            x = (char)(x - 'a' + 'A');
        if (y >= 'a' && y <= 'f')
            y = (char)(y - 'a' + 'A');
        if (x != y)
            return false;
        if (x == '\0')
            return true;
    }
}

int dc09_reply_check(const struct dc09_reply_ref *ref, const struct dc09_frame *r, int64_t now_s)
{
    if (r->id == DC09_ID_NAK)
        return r->has_time ? DC09_V_NAK : DC09_V_NO_TIME;
    if (r->id != DC09_ID_ACK && r->id != DC09_ID_DUH)
        return DC09_V_NOT_REPLY;
    if (r->seq != ref->seq)
        return DC09_V_SEQ;
    if (!same_hex(r->account, ref->account))
        return DC09_V_ACCOUNT;
    bool sent_r = ref->receiver != NULL && ref->receiver[0] != '\0';
    if (r->has_receiver != sent_r || (sent_r && !same_hex(r->receiver, ref->receiver)))
        return DC09_V_RECEIVER;
    if (!same_hex(r->line, ref->line))
        return DC09_V_LINE;
    if (r->id == DC09_ID_DUH)
        return DC09_V_DUH;
    if (ref->encrypted && !r->encrypted)
        return DC09_V_CLEAR;
    if (!r->has_time)
        return r->encrypted ? DC09_V_NO_TIME : DC09_V_ACK;
    if (r->time_s < now_s - DC09_WINDOW_FUTURE_S ||
        (ref->sent_s != INT64_MIN && r->time_s < ref->sent_s - ref->tolerance_s))
        return DC09_V_STALE;
    if (r->time_s > now_s + DC09_WINDOW_PAST_S)
        return DC09_V_FUTURE;
    return DC09_V_ACK;
}

const char *dc09_verdict_name(int v)
{
    switch (v) {
    case DC09_V_ACK: return "ack";
    case DC09_V_NAK: return "nak";
    case DC09_V_DUH: return "duh";
    case DC09_V_NOT_REPLY: return "not a reply";
    case DC09_V_SEQ: return "another sequence";
    case DC09_V_ACCOUNT: return "another account";
    case DC09_V_RECEIVER: return "receiver (R) not echoed";
    case DC09_V_LINE: return "line (L) not echoed";
    case DC09_V_CLEAR: return "clear ACK to an encrypted frame";
    case DC09_V_NO_TIME: return "no timestamp";
    case DC09_V_STALE: return "stale ACK timestamp";
    case DC09_V_FUTURE: return "ACK timestamp in the future";
    default: return "unknown";
    }
}

static size_t hex_run(const uint8_t *p, size_t i, size_t n)
{
    size_t k = 0;
    while (i + k < n && dc09__is_hex(p[i + k]))
        k++;
    return k;
}

/*
 * "NAK"SSSS then R, L and A (each at most once; A last or not, in any
 * order), "[]", "_" timestamp. LF, 4 hex CRC, 4 hex length, body, CR; the
 * CRC and length hold as always (dc09_decode's step 1: CRC over the body, or
 * body + CR with crc-with-cr). Hex fields: R 1..6, L 0..6, A 1..16 digits.
 * Only success counts (a failure returns dc09_decode's error).
 */
static int nak_any_order(const uint8_t *f, size_t n, uint32_t quirks, struct dc09_frame *out)
{
    size_t bo, bl;
    if (dc09__frame_body(f, n, quirks, &bo, &bl, NULL) != 0 || bo != (f[0] == '\n') + 8u)
        return DC09_E_FORMAT;               /* the hex CRC form only */
    const uint8_t *p = f + bo;
    if (bl < 9 || !dc09__memeq(p, "\"NAK\"", 5))
        return DC09_E_FORMAT;
    unsigned seq = 0;
    for (unsigned i = 5; i < 9; i++) {
        if (!dc09__is_digit(p[i]))
            return DC09_E_FORMAT;
        seq = seq * 10u + (unsigned)(p[i] - '0');
    }
    memset(out, 0, sizeof *out);
    out->id = DC09_ID_NAK;
    out->seq = (uint16_t)seq;
    size_t i = 9;
    unsigned seen = 0;
    while (i < bl && p[i] != '[') {
        uint8_t t = p[i];
        unsigned bit = t == 'R' ? 1u : t == 'L' ? 2u : t == 'A' ? 4u : t == '#' ? 4u : 0u;
        if (bit == 0 || (seen & bit) != 0)
            return DC09_E_FORMAT;
        seen |= bit;
        size_t k = hex_run(p, i + 1, bl);
        /* 'A' is a hex digit: an A token after R or L is swallowed by
         * their run ("R0A0"); split at the last 'A' followed by a digit */
        if ((t == 'R' || t == 'L') && (seen & 4u) == 0 && k >= 3) {
            for (size_t j = k - 2; j >= 1; j--) {
                if (p[i + 1 + j] == 'A') {
                    k = j;
                    break;
                }
            }
        }
        size_t max = t == 'R' ? DC09_RECEIVER_MAX : t == 'L' ? DC09_LINE_MAX : DC09_ACCOUNT_MAX;
        if (k > max || (k == 0 && t != 'L'))
            return DC09_E_FORMAT;
        char *dst = t == 'R' ? out->receiver : t == 'L' ? out->line : out->account;
        memcpy(dst, p + i + 1, k);
        dst[k] = '\0';
        if (t == 'R')
            out->has_receiver = true;
        i += 1 + k;
    }
    if ((seen & 6u) != 6u || i + 3 + DC09__TS_LEN != bl || p[i + 1] != ']' || p[i + 2] != '_')
        return DC09_E_FORMAT;
    if (dc09_time_parse((const char *)p + i + 3, DC09__TS_LEN, &out->time_s) != 0)
        return DC09_E_FORMAT;
    out->has_time = true;
    return 0;
}

int dc09_reply_decode(const uint8_t *frame, size_t len, const struct dc09_decode_opts *opts,
                      struct dc09_frame *out, struct dc09_diag *diag)
{
    struct dc09_decode_opts o = *opts;
    o.check_time = false;
    int e = dc09_decode_reply(frame, len, &o, out, diag);
    if (e == DC09_E_FORMAT && (o.quirks & DC09_Q_NAK_TOKEN_ORDER) != 0 &&
        nak_any_order(frame, len, o.quirks, out) == 0)
        return 0;
    return e;
}
