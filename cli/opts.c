/*
 * opts.c — the option tables' parser, help and man-page printer (opts.h).
 * It never prints an option's value: values can be keys or passwords.
 */
#include "opts.h"

#include <stdarg.h>
#include <string.h>

#include "vigil/conf.h"

#define EXIT_USAGE 2

static void who(const struct opt_cmd *c, FILE *f)
{
    fputs(c->prog, f);
    if (c->global != NULL)
        fprintf(f, " %s", c->global);
    if (c->path != NULL)
        fprintf(f, " %s", c->path);
}

/* "vigil: dc09 encode", as every vigil message begins; "vigil-panel" */
static void err_prefix(const struct opt_cmd *c)
{
    fputs(c->prog, stderr);
    if (c->path != NULL)
        fprintf(stderr, ": %s", c->path);
}

void opts_usage(const struct opt_cmd *c, FILE *f)
{
    fputs("usage: ", f);
    who(c, f);
    if (c->synopsis != NULL && c->synopsis[0] != '\0')
        fprintf(f, " %s", c->synopsis);
    fputc('\n', f);
}

void opts_error(const struct opt_cmd *c, const char *fmt, ...)
{
    err_prefix(c);
    fputs(": ", stderr);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (c->style == OPTS_USAGE)
        opts_usage(c, stderr);
}

/* "--name ARG", "-c, --name ARG" */
static int opt_label(const struct opt *o, char *buf, size_t cap)
{
    int n;
    if (o->short_name && o->name)
        n = snprintf(buf, cap, "-%c, %s", o->short_name, o->name);
    else if (o->short_name)
        n = snprintf(buf, cap, "-%c", o->short_name);
    else
        n = snprintf(buf, cap, "%s", o->name);
    if (o->arg != NULL && n >= 0 && (size_t)n < cap)
        n += snprintf(buf + n, cap - (size_t)n, " %s", o->arg);
    return n;
}

void opts_help(const struct opt_cmd *c, FILE *f)
{
    opts_usage(c, f);
    if (c->summary != NULL)
        fprintf(f, "%s\n", c->summary);
    bool any = false;
    for (size_t i = 0; i < c->n_opts; i++) {
        const struct opt *o = &c->opts[i];
        if (o->flags & OPT_HIDDEN)
            continue;
        if (!any)
            fputs("\noptions:\n", f);
        any = true;
        char label[96];
        opt_label(o, label, sizeof label);
        const char *tail = (o->flags & OPT_REQUIRED) ? " (required)"
                         : (o->flags & (OPT_REPEAT | OPT_MULTI)) ? " (repeatable)" : "";
        if (strlen(label) > 24)
            fprintf(f, "  %s\n  %-24s %s%s\n", label, "", o->help, tail);
        else
            fprintf(f, "  %-24s %s%s\n", label, o->help, tail);
    }
    if (c->more != NULL)
        fprintf(f, "\n%s", c->more);
}

static const struct opt *find_long(const struct opt_cmd *c, const char *a, size_t n)
{
    for (size_t s = 0; s < c->n_opts; s++) {
        const char *name = c->opts[s].name;
        if (name != NULL && strlen(name) == n && strncmp(name, a, n) == 0)
            return &c->opts[s];
    }
    return NULL;
}

static const struct opt *find_short(const struct opt_cmd *c, char ch)
{
    for (size_t s = 0; s < c->n_opts; s++)
        if (c->opts[s].short_name == ch)
            return &c->opts[s];
    return NULL;
}

static const char *oname(const struct opt *o, char *buf)
{
    if (o->name != NULL)
        return o->name;
    buf[0] = '-';
    buf[1] = o->short_name;
    buf[2] = '\0';
    return buf;
}

static int store(const struct opt *o, void *args, char *val)
{
    char sn[3];
    char *base = args;
    switch (o->kind) {
    case OPT_BOOL:
        *(bool *)(void *)(base + o->field) = true;
        return 0;
    case OPT_STR:
        *(const char **)(void *)(base + o->field) = val;
        return 0;
    case OPT_CALL:
        (void)sn;
        return o->take(args, o, val);
    case OPT_HELP:
        break;
    }
    return 0;
}

