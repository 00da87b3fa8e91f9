/*
 * cmd_store.c — the verbs that work on vigil-station's store, named by the
 * station config given with -c FILE: account (add, edit, list, show, remove,
 * user, zone, contact, passcode), events, alarms, signals, backup.
 *
 * Opens the store directly (SQLite WAL + busy_timeout); the running daemon
 * picks account changes up within a second. Must never print a key or a
 * passcode: `show` says "key: yes (AES-128)". Exit codes: 0 ok, 1 negative
 * (exists / not found), 2 bad input or usage.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "keyopt.h"
#include "vigil/station.h"

/* Only the verbs that provision (account add, operator add) may create the
 * store, and they say so once; every other verb refuses a store that does not
 * exist (exit 2, naming the file): a mistyped store_path must not show an
 * empty queue. */
int cli_open_store(const struct cli_global *g, struct stn_store **st, bool create)
{
    if (!g->config_path) {
        fprintf(stderr, "vigil: this verb needs -c FILE (the vigil-station config naming the store)\n");
        return CLI_USAGE;
    }
    struct stn_config cfg;
    struct conf_error err = { 0 };
    if (stn_config_load(g->config_path, &cfg, &err) != 0) {
        fprintf(stderr, "vigil: %s\n", err.msg);
        return CLI_USAGE;
    }
    char msg[512];
    bool created = false;
    if (stn_store_open_ex(&cfg, create, &created, st, msg, sizeof msg) != 0) {
        fprintf(stderr, "vigil: %s\n", msg);
        return CLI_USAGE;
    }
    if (created)
        fprintf(stderr, "vigil: created store %s\n", cfg.store_path);
    return CLI_OK;
}

static int open_store(const struct cli_global *g, struct stn_store **st)
{
    return cli_open_store(g, st, false);
}

static int result(int rc, const char *what, const char *number)
{
    switch (rc) {
    case STN_OK:         return CLI_OK;
    case STN_E_EXISTS:   fprintf(stderr, "vigil: %s %s: already exists\n", what, number); return CLI_NEGATIVE;
    case STN_E_NOTFOUND: fprintf(stderr, "vigil: %s %s: not found\n", what, number); return CLI_NEGATIVE;
    case STN_E_INVAL:    fprintf(stderr, "vigil: %s %s: invalid value\n", what, number); return CLI_USAGE;
    default:             fprintf(stderr, "vigil: %s %s: %s\n", what, number, stn_strerror(rc));
                         return CLI_USAGE;
    }
}

static void print_json(json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (s) {
        puts(s);
        free(s);
    }
}

static const char *jstr(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "-";
}

/* ---- account ---------------------------------------------------------- */

static int parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* YYYY-MM-DD, the permit's last valid day: it expires at the end of that
 * day, UTC. "none": no expiry known (0). */
