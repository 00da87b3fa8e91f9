/*
 * cmd_dc09.c — `vigil dc09 decode|encode|send`: SIA DC-09 frames from the
 * command line, for installers and for scripts (docs/cli.md is the contract:
 * verbs, flags, JSON fields, exit codes).
 *
 * All protocol work is lib/dc09's; this file only parses options, moves bytes
 * and prints JSON (jansson). It must never print a key, and never answer a
 * bad frame with anything but a specific error.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "keyopt.h"
#include "net.h"
#include "opts.h"
#include "vigil/dc09.h"
#include "vigil/dc09_openssl.h"

/* ---- options ------------------------------------------------------------ */

static bool is_hex_upper(const char *s, size_t min, size_t max)
{
    size_t n = strlen(s);
    if (n < min || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(isdigit((unsigned char)s[i]) || (s[i] >= 'A' && s[i] <= 'F')))
            return false;
    return true;
}

static int parse_quirk(const char *val, uint32_t *quirks)
{
    uint32_t flag;
    if (dc09_quirk_parse(val, &flag) != 0) {
        fprintf(stderr, "vigil: --quirk: unknown quirk '%s' (binary-crc, crc-with-cr, bare-l, "
                        "pad-no-bar, no-data-account, ignore-length)\n", val);
        return CLI_USAGE;
    }
    *quirks |= flag;
    return CLI_OK;
}

static int take_quirk(void *args, const struct opt *o, char *val)
{
    return parse_quirk(val, (uint32_t *)(void *)((char *)args + o->field));
}

/* ---- JSON ------------------------------------------------------------- */

/* A JSON string from frame bytes: UTF-8 as is; otherwise read as Latin-1
 * (what panels that send accented zone names use) so the output stays valid. */
static json_t *jstr(const char *s)
{
    size_t n = strlen(s);
    json_t *j = json_stringn(s, n);
    if (j != NULL)
        return j;
    char buf[2 * DC09_DATA_MAX + 2];
    size_t o = 0;
    for (size_t i = 0; i < n && o + 2 < sizeof buf; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) {
            buf[o++] = (char)c;
        } else {
            buf[o++] = (char)(0xC0 | (c >> 6));
            buf[o++] = (char)(0x80 | (c & 0x3F));
        }
    }
    return json_stringn(buf, o);
}

