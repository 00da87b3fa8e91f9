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
#include "vigil/panel.h"

#define CODES_MAX 255   /* slot numbers are one byte */

static void usage(FILE *f)
{
    fprintf(f, "usage: vigil code check [--json] --code NEW [--duress] "
               "--existing CODE[:duress]... [--codes-from -] [--layout 12,34,56,78,90]\n");
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

static int code_check(int argc, char **argv)
{
    static struct pnl_policy_code ex[CODES_MAX];
    size_t n = 0;
    const char *code = NULL;
    bool json = false, duress = false, from_stdin = false;
    struct pnl_layout layout = { .enabled = false };
    int rc = CLI_USAGE;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--json") == 0) {
            json = true;
        } else if (strcmp(a, "--duress") == 0) {
            duress = true;
        } else if (strcmp(a, "--code") == 0 && i + 1 < argc) {
            code = argv[++i];
        } else if (strcmp(a, "--existing") == 0 && i + 1 < argc) {
            /* One or more codes, up to the next option. */
            while (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0)
                if (add_code(ex, &n, argv[++i]) < 0)
                    goto out;
        } else if (strcmp(a, "--codes-from") == 0 && i + 1 < argc) {
            if (strcmp(argv[++i], "-") != 0) {
                fprintf(stderr, "vigil code: --codes-from takes only '-' (stdin)\n");
                goto out;
            }
            from_stdin = true;
        } else if (strcmp(a, "--layout") == 0 && i + 1 < argc) {
            if (pnl_layout_parse(argv[++i], &layout) < 0) {
                fprintf(stderr, "vigil code: --layout wants five keys of two digits, e.g. 12,34,56,78,90\n");
                goto out;
            }
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            rc = CLI_OK;
            goto out;
        } else {
            fprintf(stderr, "vigil code: unknown or incomplete option '%s'\n",
                    strncmp(a, "--", 2) == 0 ? a : "(a value)");
            usage(stderr);
            goto out;
        }
    }
    if (from_stdin && read_stdin(ex, &n) < 0)
        goto out;
    if (code == NULL) {
        fprintf(stderr, "vigil code: --code is required\n");
        usage(stderr);
        goto out;
    }
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
