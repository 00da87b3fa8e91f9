/*
 * lib/dc09/decode.c — decoding one DC-09 frame: framing, CRC, length, the
 * clear header, decryption and pad, the data block, extended data,
 * timestamp, time window, payload codec — in that order, so that CRC and
 * length errors (never answered) come before everything else.
 * Must never read outside the caller's frame, allocate, or accept a
 * deviation from the standard that the account's quirk flags do not allow.
 */
#include "dc09_internal.h"

#include <string.h>

#define LF 0x0A
#define CR 0x0D

/* The decode-time cost that matters is the frame struct: set only the small
 * fields, terminate the strings, never memset the 1.3 KiB struct. */
static void frame_reset(struct dc09_frame *out)
{
    out->id = 0;
    out->encrypted = false;
    out->seq = 0;
    out->has_receiver = false;
    out->receiver[0] = '\0';
    out->line[0] = '\0';
    out->account[0] = '\0';
    out->data[0] = '\0';
    out->data_len = 0;
    out->has_data_account = false;
    out->data_account[0] = '\0';
    out->payload_off = 0;
    out->payload_len = 0;
    out->has_cid = false;
    memset(&out->cid, 0, sizeof out->cid);
    out->has_sia = false;
    memset(&out->sia, 0, sizeof out->sia);
    out->xdata_count = 0;
    out->has_time = false;
    out->time_s = 0;
}

static size_t hex_run(const uint8_t *p, size_t i, size_t n)
{
    size_t j = i;
    while (j < n && dc09__is_hex(p[j]))
        j++;
    return j - i;
}

static void copy_str(char *dst, const uint8_t *src, size_t n)
{
    memcpy(dst, src, n);
    dst[n] = '\0';
}

#define TOKEN_LEN_MAX 8u /* "*SIA-DCS" */

/*
 * The clear header: "ID" SEQ [Rrcvr] Lpref #acct, up to the '['.
 * p/n: the body (from the opening '"'); base: p's offset in the caller's frame.
 * On success *pos is the index of the '['.
 */
static int parse_head(const uint8_t *p, size_t n, size_t base, uint32_t quirks,
                      struct dc09_frame *out, size_t *pos, struct dc09_diag *diag)
{
    if (n < 2 || p[0] != '"') {
        dc09__diag(diag, "id", base);
        return DC09_E_FORMAT;
    }
    size_t q = 1;
    while (q < n && q <= TOKEN_LEN_MAX + 1 && p[q] != '"')
        q++;
    if (q >= n || p[q] != '"') {
        dc09__diag(diag, "id", base);
        return DC09_E_FORMAT;
    }
    const uint8_t *tok = p + 1;
    size_t tl = q - 1;
    bool enc = tl > 0 && tok[0] == '*';
    if (enc) {
        tok++;
        tl--;
    }
    /* The tokens are the ID names (names.c); NAK and DUH are never encrypted. */
    enum dc09_id id = DC09_ID_SIA_DCS;
    for (; id <= DC09_ID_DUH; id++) {
        const char *name = dc09__id_names[id - DC09_ID_SIA_DCS];
        if (tl < sizeof dc09__id_names[0] && name[tl] == '\0' && dc09__memeq(name, tok, tl))
            break;
    }
    if (id > DC09_ID_DUH || (enc && id >= DC09_ID_NAK)) {
        dc09__diag(diag, "id", base + 1);
        return DC09_E_TOKEN;
    }
    out->id = id;
    out->encrypted = enc;
    size_t i = q + 1;

    /* SEQ: four decimal digits */
    if (i + 4 > n || !dc09__is_digit(p[i]) || !dc09__is_digit(p[i + 1]) ||
        !dc09__is_digit(p[i + 2]) || !dc09__is_digit(p[i + 3])) {
        dc09__diag(diag, "seq", base + i);
        return DC09_E_FORMAT;
    }
    out->seq = (uint16_t)dc09__num(p + i, 4);
    i += 4;

    /* Rrcvr: optional, 1..6 hex */
    if (i < n && p[i] == 'R') {
        size_t r = hex_run(p, i + 1, n);
        if (r < 1 || r > DC09_RECEIVER_MAX) {
            dc09__diag(diag, "receiver", base + i);
            return DC09_E_FORMAT;
        }
        out->has_receiver = true;
        copy_str(out->receiver, p + i + 1, r);
        i += 1 + r;
    }

