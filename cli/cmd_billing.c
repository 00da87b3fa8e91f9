/*
 * cmd_billing.c — `vigil -c FILE agency import FILE | list [--json]` and
 * `vigil -c FILE billing export --month YYYY-MM [--out FILE]`: police
 * agencies' false-alarm rules loaded into the store (vigil/agency.h), and
 * the month's invoice lines as CSV for the station's billing.
 *
 * A bad agency file is refused whole, with the field named, and changes
 * nothing. Money is integer cents in the store and in the CSV (with a
 * formatted copy beside each amount). Exit codes: 0 ok, 1 negative, 2 bad
 * input or usage.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "opts.h"
#include "vigil/agency.h"
#include "vigil/station.h"

#define AGENCY_FILE_MAX (64 * 1024)

static int agency_usage(void)
{
    fprintf(stderr, "usage: vigil -c FILE agency import FILE\n"
                    "       vigil -c FILE agency list [--json]\n");
    return CLI_USAGE;
}

static int read_file(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "vigil: agency import: %s: %s\n", path, strerror(errno));
        return CLI_USAGE;
    }
    char *b = malloc(AGENCY_FILE_MAX + 1);
    size_t n = b ? fread(b, 1, AGENCY_FILE_MAX + 1, f) : 0;
    bool err = ferror(f);
    fclose(f);
    if (!b || err || n > AGENCY_FILE_MAX) {
        fprintf(stderr, "vigil: agency import: %s: %s\n", path,
                !b ? "out of memory" : err ? "read error" : "larger than 64 KiB");
        free(b);
        return CLI_USAGE;
    }
    b[n] = '\0';
    *out = b;
    *len = n;
    return CLI_OK;
}

static int agency_import(const struct cli_global *g, const char *path)
{
    char *text;
    size_t len;
    int rc = read_file(path, &text, &len);
    if (rc)
        return rc;
    struct agy_rules r;
    char msg[256];
    /* checked before the store is opened: a bad file never touches it */
    if (agy_from_json(text, len, &r, msg, sizeof msg) != 0) {
        fprintf(stderr, "vigil: agency import: %s: %s\n", path, msg);
        free(text);
        return CLI_USAGE;
    }
    struct stn_store *st;
    if ((rc = cli_open_store(g, &st, false)) != 0) {
        free(text);
        return rc;
    }
    char id[64];
    bool replaced = false;
    int src = stn_agency_import(st, text, len, id, &replaced);
    free(text);
    if (src) {
        const char *why = stn_store_last_error(st);
        fprintf(stderr, "vigil: agency import: %s: %s\n", path, why ? why : stn_strerror(src));
        stn_store_close(st);
        return CLI_USAGE;
    }
    stn_store_close(st);
    printf("agency %s (%s) %s\n", id, r.name, replaced ? "replaced" : "imported");
    return CLI_OK;
}

static int agency_list(const struct cli_global *g, bool json)
{
    struct stn_store *st;
    int rc = cli_open_store(g, &st, false);
    if (rc)
        return rc;
    void *out = NULL;
    rc = stn_agencies_json(st, &out);
    stn_store_close(st);
    if (rc) {
        fprintf(stderr, "vigil: agency list: %s\n", stn_strerror(rc));
        return CLI_USAGE;
    }
    if (json) {
        char *s = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (s)
            puts(s);
        free(s);
    } else {
        size_t i;
        json_t *o;
        json_array_foreach((json_t *)out, i, o)
            printf("%-16s %-32s %s billed to the %s, window %s %lld days\n",
                   json_string_value(json_object_get(o, "id")),
                   json_string_value(json_object_get(o, "name")),
                   json_string_value(json_object_get(o, "currency")),
                   json_string_value(json_object_get(o, "billed")),
                   json_string_value(json_object_get(json_object_get(o, "window"), "type")),
                   (long long)json_integer_value(json_object_get(json_object_get(o, "window"),
                                                                 "days")));
    }
    json_decref(out);
    return CLI_OK;
}

