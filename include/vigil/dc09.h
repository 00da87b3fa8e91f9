/*
 * vigil/dc09.h — SIA DC-09 alarm transmission: frames, CRC, encryption,
 * replies, a streaming reader, and the Contact ID / SIA DC-03 payload codecs.
 *
 * The same library runs in the station (Linux) and in the panel (Cortex-M0).
 * It never allocates, never reads a clock, never does I/O: the caller supplies
 * every buffer, passes time in as `now_s` (Unix seconds, UTC), and reaches AES
 * and randomness through the small port structs below.
 *
 * Facts behind the rules: docs/DC09.md (the standard wins where they differ).
 * Error convention: 0 on success, a negative enum dc09_err on failure,
 * results through out-parameters; dc09_strerror() names every code.
 */
#ifndef VIGIL_DC09_H
#define VIGIL_DC09_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- bounds ---------------------------------------------------------- */

#define DC09_FRAME_MAX      1024u /* whole frame on the wire, LF..CR inclusive */
#define DC09_ACCOUNT_MAX    16u   /* #acct: 3..16 hex chars */
#define DC09_RECEIVER_MAX   6u    /* Rrcvr: 1..6 hex digits */
#define DC09_LINE_MAX       6u    /* Lpref: 1..6 hex digits (0 with the bare-L quirk) */
#define DC09_DATA_MAX       512u  /* the data block's content, brackets excluded */
#define DC09_XDATA_MAX      8u    /* extended-data blocks per frame */
#define DC09_XDATA_LEN_MAX  64u   /* one block's value, type letter excluded */
#define DC09_PAD_MIN        8u    /* we always send at least this many pad bytes */

/* ---- errors ---------------------------------------------------------- */

enum dc09_err {
    DC09_OK            = 0,
    DC09_E_CRC         = -1,  /* CRC does not match: never answered */
    DC09_E_LENGTH      = -2,  /* length field does not match: never answered */
    DC09_E_FORMAT      = -3,  /* a field is malformed; diag->field names it */
    DC09_E_TOKEN       = -4,  /* unknown ID token ("XYZ") */
    DC09_E_DECRYPT     = -5,  /* ciphertext not hex / not whole blocks / wrong key */
    DC09_E_PAD         = -6,  /* decrypted pad is not as the standard says */
    DC09_E_TIME        = -7,  /* timestamp outside the accepted window */
    DC09_E_OVERSIZE    = -8,  /* frame longer than DC09_FRAME_MAX or a field bound */
    DC09_E_NOSPACE     = -9,  /* caller's output buffer too small */
    DC09_E_INVAL       = -10, /* caller passed an invalid argument */
    DC09_E_KEY         = -11, /* key has the wrong length or is not hex/ASCII */
    DC09_E_NOKEY       = -12, /* encrypted frame but no cipher was supplied */
    DC09_E_CLEAR       = -13, /* clear frame for an account that has a key (no downgrade) */
    DC09_E_PAYLOAD     = -14, /* payload is not valid Contact ID / SIA DC-03 */
    DC09_E_CRYPTO      = -15, /* the crypto port itself failed */
};

const char *dc09_strerror(int err);
/* Short machine name of an error: "crc", "length", "format", "decrypt", "pad",
 * "time", "oversize", ... — what `vigil dc09 decode` prints in "error". */
const char *dc09_errname(int err);

/* Extra detail on a failure: which field, and where. Optional everywhere. */
struct dc09_diag {
    const char *field;  /* static string: "crc", "length", "id", "seq", "receiver",
                           "line", "account", "data", "xdata", "timestamp", "pad"... */
    size_t offset;      /* byte offset into the frame where the problem was seen */
};

/* ---- real-device quirks: strict by default, each an explicit option ---- */

