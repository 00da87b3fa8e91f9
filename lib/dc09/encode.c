/*
 * lib/dc09/encode.c — writing DC-09 frames and the receiver's replies
 * (ACK, *ACK, NAK, DUH), clear or encrypted with a fresh random pad.
 * Must never write past the caller's buffer, reuse a pad, send fewer than
 * DC09_PAD_MIN pad bytes, or put '|' '[' ']' into a pad.
 */
#include "dc09_internal.h"

#include <string.h>

#define LF 0x0A
#define CR 0x0D

/* What a frame on the wire is made of; strings are NUL-terminated. */
struct parts {
    enum dc09_id id;
    bool encrypted;
    uint16_t seq;
    const char *receiver; /* NULL: no R token */
    const char *line;     /* "" writes a bare L */
    const char *account;
    const char *data;
    size_t data_len;
    const struct dc09_xdata *xdata;
    size_t xdata_count;
    bool has_time;
    int64_t time_s;
};

static bool hex_str(const char *s, size_t min, size_t max)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (n == max || !dc09__is_hex((uint8_t)s[n]))
            return false;
    return n >= min;
}

static bool text_ok(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '[' || c == ']' || c == LF || c == CR || c == '\0')
            return false;
    }
    return true;
}

static int check_parts(const struct parts *p)
{
    if (!dc09_id_name(p->id) || p->seq > 9999)
        return DC09_E_INVAL;
    if (p->receiver && !hex_str(p->receiver, 1, DC09_RECEIVER_MAX))
        return DC09_E_INVAL;
    if (!p->line || !hex_str(p->line, 0, DC09_LINE_MAX))
        return DC09_E_INVAL;
    if (!p->account || !hex_str(p->account, p->id == DC09_ID_NAK ? 1 : 3, DC09_ACCOUNT_MAX))
        return DC09_E_INVAL;
    if (p->data_len > DC09_DATA_MAX || (p->data_len && !p->data) || !text_ok(p->data, p->data_len))
        return DC09_E_INVAL;
    if (p->xdata_count > DC09_XDATA_MAX)
        return DC09_E_INVAL;
    for (size_t i = 0; i < p->xdata_count; i++) {
        const struct dc09_xdata *x = &p->xdata[i];
        if (x->type < 'A' || x->type > 'Z' || x->len > DC09_XDATA_LEN_MAX ||
            x->value[x->len] != '\0' || !text_ok(x->value, x->len))
            return DC09_E_INVAL;
    }
    if (p->encrypted && (!p->has_time || p->id == DC09_ID_NAK || p->id == DC09_ID_DUH))
        return DC09_E_INVAL;
    return 0;
}

/* A bounded writer over the caller's buffer. */
struct w {
    uint8_t *out;
    size_t cap;
    size_t n;
    bool full;
};

static void put(struct w *w, const void *s, size_t n)
{
    if (w->full || n > w->cap - w->n) {
        w->full = true;
        return;
    }
    memcpy(w->out + w->n, s, n);
    w->n += n;
}

static void put_c(struct w *w, char c) { put(w, &c, 1); }
static void put_s(struct w *w, const char *s) { put(w, s, dc09__strlen(s)); }

static void put_hex4(uint8_t *o, unsigned v)
{
    o[0] = (uint8_t)dc09__hexdig[v >> 12 & 15];
    o[1] = (uint8_t)dc09__hexdig[v >> 8 & 15];
    o[2] = (uint8_t)dc09__hexdig[v >> 4 & 15];
    o[3] = (uint8_t)dc09__hexdig[v & 15];
}

/* The pad alphabet: printable ASCII without space, '|', '[' and ']' — 91
 * characters, in code order ("!\"#...@A..Z\\^_`a..z{}~"). The k-th is computed,
 * not looked up (a table is 92 bytes of a panel's flash). */
#define PAD_ALPHABET_N (0x7Eu - 0x21u + 1u - 3u)
_Static_assert(PAD_ALPHABET_N == 91, "printable ASCII minus space | [ ]");
static uint8_t pad_char(unsigned k)
{
    unsigned c = 0x21u + k;
    c += c >= '[';
    c += c >= ']';
    c += c >= '|';
    return (uint8_t)c;
}
/* Bytes below this limit map uniformly onto the alphabet. */
#define PAD_ACCEPT_BELOW (256u / PAD_ALPHABET_N * PAD_ALPHABET_N)

