/*
 * opts.h — one option table per command, read by the parser, by --help and
 * by the man pages (--help-man prints the table as roff; packaging/man/mkman.py
 * puts it into the pages and tests/man checks them).
 *
 * Used by vigil (cli/), vigil-panel, vigil-station and vigil-console. A table
 * says what an option is called, what it takes, what it is for and which field
 * it fills; the command then checks values with its own specific messages.
 */
#ifndef VIGIL_CLI_OPTS_H
#define VIGIL_CLI_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum opt_kind {
    OPT_BOOL,    /* a flag: sets the bool at `field` */
    OPT_STR,     /* a value: sets the const char * at `field` (the last one wins) */
    OPT_CALL,    /* a value or a flag handed to take() (repeatable, checked, secret) */
    OPT_HELP,    /* -h / --help: prints the command's help on stdout, exit 0 */
};

/* flags */
#define OPT_REQUIRED 0x1u   /* must be given (checked after parsing) */
#define OPT_REPEAT   0x2u   /* may be given more than once (documentation; take() counts) */
#define OPT_MULTI    0x4u   /* takes every following argument up to the next --option */
#define OPT_HIDDEN   0x8u   /* parsed, left out of --help and the man page */

struct opt {
    const char *name;   /* "--account" (NULL: only the short form) */
    char short_name;    /* 'c', or 0 */
    const char *arg;    /* metavariable ("A", "FILE"); NULL for a flag */
    enum opt_kind kind;
    unsigned flags;
    size_t field;       /* offsetof(the command's args struct, member) */
    /* OPT_CALL: called with the args struct, this row and the value (NULL
     * for a flag). Prints its own one-line error and returns nonzero (the
     * exit code) on bad input. */
    int (*take)(void *args, const struct opt *o, char *val);
    const char *help;
};

/* How a command reports a usage error (the messages it always gave). */
enum opts_style {
    OPTS_ONE_LINE,   /* "<who>: unknown option '--x' (see <who> --help)", nothing else */
    OPTS_USAGE,      /* the specific line, then the usage (synopsis) on stderr */
};

struct opt_cmd {
    const char *prog;        /* "vigil", "vigil-panel", "vigil-station"... */
    const char *global;      /* NULL, or the program's options it needs first ("-c FILE") */
    const char *path;        /* "dc09 encode", "account add", "events"; NULL for a program */
    const char *synopsis;    /* after prog and path: "NUMBER [options]" */
    const char *summary;     /* one line: what it does */
    const char *more;        /* NULL, or paragraphs shown after the options (help and man) */
    const struct opt *opts;
    size_t n_opts;
    int max_operands;        /* non-option arguments allowed (-1: any number) */
    enum opts_style style;
    bool eq_values;          /* "--opt=value" accepted as well as "--opt value" */
};

#define OPTS_N(a) (sizeof (a) / sizeof (a)[0])

/* The parse result besides the options: the operands in order. */
struct opts_operands {
    char *v[8];
    int n;
};

#define OPTS_DONE_HELP (-1)   /* --help was printed: exit 0 */

/*
 * Parses argv[first..argc) with c's table into args. Returns 0, OPTS_DONE_HELP,
 * or the exit code of a usage error (2, printed with c's style) or what a
 * take() returned. ops may be NULL when c takes no operands.
 */
int opts_parse(const struct opt_cmd *c, int argc, char **argv, int first, void *args,
               struct opts_operands *ops);

/* "usage: vigil dc09 encode ..." and the option list, as --help prints it. */
void opts_help(const struct opt_cmd *c, FILE *f);
/* The synopsis line only ("usage: ..."). */
void opts_usage(const struct opt_cmd *c, FILE *f);
/* Prints "<prog> <path>: <msg>" then the usage line if c's style asks for it. */
void opts_error(const struct opt_cmd *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The man page's part for one command: .SS heading, synopsis, .TP per option. */
void opts_man(const struct opt_cmd *c, FILE *f, bool subsection);
/* One line per option: "<path>\t<name>\t<short>" (tests/man reads it). */
void opts_dump(const struct opt_cmd *c, FILE *f);
/* A configuration key table (vigil/conf.h) as roff (.TP per key: help, type
 * and range, default, reloadable, which programs read it; prog: the table's
 * own program), or (man false) one "key\tNAME" line per key. */
struct conf_key;
void opts_man_keys(const struct conf_key *keys, size_t n, const char *prog, bool man, FILE *f);
/* Text as roff: escapes '\' and '-' and a leading '.' or '\''. */
void opts_roff(FILE *f, const char *s);

#endif