int opts_parse(const struct opt_cmd *c, int argc, char **argv, int first, void *args,
               struct opts_operands *ops)
{
    bool seen[64] = { false };
    if (ops != NULL)
        ops->n = 0;
    for (int i = first; i < argc;) {
        char *a = argv[i];
        const struct opt *o = NULL;
        char *eq = NULL;
        if (a[0] == '-' && a[1] == '-' && a[2] != '\0') {
            eq = c->eq_values ? strchr(a, '=') : NULL;
            size_t n = eq ? (size_t)(eq - a) : strlen(a);
            o = find_long(c, a, n);
            if (o == NULL) {
                if (c->style == OPTS_ONE_LINE)
                    opts_error(c, "unknown option '%.*s' (see %s%s%s --help)", (int)n, a,
                               c->prog, c->path ? " " : "", c->path ? c->path : "");
                else
                    opts_error(c, "unknown option '%.*s'", (int)n, a);
                return EXIT_USAGE;
            }
        } else if (a[0] == '-' && a[1] != '\0' && a[1] != '-' && a[2] == '\0') {
            o = find_short(c, a[1]);
            if (o == NULL) {
                opts_error(c, "unknown option '%s'", a);
                return EXIT_USAGE;
            }
        } else {
            if (ops == NULL || (c->max_operands >= 0 && ops->n >= c->max_operands) ||
                ops->n >= (int)OPTS_N(ops->v)) {
                opts_error(c, "unexpected argument '%s'", a);
                return EXIT_USAGE;
            }
            ops->v[ops->n++] = a;
            i++;
            continue;
        }
        i++;
        size_t idx = (size_t)(o - c->opts);
        if (idx < OPTS_N(seen))
            seen[idx] = true;
        char sn[3];
        if (o->kind == OPT_HELP) {
            opts_help(c, stdout);
            return OPTS_DONE_HELP;
        }
        if (o->arg == NULL) {
            if (eq != NULL) {
                opts_error(c, "%s takes no value", oname(o, sn));
                return EXIT_USAGE;
            }
            int rc = store(o, args, NULL);
            if (rc != 0)
                return rc;
            continue;
        }
        char *val;
        if (eq != NULL) {
            val = eq + 1;
        } else if (i < argc) {
            val = argv[i++];
        } else {
            opts_error(c, "%s needs a value (%s)", oname(o, sn), o->arg);
            return EXIT_USAGE;
        }
        int rc = store(o, args, val);
        if (rc != 0)
            return rc;
        while ((o->flags & OPT_MULTI) && i < argc && strncmp(argv[i], "--", 2) != 0) {
            rc = store(o, args, argv[i++]);
            if (rc != 0)
                return rc;
        }
    }
    for (size_t s = 0; s < c->n_opts && s < OPTS_N(seen); s++) {
        if ((c->opts[s].flags & OPT_REQUIRED) && !seen[s]) {
            char sn[3];
            opts_error(c, "%s is required", oname(&c->opts[s], sn));
            return EXIT_USAGE;
        }
    }
    return 0;
}

/* ---- roff -------------------------------------------------------------- */

void opts_roff(FILE *f, const char *s)
{
    bool bol = true;
    for (; *s; s++) {
        if (bol && (*s == '.' || *s == '\''))
            fputs("\\&", f);
        bol = *s == '\n';
        if (*s == '\\')
            fputs("\\e", f);
        else if (*s == '-')
            fputs("\\-", f);
        else
            fputc(*s, f);
    }
}

/* A synopsis in roff: words in capitals and inside [] are italic when they
 * look like metavariables; the rest bold. Kept simple: the whole line plain,
 * options bold. */
static void roff_synopsis(FILE *f, const struct opt_cmd *c)
{
    fputs(".B ", f);
    fputs(c->prog, f);
    if (c->global != NULL) {
        fputc(' ', f);
        opts_roff(f, c->global);
    }
    if (c->path != NULL) {
        fputc(' ', f);
        opts_roff(f, c->path);
    }
    fputc('\n', f);
    if (c->synopsis != NULL && c->synopsis[0] != '\0') {
        opts_roff(f, c->synopsis);
        fputc('\n', f);
    }
}