/* n random pad bytes by rejection sampling, so every character is equally
 * likely. A healthy rng is accepted 71% of the time; one that keeps giving
 * rejected bytes (stuck at 0xFF) is broken: fail rather than loop forever. */
static int make_pad(struct dc09_rng *rng, uint8_t *pad, size_t n)
{
    uint8_t r[32];
    size_t have = 0, used = 0, drawn = 0;
    size_t i = 0;
    while (i < n) {
        if (used == have) {
            if (drawn > 16 * n + 64)
                return DC09_E_CRYPTO;
            have = n - i + 8 < sizeof r ? n - i + 8 : sizeof r;
            rng->fill(rng, r, have);
            drawn += have;
            used = 0;
        }
        uint8_t b = r[used++];
        if (b < PAD_ACCEPT_BELOW)
            pad[i++] = pad_char(b % PAD_ALPHABET_N);
    }
    return 0;
}

/* "data ] xdata... [_timestamp]" */
static void put_content(struct w *w, const struct parts *p)
{
    put(w, p->data, p->data_len);
    put_c(w, ']');
    for (size_t i = 0; i < p->xdata_count; i++) {
        put_c(w, '[');
        put_c(w, p->xdata[i].type);
        put(w, p->xdata[i].value, p->xdata[i].len);
        put_c(w, ']');
    }
    if (p->has_time) {
        char ts[DC09__TS_LEN + 1];
        (void)dc09_time_format(p->time_s, ts, sizeof ts); /* checked by the caller */
        put_c(w, '_');
        put(w, ts, DC09__TS_LEN);
    }
}

static size_t content_len(const struct parts *p)
{
    size_t n = p->data_len + 1;
    for (size_t i = 0; i < p->xdata_count; i++)
        n += 3 + p->xdata[i].len;
    if (p->has_time)
        n += 1 + DC09__TS_LEN;
    return n;
}

static int encode_parts(const struct parts *p, struct dc09_cipher *cipher, struct dc09_rng *rng,
                        uint8_t *out, size_t cap, size_t *out_len)
{
    int rc = check_parts(p);
    if (rc)
        return rc;
    if (p->encrypted && (!cipher || !rng))
        return DC09_E_INVAL;
    if (p->has_time) {
        char ts[DC09__TS_LEN + 1];
        if (dc09_time_format(p->time_s, ts, sizeof ts) != 0)
            return DC09_E_INVAL;
    }
    struct w w = {out, cap, 0, false};
    put(&w, "\n00000000", 9); /* CRC and length are filled in at the end */
    size_t body = w.n;
    put_c(&w, '"');
    if (p->encrypted)
        put_c(&w, '*');
    put_s(&w, dc09_id_name(p->id));
    put_c(&w, '"');
    char seq[4];
    dc09__put_dec(seq, p->seq, 4);
    put(&w, seq, 4);
    if (p->receiver) {
        put_c(&w, 'R');
        put_s(&w, p->receiver);
    }
    put_c(&w, 'L');
    put_s(&w, p->line);
    put_c(&w, p->id == DC09_ID_NAK ? 'A' : '#');
    put_s(&w, p->account);
    put_c(&w, '[');
    if (!p->encrypted) {
        put_content(&w, p);
    } else {
        /* pad | data ] xdata _timestamp, a whole number of blocks, >= 8 pad bytes */
        size_t region = 1 + content_len(p);
        size_t padn = (16 - region % 16) % 16;
        if (padn < DC09_PAD_MIN)
            padn += 16;
        region += padn;
        /* The plaintext is built where its hex will go, encrypted in place,
         * then expanded to hex in place from the end backwards. */
        if (w.full || region * 2 > w.cap - w.n)
            return DC09_E_NOSPACE;
        size_t start = w.n;
        rc = make_pad(rng, w.out + start, padn);
        if (rc)
            return rc;
        w.n += padn;
        put_c(&w, '|');
        put_content(&w, p);
        if (w.full || w.n - start != region)
            return DC09_E_NOSPACE;
        if (cipher->encrypt(cipher, w.out + start, region) != 0)
            return DC09_E_CRYPTO;
        for (size_t i = region; i-- > 0;) {
            uint8_t b = w.out[start + i];
            w.out[start + 2 * i] = (uint8_t)dc09__hexdig[b >> 4];
            w.out[start + 2 * i + 1] = (uint8_t)dc09__hexdig[b & 15];
        }
        w.n = start + 2 * region;
    }
    size_t bl = w.n - body;
    put_c(&w, CR);
    if (w.full)
        return DC09_E_NOSPACE;
    if (w.n > DC09_FRAME_MAX)
        return DC09_E_OVERSIZE;
    put_hex4(out + 1, dc09_crc16(out + body, bl));
    put_hex4(out + 5, (unsigned)bl);
    *out_len = w.n;
    return 0;
}