    /* Lpref: required, 1..6 hex (bare "L" only with the quirk; none at all
     * with the no-line quirk: then it reads "0") */
    if (i < n && p[i] == '#' && (quirks & DC09_Q_NO_LINE)) {
        copy_str(out->line, (const uint8_t *)"0", 1);
    } else {
        if (i >= n || p[i] != 'L') {
            dc09__diag(diag, "line", base + i);
            return DC09_E_FORMAT;
        }
        size_t l = hex_run(p, i + 1, n);
        size_t lstart = i + 1;
        if (out->id == DC09_ID_NAK && (lstart + l >= n || p[lstart + l] != '#')) {
            /* "NAK"0000R0L0A0[]: the 'A' account marker is itself a hex digit,
             * so the line's hex run swallowed it; split at the last 'A'. */
            size_t k = l;
            while (k > 0 && p[lstart + k - 1] != 'A')
                k--;
            if (k == 0 || k == l) {
                dc09__diag(diag, "account", base + lstart + l);
                return DC09_E_FORMAT;
            }
            l = k - 1;
        }
        if (l > DC09_LINE_MAX || (l == 0 && !(quirks & DC09_Q_BARE_L))) {
            dc09__diag(diag, "line", base + i);
            return DC09_E_FORMAT;
        }
        copy_str(out->line, p + lstart, l);
        i = lstart + l;
    }

    /* #acct: 3..16 hex; a NAK may carry "A0" */
    size_t amin = 3;
    if (i < n && p[i] == 'A' && out->id == DC09_ID_NAK)
        amin = 1;
    else if (i >= n || p[i] != '#') {
        dc09__diag(diag, "account", base + i);
        return DC09_E_FORMAT;
    }
    size_t a = hex_run(p, i + 1, n);
    if (a < amin || a > DC09_ACCOUNT_MAX) {
        dc09__diag(diag, "account", base + i);
        return DC09_E_FORMAT;
    }
    copy_str(out->account, p + i + 1, a);
    i += 1 + a;
    if (i >= n || p[i] != '[') {
        dc09__diag(diag, "data", base + i);
        return DC09_E_FORMAT;
    }
    *pos = i;
    return 0;
}

/* Finds the body ('"' onwards) after the CRC and length fields.
 * Returns the body offset (8 hex form, 6 binary form) or 0 if neither. */
static size_t body_offset(const uint8_t *f, size_t n)
{
    if (n > 8 && f[8] == '"')
        return 8;
    if (n > 6 && f[6] == '"' && dc09__is_hex(f[2]) && dc09__is_hex(f[3]) && dc09__is_hex(f[4]) &&
        dc09__is_hex(f[5]))
        return 6;
    return 0;
}

int dc09_decode_head(const uint8_t *frame, size_t len, uint32_t quirks, struct dc09_frame *out,
                     struct dc09_diag *diag)
{
    if (!frame || !out)
        return DC09_E_INVAL;
    frame_reset(out);
    size_t off = 0, end = len;
    if (end > off && frame[0] == LF)
        off = 1;
    if (end > off && frame[end - 1] == CR)
        end--;
    if (end - off > DC09_FRAME_MAX) {
        dc09__diag(diag, "frame", 0);
        return DC09_E_OVERSIZE;
    }
    const uint8_t *f = frame + off;
    size_t n = end - off;
    size_t b;
    if ((quirks & DC09_Q_BINARY_CRC) && n > 6 && f[6] == '"' && dc09__is_hex(f[2]) &&
        dc09__is_hex(f[3]) && dc09__is_hex(f[4]) && dc09__is_hex(f[5])) {
        /* two binary CRC bytes, the first of which may be '"' (1 frame in 256):
         * no bare body has '"' at 6 after four hex digits */
        b = 6;
    } else if (n > 0 && f[0] == '"') {
        b = 0;
    } else {
        b = body_offset(f, n);
        if (b == 0 || (b == 6 && !(quirks & DC09_Q_BINARY_CRC))) {
            dc09__diag(diag, "frame", off);
            return DC09_E_FORMAT;
        }
    }
    size_t pos;
    return parse_head(f + b, n - b, off + b, quirks, out, &pos, diag);
}

static uint16_t hex4(const uint8_t *p)
{
    return (uint16_t)(dc09__hexval(p[0]) << 12 | dc09__hexval(p[1]) << 8 | dc09__hexval(p[2]) << 4 |
                      dc09__hexval(p[3]));
}

static bool is_hex4(const uint8_t *p)
{
    return dc09__is_hex(p[0]) && dc09__is_hex(p[1]) && dc09__is_hex(p[2]) && dc09__is_hex(p[3]);
}