enum dc09_quirk {
    DC09_Q_BINARY_CRC     = 1u << 0, /* 2 binary CRC bytes instead of 4 hex (Lupusec, Egardia, Trikdis) */
    DC09_Q_CRC_WITH_CR    = 1u << 1, /* CRC computed over body + CR (Eldes) */
    DC09_Q_BARE_L         = 1u << 2, /* "L" with no line digits (GSM panels) */
    DC09_Q_PAD_NO_BAR     = 1u << 3, /* encrypted pad without '|' terminator (Hikvision) */
    DC09_Q_NO_DATA_ACCT   = 1u << 4, /* data block without "#acct|" (Ajax) */
    DC09_Q_IGNORE_LENGTH  = 1u << 5, /* length field wrong: ignore it */
    DC09_Q_NO_LINE        = 1u << 6, /* no "L" token at all (some outside diallers) */
    DC09_Q_NAK_TOKEN_ORDER = 1u << 7, /* NAK header tokens R, L, A in another order
                                         ("L0R0A0"): replies only, dc09_reply_decode */
};
/*
 * A quirk only widens what is accepted; the standard form stays valid:
 *  - BINARY_CRC: LF, 2 CRC bytes big-endian (high byte first), LLLL, body, CR;
 *    hex-CRC frames are still accepted. The reader then takes the frame's end
 *    from the length field (the CRC bytes may be CR or LF).
 *  - CRC_WITH_CR: CRC over body + 0x0D, or over the body alone.
 *  - BARE_L: line "" ; digits still accepted.
 *  - PAD_NO_BAR: only when the decrypted text has no '|' at all: everything
 *    up to the first ']' is pad and the data block is empty (the Hikvision poll).
 *  - NO_DATA_ACCT: "[|payload]" or "[payload]" (payload_off 1 or 0,
 *    has_data_account false). Strictly a non-empty data block needs "#acct|".
 *  - IGNORE_LENGTH: the length must still be 4 hex digits, its value is ignored.
 *  - NO_LINE: a header with no "L" token at all (R, if any, then "#acct");
 *    line then reads "0", so replies carry "L0". With the token present it
 *    is read as always.
 */
/* Parses a quirk name ("binary-crc", "crc-with-cr", "bare-l", "pad-no-bar",
 * "no-data-account", "ignore-length", "no-line", "nak-token-order") into its flag; DC09_E_INVAL
 * if unknown. */
int dc09_quirk_parse(const char *name, uint32_t *flag);
const char *dc09_quirk_name(uint32_t flag);

/* ---- CRC ------------------------------------------------------------- */

/* CRC-16/ARC (poly 0x8005 reflected, init 0, no xorout). check("123456789") = 0xBB3D */
uint16_t dc09_crc16(const uint8_t *p, size_t n);
uint16_t dc09_crc16_update(uint16_t crc, const uint8_t *p, size_t n);

/* ---- ports ----------------------------------------------------------- */

/* AES-CBC with a zero IV, in place, on whole 16-byte blocks, keyed once
 * (the key lives in the back end's context; keep one per account: re-keying
 * per frame costs 5x). Back ends: dc09_openssl.h (Linux), dc09_mbedtls.h. */
struct dc09_cipher {
    int (*encrypt)(struct dc09_cipher *c, uint8_t *buf, size_t len);
    int (*decrypt)(struct dc09_cipher *c, uint8_t *buf, size_t len);
};

/* Randomness for pad bytes. Must not fail. */
struct dc09_rng {
    void (*fill)(struct dc09_rng *r, uint8_t *buf, size_t len);
};

struct dc09_key {
    uint8_t bytes[32];
    uint8_t len;        /* 16, 24 or 32 */
};
/* "ABCDEF0123456789" as ASCII bytes (16/24/32 chars) */
int dc09_key_from_ascii(struct dc09_key *k, const char *s, size_t n);
/* "41424344..." as hex digits (32/48/64 chars) */
int dc09_key_from_hex(struct dc09_key *k, const char *s, size_t n);
/* Overwrites a key in memory (not optimised away). */
void dc09_key_wipe(struct dc09_key *k);

/* ---- frames ---------------------------------------------------------- */

enum dc09_id {
    DC09_ID_SIA_DCS = 1,
    DC09_ID_ADM_CID,
    DC09_ID_NULL,
    DC09_ID_ACK,
    DC09_ID_NAK,
    DC09_ID_DUH,
};
const char *dc09_id_name(enum dc09_id id);   /* "SIA-DCS", "ADM-CID", ... without '*' */