static json_t *iso_time(int64_t t_s)
{
    time_t t = (time_t)t_s;
    struct tm tm;
    char buf[32];
    if (gmtime_r(&t, &tm) == NULL || strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        return json_null();
    return json_string(buf);
}

static json_t *frame_json(const struct dc09_frame *f)
{
    json_t *o = json_object();
    json_object_set_new(o, "ok", json_true());
    json_object_set_new(o, "id", json_string(dc09_id_name(f->id)));
    json_object_set_new(o, "encrypted", json_boolean(f->encrypted));
    json_object_set_new(o, "seq", json_integer(f->seq));
    json_object_set_new(o, "receiver", f->has_receiver ? jstr(f->receiver) : json_null());
    json_object_set_new(o, "line", jstr(f->line));
    json_object_set_new(o, "account", jstr(f->account));
    if (f->has_data_account)
        json_object_set_new(o, "data_account", jstr(f->data_account));
    char payload[DC09_DATA_MAX + 1];
    size_t pl = f->payload_len;
    if (f->payload_off + pl > f->data_len || pl > DC09_DATA_MAX)
        pl = 0;
    memcpy(payload, f->data + f->payload_off, pl);
    payload[pl] = '\0';
    json_object_set_new(o, "payload", jstr(payload));
    if (f->has_cid) {
        const char *desc = dc09_cid_describe(f->cid.event);
        const char *sia = dc09_cid_to_sia(f->cid.event, f->cid.qualifier);
        json_t *c = json_object();
        json_object_set_new(c, "qualifier", json_integer(f->cid.qualifier));
        json_object_set_new(c, "event", json_integer(f->cid.event));
        json_object_set_new(c, "partition", json_integer(f->cid.partition));
        json_object_set_new(c, "zone", json_integer(f->cid.zone));
        json_object_set_new(c, "description", desc ? json_string(desc) : json_null());
        json_object_set_new(c, "sia_code", sia ? json_string(sia) : json_null());
        json_object_set_new(o, "cid", c);
    }
    if (f->has_sia) {
        json_t *s = json_object();
        json_object_set_new(s, "code", jstr(f->sia.code));
        json_object_set_new(s, "area", f->sia.has_area ? json_integer(f->sia.area) : json_null());
        json_object_set_new(s, "user", f->sia.has_user ? json_integer(f->sia.user) : json_null());
        json_object_set_new(s, "zone", f->sia.has_zone ? json_integer(f->sia.zone) : json_null());
        json_object_set_new(s, "text", jstr(f->sia.text));
        if (f->sia.has_time) {
            char hm[8];
            snprintf(hm, sizeof hm, "%02u:%02u", (unsigned)f->sia.hour % 100u,
                     (unsigned)f->sia.minute % 100u);
            json_object_set_new(s, "time", json_string(hm));
        }
        json_object_set_new(o, "sia", s);
    }
    json_object_set_new(o, "timestamp", f->has_time ? iso_time(f->time_s) : json_null());
    json_t *xs = json_array();
    for (unsigned i = 0; i < f->xdata_count && i < DC09_XDATA_MAX; i++) {
        char t[2] = { f->xdata[i].type, '\0' };
        json_t *x = json_object();
        json_object_set_new(x, "type", jstr(t));
        json_object_set_new(x, "value", jstr(f->xdata[i].value));
        json_array_append_new(xs, x);
    }
    json_object_set_new(o, "xdata", xs);
    return o;
}

static json_t *error_json(int err, const struct dc09_diag *d)
{
    char detail[256];
    if (d->field != NULL)
        snprintf(detail, sizeof detail, "%s (field %s, byte %zu)", dc09_strerror(err), d->field,
                 d->offset);
    else
        snprintf(detail, sizeof detail, "%s", dc09_strerror(err));
    json_t *o = json_object();
    json_object_set_new(o, "ok", json_false());
    json_object_set_new(o, "error", json_string(dc09_errname(err)));
    json_object_set_new(o, "detail", jstr(detail));
    return o;
}

static void print_json(json_t *o)
{
    json_dumpf(o, stdout, JSON_COMPACT);
    fputc('\n', stdout);
    fflush(stdout);
    json_decref(o);
}

/* ---- decode ------------------------------------------------------------ */

struct decode_args {
    struct keyopt key;
    uint32_t quirks;
    bool no_window, stream;
};

static const struct opt decode_opts[] = {
    KEYOPT_ROWS(struct decode_args, key),
    { "--no-time-window", 0, NULL, OPT_BOOL, 0, offsetof(struct decode_args, no_window), NULL,
      "do not check the frame's timestamp against this machine's clock" },
    { "--quirk", 0, "NAME", OPT_CALL, OPT_REPEAT, offsetof(struct decode_args, quirks),
      take_quirk, "accept a panel's known deviation: binary-crc, crc-with-cr, bare-l, "
      "pad-no-bar, no-data-account, ignore-length" },
    { "--stream", 0, NULL, OPT_BOOL, 0, offsetof(struct decode_args, stream), NULL,
      "stdin is a byte stream as a TCP receiver sees it, cut into LF..CR frames" },
    { "--help", 'h', NULL, OPT_HELP, 0, 0, NULL, "print this help" },
};

const struct opt_cmd dc09_decode_cmd_opts = {
    .prog = "vigil", .path = "dc09 decode",
    .synopsis = "[--key K | --key-hex H | --key-file F | --key-hex-file F] [--no-time-window] "
                "[--quirk NAME]... [--stream]",
    .summary = "Reads one frame per line on stdin (--stream: a byte stream as a TCP receiver "
               "sees it); prints one JSON object per frame. Exit 2 if any frame was refused.",
    .opts = decode_opts, .n_opts = OPTS_N(decode_opts), .max_operands = 0,
    .style = OPTS_ONE_LINE, .eq_values = true,
};

/* Reads one line (LF-terminated) of at most cap-1 bytes. Returns false at EOF
 * with nothing read; *too_long when the line did not fit (the rest is skipped). */
static bool read_line(FILE *in, char *buf, size_t cap, size_t *len, bool *too_long)
{
    size_t n = 0;
    int c;
    bool any = false;
    *too_long = false;
    while ((c = getc(in)) != EOF) {
        any = true;
        if (c == '\n')
            break;
        if (n + 1 < cap)
            buf[n++] = (char)c;
        else
            *too_long = true;
    }
    buf[n] = '\0';
    *len = n;
    return any;
}

struct decode_ctx {
    uint32_t quirks;
    struct dc09_cipher *cipher;
    bool window;
    unsigned long n_ok, n_bad;
};

/* Decodes one frame (LF..CR) and prints its JSON line. */
static void decode_print(struct decode_ctx *dc, const uint8_t *frame, size_t len)
{
    struct dc09_decode_opts opts;
    dc09_decode_opts_init(&opts, (int64_t)time(NULL));
    opts.quirks = dc->quirks;
    opts.cipher = dc->cipher;
    opts.check_time = dc->window;
    struct dc09_frame f;
    struct dc09_diag diag = { 0 };
    int err = dc09_decode(frame, len, &opts, &f, &diag);
    if (err == 0) {
        print_json(frame_json(&f));
        dc->n_ok++;
    } else {
        print_json(error_json(err, &diag));
        dc->n_bad++;
    }
}

static void on_stream_frame(void *ctx, const uint8_t *frame, size_t len, int err)
{
    struct decode_ctx *dc = ctx;
    if (err == 0) {
        decode_print(dc, frame, len);
    } else {
        struct dc09_diag diag = { .field = "frame", .offset = 0 };
        print_json(error_json(err, &diag));
        dc->n_bad++;
    }
}

/* --stream: stdin as a receiver's socket would deliver it. */
static int decode_stream(struct decode_ctx *dc)
{
    uint8_t rbuf[DC09_FRAME_MAX + 2];
    struct dc09_reader rd;
    dc09_reader_init(&rd, rbuf, sizeof rbuf, dc->quirks);
    uint8_t in[4096];
    size_t n;
    while ((n = fread(in, 1, sizeof in, stdin)) > 0)
        dc09_reader_feed(&rd, in, n, on_stream_frame, dc);
    if (ferror(stdin)) {
        fprintf(stderr, "vigil: dc09 decode: reading stdin: %s\n", strerror(errno));
        return CLI_USAGE;
    }
    if (dc->n_bad > 0) {
        fprintf(stderr, "vigil: dc09 decode: %lu frame%s refused\n", dc->n_bad,
                dc->n_bad == 1 ? "" : "s");
        return CLI_USAGE;
    }
    return CLI_OK;
}

static int dc09_decode_cmd(int argc, char **argv)
{
    struct decode_args da = { 0 };
    int r = opts_parse(&dc09_decode_cmd_opts, argc, argv, 1, &da, NULL);
    struct keyopt key = da.key;
    uint32_t quirks = da.quirks;
    bool window = !da.no_window, stream = da.stream;
    if (r != 0) {
        keyopt_wipe(&da.key);
        return r == OPTS_DONE_HELP ? CLI_OK : r;
    }
    dc09_key_wipe(&da.key.key);

    struct dc09_ossl ossl;
    struct dc09_cipher *cipher = NULL;
    if (key.set) {
        int err = dc09_ossl_init(&ossl, &key.key);
        keyopt_wipe(&key);
        if (err != 0) {
            fprintf(stderr, "vigil: %s: %s\n", key.from, dc09_strerror(err));
            return CLI_USAGE;
        }
        cipher = &ossl.base;
    }

    struct decode_ctx dc = { .quirks = quirks, .cipher = cipher, .window = window };
    if (stream) {
        int rc = decode_stream(&dc);
        if (cipher != NULL)
            dc09_ossl_free(&ossl);
        return rc;
    }

    /* One line holds a frame with or without its LF and CR; we frame it LF..CR. */
    char line[DC09_FRAME_MAX + 2];
    uint8_t frame[DC09_FRAME_MAX + 2];
    size_t len;
    bool too_long;
    int status = CLI_OK;
    while (read_line(stdin, line, sizeof line, &len, &too_long)) {
        if (len > 0 && line[len - 1] == '\r')
            len--;
        if (len == 0 && !too_long)
            continue;
        if (too_long || len + 2 > DC09_FRAME_MAX) {
            struct dc09_diag diag = { .field = "frame", .offset = DC09_FRAME_MAX };
            print_json(error_json(DC09_E_OVERSIZE, &diag));
            dc.n_bad++;
            continue;
        }
        frame[0] = '\n';
        memcpy(frame + 1, line, len);
        frame[len + 1] = '\r';
        decode_print(&dc, frame, len + 2);
    }
    if (ferror(stdin)) {
        fprintf(stderr, "vigil: dc09 decode: reading stdin: %s\n", strerror(errno));
        status = CLI_USAGE;
    } else if (dc.n_bad > 0) {
        fprintf(stderr, "vigil: dc09 decode: %lu frame%s refused\n", dc.n_bad,
                dc.n_bad == 1 ? "" : "s");
        status = CLI_USAGE;
    }
    if (cipher != NULL)
        dc09_ossl_free(&ossl);
    return status;
}

/* ---- encode ------------------------------------------------------------ */

struct enc_args {
    const char *account;
    const char *cid;
    const char *sia;
    bool null;
    struct keyopt key;
    const char *seq;
    const char *receiver;
    const char *line;
    const char *time;
    bool raw;
    const char *xdata[DC09_XDATA_MAX];
    unsigned n_xdata;
    /* send only */
    const char *host;
    const char *port;
    bool udp;
    const char *timeout;
    uint32_t quirks;
};

static int take_xdata(void *args, const struct opt *o, char *val)
{
    (void)o;
    struct enc_args *a = args;
    if (a->n_xdata == DC09_XDATA_MAX) {
        fprintf(stderr, "vigil: --xdata: at most %u blocks\n", DC09_XDATA_MAX);
        return CLI_USAGE;
    }
    a->xdata[a->n_xdata++] = val;
    return CLI_OK;
}

#define EA(m) offsetof(struct enc_args, m)
static const struct opt encode_opts[] = {
    { "--account", 0, "A", OPT_STR, OPT_REQUIRED, EA(account), NULL,
      "the panel's account: 3 to 16 hex digits (0-9, A-F)" },
    { "--cid", 0, "\"QEEE GG ZZZ\"", OPT_STR, 0, EA(cid), NULL,
      "an ADM-CID event: qualifier and event code, partition, zone (e.g. \"1121 01 003\")" },
    { "--sia", 0, "EVENT", OPT_STR, 0, EA(sia), NULL,
      "a SIA-DCS event in SIA DC-03 form (e.g. \"Nri1/HA01\")" },
    { "--null", 0, NULL, OPT_BOOL, 0, EA(null), NULL,
      "a NULL supervision poll (empty data block); one of --cid, --sia, --null" },
    KEYOPT_ROWS(struct enc_args, key),
    { "--seq", 0, "N", OPT_STR, 0, EA(seq), NULL, "sequence number 0..9999 (default 1)" },
    { "--receiver", 0, "R", OPT_STR, 0, EA(receiver), NULL, "receiver number: 1 to 6 hex digits" },
    { "--line", 0, "L", OPT_STR, 0, EA(line), NULL, "line prefix: 1 to 6 hex digits (default 0)" },
    { "--time", 0, "now|none|YYYY-MM-DDTHH:MM:SSZ", OPT_STR, 0, EA(time), NULL,
      "the frame's timestamp (default now; an encrypted frame needs one)" },
    { "--xdata", 0, "TVALUE", OPT_CALL, OPT_REPEAT, 0, take_xdata,
      "an extended data block: a type letter and its value (e.g. M0026B9E4268B)" },
    { "--raw", 0, NULL, OPT_BOOL, 0, EA(raw), NULL,
      "print the exact bytes LF..CR instead of the frame and a newline" },
    { "--help", 'h', NULL, OPT_HELP, 0, 0, NULL, "print this help" },
    /* send only: */
    { "--host", 0, "H", OPT_STR, OPT_REQUIRED, EA(host), NULL, "the receiver's host name or address" },
    { "--port", 0, "P", OPT_STR, OPT_REQUIRED, EA(port), NULL, "the receiver's port, 1..65535" },
    { "--udp", 0, NULL, OPT_BOOL, 0, EA(udp), NULL, "send over UDP (default TCP)" },
    { "--timeout", 0, "S", OPT_STR, 0, EA(timeout), NULL,
      "seconds to wait for the reply, more than 0 and at most 86400 (default 5)" },
    { "--quirk", 0, "NAME", OPT_CALL, OPT_REPEAT, EA(quirks), take_quirk,
      "read the reply with a receiver's known deviation (see decode)" },
};
#define ENCODE_OPTS_N 15u  /* the first 15 rows are encode's, then send's five */
_Static_assert(OPTS_N(encode_opts) == ENCODE_OPTS_N + 5,
               "encode_opts: encode options first, then the five send-only ones");

const struct opt_cmd dc09_encode_cmd_opts = {
    .prog = "vigil", .path = "dc09 encode",
    .synopsis = "--account A (--cid \"QEEE GG ZZZ\" | --sia \"Nri1/HA01\" | --null) [--key K | "
                "--key-hex H | --key-file F | --key-hex-file F] [--seq N] [--receiver R] "
                "[--line L] [--time T] [--xdata TVALUE]... [--raw]",
    .summary = "Builds one frame (clear, or AES-encrypted with a key) and prints it without "
               "LF/CR and a newline (--raw: the exact bytes LF..CR).",
    .opts = encode_opts, .n_opts = ENCODE_OPTS_N, .max_operands = 0,
    .style = OPTS_ONE_LINE, .eq_values = true,
};

const struct opt_cmd dc09_send_cmd_opts = {
    .prog = "vigil", .path = "dc09 send",
    .synopsis = "--host H --port P [--udp] [--timeout S] [--quirk NAME]... <encode options>",
    .summary = "Sends one frame, waits for the reply and prints it decoded (JSON). "
               "Exit 0 ACK, 1 NAK or DUH, 2 bad input, 3 no reply, 4 invalid reply.",
    .opts = encode_opts, .n_opts = OPTS_N(encode_opts), .max_operands = 0,
    .style = OPTS_ONE_LINE, .eq_values = true,
};

/* Parses encode (and send) options into a. Returns CLI_OK, CLI_USAGE, or -1 for --help. */
static int parse_enc_args(int argc, char **argv, bool send, struct enc_args *a)
{
    memset(a, 0, sizeof *a);
    int r = opts_parse(send ? &dc09_send_cmd_opts : &dc09_encode_cmd_opts, argc, argv, 1, a,
                       NULL);
    return r == OPTS_DONE_HELP ? -1 : r;
}

/* "2026-11-26T13:09:28Z" (the Z may be left out; UTC either way). */
static bool parse_iso(const char *s, int64_t *out)
{
    int y, mo, d, h, mi, se, n = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &se, &n) != 6)
        return false;
    if (strlen(s) != 19 || n != 19) {
        if (!(strlen(s) == 20 && n == 19 && s[19] == 'Z'))
            return false;
    }
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    time_t t = timegm(&tm);
    struct tm back;
    if (t == (time_t)-1 || gmtime_r(&t, &back) == NULL || back.tm_year != y - 1900 ||
        back.tm_mon != mo - 1 || back.tm_mday != d || back.tm_hour != h || back.tm_min != mi ||
        back.tm_sec != se || y < 1970 || y > 9999)
        return false;
    *out = (int64_t)t;
    return true;
}