/*
 * The data block's interior: "#acct|payload", "" or (quirk) "|payload" /
 * "payload". out->data/data_len are already set.
 */
static int split_data(struct dc09_frame *out, uint32_t quirks, size_t base, struct dc09_diag *diag)
{
    const uint8_t *d = (const uint8_t *)out->data;
    size_t n = out->data_len;
    if (n == 0)
        return 0;
    if (d[0] == '#') {
        size_t a = hex_run(d, 1, n);
        if (a < 3 || a > DC09_ACCOUNT_MAX || 1 + a >= n || d[1 + a] != '|') {
            dc09__diag(diag, "data", base);
            return DC09_E_FORMAT;
        }
        out->has_data_account = true;
        copy_str(out->data_account, d + 1, a);
        out->payload_off = a + 2;
    } else if (quirks & DC09_Q_NO_DATA_ACCT) {
        out->payload_off = d[0] == '|' ? 1 : 0; /* Ajax: "[|payload]" or "[payload]" */
    } else {
        dc09__diag(diag, "data", base);
        return DC09_E_FORMAT;
    }
    out->payload_len = n - out->payload_off;
    return 0;
}

/* Bytes a data or xdata block may not contain: brackets (they delimit the
 * blocks), and NUL, CR, LF (the block becomes a C string; CR and LF delimit
 * frames). Other bytes, including 8-bit text from real panels, pass. */
static inline bool bad_text_byte(uint8_t b)
{
    return b == '[' || b == '\0' || b == '\r' || b == '\n';
}

/*
 * "data ] xdata... [_timestamp]" — from the first data byte to the end.
 * c may point into out->data itself (decrypted text, at or behind
 * out->data): each data byte is copied to the front as the scan reads it,
 * never over a byte not yet read, and nothing behind the data is overwritten.
 * base/scale map an index in c to a frame offset for diag (scale 2: hex).
 */
static int parse_content(const uint8_t *c, size_t n, size_t base, size_t scale, uint32_t quirks,
                         struct dc09_frame *out, struct dc09_diag *diag)
{
    size_t i = 0;
    while (i < n && c[i] != ']' && !bad_text_byte(c[i])) {
        if (i < DC09_DATA_MAX)
            out->data[i] = (char)c[i];  /* to the front as it is read (no memmove) */
        i++;
    }
    if (i >= n || c[i] != ']') {
        dc09__diag(diag, "data", base + i * scale);
        return DC09_E_FORMAT;
    }
    if (i > DC09_DATA_MAX) {
        dc09__diag(diag, "data", base);
        return DC09_E_OVERSIZE;
    }
    out->data[i] = '\0';
    out->data_len = i;
    int rc = split_data(out, quirks, base, diag);
    if (rc)
        return rc;
    size_t j = i + 1;
    while (j < n && c[j] == '[') {
        size_t v = j + 2;
        if (v > n || c[j + 1] < 'A' || c[j + 1] > 'Z') {
            dc09__diag(diag, "xdata", base + j * scale);
            return DC09_E_FORMAT;
        }
        size_t e = v;
        while (e < n && c[e] != ']' && !bad_text_byte(c[e]))
            e++;
        if (e >= n || c[e] != ']') {
            dc09__diag(diag, "xdata", base + j * scale);
            return DC09_E_FORMAT;
        }
        if (e - v > DC09_XDATA_LEN_MAX || out->xdata_count == DC09_XDATA_MAX) {
            dc09__diag(diag, "xdata", base + j * scale);
            return DC09_E_OVERSIZE;
        }
        struct dc09_xdata *x = &out->xdata[out->xdata_count++];
        x->type = (char)c[j + 1];
        x->len = (uint8_t)(e - v);
        copy_str(x->value, c + v, e - v);
        j = e + 1;
    }
    if (j < n) {
        if (c[j] != '_') {
            dc09__diag(diag, "trailer", base + j * scale);
            return DC09_E_FORMAT;
        }
        if (n - j - 1 != DC09__TS_LEN ||
            dc09_time_parse((const char *)c + j + 1, DC09__TS_LEN, &out->time_s) != 0) {
            dc09__diag(diag, "timestamp", base + j * scale);
            return DC09_E_FORMAT;
        }
        out->has_time = true;
    }
    return 0;
}

static bool printable(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] < 0x20 || p[i] > 0x7E)
            return false;
    return true;
}

