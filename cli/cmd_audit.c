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

static int list(struct stn_store *st, int argc, char **argv)
{
    const char *alarm = NULL;
    int64_t since = 0, limit = 0;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--alarm") == 0 && i + 1 < argc) {
            alarm = argv[++i];
        } else if (strcmp(argv[i], "--since") == 0 && i + 1 < argc) {
            if (stn_parse_since(argv[++i], now_ms(), &since) != 0) {
                fprintf(stderr, "vigil: audit list: --since wants ISO 8601 UTC "
                                "(2026-11-26T14:03:05Z) or a duration (90s, 15m, 2h, 3d)\n");
                return CLI_USAGE;
            }
        } else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc) {
            limit = strtoll(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else {
            return usage();
        }
    }
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
    if (is_verify && !(argc == 1 || (argc == 2 && strcmp(argv[1], "--json") == 0)))
        return usage();
    struct stn_store *st;
    int rc = cli_open_store(g, &st, false);
    if (rc)
        return rc;
    rc = is_verify ? verify(st, argc == 2) : list(st, argc, argv);
    stn_store_close(st);
    return rc;
}