/* Builds the frame from the options. Prints one line and returns CLI_USAGE on bad input. */
static int build_frame(const struct enc_args *a, struct dc09_frame *f)
{
    memset(f, 0, sizeof *f);
    int kinds = (a->cid != NULL) + (a->sia != NULL) + (a->null ? 1 : 0);
    if (a->account == NULL) {
        fprintf(stderr, "vigil: --account is required\n");
        return CLI_USAGE;
    }
    if (!is_hex_upper(a->account, 3, DC09_ACCOUNT_MAX)) {
        fprintf(stderr, "vigil: --account: expected 3 to %u hex digits (0-9, A-F)\n",
                DC09_ACCOUNT_MAX);
        return CLI_USAGE;
    }
    if (kinds != 1) {
        fprintf(stderr, "vigil: give exactly one of --cid, --sia, --null\n");
        return CLI_USAGE;
    }
    long seq = 1;
    if (a->seq != NULL) {
        char *end;
        errno = 0;
        seq = strtol(a->seq, &end, 10);
        if (errno != 0 || end == a->seq || *end != '\0' || seq < 0 || seq > 9999) {
            fprintf(stderr, "vigil: --seq: expected a number from 0 to 9999\n");
            return CLI_USAGE;
        }
    }
    f->seq = (uint16_t)seq;
    if (a->receiver != NULL) {
        if (!is_hex_upper(a->receiver, 1, DC09_RECEIVER_MAX)) {
            fprintf(stderr, "vigil: --receiver: expected 1 to %u hex digits (0-9, A-F)\n",
                    DC09_RECEIVER_MAX);
            return CLI_USAGE;
        }
        f->has_receiver = true;
        snprintf(f->receiver, sizeof f->receiver, "%s", a->receiver);
    }
    const char *line = a->line ? a->line : "0";
    if (!is_hex_upper(line, 1, DC09_LINE_MAX)) {
        fprintf(stderr, "vigil: --line: expected 1 to %u hex digits (0-9, A-F)\n", DC09_LINE_MAX);
        return CLI_USAGE;
    }
    snprintf(f->line, sizeof f->line, "%s", line);
    snprintf(f->account, sizeof f->account, "%s", a->account);

    int err = 0;
    if (a->cid != NULL) {
        struct dc09_cid c;
        char text[16];
        if (dc09_cid_parse(a->cid, strlen(a->cid), &c) != 0 ||
            dc09_cid_format(&c, text, sizeof text) != 0) {
            fprintf(stderr, "vigil: --cid: expected \"QEEE GG ZZZ\" (e.g. \"1121 01 003\")\n");
            return CLI_USAGE;
        }
        f->id = DC09_ID_ADM_CID;
        err = dc09_build_data(f, a->account, text, strlen(text));
    } else if (a->sia != NULL) {
        struct dc09_sia s;
        if (dc09_sia_parse(a->sia, strlen(a->sia), &s) != 0) {
            fprintf(stderr, "vigil: --sia: expected a SIA DC-03 event such as \"Nri1/HA01\"\n");
            return CLI_USAGE;
        }
        f->id = DC09_ID_SIA_DCS;
        err = dc09_build_data(f, a->account, a->sia, strlen(a->sia));
    } else {
        f->id = DC09_ID_NULL;   /* a supervision poll: empty data block "[]" */
        f->data[0] = '\0';
        f->data_len = 0;
    }
    if (err != 0) {
        fprintf(stderr, "vigil: data block: %s\n", dc09_strerror(err));
        return CLI_USAGE;
    }

    for (unsigned x = 0; x < a->n_xdata; x++) {
        const char *v = a->xdata[x];
        size_t n = strlen(v);
        if (n < 2 || n - 1 > DC09_XDATA_LEN_MAX || !isupper((unsigned char)v[0]) ||
            strpbrk(v, "[]") != NULL) {
            fprintf(stderr, "vigil: --xdata: expected a type letter and a value of 1 to %u "
                            "characters without [ ] (e.g. M0026B9E4268B)\n", DC09_XDATA_LEN_MAX);
            return CLI_USAGE;
        }
        f->xdata[x].type = v[0];
        f->xdata[x].len = (uint8_t)(n - 1);
        memcpy(f->xdata[x].value, v + 1, n - 1);
        f->xdata[x].value[n - 1] = '\0';
    }
    f->xdata_count = (uint8_t)a->n_xdata;

    const char *tm = a->time ? a->time : "now";
    if (strcmp(tm, "now") == 0) {
        f->has_time = true;
        f->time_s = (int64_t)time(NULL);
    } else if (strcmp(tm, "none") == 0) {
        if (a->key.set) {
            fprintf(stderr, "vigil: --time none: an encrypted frame must carry a timestamp\n");
            return CLI_USAGE;
        }
        f->has_time = false;
    } else if (parse_iso(tm, &f->time_s)) {
        f->has_time = true;
    } else {
        fprintf(stderr, "vigil: --time: expected now, none, or UTC like 2026-11-26T13:09:28Z\n");
        return CLI_USAGE;
    }
    f->encrypted = a->key.set;
    return CLI_OK;
}

