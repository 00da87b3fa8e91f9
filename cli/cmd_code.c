/*
 * cmd_code.c — `vigil code check`: the panel's code policy (R1–R8 of
 * docs/DURESS.md) from the command line, through the same library call the
 * panel uses (pnl_policy_check).
 *
 *   vigil code check [--json] --code NEW [--duress] --existing CODE[:duress]...
 *                    [--codes-from -] [--layout 12,34,56,78,90]
 *
 * Existing codes are slots 1, 2, ... in the order given (--existing first,
 * then one per line from stdin with --codes-from -, which keeps them out of
 * the process list). Exit 0 accepted (warnings printed), 1 refused (one line
 * per hit), 2 bad input. It must never print a code's digits: not the new
 * code, not an existing one, not in an error message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "opts.h"
#include "vigil/panel.h"

#define CODES_MAX 255   /* slot numbers are one byte */

static const struct opt_cmd check_cmd;

static void usage(FILE *f)
{
    opts_usage(&check_cmd, f);
}

static bool digits_ok(const char *s, size_t n)
{
    if (n < PNL_CODE_LEN_MIN || n > PNL_CODE_LEN_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* "1234" or "1234:duress" into the next slot. */
static int add_code(struct pnl_policy_code *ex, size_t *n, const char *s)
{
    if (*n >= CODES_MAX) {
        fprintf(stderr, "vigil code: more than %d existing codes\n", CODES_MAX);
        return -1;
    }
    const char *colon = strchr(s, ':');
    size_t len = colon ? (size_t)(colon - s) : strlen(s);
    bool duress = false;
    if (colon) {
        if (strcmp(colon + 1, "duress") != 0) {
            fprintf(stderr, "vigil code: existing code for slot %zu: only ':duress' may follow a code\n",
                    *n + 1);
            return -1;
        }
        duress = true;
    }
    if (!digits_ok(s, len)) {
        fprintf(stderr, "vigil code: existing code for slot %zu is not 4 to 8 digits\n", *n + 1);
        return -1;
    }
    struct pnl_policy_code *c = &ex[*n];
    c->slot = (uint8_t)(*n + 1);
    c->duress = duress;
    memcpy(c->digits, s, len);
    c->digits[len] = '\0';
    (*n)++;
    return 0;
}

static int read_stdin(struct pnl_policy_code *ex, size_t *n)
{
    char line[64];
    while (fgets(line, sizeof line, stdin) != NULL) {
        size_t l = strlen(line);
        if (l == sizeof line - 1 && line[l - 1] != '\n') {
            fprintf(stderr, "vigil code: line for slot %zu too long\n", *n + 1);
            return -1;
        }
        while (l > 0 && (line[l - 1] == '\n' || line[l - 1] == '\r' || line[l - 1] == ' '))
            line[--l] = '\0';
        if (l == 0)
            continue;
        int e = add_code(ex, n, line);
        memset(line, 0, sizeof line);
        if (e < 0)
            return -1;
    }
    return 0;
}

struct code_args {
    struct pnl_policy_code *ex;
    size_t n;
    const char *code;
    bool json, duress, from_stdin, layout_set;
    struct pnl_layout layout;
};

static int take_existing(void *args, const struct opt *o, char *v)
{
    (void)o;
    struct code_args *a = args;
    return add_code(a->ex, &a->n, v) < 0 ? CLI_USAGE : CLI_OK;
}

static int take_codes_from(void *args, const struct opt *o, char *v)
{
    (void)o;
    if (strcmp(v, "-") != 0) {
        fprintf(stderr, "vigil code: --codes-from takes only '-' (stdin)\n");
        return CLI_USAGE;
    }
    ((struct code_args *)args)->from_stdin = true;
    return CLI_OK;
}

static int take_layout(void *args, const struct opt *o, char *v)
{
    (void)o;
    if (pnl_layout_parse(v, &((struct code_args *)args)->layout) < 0) {
        fprintf(stderr, "vigil code: --layout wants five keys of two digits, e.g. 12,34,56,78,90\n");
        return CLI_USAGE;
    }
    return CLI_OK;
}

static const struct opt check_opts[] = {
    { "--code", 0, "NEW", OPT_STR, OPT_REQUIRED, offsetof(struct code_args, code), NULL,
      "the new code to check: 4 to 8 digits" },
    { "--duress", 0, NULL, OPT_BOOL, 0, offsetof(struct code_args, duress), NULL,
      "the new code is a duress code" },
    { "--existing", 0, "CODE[:duress]", OPT_CALL, OPT_MULTI, 0, take_existing,
      "the panel's codes, slot 1 first, as many as follow (visible in ps: prefer --codes-from)" },
    { "--codes-from", 0, "-", OPT_CALL, 0, 0, take_codes_from,
      "read the existing codes from stdin, one per line (CODE or CODE:duress)" },
    { "--layout", 0, "12,34,56,78,90", OPT_CALL, 0, 0, take_layout,
      "the keypad's five two-digit keys, for the adjacent-key rules" },
    { "--json", 0, NULL, OPT_BOOL, 0, offsetof(struct code_args, json), NULL,
      "the verdict as JSON (every rule hit, by slot)" },
    { "--help", 'h', NULL, OPT_HELP, 0, 0, NULL, "print this help" },
};

static const struct opt_cmd check_cmd = {
    .prog = "vigil", .path = "code check",
    .synopsis = "[--json] --code NEW [--duress] --existing CODE[:duress]... [--codes-from -] "
                "[--layout 12,34,56,78,90]",
    .summary = "Checks a new code against the duress code policy (rules R1-R8): exit 0 "
               "accepted, 1 refused (each rule it breaks printed), 2 bad input.",
    .opts = check_opts, .n_opts = OPTS_N(check_opts), .max_operands = 0, .style = OPTS_USAGE,
};
const struct opt_cmd *const cmd_code_opts[] = { &check_cmd, NULL };

static int code_check(int argc, char **argv)
{
    static struct pnl_policy_code ex[CODES_MAX];
    struct code_args ca = { .ex = ex, .layout = { .enabled = false } };
    int rc = opts_parse(&check_cmd, argc, argv, 1, &ca, NULL);
    size_t n = ca.n;
    const char *code = ca.code;
    bool json = ca.json, duress = ca.duress, from_stdin = ca.from_stdin;
    struct pnl_layout layout = ca.layout;
    if (rc != 0) {
        rc = rc == OPTS_DONE_HELP ? CLI_OK : rc;
        goto out;
    }
    rc = CLI_USAGE;
    if (from_stdin && read_stdin(ex, &n) < 0)
        goto out;
    if (!digits_ok(code, strlen(code))) {
        fprintf(stderr, "vigil code: --code must be 4 to 8 digits\n");
        goto out;
    }

    /* R8 (no slot) once, then every slot on its own, so no hit is lost to the
     * bounded result of one call. */
    struct pnl_policy_result res;
    struct pnl_policy_hit hits[CODES_MAX * 7 + 1];
    size_t nh = 0;
    if (pnl_policy_check(code, strlen(code), duress, NULL, 0, &layout, &res) < 0)
        goto out;
    bool weak_warning = res.weak_warning;
    for (size_t h = 0; h < res.hit_count; h++)
        hits[nh++] = res.hits[h];
    size_t r8 = nh;
    nh = 0;
    for (size_t i = 0; i < n; i++) {
        if (pnl_policy_check(code, strlen(code), duress, &ex[i], 1, &layout, &res) < 0)
            goto out;
        for (size_t h = 0; h < res.hit_count; h++)
            if (res.hits[h].rule != PNL_R8_WEAK)
                hits[nh++] = res.hits[h];
    }
    if (r8) {
        hits[nh].rule = PNL_R8_WEAK;
        hits[nh].slot = 0;
        nh++;
    }
    bool accepted = nh == 0;

    if (json) {
        json_t *o = json_object(), *jh = json_array(), *jw = json_array();
        for (size_t h = 0; h < nh; h++) {
            json_t *x = json_object();
            json_object_set_new(x, "rule", json_string(pnl_rule_id(hits[h].rule)));
            if (hits[h].rule != PNL_R8_WEAK)
                json_object_set_new(x, "slot", json_integer(hits[h].slot));
            json_array_append_new(jh, x);
        }
        if (weak_warning) {
            json_t *x = json_object();
            json_object_set_new(x, "rule", json_string("R8"));
            json_array_append_new(jw, x);
        }
        json_object_set_new(o, "accepted", json_boolean(accepted));
        json_object_set_new(o, "hits", jh);
        json_object_set_new(o, "warnings", jw);
        char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(o);
        if (s == NULL)
            goto out;
        puts(s);
        free(s);
    } else {
        for (size_t h = 0; h < nh; h++) {
            enum pnl_rule r = (enum pnl_rule)hits[h].rule;
            if (r == PNL_R8_WEAK)
                printf("refused %s %s\n", pnl_rule_id(r), pnl_rule_name(r));
            else
                printf("refused %s %s: collides with slot %u\n", pnl_rule_id(r),
                       pnl_rule_name(r), (unsigned)hits[h].slot);
        }
        if (weak_warning)
            printf("warning R8 weak: a common or patterned code\n");
        if (accepted)
            printf("accepted\n");
    }
    rc = accepted ? CLI_OK : CLI_NEGATIVE;
out:
    memset(ex, 0, sizeof ex);
    return rc;
}

int cmd_code(const struct cli_global *g, int argc, char **argv)
{
    (void)g;
    if (argc < 1) {
        usage(stderr);
        return CLI_USAGE;
    }
    if (strcmp(argv[0], "check") == 0)
        return code_check(argc, argv);
    fprintf(stderr, "vigil code: unknown verb '%s'\n", argv[0]);
    usage(stderr);
    return CLI_USAGE;
}
