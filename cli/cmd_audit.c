/*
 * cmd_audit.c — `vigil -c FILE audit verify|list`: the station's audit trail
 * (docs/audit.md). verify walks the whole chain, recomputes every hash and
 * compares the end with the head file beside the store; list prints entries.
 *
 * Read only: must never append, repair or rewrite anything (a verifier that
 * fixes what it finds destroys the evidence). Exit codes: 0 the chain is
 * intact; 1 it is not (the first bad entry named); 2 usage or no store.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "opts.h"
#include "vigil/audit.h"
#include "vigil/station.h"

static int usage(void)
{
    fprintf(stderr, "usage: vigil -c FILE audit verify [--json]\n"
                    "       vigil -c FILE audit list [--alarm ID] [--since T] [--limit N] [--json]\n");
    return CLI_USAGE;
}

static const char *verdict_name(enum stn_audit_verdict v)
{
    switch (v) {
    case STN_AUDIT_OK:            return "ok";
    case STN_AUDIT_BAD_ENTRY:     return "bad_entry";
    case STN_AUDIT_GAP:           return "gap";
    case STN_AUDIT_TAIL_MISSING:  return "tail_missing";
    case STN_AUDIT_HEAD_MISMATCH: return "head_mismatch";
    case STN_AUDIT_NO_HEAD:       return "no_head";
    }
    return "?";
}

static int verify(struct stn_store *st, bool json)
{
    struct stn_audit_report r;
    int rc = stn_audit_verify(st, &r);
    if (rc) {
        fprintf(stderr, "vigil: audit verify: %s\n", stn_strerror(rc));
        return CLI_USAGE;
    }
    int64_t uncovered = r.verdict == STN_AUDIT_OK && r.head_seq < r.last_seq
                        ? r.last_seq - r.head_seq : 0;
    if (json) {
        json_t *o = json_pack("{s:b,s:s,s:I,s:I,s:s,s:I,s:s,s:I}", "ok", r.verdict == STN_AUDIT_OK,
                              "verdict", verdict_name(r.verdict), "entries", (json_int_t)r.entries,
                              "last_seq", (json_int_t)r.last_seq, "last_hash", r.last_hash,
                              "head_seq", (json_int_t)r.head_seq, "head_hash", r.head_hash,
                              "uncovered", (json_int_t)uncovered);
        if (o && r.verdict != STN_AUDIT_OK) {
            json_object_set_new(o, "bad_seq", json_integer(r.bad_seq));
            json_object_set_new(o, "why", json_string(r.why));
        }
        char *t = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
        if (t)
            puts(t);
        free(t);
        json_decref(o);
    } else if (r.verdict == STN_AUDIT_OK) {
        printf("ok %" PRId64 " entries, head %" PRId64 " %s\n", r.entries, r.head_seq,
               r.head_seq ? r.head_hash : "(empty)");
        if (uncovered)
            printf("note: entries %" PRId64 "..%" PRId64 " are newer than the head file (appended "
                   "just now, or the head write after them failed)\n", r.head_seq + 1, r.last_seq);
    }
    if (r.verdict != STN_AUDIT_OK) {
        fprintf(stderr, "vigil: audit verify: FAILED at entry %" PRId64 ": %s\n", r.bad_seq,
                r.why);
        return CLI_NEGATIVE;
    }
    return CLI_OK;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *s_or(json_t *o, const char *k, const char *d)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : d;
}

struct audit_args { const char *alarm, *limit; int64_t since; bool json; };

static int take_since(void *args, const struct opt *o, char *v)
{
    (void)o;
    if (stn_parse_since(v, now_ms(), &((struct audit_args *)args)->since) != 0) {
        fprintf(stderr, "vigil: audit list: --since wants ISO 8601 UTC "
                        "(2026-11-26T14:03:05Z) or a duration (90s, 15m, 2h, 3d)\n");
        return CLI_USAGE;
    }
    return CLI_OK;
}

static const struct opt verify_opts[] = {
    { "--json", 0, NULL, OPT_BOOL, 0, offsetof(struct audit_args, json), NULL, "the verdict as JSON" },
    { "--help", 'h', NULL, OPT_HELP, 0, 0, NULL, "print this help" },
};
static const struct opt list_opts[] = {
    { "--alarm", 0, "ID", OPT_STR, 0, offsetof(struct audit_args, alarm), NULL,
      "only the entries about this alarm" },
    { "--since", 0, "T", OPT_CALL, 0, 0, take_since,
      "only entries since T: ISO 8601 UTC or a duration (90s, 15m, 2h, 3d)" },
    { "--limit", 0, "N", OPT_STR, 0, offsetof(struct audit_args, limit), NULL, "at most N entries" },
    { "--json", 0, NULL, OPT_BOOL, 0, offsetof(struct audit_args, json), NULL, "a JSON array instead of text" },
    { "--help", 'h', NULL, OPT_HELP, 0, 0, NULL, "print this help" },
};
static const struct opt_cmd audit_cmds[] = {
    { .prog = "vigil", .global = "-c FILE", .path = "audit verify", .synopsis = "[--json]",
      .summary = "Checks the audit trail's hash chain and its head file: exit 0 intact, 1 not "
                 "(the first bad entry named), 2 usage or no store.",
      .opts = verify_opts, .n_opts = OPTS_N(verify_opts), .max_operands = 0, .style = OPTS_USAGE },
    { .prog = "vigil", .global = "-c FILE", .path = "audit list",
      .synopsis = "[--alarm ID] [--since T] [--limit N] [--json]",
      .summary = "Audit entries, oldest first: who did what to which alarm, account or operator.",
      .opts = list_opts, .n_opts = OPTS_N(list_opts), .max_operands = 0, .style = OPTS_USAGE },
};
const struct opt_cmd *const cmd_audit_opts[] = { &audit_cmds[0], &audit_cmds[1], NULL };

static int list(struct stn_store *st, const struct audit_args *aa)
{
    const char *alarm = aa->alarm;
    int64_t since = aa->since, limit = aa->limit ? strtoll(aa->limit, NULL, 10) : 0;
    bool json = aa->json;
    void *out = NULL;
    int rc = stn_audit_list_json(st, alarm, since, limit, &out);
    if (rc) {
        fprintf(stderr, "vigil: audit list: %s\n", stn_strerror(rc));
        return CLI_USAGE;
    }
    if (json) {
        char *t = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (t)
            puts(t);
        free(t);
    } else {
        size_t i;
        json_t *o;
        json_array_foreach((json_t *)out, i, o) {
            printf("%6" JSON_INTEGER_FORMAT " %s %-16s %-22s %-10s %s%s%s\n",
                   json_integer_value(json_object_get(o, "seq")), s_or(o, "at", "-"),
                   s_or(o, "actor", "-"), s_or(o, "kind", "-"), s_or(o, "subject", "-"),
                   s_or(o, "before", ""), json_is_string(json_object_get(o, "before")) ? " -> " : "",
                   s_or(o, "after", ""));
        }
    }
    json_decref(out);
    return CLI_OK;
}

int cmd_audit(const struct cli_global *g, int argc, char **argv)
{
    if (argc < 1)
        return usage();
    bool is_verify = strcmp(argv[0], "verify") == 0, is_list = strcmp(argv[0], "list") == 0;
    if (!is_verify && !is_list)
        return usage();
    struct audit_args aa = { 0 };
    int rc = opts_parse(&audit_cmds[is_verify ? 0 : 1], argc, argv, 1, &aa, NULL);
    if (rc != 0)
        return rc == OPTS_DONE_HELP ? CLI_OK : rc;
    struct stn_store *st;
    rc = cli_open_store(g, &st, false);
    if (rc)
        return rc;
    rc = is_verify ? verify(st, aa.json) : list(st, &aa);
    stn_store_close(st);
    return rc;
}