int dc09_encode(const struct dc09_frame *f, struct dc09_cipher *cipher, struct dc09_rng *rng,
                uint8_t *out, size_t cap, size_t *out_len)
{
    if (!f || !out || !out_len)
        return DC09_E_INVAL;
    if (f->has_receiver && f->receiver[0] == '\0')
        return DC09_E_INVAL;
    if (f->data_len > DC09_DATA_MAX)
        return DC09_E_INVAL;
    struct parts p = {
        .id = f->id,
        .encrypted = cipher != NULL,
        .seq = f->seq,
        .receiver = f->has_receiver ? f->receiver : NULL,
        .line = f->line,
        .account = f->account,
        .data = f->data,
        .data_len = f->data_len,
        .xdata = f->xdata,
        .xdata_count = f->xdata_count,
        .has_time = f->has_time,
        .time_s = f->time_s,
    };
    return encode_parts(&p, cipher, rng, out, cap, out_len);
}

int dc09_build_data(struct dc09_frame *f, const char *account, const char *payload,
                    size_t payload_len)
{
    if (!f || !account || (payload_len && !payload))
        return DC09_E_INVAL;
    size_t al = dc09__strlen(account);
    if (!hex_str(account, 3, DC09_ACCOUNT_MAX))
        return DC09_E_INVAL;
    if (!text_ok(payload, payload_len))
        return DC09_E_INVAL;
    if (1 + al + 1 + payload_len > DC09_DATA_MAX)
        return DC09_E_OVERSIZE;
    f->data[0] = '#';
    memcpy(f->data + 1, account, al);
    f->data[1 + al] = '|';
    if (payload_len)
        memcpy(f->data + 2 + al, payload, payload_len);
    f->data_len = 2 + al + payload_len;
    f->data[f->data_len] = '\0';
    f->has_data_account = true;
    memcpy(f->data_account, account, al + 1);
    f->payload_off = 2 + al;
    f->payload_len = payload_len;
    return 0;
}

int dc09_reply_ack(const struct dc09_frame *req, struct dc09_cipher *cipher, struct dc09_rng *rng,
                   int64_t now_s, uint8_t *out, size_t cap, size_t *out_len)
{
    if (!req || !out || !out_len)
        return DC09_E_INVAL;
    if (req->encrypted && (!cipher || !rng))
        return DC09_E_NOKEY;
    struct parts p = {
        .id = DC09_ID_ACK,
        .encrypted = req->encrypted,
        .seq = req->seq,
        .receiver = req->has_receiver ? req->receiver : NULL,
        .line = req->line,
        .account = req->account,
        .data = "",
        .has_time = req->encrypted,
        .time_s = now_s,
    };
    return encode_parts(&p, req->encrypted ? cipher : NULL, rng, out, cap, out_len);
}

int dc09_reply_nak(int64_t now_s, uint8_t *out, size_t cap, size_t *out_len)
{
    if (!out || !out_len)
        return DC09_E_INVAL;
    struct parts p = {
        .id = DC09_ID_NAK,
        .seq = 0,
        .receiver = "0",
        .line = "0",
        .account = "0",
        .data = "",
        .has_time = true,
        .time_s = now_s,
    };
    return encode_parts(&p, NULL, NULL, out, cap, out_len);
}

int dc09_reply_duh(const struct dc09_frame *req, uint8_t *out, size_t cap, size_t *out_len)
{
    if (!req || !out || !out_len)
        return DC09_E_INVAL;
    struct parts p = {
        .id = DC09_ID_DUH,
        .seq = req->seq,
        .receiver = req->has_receiver ? req->receiver : NULL,
        .line = req->line,
        .account = req->account,
        .data = "",
    };
    return encode_parts(&p, NULL, NULL, out, cap, out_len);
}