void opts_man(const struct opt_cmd *c, FILE *f, bool subsection)
{
    if (subsection) {
        fputs(".SS \"", f);
        fputs(c->prog, f);
        if (c->path != NULL) {
            fputc(' ', f);
            opts_roff(f, c->path);
        }
        fputs("\"\n", f);
    }
    fputs(".PP\n", f);
    roff_synopsis(f, c);
    if (c->summary != NULL) {
        fputs(".PP\n", f);
        opts_roff(f, c->summary);
        fputc('\n', f);
    }
    for (size_t i = 0; i < c->n_opts; i++) {
        const struct opt *o = &c->opts[i];
        if ((o->flags & OPT_HIDDEN) || o->kind == OPT_HELP)   /* --help: said once per page */
            continue;
        fputs(".TP\n", f);
        if (o->short_name)
            fprintf(f, "\\fB\\-%c\\fR", o->short_name);
        if (o->short_name && o->name)
            fputs(", ", f);
        if (o->name != NULL) {
            fputs("\\fB", f);
            opts_roff(f, o->name);
            fputs("\\fR", f);
        }
        if (o->arg != NULL) {
            fputs(" \\fI", f);
            opts_roff(f, o->arg);
            fputs("\\fR", f);
        }
        fputc('\n', f);
        opts_roff(f, o->help);
        if (o->flags & OPT_REQUIRED)
            fputs(" (required)", f);
        else if (o->flags & (OPT_REPEAT | OPT_MULTI))
            fputs(" (repeatable)", f);
        fputc('\n', f);
    }
    if (c->more != NULL) {
        fputs(".PP\n", f);
        opts_roff(f, c->more);
        if (c->more[0] != '\0' && c->more[strlen(c->more) - 1] != '\n')
            fputc('\n', f);
    }
}

void opts_dump(const struct opt_cmd *c, FILE *f)
{
    const char *path = c->path ? c->path : "";
    fprintf(f, "%s\t%s\t-\t-\n", c->prog, path);
    for (size_t i = 0; i < c->n_opts; i++) {
        const struct opt *o = &c->opts[i];
        if ((o->flags & OPT_HIDDEN) || o->kind == OPT_HELP)
            continue;
        fprintf(f, "%s\t%s\t%s\t", c->prog, path, o->name ? o->name : "-");
        if (o->short_name)
            fprintf(f, "-%c\n", o->short_name);
        else
            fputs("-\n", f);
    }
}

void opts_man_keys(const struct conf_key *keys, size_t nkeys, const char *prog, bool man, FILE *f)
{
    for (size_t i = 0; i < nkeys; i++) {
        const struct conf_key *k = &keys[i];
        if (!man) {
            fprintf(f, "key\t%s\n", k->name);
            continue;
        }
        fprintf(f, ".TP\n.B %s\n", k->name);
        opts_roff(f, k->help);
        fprintf(f, ".\n.br\n");
        switch (k->type) {
        case CONF_INT:
            fprintf(f, "Integer, %lld to %lld", (long long)k->min, (long long)k->max);
            break;
        case CONF_BOOL:
            fprintf(f, "yes or no");
            break;
        case CONF_STRING:
            fprintf(f, "Text");
            break;
        case CONF_LIST:
            fprintf(f, "Repeatable");
            break;
        case CONF_ENUM:
            fprintf(f, "One of");
            for (const char *const *n = k->names; n && *n; n++)
                fprintf(f, " %s%s", *n, n[1] ? "," : "");
            break;
        }
        if (k->required)
            fprintf(f, "; required");
        if (k->def != NULL && k->def[0] != '\0') {
            fprintf(f, "; default \\(lq");
            opts_roff(f, k->def);
            fprintf(f, "\\(rq");
        } else if (!k->required) {
            fprintf(f, "; no default");
        }
        fprintf(f, "; %s", k->reloadable ? "reloaded on SIGHUP" : "read at start only");
        const char *who = k->programs == NULL ? prog
                        : strcmp(k->programs, "both") == 0 ? "vigil-station and vigil-console"
                        : k->programs;
        fprintf(f, "; read by \\fB");
        opts_roff(f, who);
        fprintf(f, "\\fR.\n");
    }
}