struct agency_args { bool json; };
static const struct opt agency_import_opts[] = {
    { "--help", 'h', NULL, OPT_HELP, 0, 0, NULL, "print this help" },
};
static const struct opt agency_list_opts[] = {
    { "--json", 0, NULL, OPT_BOOL, 0, offsetof(struct agency_args, json), NULL,
      "a JSON array instead of text" },
    { "--help", 'h', NULL, OPT_HELP, 0, 0, NULL, "print this help" },
};
static const struct opt_cmd agency_cmds[] = {
    { .prog = "vigil", .global = "-c FILE", .path = "agency import", .synopsis = "FILE",
      .summary = "Imports a police agency's false-alarm rules (a JSON file, docs/station.md "
                 "\"Agency files\"); the whole file is checked first and nothing changes on an "
                 "error. The same id again replaces its rules.",
      .opts = agency_import_opts, .n_opts = OPTS_N(agency_import_opts), .max_operands = 1,
      .style = OPTS_USAGE },
    { .prog = "vigil", .global = "-c FILE", .path = "agency list", .synopsis = "[--json]",
      .summary = "The agencies imported: id, name, currency, who is billed, the counting window.",
      .opts = agency_list_opts, .n_opts = OPTS_N(agency_list_opts), .max_operands = 0,
      .style = OPTS_USAGE },
};
const struct opt_cmd *const cmd_agency_opts[] = { &agency_cmds[0], &agency_cmds[1], NULL };

int cmd_agency(const struct cli_global *g, int argc, char **argv)
{
    if (argc < 1)
        return agency_usage();
    bool import = strcmp(argv[0], "import") == 0;
    if (!import && strcmp(argv[0], "list") != 0)
        return agency_usage();
    struct agency_args aa = { false };
    struct opts_operands ops;
    int rc = opts_parse(&agency_cmds[import ? 0 : 1], argc, argv, 1, &aa, &ops);
    if (rc != 0)
        return rc == OPTS_DONE_HELP ? CLI_OK : rc;
    if (import && ops.n != 1)
        return agency_usage();
    return import ? agency_import(g, ops.v[0]) : agency_list(g, aa.json);
}

/* ---- billing export --------------------------------------------------- */

/* YYYY-MM → [from, to) in ms, UTC. */
static int parse_month(const char *s, int64_t *from, int64_t *to)
{
    int y, m;
    char tail;
    if (!s || strlen(s) != 7 || sscanf(s, "%4d-%2d%c", &y, &m, &tail) != 2 || s[4] != '-' ||
        y < 1970 || y > 9999 || m < 1 || m > 12)
        return -1;
    struct tm a = { .tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = 1 };
    struct tm b = { .tm_year = (m == 12 ? y + 1 : y) - 1900, .tm_mon = m % 12, .tm_mday = 1 };
    *from = (int64_t)timegm(&a) * 1000;
    *to = (int64_t)timegm(&b) * 1000;
    return 0;
}

/* RFC 4180: a field with a comma, quote, CR or LF is quoted, quotes doubled.
 * Text that a spreadsheet would run as a formula (= + - @ first) gets a
 * leading apostrophe: a customer's name is not a formula. */
static void csv_field(FILE *f, const char *s, bool text)
{
    if (!s)
        s = "";
    bool formula = text && s[0] && strchr("=+-@\t\r", s[0]);
    bool quote = formula || strpbrk(s, ",\"\r\n") != NULL;
    if (quote)
        fputc('"', f);
    if (formula)
        fputc('\'', f);
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            fputc('"', f);
        fputc(*p, f);
    }
    if (quote)
        fputc('"', f);
}

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static void csv_cents(FILE *f, json_t *o, const char *k)
{
    char b[32];
    int64_t c = json_integer_value(json_object_get(o, k));
    fprintf(f, ",%lld,", (long long)c);
    csv_field(f, agy_format_cents(c, b, sizeof b), false);
}

