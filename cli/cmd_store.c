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
#include "opts.h"
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
        fprintf(stderr, "vigil: created store %s\n", cfg.store_shown);
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

struct account_args {
    struct stn_account_input in;
    struct keyopt k;
    bool json;
};

#define AA(m) offsetof(struct account_args, m)

static int take_no_key(void *args, const struct opt *o, char *v)
{
    (void)o, (void)v;
    struct account_args *a = args;
    a->in.has_key = true;   /* edit: the account stops using a key */
    a->in.key_len = 0;
    return CLI_OK;
}

static int take_permit_expires(void *args, const struct opt *o, char *v)
{
    (void)o;
    struct account_args *a = args;
    if (parse_permit_expiry(v, &a->in.permit_expires_ms) != 0) {
        fprintf(stderr, "vigil: account: --permit-expires is YYYY-MM-DD (the last day "
                        "the permit is valid, UTC) or none\n");
        return CLI_USAGE;
    }
    a->in.has_permit_expires = true;
    return CLI_OK;
}

static int take_police_status(void *args, const struct opt *o, char *v)
{
    (void)o;
    if (strcmp(v, "normal") && strcmp(v, "cautioned") && strcmp(v, "suspended")) {
        fprintf(stderr, "vigil: account: --police-status is normal, cautioned or suspended\n");
        return CLI_USAGE;
    }
    ((struct account_args *)args)->in.police_status = v;
    return CLI_OK;
}

static int take_location(void *args, const struct opt *o, char *v)
{
    (void)o;
    if (strcmp(v, "residential") && strcmp(v, "commercial")) {
        fprintf(stderr, "vigil: account: --location is residential or commercial\n");
        return CLI_USAGE;
    }
    ((struct account_args *)args)->in.location = v;
    return CLI_OK;
}

static int take_window(void *args, const struct opt *o, char *v)
{
    struct stn_account_input *in = &((struct account_args *)args)->in;
    int64_t w;
    if (parse_i64(v, -1, 86400, &w)) {
        fprintf(stderr, "vigil: account: %s must be -1 (the station's) or 0..86400\n", o->name);
        return CLI_USAGE;
    }
    if (!in->has_window) {
        in->has_window = true;
        in->window_past_s = in->window_future_s = -1;
    }
    if (strcmp(o->name, "--window-past-s") == 0)
        in->window_past_s = w;
    else
        in->window_future_s = w;
    return CLI_OK;
}

static int take_supervision(void *args, const struct opt *o, char *v)
{
    (void)o;
    struct stn_account_input *in = &((struct account_args *)args)->in;
    if (parse_i64(v, 0, 30 * 86400, &in->supervision_s)) {
        fprintf(stderr, "vigil: account: --supervision-s must be 0..2592000\n");
        return CLI_USAGE;
    }
    in->has_supervision = true;
    return CLI_OK;
}

static int take_account_quirk(void *args, const struct opt *o, char *v)
{
    (void)o;
    struct stn_account_input *in = &((struct account_args *)args)->in;
    uint32_t flag;
    if (strcmp(v, "none") == 0) {
        in->has_quirks = true;
        return CLI_OK;
    }
    if (dc09_quirk_parse(v, &flag) != 0) {
        fprintf(stderr, "vigil: account: unknown quirk '%s' (binary-crc, crc-with-cr, "
                        "bare-l, pad-no-bar, no-data-account, ignore-length, none)\n", v);
        return CLI_USAGE;
    }
    in->has_quirks = true;
    in->quirks |= flag;
    return CLI_OK;
}