/* Encodes a's frame into out (LF..CR). Sets up *ossl when a key was given
 * (the caller frees it with dc09_ossl_free when *have_cipher). */
static int make_frame(struct enc_args *a, struct dc09_frame *f, struct dc09_ossl *ossl,
                      bool *have_cipher, uint8_t *out, size_t cap, size_t *len)
{
    *have_cipher = false;
    int rc = build_frame(a, f);
    if (rc != CLI_OK) {
        keyopt_wipe(&a->key);
        return rc;
    }
    if (a->key.set) {
        int err = dc09_ossl_init(ossl, &a->key.key);
        keyopt_wipe(&a->key);
        if (err != 0) {
            fprintf(stderr, "vigil: %s: %s\n", a->key.from, dc09_strerror(err));
            return CLI_USAGE;
        }
        *have_cipher = true;
    }
    int err = dc09_encode(f, *have_cipher ? &ossl->base : NULL, &dc09_ossl_rng, out, cap, len);
    if (err != 0) {
        fprintf(stderr, "vigil: cannot encode the frame: %s\n", dc09_strerror(err));
        if (*have_cipher)
            dc09_ossl_free(ossl);
        *have_cipher = false;
        return CLI_USAGE;
    }
    return CLI_OK;
}

static int dc09_encode_cmd(int argc, char **argv)
{
    struct enc_args a;
    int rc = parse_enc_args(argc, argv, false, &a);
    if (rc != CLI_OK) {
        keyopt_wipe(&a.key);
        if (rc == -1)
            return CLI_OK;
        return rc;
    }
    struct dc09_frame f;
    struct dc09_ossl ossl;
    bool have_cipher;
    uint8_t out[DC09_FRAME_MAX];
    size_t len;
    rc = make_frame(&a, &f, &ossl, &have_cipher, out, sizeof out, &len);
    if (rc != CLI_OK)
        return rc;
    if (have_cipher)
        dc09_ossl_free(&ossl);
    if (a.raw) {
        fwrite(out, 1, len, stdout);
    } else {
        fwrite(out + 1, 1, len - 2, stdout);   /* LF and CR off */
        fputc('\n', stdout);
    }
    return fflush(stdout) == 0 ? CLI_OK : CLI_USAGE;
}