struct dc09_xdata {
    char type;                              /* 'X','Y','M','V','I','R','H','K', ... */
    uint8_t len;
    char value[DC09_XDATA_LEN_MAX + 1];     /* NUL-terminated */
};

/* Contact ID: QEEE GG ZZZ (decimal digits; qualifier 1, 3 or 6) */
struct dc09_cid {
    uint8_t  qualifier;   /* 1 new/opening, 3 restore/closing, 6 still present */
    uint16_t event;       /* 000..999 */
    uint8_t  partition;   /* 00..99 */
    uint16_t zone;        /* 000..999: zone or user */
};

/* SIA DC-03: N[ri<area>/][id<user>/][ti<hh:mm>/]<CODE><zone>[^text^]
 * As parsed: the ri/id/ti modifiers in any order, each at most once, the '/'
 * after each optional (real panels: "Nri1CL0^..^", "Nti19:44/id1/RP");
 * area, user and zone 1..4 digits; zone optional ("NRP"); CODE two capitals;
 * text longer than DC09_SIA_TEXT_MAX is cut and flagged, not refused (an
 * event must not be lost over its label); up to DC09_SIA_EXTRA_MAX trailing
 * alphanumerics kept in `extra`. Anything else → DC09_E_PAYLOAD.
 * dc09_sia_format writes "N", ri, id, ti (each with '/'), CODE, the zone with
 * at least 3 digits, ^text^ (if has_text or text non-empty), extra. */
#define DC09_SIA_TEXT_MAX 64u
#define DC09_SIA_EXTRA_MAX 16u
struct dc09_sia {
    char code[3];         /* two letters, NUL-terminated */
    bool has_area;  uint16_t area;
    bool has_user;  uint16_t user;
    bool has_zone;  uint16_t zone;
    bool has_time;  uint8_t hour, minute;
    char text[DC09_SIA_TEXT_MAX + 1];   /* between ^ ^, may be empty */
    bool has_text;        /* a ^text^ block was present (even if empty) */
    bool text_truncated;  /* text was longer than DC09_SIA_TEXT_MAX: kept the start */
    /* Alphanumerics some panels append after the zone (e.g. "Nri04/OP001NM" → "NM");
     * kept verbatim, written back by dc09_sia_format(). */
    char extra[DC09_SIA_EXTRA_MAX + 1];
};

/*
 * A frame, decoded or to be encoded. Strings are NUL-terminated copies, so a
 * frame stays valid after the input buffer is gone.
 */
struct dc09_frame {
    enum dc09_id id;
    bool     encrypted;                     /* the token had a '*' */
    uint16_t seq;                           /* 0..9999 */
    bool     has_receiver;
    char     receiver[DC09_RECEIVER_MAX + 1];
    char     line[DC09_LINE_MAX + 1];       /* "" with the bare-L quirk */
    char     account[DC09_ACCOUNT_MAX + 1];

    /* The data block: everything between '[' and ']' (decrypted, pad removed).
     * Never contains '[' ']' NUL CR LF (decode refuses them: DC09_E_FORMAT);
     * other bytes, 8-bit text included, are kept as sent. Same for xdata. */
    char     data[DC09_DATA_MAX + 1];
    size_t   data_len;
    /* Inside it: the optional "#acct|" and the payload after it. */
    bool     has_data_account;
    char     data_account[DC09_ACCOUNT_MAX + 1];
    size_t   payload_off;                   /* payload = data + payload_off */
    size_t   payload_len;

    /* Payload decoded by kind: ADM-CID → cid, SIA-DCS → sia (when it parses). */
    bool     has_cid;
    struct dc09_cid cid;
    bool     has_sia;
    struct dc09_sia sia;

    uint8_t  xdata_count;
    struct dc09_xdata xdata[DC09_XDATA_MAX];

    bool     has_time;
    int64_t  time_s;                        /* Unix seconds, UTC */
};

/* ---- decoding -------------------------------------------------------- */

