/*
 * vigil — the installer's and administrator's tool.
 *
 * One verb group per file (cmd_dc09.c, cmd_code.c, ...); this file only
 * dispatches. Exit codes, the same for every verb (a contract scripts use):
 *   0 success; 1 a negative answer (NAK, DUH, a refused code — printed);
 *   2 bad input or usage; 3 no reply within --timeout; 4 an invalid reply.
 *
 * Every verb's options are one table (opts.h) that its parser, its --help and
 * vigil(1) read: `vigil --help-man` prints them as roff for
 * packaging/man/mkman.py, `vigil --dump-options` one line per option for the
 * man page test (tests/man).
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "opts.h"

static const struct cli_verb verbs[] = {
    /* group, handler, one-line help, option tables — one line per verb group file */
    { "dc09", cmd_dc09, "encode, decode and send SIA DC-09 frames", cmd_dc09_opts },
    { "bench", cmd_bench, "load generator for vigil-station (msgs/s, ACK latency, echo baseline)",
      cmd_bench_opts },
    { "code", cmd_code, "check a new code against the duress code policy (R1-R8)", cmd_code_opts },
    { "account", cmd_account, "station accounts: add, edit, list, show, remove, user, zone, contact, passcode",
      cmd_account_opts },
    { "events", cmd_events, "events received by the station [--account A] [--since T] [--json]",
      cmd_events_opts },
    { "alarms", cmd_alarms, "open alarms in queue order (priority, then age) [--all] [--json]",
      cmd_alarms_opts },
    { "signals", cmd_signals, "signals the station refused (DUH): unknown account, wrong key...",
      cmd_signals_opts },
    { "backup", cmd_backup, "a consistent copy of the station store while it runs", cmd_backup_opts },
    { "restore", cmd_restore, "put a backup in the store's place (station stopped): restore BACKUP [--force]",
      cmd_restore_opts },
    { "operator", cmd_operator, "vigil-console operators: add, list, disable, enable, reset",
      cmd_operator_opts },
    { "agency", cmd_agency, "police agencies' false-alarm rules: import FILE, list [--json]",
      cmd_agency_opts },
    { "billing", cmd_billing, "invoice lines of false dispatches: export --month YYYY-MM [--out FILE]",
      cmd_billing_opts },
    { "audit", cmd_audit, "the audit trail: verify the hash chain and its head file, list entries",
      cmd_audit_opts },
    { "dispute", cmd_dispute, "an alarm's dispute packet (JSON + printable HTML): dispute ID --out DIR",
      cmd_dispute_opts },
};

struct main_args {
    const char *config;
    bool help, help_man, dump;
};

static const struct opt main_opts[] = {
    { NULL, 'c', "FILE", OPT_STR, 0, offsetof(struct main_args, config), NULL,
      "the vigil-station configuration naming the store (every verb that reads or changes "
      "the store needs it)" },
    { "--help", 'h', NULL, OPT_BOOL, 0, offsetof(struct main_args, help), NULL,
      "print the verb groups; `vigil GROUP --help` or `vigil GROUP VERB --help` for a verb's options" },
    { "--help-man", 0, NULL, OPT_BOOL, OPT_HIDDEN, offsetof(struct main_args, help_man), NULL,
      "print every verb's options as roff (packaging/man/mkman.py)" },
    { "--dump-options", 0, NULL, OPT_BOOL, OPT_HIDDEN, offsetof(struct main_args, dump), NULL,
      "print every verb and option, one a line (tests/man)" },
};

static const struct opt_cmd main_cmd = {
    .prog = "vigil", .synopsis = "[-c FILE] <group> <verb> [options]",
    .summary = "The installer's and administrator's tool.",
    .opts = main_opts, .n_opts = OPTS_N(main_opts), .max_operands = 0, .style = OPTS_USAGE,
};

static void usage(FILE *f)
{
    fprintf(f, "usage: vigil [-c FILE] <group> <verb> [options]\n\ngroups:\n");
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        fprintf(f, "  %-10s %s\n", verbs[i].name, verbs[i].help);
}

static void each_table(bool man)
{
    if (man) {
        opts_man(&main_cmd, stdout, false);
        fputs(".SH COMMANDS\n", stdout);   /* vigil(1): one subsection per verb */
    } else {
        opts_dump(&main_cmd, stdout);
    }
    for (size_t v = 0; v < sizeof verbs / sizeof verbs[0]; v++)
        for (const struct opt_cmd *const *c = verbs[v].opts; *c != NULL; c++) {
            if (man)
                opts_man(*c, stdout, true);
            else
                opts_dump(*c, stdout);
        }
}

int main(int argc, char **argv)
{
    struct cli_global g = { .config_path = NULL };
    /* The program's own options come before the group: parse up to it. */
    int i = 1;
    while (i < argc && argv[i][0] == '-') {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
            i += 2;
        else
            i++;
    }
    struct main_args m = { 0 };
    int rc = opts_parse(&main_cmd, i, argv, 1, &m, NULL);
    if (rc != 0) {
        if (rc != OPTS_DONE_HELP)
            fputs("\ngroups: see vigil --help\n", stderr);
        return rc == OPTS_DONE_HELP ? CLI_OK : CLI_USAGE;
    }
    if (m.help_man || m.dump) {
        each_table(m.help_man);
        return fflush(stdout) == 0 ? CLI_OK : CLI_USAGE;
    }
    if (m.help) {
        usage(stdout);
        return CLI_OK;
    }
    g.config_path = m.config;
    if (i >= argc) {
        usage(stderr);
        return CLI_USAGE;
    }
    for (size_t v = 0; v < sizeof verbs / sizeof verbs[0]; v++)
        if (strcmp(argv[i], verbs[v].name) == 0)
            return verbs[v].fn(&g, argc - i - 1, argv + i + 1);
    fprintf(stderr, "vigil: unknown command '%s'\n", argv[i]);
    usage(stderr);
    return CLI_USAGE;
}