static const struct opt account_set_opts[] = {
    { "--name", 0, "TEXT", OPT_STR, 0, AA(in.name), NULL, "the customer's name" },
    { "--address", 0, "TEXT", OPT_STR, 0, AA(in.address), NULL, "the premises' address" },
    { "--time-zone", 0, "ZONE", OPT_STR, 0, AA(in.time_zone), NULL,
      "the premises' time zone (e.g. America/Toronto)" },
    { "--phone", 0, "PHONE", OPT_STR, 0, AA(in.phone), NULL, "the premises' phone number" },
    { "--agency", 0, "ID", OPT_STR, 0, AA(in.agency), NULL,
      "the police agency answering there (an id from vigil agency list)" },
    { "--permit", 0, "TEXT", OPT_STR, 0, AA(in.permit), NULL, "the alarm permit's number" },
    { "--permit-expires", 0, "YYYY-MM-DD|none", OPT_CALL, 0, 0, take_permit_expires,
      "the last day the permit is valid (UTC)" },
    { "--police-status", 0, "normal|cautioned|suspended", OPT_CALL, 0, 0, take_police_status,
      "police response at the premises" },
    { "--location", 0, "residential|commercial", OPT_CALL, 0, 0, take_location,
      "the kind of premises" },
    { "--window-past-s", 0, "S", OPT_CALL, 0, 0, take_window,
      "oldest accepted frame timestamp for this account, -1 (the station's) or 0..86400" },
    { "--window-future-s", 0, "S", OPT_CALL, 0, 0, take_window,
      "newest accepted frame timestamp for this account, -1 (the station's) or 0..86400" },
    { "--supervision-s", 0, "S", OPT_CALL, 0, 0, take_supervision,
      "the panel's supervision interval, 0..2592000 (0: not supervised)" },
    { "--quirk", 0, "NAME", OPT_CALL, OPT_REPEAT, 0, take_account_quirk,
      "a known deviation of the panel's DC-09: binary-crc, crc-with-cr, bare-l, pad-no-bar, "
      "no-data-account, ignore-length, or none (clears them)" },
    KEYOPT_ROWS(struct account_args, k),
    { "--no-key", 0, NULL, OPT_CALL, 0, 0, take_no_key,
      "edit: the account stops using a key (frames in the clear)" },
    { "--help", 'h', NULL, OPT_HELP, 0, 0, NULL, "print this help" },
};

static const struct opt json_opts[] = {
    { "--json", 0, NULL, OPT_BOOL, 0, AA(json), NULL, "JSON instead of text" },
    { "--help", 'h', NULL, OPT_HELP, 0, 0, NULL, "print this help" },
};
static const struct opt help_opts[] = {
    { "--help", 'h', NULL, OPT_HELP, 0, 0, NULL, "print this help" },
};

static const struct opt_cmd account_add_cmd = {
    .prog = "vigil", .global = "-c FILE", .path = "account add",
    .synopsis = "NUMBER [options]",
    .summary = "Adds an account (NUMBER: 3..16 hex digits); creates the store if it does not "
               "exist yet. The key is sealed in the key store, never printed.",
    .opts = account_set_opts, .n_opts = OPTS_N(account_set_opts), .max_operands = 1,
    .style = OPTS_ONE_LINE,
};
static const struct opt_cmd account_edit_cmd = {
    .prog = "vigil", .global = "-c FILE", .path = "account edit",
    .synopsis = "NUMBER [options]",
    .summary = "Changes the options given; the running station picks the change up within a second.",
    .opts = account_set_opts, .n_opts = OPTS_N(account_set_opts), .max_operands = 1,
    .style = OPTS_ONE_LINE,
};
static const struct opt_cmd account_list_cmd = {
    .prog = "vigil", .global = "-c FILE", .path = "account list", .synopsis = "[--json]",
    .summary = "Every account: number, name, key (its size, never the key), supervision, last seen.",
    .opts = json_opts, .n_opts = OPTS_N(json_opts), .max_operands = 0, .style = OPTS_USAGE,
};
static const struct opt_cmd account_show_cmd = {
    .prog = "vigil", .global = "-c FILE", .path = "account show", .synopsis = "NUMBER [--json]",
    .summary = "One account with its users, zones, contacts and standing with its agency.",
    .opts = json_opts, .n_opts = OPTS_N(json_opts), .max_operands = 1, .style = OPTS_USAGE,
};
static const struct opt_cmd account_remove_cmd = {
    .prog = "vigil", .global = "-c FILE", .path = "account remove", .synopsis = "NUMBER",
    .summary = "Removes an account (its events and alarms stay).",
    .opts = help_opts, .n_opts = OPTS_N(help_opts), .max_operands = 1, .style = OPTS_USAGE,
};