/* ---- send -------------------------------------------------------------- */

struct first_frame {
    bool got;
    int err;                       /* reader error (oversize) */
    uint8_t buf[DC09_FRAME_MAX];
    size_t len;
};

static void on_reply(void *ctx, const uint8_t *frame, size_t len, int err)
{
    struct first_frame *ff = ctx;
    if (ff->got)
        return;
    ff->got = true;
    ff->err = err;
    ff->len = len < sizeof ff->buf ? len : sizeof ff->buf;
    memcpy(ff->buf, frame, ff->len);
}

static int send_exchange(const struct enc_args *a, const uint8_t *frame, size_t frame_len,
                         double timeout_s, struct first_frame *reply)
{
    int64_t deadline_ms = net_now_ms() + (int64_t)(timeout_s * 1000.0);
    int fd = -1;
    int rc = net_connect(a->host, a->port, a->udp, deadline_ms, &fd);
    if (rc == NET_E_RESOLVE) {
        fprintf(stderr, "vigil: --host: %s\n", net_error());
        return CLI_USAGE;
    }
    if (rc != NET_OK) {
        fprintf(stderr, "vigil: %s:%s: %s\n", a->host, a->port, net_error());
        return CLI_TIMEOUT;
    }
    rc = net_send_all(fd, frame, frame_len, deadline_ms);
    uint8_t rbuf[DC09_FRAME_MAX + 2];
    struct dc09_reader rd;
    dc09_reader_init(&rd, rbuf, sizeof rbuf, a->quirks);
    while (rc == NET_OK && !reply->got) {
        uint8_t in[2048];
        size_t got = 0;
        rc = net_recv(fd, in, sizeof in, deadline_ms, &got);
        if (rc == NET_OK)
            dc09_reader_feed(&rd, in, got, on_reply, reply);
    }
    close(fd);
    if (reply->got)
        return CLI_OK;
    if (rc == NET_E_TIMEOUT)
        fprintf(stderr, "vigil: no reply from %s:%s within %g s\n", a->host, a->port, timeout_s);
    else
        fprintf(stderr, "vigil: %s:%s: %s\n", a->host, a->port, net_error());
    return CLI_TIMEOUT;
}