/*
 * hex → AES-CBC (zero IV) → pad → content. The ciphertext is decoded into
 * out->data (large enough: a frame of DC09_FRAME_MAX carries at most
 * DC09_FRAME_MAX/2 bytes) and decrypted there, so no other buffer is needed.
 */
static int decode_encrypted(const uint8_t *hex, size_t hl, size_t base,
                            const struct dc09_decode_opts *opts, struct dc09_frame *out,
                            struct dc09_diag *diag)
{
    if (hl == 0 || hl % 32 != 0) {
        dc09__diag(diag, "data", base);
        return DC09_E_DECRYPT;
    }
    size_t m = hl / 2;
    if (m > sizeof out->data - 1) {
        dc09__diag(diag, "data", base);
        return DC09_E_OVERSIZE;
    }
    uint8_t *plain = (uint8_t *)out->data;
    for (size_t k = 0; k < m; k++) {
        int hi = dc09__hexval(hex[2 * k]), lo = dc09__hexval(hex[2 * k + 1]);
        if (hi < 0 || lo < 0) {
            dc09__diag(diag, "data", base + 2 * k);
            return DC09_E_DECRYPT;
        }
        plain[k] = (uint8_t)(hi << 4 | lo);
    }
    if (opts->cipher->decrypt(opts->cipher, plain, m) != 0) {
        dc09__diag(diag, "data", base);
        return DC09_E_CRYPTO;
    }
    /* First pad terminator '|'. */
    size_t bar = 0;
    while (bar < m && plain[bar] != '|')
        bar++;
    /* Encrypted text always ends with the timestamp; without one, this is
     * either a wrong key (random bytes) or a sender that left it out. */
    if (m < DC09__TS_LEN + 2 || plain[m - DC09__TS_LEN - 1] != '_' ||
        !dc09__ts_shape(plain + m - DC09__TS_LEN)) {
        if (bar < m && printable(plain + bar, m - bar) &&
            dc09__memchr(plain + bar, ']', m - bar) != NULL) {
            dc09__diag(diag, "timestamp", base);
            return DC09_E_FORMAT;
        }
        dc09__diag(diag, "data", base);
        return DC09_E_DECRYPT;
    }
    size_t start;
    if (bar < m) {
        start = bar + 1;
    } else if (opts->quirks & DC09_Q_PAD_NO_BAR) {
        /* Hikvision: "ppppppppppp]_ts" — the pad runs up to the data's ']'. */
        bar = 0;
        while (bar < m && plain[bar] != ']')
            bar++;
        start = bar; /* empty data */
    } else {
        dc09__diag(diag, "pad", base);
        return DC09_E_PAD;
    }
    for (size_t k = 0; k < bar; k++) {
        if (plain[k] == '[' || plain[k] == ']') {
            dc09__diag(diag, "pad", base + 2 * k);
            return DC09_E_PAD;
        }
    }
    int rc = parse_content(plain + start, m - start, base + 2 * start, 2, opts->quirks, out, diag);
    if (rc)
        return rc;
    if (!out->has_time) {
        dc09__diag(diag, "timestamp", base);
        return DC09_E_FORMAT;
    }
    return 0;
}

void dc09_decode_opts_init(struct dc09_decode_opts *o, int64_t now_s)
{
    if (!o)
        return;
    o->quirks = 0;
    o->cipher = NULL;
    o->check_time = true;
    o->now_s = now_s;
    o->window_past_s = DC09_WINDOW_PAST_S;
    o->window_future_s = DC09_WINDOW_FUTURE_S;
}

/* Step 1 of dc09_decode: framing, CRC and length (a receiver stays silent
 * on these). On success the body ('"' onwards) is frame[*body_off ..
 * *body_off + *body_len), past LF, CRC and length, before the CR. */