struct dc09_decode_opts {
    uint32_t quirks;                /* enum dc09_quirk flags allowed for this account */
    struct dc09_cipher *cipher;     /* NULL: account has no key */
    bool     check_time;            /* apply the timestamp window (encrypted frames
                                       always need a timestamp; the window applies
                                       to any frame that carries one, except a NAK,
                                       whose timestamp is the receiver's clock that
                                       the sender is to correct its own by) */
    int64_t  now_s;
    int32_t  window_past_s;         /* default 40 */
    int32_t  window_future_s;       /* default 20 */
};
#define DC09_WINDOW_PAST_S   40
#define DC09_WINDOW_FUTURE_S 20
/* Strict defaults: no quirks, no key, window checked at now_s.
 * The window accepts time_s in [now_s - window_past_s, now_s + window_future_s],
 * both ends inclusive. */
void dc09_decode_opts_init(struct dc09_decode_opts *o, int64_t now_s);

/*
 * Reads only the clear header (id, '*', seq, receiver, line, account) so a
 * receiver can look the account up before the full decode. No CRC check.
 * `frame` is one frame, with or without its LF and CR (or just the body,
 * starting at the '"'). The other fields of *out are set empty.
 * A NAK's account may be written "A0" (as receivers send it): account "0".
 */
int dc09_decode_head(const uint8_t *frame, size_t len, uint32_t quirks,
                     struct dc09_frame *out, struct dc09_diag *diag);

/*
 * Full decode: framing, length, CRC, header, decryption (when the token has
 * '*'), pad, data block, xdata, timestamp, window, payload codec.
 * Order of checks: CRC/length first (DC09_E_CRC / DC09_E_LENGTH → stay silent),
 * then format, then decryption, then time.
 * A clear SIA-DCS/ADM-CID/NULL frame with opts->cipher set → DC09_E_CLEAR.
 * An unparseable payload is not a decode failure: has_cid/has_sia stay false.
 * `frame` may come with or without its LF and CR.
 * Encrypted frames: the decrypted text must end with "_HH:MM:SS,MM-DD-YYYY";
 * if it does not and is not printable text → DC09_E_DECRYPT (almost surely a
 * wrong key); printable text without a timestamp → DC09_E_FORMAT "timestamp".
 * Then the pad: everything before the first '|' (any length), none of it
 * '[' or ']' → else DC09_E_PAD; no '|' at all → DC09_E_PAD (see PAD_NO_BAR).
 * On failure *out holds no stale data from an earlier call but is otherwise
 * unspecified; diag->field names the field ("crc", "length", "frame", "id",
 * "seq", "receiver", "line", "account", "data", "xdata", "trailer",
 * "timestamp", "pad").
 */
int dc09_decode(const uint8_t *frame, size_t len, const struct dc09_decode_opts *opts,
                struct dc09_frame *out, struct dc09_diag *diag);

/*
 * dc09_decode without the payload codec: the same checks, in the same order,
 * with the same results, except that has_cid/has_sia stay false. For a panel
 * reading its receiver's replies (ACK, NAK, DUH carry no payload): a firmware
 * that decodes only through this does not link the Contact ID / SIA parsers
 * (~1 KB of a Cortex-M0's flash).
 */
int dc09_decode_reply(const uint8_t *frame, size_t len, const struct dc09_decode_opts *opts,
                      struct dc09_frame *out, struct dc09_diag *diag);

/* ---- encoding -------------------------------------------------------- */

/*
 * Writes LF CRC LLLL body CR into out. A line of "" writes a bare "L"; a NAK's
 * account is written "A<acct>". If cipher is non-NULL the frame is
 * encrypted (token gets '*'; the frame must have a timestamp) with a fresh
 * random pad of at least DC09_PAD_MIN bytes from rng, none of them '|' '[' ']'.
 * Uses f->data/data_len as the data block content verbatim (build it with
 * dc09_build_data() or by hand), f->xdata and f->has_time/time_s.
 * Pad bytes: printable ASCII except space | [ ], drawn uniformly from rng by
 * rejection sampling; DC09_PAD_MIN..DC09_PAD_MIN+15 of them.
 * DC09_E_INVAL for fields a receiver would refuse (NAK/DUH encrypted,
 * encrypted without timestamp, '[' ']' CR LF in data/xdata, bad hex fields);
 * DC09_E_OVERSIZE if the frame would exceed DC09_FRAME_MAX; DC09_E_CRYPTO if
 * the cipher fails or the rng is evidently broken (stuck on rejected bytes).
 */