static int parse_permit_expiry(const char *v, int64_t *out)
{
    int y, m, d;
    char tail;
    if (strcmp(v, "none") == 0) {
        *out = 0;
        return 0;
    }
    if (strlen(v) != 10 || sscanf(v, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || y < 1970 ||
        m < 1 || m > 12 || d < 1 || d > 31)
        return -1;
    struct tm tm = { .tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d + 1 };
    time_t t = timegm(&tm);
    struct tm back;
    gmtime_r(&(time_t){ t - 86400 }, &back);
    if (back.tm_mday != d || back.tm_mon != m - 1)   /* 2026-02-30 */
        return -1;
    *out = (int64_t)t * 1000 - 1;
    return 0;
}

static int account_flags(int argc, char **argv, int first, struct stn_account_input *in,
                         struct keyopt *k)
{
    memset(in, 0, sizeof *in);
    for (int i = first; i < argc; i++) {
        const char *o = argv[i];
        if (strcmp(o, "--no-key") == 0) {   /* edit: the account stops using a key */
            in->has_key = true;
            in->key_len = 0;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "vigil: account: %s needs a value\n", o);
            return CLI_USAGE;
        }
        char *v = argv[++i];
        if (strcmp(o, "--name") == 0) in->name = v;
        else if (strcmp(o, "--address") == 0) in->address = v;
        else if (strcmp(o, "--time-zone") == 0) in->time_zone = v;
        else if (strcmp(o, "--phone") == 0) in->phone = v;
        else if (strcmp(o, "--agency") == 0) in->agency = v;
        else if (strcmp(o, "--permit") == 0) in->permit = v;
        else if (strcmp(o, "--permit-expires") == 0) {
            if (parse_permit_expiry(v, &in->permit_expires_ms) != 0) {
                fprintf(stderr, "vigil: account: --permit-expires is YYYY-MM-DD (the last day "
                                "the permit is valid, UTC) or none\n");
                return CLI_USAGE;
            }
            in->has_permit_expires = true;
        }
        else if (strcmp(o, "--police-status") == 0) {
            if (strcmp(v, "normal") && strcmp(v, "cautioned") && strcmp(v, "suspended")) {
                fprintf(stderr, "vigil: account: --police-status is normal, cautioned or suspended\n");
                return CLI_USAGE;
            }
            in->police_status = v;
        } else if (strcmp(o, "--location") == 0) {
            if (strcmp(v, "residential") && strcmp(v, "commercial")) {
                fprintf(stderr, "vigil: account: --location is residential or commercial\n");
                return CLI_USAGE;
            }
            in->location = v;
        }
        else if (strcmp(o, "--window-past-s") == 0 || strcmp(o, "--window-future-s") == 0) {
            int64_t w;
            if (parse_i64(v, -1, 86400, &w)) {
                fprintf(stderr, "vigil: account: %s must be -1 (the station's) or 0..86400\n", o);
                return CLI_USAGE;
            }
            if (!in->has_window) {
                in->has_window = true;
                in->window_past_s = in->window_future_s = -1;
            }
            if (o[9] == 'p')
                in->window_past_s = w;
            else
                in->window_future_s = w;
        } else if (strcmp(o, "--supervision-s") == 0) {
            if (parse_i64(v, 0, 30 * 86400, &in->supervision_s)) {
                fprintf(stderr, "vigil: account: --supervision-s must be 0..2592000\n");
                return CLI_USAGE;
            }
            in->has_supervision = true;
        } else if (strcmp(o, "--quirk") == 0) {
            uint32_t flag;
            if (strcmp(v, "none") == 0) {
                in->has_quirks = true;
                continue;
            }
            if (dc09_quirk_parse(v, &flag) != 0) {
                fprintf(stderr, "vigil: account: unknown quirk '%s' (binary-crc, crc-with-cr, "
                                "bare-l, pad-no-bar, no-data-account, ignore-length, none)\n", v);
                return CLI_USAGE;
            }
            in->has_quirks = true;
            in->quirks |= flag;
        } else if (keyopt_is(o)) {
            int rc = keyopt_take(k, o, v);
            if (rc)
                return rc;
            in->has_key = true;
            in->key = k->key.bytes;
            in->key_len = k->key.len;
        } else {
            fprintf(stderr, "vigil: account: unknown option %s\n", o);
            return CLI_USAGE;
        }
    }
    return CLI_OK;
}

