/*
 * lib/dc09/reader.c — the streaming reader: bytes as TCP delivers them in,
 * whole LF..CR frames out. Several frames per read, one frame over many
 * reads, garbage between frames, oversize input (reported once, then
 * dropped until the next LF). A frame that lies whole inside one feed is
 * handed out straight from the caller's bytes; only partial frames are copied.
 * Must never allocate, hold more than r->cap bytes, or treat one read as one
 * frame (the known fault of a popular receiver, DC09.md).
 */
#include "dc09_internal.h"

#include <string.h>

#define LF 0x0A
#define CR 0x0D

/* With DC09_Q_BINARY_CRC the form is known once LF + 2 CRC + 4 length + '"'
 * have arrived: a '"' at index 7 means a binary CRC. */
#define BIN_PROBE 8u

void dc09_reader_init(struct dc09_reader *r, uint8_t *buf, size_t cap, uint32_t quirks)
{
    r->buf = buf;
    r->cap = cap;
    r->quirks = quirks;
    dc09_reader_reset(r);
}

void dc09_reader_reset(struct dc09_reader *r)
{
    r->len = 0;
    r->in_frame = false;
    r->discarding = false;
}

static size_t limit(const struct dc09_reader *r)
{
    return r->cap < DC09_FRAME_MAX ? r->cap : DC09_FRAME_MAX;
}

/* Index of the first LF or CR in p[0..n), or n. Two memchr passes (the
 * CR, then an LF before it) beat a byte loop wherever memchr is vectorised. */
static size_t find_lfcr(const uint8_t *p, size_t n)
{
    const uint8_t *cr = dc09__memchr(p, CR, n);
    size_t lim = cr ? (size_t)(cr - p) : n;
    const uint8_t *lf = dc09__memchr(p, LF, lim);
    return lf ? (size_t)(lf - p) : lim;
}

/* With the binary-CRC quirk: total frame length (LF..CR) if the buffered
 * start shows a binary CRC, else 0 (hex form: scan for CR as usual). */
static size_t binary_total(const uint8_t *f)
{
    if (f[7] != '"')
        return 0;
    size_t l = 0;
    for (unsigned i = 3; i < 7; i++) {
        int v = dc09__hexval(f[i]);
        if (v < 0)
            return 0;
        l = l << 4 | (size_t)v;
    }
    return 1 + 2 + 4 + l + 1;
}

static void oversize(struct dc09_reader *r, const uint8_t *p, size_t n, dc09_frame_fn fn, void *ctx)
{
    fn(ctx, p, n, DC09_E_OVERSIZE);
    r->len = 0;
    r->in_frame = false;
    r->discarding = true;
}

static bool append(struct dc09_reader *r, const uint8_t *p, size_t n, dc09_frame_fn fn, void *ctx)
{
    if (n > limit(r) - r->len) {
        size_t room = limit(r) - r->len;
        memcpy(r->buf + r->len, p, room);
        oversize(r, r->buf, limit(r), fn, ctx);
        return false;
    }
    memcpy(r->buf + r->len, p, n);
    r->len += n;
    return true;
}