static void csv_line(FILE *f, json_t *o)
{
    char num[32];
    fprintf(f, "%lld,%lld,", (long long)json_integer_value(json_object_get(o, "id")),
            (long long)json_integer_value(json_object_get(o, "alarm")));
    static const char *const text[] = { "at", "account", "account_name", "agency", "kind",
                                        "location", "finding", "psap_event_number", NULL };
    for (size_t i = 0; text[i]; i++) {
        csv_field(f, jstr(o, text[i]), true);
        fputc(',', f);
    }
    snprintf(num, sizeof num, "%lld",
             (long long)json_integer_value(json_object_get(o, "count_in_window")));
    fprintf(f, "%s,%s,%s,%s,", num,
            json_is_true(json_object_get(o, "forgiven")) ? "yes" : "no",
            jstr(o, "billed") ? jstr(o, "billed") : "", jstr(o, "currency") ? jstr(o, "currency") : "");
    csv_field(f, jstr(o, "operator"), true);
    csv_cents(f, o, "agency_fee_cents");
    csv_cents(f, o, "admin_fee_cents");
    csv_cents(f, o, "total_cents");
    fputc(',', f);
    csv_field(f, jstr(o, "rule"), true);
    fputs("\r\n", f);
}

static int billing_usage(void)
{
    fprintf(stderr, "usage: vigil -c FILE billing export --month YYYY-MM [--out FILE]\n");
    return CLI_USAGE;
}

static int billing_write(json_t *lines, const char *out_path)
{
    FILE *f = out_path ? fopen(out_path, "wb") : stdout;
    if (!f) {
        fprintf(stderr, "vigil: billing export: %s: %s\n", out_path, strerror(errno));
        return CLI_USAGE;
    }
    fputs("charge,alarm,at,account,account_name,agency,kind,premises,finding,"
          "psap_event_number,count_in_window,forgiven,billed_by_agency_to,currency,operator,"
          "agency_fee_cents,agency_fee,admin_fee_cents,admin_fee,total_cents,total,rule\r\n", f);
    size_t i;
    json_t *o;
    json_array_foreach(lines, i, o)
        csv_line(f, o);
    bool bad = fflush(f) != 0 || ferror(f);
    if (out_path && fclose(f) != 0)
        bad = true;
    if (bad) {
        fprintf(stderr, "vigil: billing export: write failed\n");
        return CLI_USAGE;
    }
    return CLI_OK;
}

struct billing_args { const char *month, *out; };
static const struct opt billing_opts[] = {
    { "--month", 0, "YYYY-MM", OPT_STR, OPT_REQUIRED, offsetof(struct billing_args, month), NULL,
      "the month (UTC) whose false dispatches are invoiced" },
    { "--out", 0, "FILE", OPT_STR, 0, offsetof(struct billing_args, out), NULL,
      "write the CSV there instead of stdout" },
    { "--help", 'h', NULL, OPT_HELP, 0, 0, NULL, "print this help" },
};
static const struct opt_cmd billing_cmd = {
    .prog = "vigil", .global = "-c FILE", .path = "billing export",
    .synopsis = "--month YYYY-MM [--out FILE]",
    .summary = "The month's invoice lines of false dispatches as CSV (RFC 4180, CRLF), one per "
               "charge, with the agency's fee, the station's admin fee and the rule applied.",
    .opts = billing_opts, .n_opts = OPTS_N(billing_opts), .max_operands = 0, .style = OPTS_USAGE,
};
const struct opt_cmd *const cmd_billing_opts[] = { &billing_cmd, NULL };

int cmd_billing(const struct cli_global *g, int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "export") != 0)
        return billing_usage();
    struct billing_args ba = { NULL, NULL };
    int prc = opts_parse(&billing_cmd, argc, argv, 1, &ba, NULL);
    if (prc != 0)
        return prc == OPTS_DONE_HELP ? CLI_OK : prc;
    const char *month = ba.month, *out_path = ba.out;
    int64_t from, to;
    if (!month)
        return billing_usage();
    if (parse_month(month, &from, &to) != 0) {
        fprintf(stderr, "vigil: billing export: --month must be YYYY-MM (e.g. 2026-12), "
                        "got '%s'\n", month);
        return CLI_USAGE;
    }
    struct stn_store *st;
    int rc = cli_open_store(g, &st, false);
    if (rc)
        return rc;
    void *lines = NULL;
    rc = stn_charges_json(st, from, to, &lines);
    stn_store_close(st);
    if (rc) {
        fprintf(stderr, "vigil: billing export: %s\n", stn_strerror(rc));
        return CLI_USAGE;
    }
    rc = billing_write(lines, out_path);
    json_decref(lines);
    return rc;
}