static void account_text(json_t *a)
{
    json_t *key = json_object_get(a, "key");
    printf("account: %s\nname: %s\naddress: %s\ntime zone: %s\nphone: %s\nagency: %s\n"
           "permit: %s\n", jstr(a, "number"), jstr(a, "name"), jstr(a, "address"),
           jstr(a, "time_zone"), jstr(a, "phone"), jstr(a, "agency"), jstr(a, "permit"));
    if (json_is_string(key))
        printf("key: yes (%s)\n", json_string_value(key));
    else
        printf("key: no\n");
    json_t *wp = json_object_get(a, "window_past_s"), *wf = json_object_get(a, "window_future_s");
    if (json_is_integer(wp) || json_is_integer(wf))
        printf("time window: %lld s past, %lld s future (-1: the station's)\n",
               json_is_integer(wp) ? (long long)json_integer_value(wp) : -1LL,
               json_is_integer(wf) ? (long long)json_integer_value(wf) : -1LL);
    else
        printf("time window: the station's\n");
    printf("supervision: %lld s\nquirks:", (long long)json_integer_value(json_object_get(a, "supervision_s")));
    size_t i;
    json_t *q;
    json_array_foreach(json_object_get(a, "quirks"), i, q)
        printf(" %s", json_string_value(q));
    printf("%s\nlast seen: %s\n", json_array_size(json_object_get(a, "quirks")) ? "" : " none",
           jstr(a, "last_seen"));
    printf("police response: %s\npremises: %s\n", jstr(a, "police_status"), jstr(a, "location"));
    if (json_is_string(json_object_get(a, "permit_expires")))
        printf("permit expires: %s\n", jstr(a, "permit_expires"));
    json_t *sg = json_object_get(a, "agency_standing");
    if (json_is_true(json_object_get(sg, "rules"))) {
        printf("false dispatches in the agency's window: %lld%s%s%s%s\n",
               (long long)json_integer_value(json_object_get(sg, "count")),
               json_is_true(json_object_get(sg, "cautioned")) ? ", cautioned" : "",
               json_is_true(json_object_get(sg, "suspended")) ? ", suspended" : "",
               json_is_true(json_object_get(sg, "permit_missing")) ? ", permit missing" : "",
               json_is_true(json_object_get(sg, "permit_expired")) ? ", permit expired" : "");
        json_t *w;
        json_array_foreach(json_object_get(sg, "warnings"), i, w)
            printf("warning: %s\n", json_string_value(w));
    }
    printf("verbal passcode: %s\nverbal duress passcode: %s\n",
           json_is_true(json_object_get(a, "passcode")) ? "set" : "not set",
           json_is_true(json_object_get(a, "duress_passcode")) ? "set" : "not set");
    json_t *u;
    json_array_foreach(json_object_get(a, "users"), i, u)
        printf("user %lld: %s\n", (long long)json_integer_value(json_object_get(u, "number")), jstr(u, "name"));
    json_array_foreach(json_object_get(a, "zones"), i, u)
        printf("zone %lld: %s\n", (long long)json_integer_value(json_object_get(u, "number")), jstr(u, "name"));
    json_array_foreach(json_object_get(a, "contacts"), i, u) {
        printf("contact %lld: %s, %s, %s%s", (long long)json_integer_value(json_object_get(u, "position")),
               jstr(u, "name"), jstr(u, "phone"), jstr(u, "relation"),
               json_is_true(json_object_get(u, "lives_at_premises")) ? ", lives at the premises" : "");
        if (json_is_integer(json_object_get(u, "user")))
            printf(", user %lld", (long long)json_integer_value(json_object_get(u, "user")));
        putchar('\n');
    }
}

static int read_secret_file(const char *path, char *buf, size_t cap, size_t *len)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "vigil: cannot open %s\n", path);
        return CLI_USAGE;
    }
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    buf[n] = '\0';
    *len = n;
    return CLI_OK;
}

static int account_sub(struct stn_store *st, int argc, char **argv)
{
    /* account user|zone NUMBER add|remove N [--name X]; contact NUMBER add|remove ...;
     * passcode NUMBER --verbal-file F | --duress-file F */
    const char *what = argv[0];
    if (argc < 3) {
        fprintf(stderr, "vigil: account %s: missing arguments\n", what);
        return CLI_USAGE;
    }
    const char *number = argv[1];
    if (strcmp(what, "passcode") == 0) {
        if (argc != 4 || (strcmp(argv[2], "--verbal-file") && strcmp(argv[2], "--duress-file"))) {
            fprintf(stderr, "vigil: account passcode NUMBER --verbal-file F | --duress-file F\n");
            return CLI_USAGE;
        }
        char buf[160];
        size_t len;
        int rc = read_secret_file(argv[3], buf, sizeof buf, &len);
        if (rc)
            return rc;
        rc = stn_account_passcode_set(st, number, strcmp(argv[2], "--duress-file") == 0, buf, len);
        memset(buf, 0, sizeof buf);
        if (rc == STN_E_INVAL) {
            fprintf(stderr, "vigil: account passcode: a passcode has 4..128 characters\n");
            return CLI_USAGE;
        }
        return result(rc, "account", number);
    }
    const char *op = argv[2];
    const char *name = NULL, *phone = NULL, *relation = NULL;
    bool lives = false;
    int64_t n = -1, user = -1;
    int i = 3;
    if (strcmp(what, "contact") != 0 || strcmp(op, "remove") == 0) {
        if (argc < 4 || parse_i64(argv[3], 0, 9999, &n)) {
            fprintf(stderr, "vigil: account %s NUMBER %s N: N must be 0..9999\n", what, op);
            return CLI_USAGE;
        }
        i = 4;
    }
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--lives-at-premises") == 0) { lives = true; continue; }
        if (i + 1 >= argc) {
            fprintf(stderr, "vigil: account %s: %s needs a value\n", what, argv[i]);
            return CLI_USAGE;
        }
        if (strcmp(argv[i], "--name") == 0) name = argv[++i];
        else if (strcmp(argv[i], "--phone") == 0) phone = argv[++i];
        else if (strcmp(argv[i], "--relation") == 0) relation = argv[++i];
        else if (strcmp(argv[i], "--user") == 0 && strcmp(what, "contact") == 0) {
            if (parse_i64(argv[++i], 0, 9999, &user)) {
                fprintf(stderr, "vigil: account contact: --user must be 0..9999\n");
                return CLI_USAGE;
            }
        } else {
            fprintf(stderr, "vigil: account %s: unknown option %s\n", what, argv[i]);
            return CLI_USAGE;
        }
    }
    int rc;
    if (strcmp(op, "add") == 0 && strcmp(what, "user") == 0) rc = stn_account_user_set(st, number, n, name);
    else if (strcmp(op, "remove") == 0 && strcmp(what, "user") == 0) rc = stn_account_user_remove(st, number, n);
    else if (strcmp(op, "add") == 0 && strcmp(what, "zone") == 0) rc = stn_account_zone_set(st, number, n, name);
    else if (strcmp(op, "remove") == 0 && strcmp(what, "zone") == 0) rc = stn_account_zone_remove(st, number, n);
    else if (strcmp(op, "add") == 0 && strcmp(what, "contact") == 0)
        rc = stn_account_contact_add_user(st, number, name, phone, relation, lives, user);
    else if (strcmp(op, "remove") == 0 && strcmp(what, "contact") == 0)
        rc = stn_account_contact_remove(st, number, n);
    else {
        fprintf(stderr, "vigil: account %s: expected add or remove\n", what);
        return CLI_USAGE;
    }
    return result(rc, "account", number);
}