size_t dc09_reader_feed(struct dc09_reader *r, const uint8_t *data, size_t len, dc09_frame_fn fn,
                        void *ctx)
{
    size_t frames = 0;
    size_t i = 0;
    if (!r || !r->buf || !fn || (!data && len) || limit(r) < BIN_PROBE)
        return 0;
    while (i < len) {
        /* Read at every step, not once per feed: a receiver switches the
         * framing to an account's from inside the callback (the frame just
         * accepted), and the next frame in this same read must be framed the
         * new way, as it would be had it come in the next read
         * (fuzz/crashes/stream/quirk-switch-mid-feed). */
        const bool binq = (r->quirks & DC09_Q_BINARY_CRC) != 0;
        if (!r->in_frame) {
            /* Outside a frame (or discarding an oversize one): skip to the next LF. */
            const uint8_t *lf = dc09__memchr(data + i, LF, len - i);
            if (!lf)
                return frames;
            i = (size_t)(lf - data);
            r->in_frame = true;
            r->discarding = false;
            r->len = 0;
            if (!binq) {
                /* Fast path: the whole frame is inside this feed. */
                size_t rest = len - i - 1;
                size_t e = find_lfcr(data + i + 1, rest);
                if (e < rest && data[i + 1 + e] == CR && e + 2 <= limit(r)) {
                    r->in_frame = false;
                    frames++;
                    fn(ctx, data + i, e + 2, 0);
                    i += e + 2;
                    continue;
                }
                if (e < rest && data[i + 1 + e] == LF && e + 1 <= limit(r)) {
                    i += 1 + e; /* an aborted frame: restart at the new LF */
                    r->in_frame = false;
                    continue;
                }
            }
            r->buf[0] = LF;
            r->len = 1;
            i++;
            continue;
        }
        /* Inside a frame, r->buf[0..len) buffered. */
        if (binq && r->len < BIN_PROBE) {
            size_t take = BIN_PROBE - r->len;
            if (take > len - i)
                take = len - i;
            if (!append(r, data + i, take, fn, ctx)) {
                i += take;
                continue;
            }
            i += take;
            if (r->len < BIN_PROBE)
                continue;
            if (binary_total(r->buf) == 0) {
                /* Hex form after all: a CR or LF among the probed bytes ends
                 * or restarts the frame; re-feed them through the normal path. */
                size_t e = find_lfcr(r->buf + 1, r->len - 1);
                if (e < r->len - 1) {
                    uint8_t tmp[BIN_PROBE];
                    size_t tn = r->len - 1 - e;
                    memcpy(tmp, r->buf + 1 + e, tn);
                    if (tmp[0] == CR) {
                        frames++;
                        r->in_frame = false;
                        fn(ctx, r->buf, e + 2, 0);
                        /* bytes after the CR are outside any frame */
                        const uint8_t *lf = dc09__memchr(tmp + 1, LF, tn - 1);
                        if (lf) {
                            size_t k = (size_t)(lf - tmp);
                            memcpy(r->buf, tmp + k, tn - k);
                            r->len = tn - k;
                            r->in_frame = true;
                        } else {
                            r->len = 0;
                        }
                    } else {
                        memcpy(r->buf, tmp, tn);
                        r->len = tn;
                    }
                }
            }
            continue;
        }
        size_t total = binq ? binary_total(r->buf) : 0;
        if (total) {
            if (total > limit(r)) {
                oversize(r, r->buf, r->len, fn, ctx);
                continue;
            }
            size_t take = total - r->len;
            if (take > len - i)
                take = len - i;
            memcpy(r->buf + r->len, data + i, take);
            r->len += take;
            i += take;
            if (r->len == total) {
                r->in_frame = false;
                r->len = 0;
                if (r->buf[total - 1] != CR) {
                    /* The length field pointed somewhere that is not a CR:
                     * not a frame. Reported as DC09_E_FORMAT and dropped;
                     * the scan resumes at the next LF after it. A good frame
                     * hidden inside the claimed length is lost with it (the
                     * panel retries what is not ACKed); re-scanning inside
                     * the buffer would need a second buffer on the target. */
                    fn(ctx, r->buf, total, DC09_E_FORMAT);
                    continue;
                }
                frames++;
                fn(ctx, r->buf, total, 0);
            }
            continue;
        }
        size_t rest = len - i;
        size_t e = find_lfcr(data + i, rest);
        if (e == rest) {
            append(r, data + i, rest, fn, ctx);
            i = len;
            continue;
        }
        if (data[i + e] == LF) {
            /* The frame never ended: drop it, start over at this LF; if it
             * had already outgrown the buffer, that is reported (once), as
             * it would be had the bytes come one by one. */
            if (e > limit(r) - r->len)
                (void)append(r, data + i, e, fn, ctx);
            r->in_frame = false;
            r->len = 0;
            i += e;
            continue;
        }
        if (!append(r, data + i, e + 1, fn, ctx)) {
            i += e + 1;
            continue;
        }
        i += e + 1;
        frames++;
        r->in_frame = false;
        fn(ctx, r->buf, r->len, 0);
        r->len = 0;
    }
    return frames;
}