struct sub_args {
    const char *name, *phone, *relation, *user, *verbal_file, *duress_file;
    bool lives;
};
#define SA(m) offsetof(struct sub_args, m)

static const struct opt user_zone_opts[] = {
    { "--name", 0, "TEXT", OPT_STR, 0, SA(name), NULL, "its name (add)" },
    { "--help", 'h', NULL, OPT_HELP, 0, 0, NULL, "print this help" },
};
static const struct opt contact_opts[] = {
    { "--name", 0, "TEXT", OPT_STR, 0, SA(name), NULL, "the contact's name" },
    { "--phone", 0, "PHONE", OPT_STR, 0, SA(phone), NULL, "the contact's phone number" },
    { "--relation", 0, "TEXT", OPT_STR, 0, SA(relation), NULL, "who the contact is (owner, neighbour...)" },
    { "--lives-at-premises", 0, NULL, OPT_BOOL, 0, SA(lives), NULL,
      "the contact lives at the premises" },
    { "--user", 0, "N", OPT_STR, 0, SA(user), NULL,
      "the panel user (0..9999) the contact is: a duress by that user leaves them off the call list" },
    { "--help", 'h', NULL, OPT_HELP, 0, 0, NULL, "print this help" },
};
static const struct opt passcode_opts[] = {
    { "--verbal-file", 0, "F", OPT_STR, 0, SA(verbal_file), NULL,
      "file holding the verbal passcode (4..128 characters; stored as an argon2id hash)" },
    { "--duress-file", 0, "F", OPT_STR, 0, SA(duress_file), NULL,
      "file holding the verbal duress passcode" },
    { "--help", 'h', NULL, OPT_HELP, 0, 0, NULL, "print this help" },
};
static const struct opt_cmd account_user_cmd = {
    .prog = "vigil", .global = "-c FILE", .path = "account user",
    .synopsis = "NUMBER add|remove N [--name TEXT]",
    .summary = "Names a panel user (N: 0..9999) or removes it.",
    .opts = user_zone_opts, .n_opts = OPTS_N(user_zone_opts), .max_operands = 3,
    .style = OPTS_ONE_LINE,
};
static const struct opt_cmd account_zone_cmd = {
    .prog = "vigil", .global = "-c FILE", .path = "account zone",
    .synopsis = "NUMBER add|remove N [--name TEXT]",
    .summary = "Names a zone (N: 0..9999) or removes it.",
    .opts = user_zone_opts, .n_opts = OPTS_N(user_zone_opts), .max_operands = 3,
    .style = OPTS_ONE_LINE,
};
static const struct opt_cmd account_contact_cmd = {
    .prog = "vigil", .global = "-c FILE", .path = "account contact",
    .synopsis = "NUMBER add [options] | NUMBER remove POSITION",
    .summary = "Adds a contact at the end of the call list, or removes the one at POSITION.",
    .opts = contact_opts, .n_opts = OPTS_N(contact_opts), .max_operands = 3,
    .style = OPTS_ONE_LINE,
};
static const struct opt_cmd account_passcode_cmd = {
    .prog = "vigil", .global = "-c FILE", .path = "account passcode",
    .synopsis = "NUMBER --verbal-file F | --duress-file F",
    .summary = "Sets the passcode the customer says to the operator (or the one that means "
               "duress) from a file: never on the command line.",
    .opts = passcode_opts, .n_opts = OPTS_N(passcode_opts), .max_operands = 1,
    .style = OPTS_ONE_LINE,
};

const struct opt_cmd *const cmd_account_opts[] = {
    &account_add_cmd, &account_edit_cmd, &account_list_cmd, &account_show_cmd,
    &account_remove_cmd, &account_user_cmd, &account_zone_cmd, &account_contact_cmd,
    &account_passcode_cmd, NULL,
};