int cmd_account(const struct cli_global *g, int argc, char **argv)
{
    if (argc < 1) {
        fprintf(stderr, "usage: vigil -c FILE account add|edit|list|show|remove|user|zone|contact|passcode ...\n");
        return CLI_USAGE;
    }
    const char *verb = argv[0];
    bool json = false;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--json") == 0)
            json = true;
    struct stn_store *st = NULL;
    int rc;
    if (strcmp(verb, "list") == 0) {
        if (argc > 2 || (argc == 2 && !json)) {
            fprintf(stderr, "usage: vigil -c FILE account list [--json]\n");
            return CLI_USAGE;
        }
        if ((rc = open_store(g, &st)) != 0)
            return rc;
        void *out = NULL;
        rc = stn_accounts_json(st, &out);
        stn_store_close(st);
        if (rc)
            return result(rc, "accounts", "");
        json_t *arr = out;
        if (json) {
            print_json(arr);
        } else {
            size_t i;
            json_t *a;
            json_array_foreach(arr, i, a) {
                json_t *key = json_object_get(a, "key");
                printf("%-16s %-24s key:%-8s supervision:%llds last seen %s\n", jstr(a, "number"),
                       jstr(a, "name"), json_is_string(key) ? json_string_value(key) : "no",
                       (long long)json_integer_value(json_object_get(a, "supervision_s")),
                       jstr(a, "last_seen"));
            }
        }
        json_decref(arr);
        return CLI_OK;
    }
    if (argc < 2) {
        fprintf(stderr, "vigil: account %s: missing NUMBER\n", verb);
        return CLI_USAGE;
    }
    const char *number = argv[1];
    if (strcmp(verb, "show") == 0) {
        if (argc > 3 || (argc == 3 && !json)) {
            fprintf(stderr, "usage: vigil -c FILE account show NUMBER [--json]\n");
            return CLI_USAGE;
        }
        if ((rc = open_store(g, &st)) != 0)
            return rc;
        void *out = NULL;
        rc = stn_account_json(st, number, &out);
        stn_store_close(st);
        if (rc)
            return result(rc, "account", number);
        if (json)
            print_json(out);
        else
            account_text(out);
        json_decref(out);
        return CLI_OK;
    }
    if (strcmp(verb, "remove") == 0) {
        if (argc != 2) {
            fprintf(stderr, "usage: vigil -c FILE account remove NUMBER\n");
            return CLI_USAGE;
        }
        if ((rc = open_store(g, &st)) != 0)
            return rc;
        rc = stn_account_remove(st, number);
        stn_store_close(st);
        if (rc == 0)
            printf("account %s removed\n", number);
        return result(rc, "account", number);
    }
    if (strcmp(verb, "add") == 0 || strcmp(verb, "edit") == 0) {
        struct stn_account_input in;
        struct keyopt k;
        memset(&k, 0, sizeof k);
        rc = account_flags(argc, argv, 2, &in, &k);
        if (rc) {
            keyopt_wipe(&k);
            return rc;
        }
        if ((rc = cli_open_store(g, &st, strcmp(verb, "add") == 0)) != 0) {
            keyopt_wipe(&k);
            return rc;
        }
        rc = strcmp(verb, "add") == 0 ? stn_account_add(st, number, &in)
                                       : stn_account_edit(st, number, &in);
        keyopt_wipe(&k);
        const char *why = stn_store_last_error(st);
        if (rc && why)
            fprintf(stderr, "vigil: account %s %s: %s\n", verb, number, why);
        stn_store_close(st);
        if (rc && why)
            return CLI_USAGE;
        if (rc == STN_E_INVAL) {
            fprintf(stderr, "vigil: account %s: NUMBER must be 3..16 hex digits\n", verb);
            return CLI_USAGE;
        }
        if (rc == 0)
            printf("account %s %s\n", number, strcmp(verb, "add") == 0 ? "added" : "changed");
        return result(rc, "account", number);
    }
    if (strcmp(verb, "user") == 0 || strcmp(verb, "zone") == 0 || strcmp(verb, "contact") == 0 ||
        strcmp(verb, "passcode") == 0) {
        if ((rc = open_store(g, &st)) != 0)
            return rc;
        rc = account_sub(st, argc, argv);
        stn_store_close(st);
        return rc;
    }
    fprintf(stderr, "vigil: account: unknown verb '%s'\n", verb);
    return CLI_USAGE;
}