/* Judges the reply to `sent` with dc09_reply_check (the panel's check too):
 * prints it and returns the exit code. */
static int judge_reply(const struct dc09_frame *sent, struct dc09_cipher *cipher, uint32_t quirks,
                       const struct first_frame *reply)
{
    struct dc09_diag diag = { 0 };
    if (reply->err != 0) {
        print_json(error_json(reply->err, &diag));
        fprintf(stderr, "vigil: invalid reply: %s\n", dc09_strerror(reply->err));
        return CLI_INVALID;
    }
    struct dc09_frame head, r;
    int64_t now_s = (int64_t)time(NULL);
    int err = dc09_decode_head(reply->buf, reply->len, quirks, &head, &diag);
    if (err != 0 && (quirks & DC09_Q_NAK_TOKEN_ORDER) != 0) {
        memset(&head, 0, sizeof head);  /* maybe a NAK with its tokens in another order */
        err = 0;
    }
    if (err == 0) {
        struct dc09_decode_opts opts;
        dc09_decode_opts_init(&opts, now_s);
        opts.quirks = quirks;
        opts.cipher = head.encrypted ? cipher : NULL;
        memset(&diag, 0, sizeof diag);
        err = dc09_reply_decode(reply->buf, reply->len, &opts, &r, &diag);
        /* the payload too, as dc09_decode reads it, for the JSON of a frame
         * that is not a reply (dc09_reply_decode leaves it unparsed) */
        if (err == 0 && r.id == DC09_ID_ADM_CID)
            r.has_cid = dc09_cid_parse(r.data + r.payload_off, r.payload_len, &r.cid) == 0;
        else if (err == 0 && r.id == DC09_ID_SIA_DCS)
            r.has_sia = dc09_sia_parse(r.data + r.payload_off, r.payload_len, &r.sia) == 0;
    }
    if (err != 0) {
        print_json(error_json(err, &diag));
        fprintf(stderr, "vigil: invalid reply: %s\n", dc09_strerror(err));
        return CLI_INVALID;
    }
    struct dc09_reply_ref ref = { .seq = sent->seq, .encrypted = sent->encrypted,
                                  .receiver = sent->has_receiver ? sent->receiver : "",
                                  .line = sent->line, .account = sent->account,
                                  .sent_s = INT64_MIN };   /* sent just now: the window is
                                                              the bound */
    int v = dc09_reply_check(&ref, &r, now_s);
    if (v == DC09_V_STALE || v == DC09_V_FUTURE || v == DC09_V_NO_TIME) {
        diag = (struct dc09_diag){ .field = "timestamp" };
        print_json(error_json(DC09_E_TIME, &diag));
        fprintf(stderr, "vigil: invalid reply: %s\n", dc09_verdict_name(v));
        return CLI_INVALID;
    }
    print_json(frame_json(&r));
    switch (v) {
    case DC09_V_ACK:
        return CLI_OK;
    case DC09_V_NAK:
        fprintf(stderr, "vigil: NAK: the receiver refused the frame's timestamp\n");
        return CLI_NEGATIVE;
    case DC09_V_DUH:
        fprintf(stderr, "vigil: DUH: the receiver cannot process this frame\n");
        return CLI_NEGATIVE;
    default:
        fprintf(stderr, "vigil: invalid reply: %s seq %04u account %s: %s (sent seq %04u "
                "account %s)\n", dc09_id_name(r.id), r.seq, r.account, dc09_verdict_name(v),
                sent->seq, sent->account);
        return CLI_INVALID;
    }
}

