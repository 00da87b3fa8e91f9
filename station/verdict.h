/*
 * verdict.h — private to vigil-station: the reply rules of docs/DC09.md as a
 * pure function. rx.c gathers the facts about one received frame (decode
 * results, the account, the replay index's, the duplicate window's and the
 * rate limiter's answers, the pending batch), asks stn_verdict_decide what
 * becomes of it, and then acts on the answer. Nothing here touches the
 * station's state, the clock or the network, so tests/unit/station/
 * test_verdict.c checks every rule directly.
 */
#ifndef STN_VERDICT_H
#define STN_VERDICT_H

#include <stdbool.h>

#include "stn_internal.h"

/* The rule that decided (one per reply rule; rx.c counts and logs by it). */
enum stn_why {
    STN_WHY_ACCEPTED,        /* event or NULL poll: stored, ACKed once durable */
    STN_WHY_OVERSIZE,        /* longer than frame_bytes_max: dropped (transport) */
    STN_WHY_FRAMING,         /* binary-CRC length field not ending at a CR (TCP) */
    STN_WHY_UNREADABLE,      /* header unreadable: nothing to echo */
    STN_WHY_CRC,             /* CRC wrong */
    STN_WHY_LENGTH,          /* length field wrong */
    STN_WHY_UNKNOWN_ACCOUNT, /* no such account */
    STN_WHY_TIME,            /* timestamp outside the window */
    STN_WHY_CLEAR_ON_KEYED,  /* clear frame for an account with a key */
    STN_WHY_CRYPTO,          /* the crypto back end failed */
    STN_WHY_DECRYPT,         /* wrong key, bad padding: cannot be decrypted */
    STN_WHY_NO_LINE,         /* no L token, account without the no-line quirk */
    STN_WHY_FORMAT,          /* malformed frame */
    STN_WHY_PAYLOAD,         /* decoded, but neither CID nor SIA nor a NULL poll */
    STN_WHY_REPLAY,          /* an encrypted block seen before under another seq */
    STN_WHY_DUPLICATE,       /* same account, seq and data within the window */
    STN_WHY_THROTTLED,       /* routine frame over the account's rate */
    STN_WHY_BUSY,            /* routine frame while the pending batch is full */
    STN_WHY_N
};

/* What the station does about it. */
enum stn_act {
    STN_ACT_SILENT,          /* no reply (the panel retries, or it is not one) */
    STN_ACT_NAK,             /* NAK now, with the station's time; nothing stored */
    STN_ACT_DUH_STORE,       /* kept as a refused signal (+ alarm); DUH once stored */
    STN_ACT_DUH_NOW,         /* DUH now; nothing stored (a replay: its own alarm) */
    STN_ACT_ACK_COMMIT,      /* stored; ACK once the batch carrying it committed */
    STN_ACT_ACK_RETRY,       /* a retry: ACK again, stored once (after the original) */
};

enum stn_transport { STN_TR_TCP, STN_TR_UDP };

/* What is known of a frame when its verdict is asked. Facts past the first
 * one that decides are not looked at (they may be left false). */
struct stn_rx_facts {
    enum stn_transport transport;
    int  framing_rc;         /* the transport's: 0, DC09_E_OVERSIZE, or another error */
    int  head_rc;            /* header decode (with the no-line fallback) */
    bool no_line;            /* the header was read only without an L token */
    bool known;              /* a registered account */
    int  rc;                 /* full decode with the account's key, quirks and window
                              * (an unknown account's: no key, no time check) */
    const char *diag_field;  /* the field the decoder stopped at, or NULL */
    /* a frame decoded for a registered account (rc == 0) */
    bool poll;               /* NULL poll */
    bool has_payload;        /* a CID or SIA payload was read */
    bool duress;             /* duress or hold-up: never throttled, never held back */
    bool urgent;             /* priority 1-3, not a restore: not rate limited */
    bool replay;             /* its encrypted block was seen with another seq */
    bool duplicate;          /* the duplicate window holds it */
    bool rate_ok;            /* the account's bucket has a token */
    bool batch_full;         /* the pending batch is full */
};

struct stn_rx_verdict {
    enum stn_why why;
    enum stn_act act;
    int  metric;             /* enum stn_verdict (frames_by column), -1: not a frame */
    bool pause;              /* stop reading the connection until the batch commits */
    const char *reason;      /* DUH_STORE: the refusal's reason as stored */
    const char *kind;        /* DUH_STORE: the alarm kind it raises */
};

void stn_verdict_decide(const struct stn_rx_facts *in, struct stn_rx_verdict *out);

/* The decoding steps that fill the facts, pure as well (the account lookup
 * between them and the windows after them are rx.c's). */

/* The header, with the fallbacks some diallers need (a binary CRC, no L
 * token): sets head_rc, no_line, diag_field; *diag as the decoder left it. */
void stn_rx_read_head(const uint8_t *frame, size_t len, struct stn_rx_facts *in,
                      struct dc09_frame *head, struct dc09_diag *diag);

/* What decoding needs of an account. */
struct stn_rx_account {
    uint32_t quirks;
    struct dc09_cipher *cipher;   /* NULL: no key */
    int32_t  window_past_s;       /* -1: the config's */
    int32_t  window_future_s;
};
/* The full decode for account a (NULL: not registered: no key, no time
 * check) at now_s with the config's time window; sets known, rc, diag_field
 * and *o (the options used: the ACK is built with its cipher). *diag goes on
 * from the header's. A frame decoded for an account is then classified
 * (stn_rx_classify). */
void stn_rx_read_frame(const uint8_t *frame, size_t len, const struct stn_rx_account *a,
                       int64_t now_s, int32_t window_past_s, int32_t window_future_s,
                       struct stn_rx_facts *in, struct dc09_decode_opts *o,
                       struct dc09_frame *f, struct dc09_diag *diag);
/* poll, has_payload, duress, urgent of a decoded frame; its class in *cls. */
void stn_rx_classify(const struct dc09_frame *f, struct stn_rx_facts *in, struct stn_class *cls);
const char *stn_why_name(enum stn_why why);

#endif /* STN_VERDICT_H */