/* ---- events, alarms, signals, backup --------------------------------- */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct events_out { bool json; size_t n; };
static int print_event(void *ctx, void *obj);

int cmd_events(const struct cli_global *g, int argc, char **argv)
{
    struct stn_event_filter f = { 0 };
    bool json = false;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--account") == 0 && i + 1 < argc) {
            f.account = argv[++i];
        } else if (strcmp(argv[i], "--since") == 0 && i + 1 < argc) {
            if (stn_parse_since(argv[++i], now_ms(), &f.since_ms) != 0) {
                fprintf(stderr, "vigil: events: --since wants ISO 8601 UTC (2026-11-26T14:03:05Z) "
                                "or a relative time (30s, 10m, 2h, 3d)\n");
                return CLI_USAGE;
            }
        } else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc) {
            if (parse_i64(argv[++i], 1, INT64_MAX, &f.limit)) {
                fprintf(stderr, "vigil: events: --limit must be a positive number\n");
                return CLI_USAGE;
            }
        } else {
            fprintf(stderr, "usage: vigil -c FILE events [--account A] [--since T] [--limit N] [--json]\n");
            return CLI_USAGE;
        }
    }
    if (f.account && (strlen(f.account) < 3 || strlen(f.account) > 16 ||
                      strspn(f.account, "0123456789abcdefABCDEF") != strlen(f.account))) {
        fprintf(stderr, "vigil: events: --account must be 3..16 hex digits\n");
        return CLI_USAGE;
    }
    struct stn_store *st;
    int rc = open_store(g, &st);
    if (rc)
        return rc;
    struct events_out eo = { .json = json, .n = 0 };
    if (json)
        fputs("[", stdout);
    rc = stn_events_each(st, &f, print_event, &eo);
    stn_store_close(st);
    if (json)
        fputs(eo.n ? "\n]\n" : "]\n", stdout);
    if (rc == STN_E_INVAL) {
        fprintf(stderr, "vigil: events: --account must be 3..16 hex digits\n");
        return CLI_USAGE;
    }
    if (rc)
        return result(rc, "events", "");
    return CLI_OK;
}