static int dc09_send_cmd(int argc, char **argv)
{
    struct enc_args a;
    int rc = parse_enc_args(argc, argv, true, &a);
    if (rc != CLI_OK) {
        keyopt_wipe(&a.key);
        if (rc == -1)
            return CLI_OK;
        return rc;
    }
    char *end;
    long port = strtol(a.port, &end, 10);
    if (end == a.port || *end != '\0' || port < 1 || port > 65535) {
        keyopt_wipe(&a.key);
        fprintf(stderr, "vigil: --port: expected a number from 1 to 65535\n");
        return CLI_USAGE;
    }
    double timeout_s = 5.0;
    if (a.timeout != NULL) {
        errno = 0;
        timeout_s = strtod(a.timeout, &end);
        if (errno != 0 || end == a.timeout || *end != '\0' || !(timeout_s > 0.0) ||
            timeout_s > 86400.0) {
            keyopt_wipe(&a.key);
            fprintf(stderr, "vigil: --timeout: expected seconds, more than 0 and at most 86400\n");
            return CLI_USAGE;
        }
    }
    if (a.raw) {
        keyopt_wipe(&a.key);
        fprintf(stderr, "vigil: --raw: only for dc09 encode\n");
        return CLI_USAGE;
    }
    struct dc09_frame f;
    struct dc09_ossl ossl;
    bool have_cipher;
    uint8_t out[DC09_FRAME_MAX];
    size_t len;
    rc = make_frame(&a, &f, &ossl, &have_cipher, out, sizeof out, &len);
    if (rc != CLI_OK)
        return rc;
    struct first_frame reply = { 0 };
    rc = send_exchange(&a, out, len, timeout_s, &reply);
    if (rc == CLI_OK)
        rc = judge_reply(&f, have_cipher ? &ossl.base : NULL, a.quirks, &reply);
    if (have_cipher)
        dc09_ossl_free(&ossl);
    return rc;
}