int dc09_encode(const struct dc09_frame *f, struct dc09_cipher *cipher,
                struct dc09_rng *rng, uint8_t *out, size_t cap, size_t *out_len);

/* Fills f->data with "#acct|payload" (or "" for an empty block). */
int dc09_build_data(struct dc09_frame *f, const char *account, const char *payload,
                    size_t payload_len);

/* ---- replies (receiver side) ---------------------------------------- */

/* ACK echoing req's seq, receiver (only if it came), line, account; a clear
 * ACK carries no timestamp. If req was encrypted: *ACK with a fresh random
 * pad and timestamp now_s (cipher and rng required, else DC09_E_NOKEY). */
int dc09_reply_ack(const struct dc09_frame *req, struct dc09_cipher *cipher,
                   struct dc09_rng *rng, int64_t now_s,
                   uint8_t *out, size_t cap, size_t *out_len);
/* "NAK"0000R0L0A0[]_HH:MM:SS,MM-DD-YYYY with the receiver's time; never encrypted. */
int dc09_reply_nak(int64_t now_s, uint8_t *out, size_t cap, size_t *out_len);
/* "DUH" echoing seq, receiver, line, account; never encrypted. */
int dc09_reply_duh(const struct dc09_frame *req, uint8_t *out, size_t cap, size_t *out_len);

/* ---- replies (sender side): one check for the panel and the CLI ------ */

/*
 * What a reply is checked against: the frame it answers. receiver "" (or
 * NULL) when that frame had no R token. sent_s: the timestamp of the first
 * send of this sequence (a reply dated more than tolerance_s before it
 * cannot answer it); INT64_MIN for none.
 */
struct dc09_reply_ref {
    uint16_t    seq;
    bool        encrypted;
    const char *receiver;
    const char *line;
    const char *account;
    int64_t     sent_s;
    int32_t     tolerance_s;
};

/* The verdict on one reply: >= 0 the reply counts, < 0 it does not. */
enum dc09_verdict {
    DC09_V_ACK        = 0,   /* acknowledged */
    DC09_V_NAK        = 1,   /* refused for its timestamp: reply->time_s is the receiver's clock */
    DC09_V_DUH        = 2,   /* the receiver cannot process the frame */
    DC09_V_NOT_REPLY  = -1,  /* not ACK, NAK or DUH */
    DC09_V_SEQ        = -2,  /* another sequence */
    DC09_V_ACCOUNT    = -3,  /* another account */
    DC09_V_RECEIVER   = -4,  /* R not echoed (missing, added, or another number) */
    DC09_V_LINE       = -5,  /* L not echoed */
    DC09_V_CLEAR      = -6,  /* a clear ACK to an encrypted frame (a downgrade) */
    DC09_V_NO_TIME    = -7,  /* an encrypted ACK, or a NAK, without a timestamp */
    DC09_V_STALE      = -8,  /* timestamp behind the reply window, or before the
                                first send minus tolerance_s */
    DC09_V_FUTURE     = -9,  /* timestamp ahead of the reply window */
};

/*
 * The reply window is the station's window (DC09_WINDOW_PAST_S,
 * DC09_WINDOW_FUTURE_S) seen from the sender: the station accepts a frame
 * whose time is at most PAST_S behind and FUTURE_S ahead of its own clock,
 * so the time in its reply may be at most PAST_S ahead of the sender's clock
 * and FUTURE_S behind it: [now_s - FUTURE_S, now_s + PAST_S]. Every clock
 * offset the station accepts frames at, the sender accepts its ACKs at, and
 * no other. Applies to every ACK that carries a time (an encrypted one
 * must); a NAK's time is the receiver's clock, never windowed; a DUH is
 * checked for its echoes only.
 */
int dc09_reply_check(const struct dc09_reply_ref *ref, const struct dc09_frame *reply,
                     int64_t now_s);
/* "ack", "nak", "duh", "not a reply", "another sequence", ... (static text). */
const char *dc09_verdict_name(int verdict);