static int print_event(void *ctx, void *obj)
{
    struct events_out *eo = ctx;
    json_t *e = obj;
    if (eo->json) {
        char *s = json_dumps(e, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (s) {
            /* indent the object by one level inside the array */
            fputs(eo->n ? ",\n  " : "\n  ", stdout);
            for (const char *p = s; *p; p++) {
                putchar(*p);
                if (*p == '\n')
                    fputs("  ", stdout);
            }
            free(s);
        }
        eo->n++;
        json_decref(e);
        return 0;
    }
    eo->n++;
    {
        {
            json_t *cid = json_object_get(e, "cid"), *sia = json_object_get(e, "sia");
            char what[64] = "";
            if (json_is_object(cid))
                snprintf(what, sizeof what, "CID %lld%03lld %02lld %03lld",
                         (long long)json_integer_value(json_object_get(cid, "qualifier")),
                         (long long)json_integer_value(json_object_get(cid, "event")),
                         (long long)json_integer_value(json_object_get(cid, "partition")),
                         (long long)json_integer_value(json_object_get(cid, "zone")));
            else if (json_is_object(sia))
                snprintf(what, sizeof what, "SIA %s", jstr(sia, "code"));
            printf("%lld %s %s seq %04lld %s%s %s%s%s\n",
                   (long long)json_integer_value(json_object_get(e, "id")), jstr(e, "received_at"),
                   jstr(e, "account"), (long long)json_integer_value(json_object_get(e, "seq")),
                   json_is_true(json_object_get(e, "encrypted")) ? "*" : "", jstr(e, "id_token"),
                   what, json_is_string(json_object_get(e, "kind")) ? " " : "",
                   json_is_string(json_object_get(e, "kind")) ? jstr(e, "kind") : "");
        }
    }
    json_decref(e);
    return 0;
}

int cmd_alarms(const struct cli_global *g, int argc, char **argv)
{
    bool json = false, all = false;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) json = true;
        else if (strcmp(argv[i], "--all") == 0) all = true;
        else {
            fprintf(stderr, "usage: vigil -c FILE alarms [--all] [--json]\n");
            return CLI_USAGE;
        }
    }
    struct stn_store *st;
    int rc = open_store(g, &st);
    if (rc)
        return rc;
    void *out = NULL;
    rc = stn_alarms_json(st, all, &out);
    stn_store_close(st);
    if (rc)
        return result(rc, "alarms", "");
    if (json) {
        print_json(out);
    } else {
        size_t i;
        json_t *a;
        json_array_foreach((json_t *)out, i, a)
            printf("%lld P%lld %-10s %-16s account %s since %s (%lld events)%s%s\n",
                   (long long)json_integer_value(json_object_get(a, "id")),
                   (long long)json_integer_value(json_object_get(a, "priority")),
                   jstr(a, "state"), jstr(a, "kind"), jstr(a, "account"), jstr(a, "received_at"),
                   (long long)json_integer_value(json_object_get(a, "event_count")),
                   json_is_true(json_object_get(a, "restored")) ? " restored" : "",
                   /* raised while its account was on test (docs/station.md, "Test mode") */
                   json_is_true(json_object_get(a, "test")) ? " TEST" : "");
    }
    json_decref(out);
    return CLI_OK;
}

int cmd_signals(const struct cli_global *g, int argc, char **argv)
{
    bool json = false;
    int64_t since = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) json = true;
        else if (strcmp(argv[i], "--since") == 0 && i + 1 < argc &&
                 stn_parse_since(argv[i + 1], now_ms(), &since) == 0) i++;
        else {
            fprintf(stderr, "usage: vigil -c FILE signals [--since T] [--json]\n");
            return CLI_USAGE;
        }
    }
    struct stn_store *st;
    int rc = open_store(g, &st);
    if (rc)
        return rc;
    void *out = NULL;
    rc = stn_rejected_json(st, since, &out);
    stn_store_close(st);
    if (rc)
        return result(rc, "signals", "");
    if (json) {
        print_json(out);
    } else {
        size_t i;
        json_t *a;
        json_array_foreach((json_t *)out, i, a)
            printf("%lld %s account %s %s (%s)\n", (long long)json_integer_value(json_object_get(a, "id")),
                   jstr(a, "received_at"), jstr(a, "account"), jstr(a, "reason"), jstr(a, "peer"));
    }
    json_decref(out);
    return CLI_OK;
}

int cmd_backup(const struct cli_global *g, int argc, char **argv)
{
    if (argc != 1) {
        fprintf(stderr, "usage: vigil -c FILE backup PATH\n");
        return CLI_USAGE;
    }
    struct stn_store *st;
    int rc = open_store(g, &st);
    if (rc)
        return rc;
    char msg[512];
    rc = stn_store_backup(st, argv[0], msg, sizeof msg);
    stn_store_close(st);
    if (rc) {
        fprintf(stderr, "vigil: backup: %s\n", msg);
        return rc == STN_E_EXISTS ? CLI_NEGATIVE : CLI_USAGE;
    }
    printf("backup written to %s\n", argv[0]);
    /* for the metrics: vigil_store_last_backup_timestamp_seconds */
    struct stn_config bc;
    struct conf_error be = { 0 };
    if (stn_config_load(g->config_path, &bc, &be) != 0 ||
        stn_backup_mark_write(bc.store_path, (int64_t)time(NULL), msg, sizeof msg) != 0)
        fprintf(stderr, "vigil: backup: the time of this backup was not recorded for the "
                "metrics\n");
    return CLI_OK;
}