/* ---- dispatch ---------------------------------------------------------- */

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
} dc09_verbs[] = {
    { "decode", dc09_decode_cmd, "frames on stdin -> one JSON object per frame" },
    { "encode", dc09_encode_cmd, "build one frame (clear or AES-encrypted)" },
    { "send", dc09_send_cmd, "send one frame over TCP/UDP and print the reply" },
};

const struct opt_cmd *const cmd_dc09_opts[] = {
    &dc09_decode_cmd_opts, &dc09_encode_cmd_opts, &dc09_send_cmd_opts, NULL,
};

static void dc09_usage(FILE *f)
{
    fprintf(f, "usage: vigil dc09 <verb> [options]   (docs/cli.md)\n\nverbs:\n");
    for (size_t i = 0; i < sizeof dc09_verbs / sizeof dc09_verbs[0]; i++)
        fprintf(f, "  %-8s %s\n", dc09_verbs[i].name, dc09_verbs[i].help);
}

int cmd_dc09(const struct cli_global *g, int argc, char **argv)
{
    (void)g;
    if (argc < 1) {
        dc09_usage(stderr);
        return CLI_USAGE;
    }
    if (strcmp(argv[0], "-h") == 0 || strcmp(argv[0], "--help") == 0) {
        dc09_usage(stdout);
        return CLI_OK;
    }
    for (size_t i = 0; i < sizeof dc09_verbs / sizeof dc09_verbs[0]; i++)
        if (strcmp(argv[0], dc09_verbs[i].name) == 0)
            return dc09_verbs[i].fn(argc, argv);
    fprintf(stderr, "vigil: dc09: unknown verb '%s'\n", argv[0]);
    dc09_usage(stderr);
    return CLI_USAGE;
}