/*
 * dc09_decode_reply for replies (opts->check_time is ignored: dc09_reply_check
 * judges the time; no payload codec: has_cid/has_sia stay false). With DC09_Q_NAK_TOKEN_ORDER in opts->quirks, a NAK whose
 * header tokens R, L and A come in another order ("NAK"0000L0R0A0[]_time, as
 * some receivers write it) is read as a NAK instead of DC09_E_FORMAT: CRC and
 * length are checked as always, each token at most once, the timestamp
 * required.
 */
int dc09_reply_decode(const uint8_t *frame, size_t len, const struct dc09_decode_opts *opts,
                      struct dc09_frame *out, struct dc09_diag *diag);

/* ---- streaming reader ------------------------------------------------ */

/*
 * Takes bytes as they arrive (TCP) and hands out whole frames LF..CR.
 * Several frames per feed, one frame over many feeds, garbage between
 * frames (skipped), oversize input (reported once, then everything is
 * dropped until the next LF). The buffer is the caller's (e.g. one per
 * connection, sized by a config key); the reader never allocates.
 * With DC09_Q_BINARY_CRC the reader uses the length field to find the end,
 * since a binary CRC may contain CR or LF bytes. `quirks` may be changed
 * between feeds or from inside the callback: it applies from the next frame
 * on, within the same feed too.
 */
struct dc09_reader {
    uint8_t *buf;
    size_t   cap;
    size_t   len;
    uint32_t quirks;
    bool     in_frame;
    bool     discarding;
};

/* Called per frame (err == 0, frame = LF..CR) or per problem (err < 0:
 * DC09_E_OVERSIZE, frame/len = what was dropped so far, may be truncated;
 * or, with DC09_Q_BINARY_CRC only, DC09_E_FORMAT: the length field pointed
 * at a byte that is not CR, frame/len = the bytes dropped).
 * `frame` points into the caller's data (a frame whole inside one feed is
 * not copied) or into r->buf: valid only during the call.
 * An LF before the CR aborts the partial frame silently and starts a new one. */
typedef void (*dc09_frame_fn)(void *ctx, const uint8_t *frame, size_t len, int err);

/* Frames are bounded by min(cap, DC09_FRAME_MAX); cap must be at least 8
 * (feed does nothing otherwise). */
void dc09_reader_init(struct dc09_reader *r, uint8_t *buf, size_t cap, uint32_t quirks);
void dc09_reader_reset(struct dc09_reader *r);
/* Returns the number of complete frames delivered by this call. */
size_t dc09_reader_feed(struct dc09_reader *r, const uint8_t *data, size_t len,
                        dc09_frame_fn fn, void *ctx);

/* ---- payloads -------------------------------------------------------- */

/* "1121 01 003" (also accepts "112101003") */
int dc09_cid_parse(const char *s, size_t len, struct dc09_cid *out);
/* writes "QEEE GG ZZZ" (11 chars + NUL) */
int dc09_cid_format(const struct dc09_cid *c, char *out, size_t cap);

int dc09_sia_parse(const char *s, size_t len, struct dc09_sia *out);
int dc09_sia_format(const struct dc09_sia *s, char *out, size_t cap);

/* The CID <-> SIA table of docs/DC09.md, kept as data.
 * SIA code for a CID event and qualifier (e.g. 401 q1 → "OP", q3 → "CL"),
 * or NULL if the table has none. */
const char *dc09_cid_to_sia(uint16_t event, uint8_t qualifier);
/* CID event and qualifier for a SIA code, DC09_E_INVAL if unknown. */
int dc09_sia_to_cid(const char *code, uint16_t *event, uint8_t *qualifier);
/* Human text for a CID event ("duress", "burglary", ...) or NULL. */
const char *dc09_cid_describe(uint16_t event);

/* ---- time ------------------------------------------------------------ */

/* "_HH:MM:SS,MM-DD-YYYY" (without the '_') <-> Unix seconds, UTC.
 * Years 1970..9999; parse checks ranges and days per month (DC09_E_FORMAT);
 * format refuses times outside that range (DC09_E_INVAL). */
int dc09_time_parse(const char *s, size_t len, int64_t *out_s);
int dc09_time_format(int64_t t_s, char *out, size_t cap); /* 19 chars + NUL */

#ifdef __cplusplus
}
#endif
#endif /* VIGIL_DC09_H */