int dc09__frame_body(const uint8_t *frame, size_t len, uint32_t quirks, size_t *body_off,
                     size_t *body_len, struct dc09_diag *diag)
{
    if (len > DC09_FRAME_MAX) {
        dc09__diag(diag, "frame", 0);
        return DC09_E_OVERSIZE;
    }
    size_t off = 0, end = len;
    if (end > off && frame[0] == LF)
        off = 1;
    if (end > off && frame[end - 1] == CR)
        end--;
    const uint8_t *f = frame + off;
    size_t n = end - off;

    size_t b = body_offset(f, n);
    if (b == 0) {
        dc09__diag(diag, "frame", off);
        return DC09_E_FORMAT;
    }
    uint16_t sent;
    if (b == 8) {
        if (!is_hex4(f)) {
            dc09__diag(diag, "crc", off);
            return DC09_E_CRC;
        }
        sent = hex4(f);
    } else {
        if (!(quirks & DC09_Q_BINARY_CRC)) {
            dc09__diag(diag, "crc", off);
            return DC09_E_CRC;
        }
        sent = (uint16_t)(f[0] << 8 | f[1]);
    }
    const uint8_t *body = f + b;
    size_t bl = n - b;
    uint16_t crc = dc09_crc16(body, bl);
    if (crc != sent) {
        static const uint8_t cr = CR;
        /* Eldes computes the CRC over the body plus the CR. */
        if (!(quirks & DC09_Q_CRC_WITH_CR) || dc09_crc16_update(crc, &cr, 1) != sent) {
            dc09__diag(diag, "crc", off);
            return DC09_E_CRC;
        }
    }
    if (!is_hex4(f + b - 4)) {
        dc09__diag(diag, "length", off + b - 4);
        return DC09_E_LENGTH;
    }
    if (hex4(f + b - 4) != bl && !(quirks & DC09_Q_IGNORE_LENGTH)) {
        dc09__diag(diag, "length", off + b - 4);
        return DC09_E_LENGTH;
    }
    *body_off = off + b;
    *body_len = bl;
    return 0;
}

/* Steps 1-4 of dc09_decode (everything but the payload codec). */
static int decode_frame(const uint8_t *frame, size_t len, const struct dc09_decode_opts *opts,
                        struct dc09_frame *out, struct dc09_diag *diag)
{
    if (!frame || !opts || !out)
        return DC09_E_INVAL;
    frame_reset(out);
    const uint32_t quirks = opts->quirks;

    /* 1. CRC and length. */
    size_t bo, bl;
    int rc = dc09__frame_body(frame, len, quirks, &bo, &bl, diag);
    if (rc)
        return rc;
    const uint8_t *body = frame + bo;

    /* 2. Header. */
    size_t pos;
    rc = parse_head(body, bl, bo, quirks, out, &pos, diag);
    if (rc)
        return rc;
    size_t base = bo + pos + 1; /* frame offset of the first byte after '[' */

    /* 3. Data: clear or encrypted. */
    if (out->encrypted) {
        if (!opts->cipher) {
            dc09__diag(diag, "id", bo);
            return DC09_E_NOKEY;
        }
        rc = decode_encrypted(body + pos + 1, bl - pos - 1, base, opts, out, diag);
    } else {
        if (opts->cipher && (out->id == DC09_ID_SIA_DCS || out->id == DC09_ID_ADM_CID ||
                             out->id == DC09_ID_NULL)) {
            dc09__diag(diag, "id", bo);
            return DC09_E_CLEAR;
        }
        rc = parse_content(body + pos + 1, bl - pos - 1, base, 1, quirks, out, diag);
    }
    if (rc)
        return rc;

    /* 4. Time window: [now - past, now + future], both ends inclusive. Not
     * for a NAK: it carries the receiver's clock precisely because the
     * sender's is off, so the window would refuse every useful NAK. */
    if (opts->check_time && out->has_time && out->id != DC09_ID_NAK) {
        if (out->time_s < opts->now_s - opts->window_past_s ||
            out->time_s > opts->now_s + opts->window_future_s) {
            dc09__diag(diag, "timestamp", frame[0] == LF ? 1u : 0u);
            return DC09_E_TIME;
        }
    }

    return 0;
}

int dc09_decode_reply(const uint8_t *frame, size_t len, const struct dc09_decode_opts *opts,
                      struct dc09_frame *out, struct dc09_diag *diag)
{
    return decode_frame(frame, len, opts, out, diag);
}

int dc09_decode(const uint8_t *frame, size_t len, const struct dc09_decode_opts *opts,
                struct dc09_frame *out, struct dc09_diag *diag)
{
    int rc = decode_frame(frame, len, opts, out, diag);
    if (rc)
        return rc;
    /* 5. Payload: a payload that does not parse is not a decode failure. */
    const char *pl = out->data + out->payload_off;
    if (out->id == DC09_ID_ADM_CID)
        out->has_cid = dc09_cid_parse(pl, out->payload_len, &out->cid) == 0;
    else if (out->id == DC09_ID_SIA_DCS)
        out->has_sia = dc09_sia_parse(pl, out->payload_len, &out->sia) == 0;
    return 0;
}