/* 0, or the exit code (OPTS_DONE_HELP: help printed). */
static int account_flags(int argc, char **argv, bool add, struct account_args *a)
{
    memset(a, 0, sizeof *a);
    struct opts_operands ops;
    int rc = opts_parse(add ? &account_add_cmd : &account_edit_cmd, argc, argv, 1, a, &ops);
    if (rc != 0)
        return rc;
    if (a->k.set) {
        a->in.has_key = true;
        a->in.key = a->k.key.bytes;
        a->in.key_len = a->k.key.len;
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

static const struct opt_cmd *sub_cmd(const char *what)
{
    return strcmp(what, "user") == 0 ? &account_user_cmd
         : strcmp(what, "zone") == 0 ? &account_zone_cmd
         : strcmp(what, "contact") == 0 ? &account_contact_cmd : &account_passcode_cmd;
}

/* account user|zone NUMBER add|remove N [--name X]; contact NUMBER add|remove ...;
 * passcode NUMBER --verbal-file F | --duress-file F. Parsed before the store opens. */
static int account_sub_parse(int argc, char **argv, struct sub_args *sa, struct opts_operands *ops)
{
    const char *what = argv[0];
    memset(sa, 0, sizeof *sa);
    int rc = opts_parse(sub_cmd(what), argc, argv, 1, sa, ops);
    if (rc != 0)
        return rc;
    if (strcmp(what, "passcode") == 0) {
        if (ops->n != 1 || (sa->verbal_file != NULL) == (sa->duress_file != NULL)) {
            fprintf(stderr, "vigil: account passcode NUMBER --verbal-file F | --duress-file F\n");
            return CLI_USAGE;
        }
        return CLI_OK;
    }
    if (ops->n < 2) {
        fprintf(stderr, "vigil: account %s: missing arguments\n", what);
        return CLI_USAGE;
    }
    return CLI_OK;
}

static int account_sub(struct stn_store *st, const char *what, const struct sub_args *sa,
                       const struct opts_operands *ops)
{
    const char *number = ops->v[0];
    if (strcmp(what, "passcode") == 0) {
        bool duress = sa->duress_file != NULL;
        char buf[160];
        size_t len;
        int rc = read_secret_file(duress ? sa->duress_file : sa->verbal_file, buf, sizeof buf, &len);
        if (rc)
            return rc;
        rc = stn_account_passcode_set(st, number, duress, buf, len);
        memset(buf, 0, sizeof buf);
        if (rc == STN_E_INVAL) {
            fprintf(stderr, "vigil: account passcode: a passcode has 4..128 characters\n");
            return CLI_USAGE;
        }
        return result(rc, "account", number);
    }
    const char *op = ops->v[1];
    int64_t n = -1, user = -1;
    if (strcmp(what, "contact") != 0 || strcmp(op, "remove") == 0) {
        if (ops->n < 3 || parse_i64(ops->v[2], 0, 9999, &n)) {
            fprintf(stderr, "vigil: account %s NUMBER %s N: N must be 0..9999\n", what, op);
            return CLI_USAGE;
        }
    } else if (ops->n > 2) {
        fprintf(stderr, "vigil: account contact: unexpected argument '%s'\n", ops->v[2]);
        return CLI_USAGE;
    }
    if (sa->user != NULL && parse_i64(sa->user, 0, 9999, &user)) {
        fprintf(stderr, "vigil: account contact: --user must be 0..9999\n");
        return CLI_USAGE;
    }
    int rc;
    if (strcmp(op, "add") == 0 && strcmp(what, "user") == 0) rc = stn_account_user_set(st, number, n, sa->name);
    else if (strcmp(op, "remove") == 0 && strcmp(what, "user") == 0) rc = stn_account_user_remove(st, number, n);
    else if (strcmp(op, "add") == 0 && strcmp(what, "zone") == 0) rc = stn_account_zone_set(st, number, n, sa->name);
    else if (strcmp(op, "remove") == 0 && strcmp(what, "zone") == 0) rc = stn_account_zone_remove(st, number, n);
    else if (strcmp(op, "add") == 0 && strcmp(what, "contact") == 0)
        rc = stn_account_contact_add_user(st, number, sa->name, sa->phone, sa->relation, sa->lives,
                                          user);
    else if (strcmp(op, "remove") == 0 && strcmp(what, "contact") == 0)
        rc = stn_account_contact_remove(st, number, n);
    else {
        fprintf(stderr, "vigil: account %s: expected add or remove\n", what);
        return CLI_USAGE;
    }
    return result(rc, "account", number);
}

static int account_usage(FILE *f)
{
    fprintf(f, "usage: vigil -c FILE account add|edit|list|show|remove|user|zone|contact|passcode ...\n");
    return CLI_USAGE;
}

int cmd_account(const struct cli_global *g, int argc, char **argv)
{
    if (argc < 1)
        return account_usage(stderr);
    const char *verb = argv[0];
    if (strcmp(verb, "-h") == 0 || strcmp(verb, "--help") == 0) {
        account_usage(stdout);
        printf("(vigil account VERB --help for a verb's options)\n");
        return CLI_OK;
    }
    struct stn_store *st = NULL;
    struct opts_operands ops;
    struct account_args aa;
    int rc;
    bool is_sub = strcmp(verb, "user") == 0 || strcmp(verb, "zone") == 0 ||
                  strcmp(verb, "contact") == 0 || strcmp(verb, "passcode") == 0;
    const struct opt_cmd *c = strcmp(verb, "list") == 0 ? &account_list_cmd
                            : strcmp(verb, "show") == 0 ? &account_show_cmd
                            : strcmp(verb, "remove") == 0 ? &account_remove_cmd : NULL;
    if (c == &account_list_cmd) {
        memset(&aa, 0, sizeof aa);
        if ((rc = opts_parse(c, argc, argv, 1, &aa, &ops)) != 0)
            return rc == OPTS_DONE_HELP ? CLI_OK : rc;
        bool json = aa.json;
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
    bool help = argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0);
    if (argc < 2 || (!help && argv[1][0] == '-')) {
        fprintf(stderr, "vigil: account %s: missing NUMBER\n", verb);
        return CLI_USAGE;
    }
    const char *number = argv[1];
    if (c == &account_show_cmd) {
        memset(&aa, 0, sizeof aa);
        if ((rc = opts_parse(c, argc, argv, 1, &aa, &ops)) != 0)
            return rc == OPTS_DONE_HELP ? CLI_OK : rc;
        bool json = aa.json;
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
    if (c == &account_remove_cmd) {
        if ((rc = opts_parse(c, argc, argv, 1, &aa, &ops)) != 0)
            return rc == OPTS_DONE_HELP ? CLI_OK : rc;
        if ((rc = open_store(g, &st)) != 0)
            return rc;
        rc = stn_account_remove(st, number);
        stn_store_close(st);
        if (rc == 0)
            printf("account %s removed\n", number);
        return result(rc, "account", number);
    }
    if (strcmp(verb, "add") == 0 || strcmp(verb, "edit") == 0) {
        bool add = strcmp(verb, "add") == 0;
        rc = account_flags(argc, argv, add, &aa);
        if (rc) {
            keyopt_wipe(&aa.k);
            return rc == OPTS_DONE_HELP ? CLI_OK : rc;
        }
        if ((rc = cli_open_store(g, &st, add)) != 0) {
            keyopt_wipe(&aa.k);
            return rc;
        }
        rc = add ? stn_account_add(st, number, &aa.in) : stn_account_edit(st, number, &aa.in);
        keyopt_wipe(&aa.k);
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
            printf("account %s %s\n", number, add ? "added" : "changed");
        return result(rc, "account", number);
    }
    if (is_sub) {
        struct sub_args sa;
        if ((rc = account_sub_parse(argc, argv, &sa, &ops)) != 0)
            return rc == OPTS_DONE_HELP ? CLI_OK : rc;
        if ((rc = open_store(g, &st)) != 0)
            return rc;
        rc = account_sub(st, verb, &sa, &ops);
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

struct events_args {
    struct stn_event_filter f;
    bool json;
};

static int take_since(void *args, const struct opt *o, char *v)
{
    (void)o;
    if (stn_parse_since(v, now_ms(), &((struct events_args *)args)->f.since_ms) != 0) {
        fprintf(stderr, "vigil: events: --since wants ISO 8601 UTC (2026-11-26T14:03:05Z) "
                        "or a relative time (30s, 10m, 2h, 3d)\n");
        return CLI_USAGE;
    }
    return CLI_OK;
}

static int take_limit(void *args, const struct opt *o, char *v)
{
    (void)o;
    if (parse_i64(v, 1, INT64_MAX, &((struct events_args *)args)->f.limit)) {
        fprintf(stderr, "vigil: events: --limit must be a positive number\n");
        return CLI_USAGE;
    }
    return CLI_OK;
}

static const struct opt events_opts[] = {
    { "--account", 0, "A", OPT_STR, 0, offsetof(struct events_args, f.account), NULL,
      "only this account's events (3..16 hex digits)" },
    { "--since", 0, "T", OPT_CALL, 0, 0, take_since,
      "only events received since T: ISO 8601 UTC (2026-11-26T14:03:05Z) or a relative time "
      "(30s, 10m, 2h, 3d)" },
    { "--limit", 0, "N", OPT_CALL, 0, 0, take_limit, "at most N events (the newest)" },
    { "--json", 0, NULL, OPT_BOOL, 0, offsetof(struct events_args, json), NULL,
      "a JSON array instead of text" },
    { "--help", 'h', NULL, OPT_HELP, 0, 0, NULL, "print this help" },
};
static const struct opt_cmd events_cmd = {
    .prog = "vigil", .global = "-c FILE", .path = "events",
    .synopsis = "[--account A] [--since T] [--limit N] [--json]",
    .summary = "Events the station stored (ACKed), oldest first; * marks an encrypted frame.",
    .opts = events_opts, .n_opts = OPTS_N(events_opts), .max_operands = 0, .style = OPTS_USAGE,
};
const struct opt_cmd *const cmd_events_opts[] = { &events_cmd, NULL };

int cmd_events(const struct cli_global *g, int argc, char **argv)
{
    struct events_args ea = { 0 };
    int prc = opts_parse(&events_cmd, argc, argv, 0, &ea, NULL);
    if (prc != 0)
        return prc == OPTS_DONE_HELP ? CLI_OK : prc;
    struct stn_event_filter f = ea.f;
    bool json = ea.json;
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

struct alarms_args { bool json, all; };
static const struct opt alarms_opts[] = {
    { "--all", 0, NULL, OPT_BOOL, 0, offsetof(struct alarms_args, all), NULL,
      "closed alarms too, not only the open ones" },
    { "--json", 0, NULL, OPT_BOOL, 0, offsetof(struct alarms_args, json), NULL,
      "a JSON array instead of text" },
    { "--help", 'h', NULL, OPT_HELP, 0, 0, NULL, "print this help" },
};
static const struct opt_cmd alarms_cmd = {
    .prog = "vigil", .global = "-c FILE", .path = "alarms", .synopsis = "[--all] [--json]",
    .summary = "Open alarms in queue order (priority, then age); TEST marks one raised while "
               "its account was on test.",
    .opts = alarms_opts, .n_opts = OPTS_N(alarms_opts), .max_operands = 0, .style = OPTS_USAGE,
};
const struct opt_cmd *const cmd_alarms_opts[] = { &alarms_cmd, NULL };

int cmd_alarms(const struct cli_global *g, int argc, char **argv)
{
    struct alarms_args aa = { 0 };
    int prc = opts_parse(&alarms_cmd, argc, argv, 0, &aa, NULL);
    if (prc != 0)
        return prc == OPTS_DONE_HELP ? CLI_OK : prc;
    bool json = aa.json, all = aa.all;
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

struct signals_args { bool json; int64_t since; };

static int take_signals_since(void *args, const struct opt *o, char *v)
{
    (void)o;
    if (stn_parse_since(v, now_ms(), &((struct signals_args *)args)->since) != 0) {
        fprintf(stderr, "vigil: signals: --since wants ISO 8601 UTC (2026-11-26T14:03:05Z) "
                        "or a relative time (30s, 10m, 2h, 3d)\n");
        fprintf(stderr, "usage: vigil -c FILE signals [--since T] [--json]\n");
        return CLI_USAGE;
    }
    return CLI_OK;
}

static const struct opt signals_opts[] = {
    { "--since", 0, "T", OPT_CALL, 0, 0, take_signals_since,
      "only signals refused since T (ISO 8601 UTC or 30s, 10m, 2h, 3d)" },
    { "--json", 0, NULL, OPT_BOOL, 0, offsetof(struct signals_args, json), NULL,
      "a JSON array instead of text" },
    { "--help", 'h', NULL, OPT_HELP, 0, 0, NULL, "print this help" },
};
static const struct opt_cmd signals_cmd = {
    .prog = "vigil", .global = "-c FILE", .path = "signals", .synopsis = "[--since T] [--json]",
    .summary = "Signals the station refused with DUH (unknown account, wrong key, ...), with "
               "the reason and the sender's address.",
    .opts = signals_opts, .n_opts = OPTS_N(signals_opts), .max_operands = 0, .style = OPTS_USAGE,
};
const struct opt_cmd *const cmd_signals_opts[] = { &signals_cmd, NULL };

int cmd_signals(const struct cli_global *g, int argc, char **argv)
{
    struct signals_args sa = { 0 };
    int prc = opts_parse(&signals_cmd, argc, argv, 0, &sa, NULL);
    if (prc != 0)
        return prc == OPTS_DONE_HELP ? CLI_OK : prc;
    bool json = sa.json;
    int64_t since = sa.since;
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

static const struct opt_cmd backup_cmd = {
    .prog = "vigil", .global = "-c FILE", .path = "backup", .synopsis = "PATH",
    .summary = "Writes a consistent copy of the store to PATH while the station runs (never "
               "over an existing file: exit 1). The key store is not in it: keep it apart.",
    .opts = help_opts, .n_opts = OPTS_N(help_opts), .max_operands = 1, .style = OPTS_USAGE,
};
const struct opt_cmd *const cmd_backup_opts[] = { &backup_cmd, NULL };

int cmd_backup(const struct cli_global *g, int argc, char **argv)
{
    struct opts_operands ops;
    int prc = opts_parse(&backup_cmd, argc, argv, 0, NULL, &ops);
    if (prc != 0)
        return prc == OPTS_DONE_HELP ? CLI_OK : prc;
    if (ops.n != 1) {
        fprintf(stderr, "usage: vigil -c FILE backup PATH\n");
        return CLI_USAGE;
    }
    struct stn_store *st;
    int rc = open_store(g, &st);
    if (rc)
        return rc;
    char msg[512];
    rc = stn_store_backup(st, ops.v[0], msg, sizeof msg);
    stn_store_close(st);
    if (rc) {
        fprintf(stderr, "vigil: backup: %s\n", msg);
        return rc == STN_E_EXISTS ? CLI_NEGATIVE : CLI_USAGE;
    }
    printf("backup written to %s\n", ops.v[0]);
    /* for the metrics: vigil_store_last_backup_timestamp_seconds */
    struct stn_config bc;
    struct conf_error be = { 0 };
    if (stn_config_load(g->config_path, &bc, &be) != 0 ||
        stn_backup_mark_write(bc.store_path, (int64_t)time(NULL), msg, sizeof msg) != 0)
        fprintf(stderr, "vigil: backup: the time of this backup was not recorded for the "
                "metrics\n");
    return CLI_OK;
}
