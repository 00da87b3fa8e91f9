/*
 * vigil — the installer's and administrator's tool.
 *
 * One verb group per file (cmd_dc09.c, cmd_code.c, ...); this file only
 * dispatches. Exit codes, the same for every verb (a contract scripts use):
 *   0 success; 1 a negative answer (NAK, DUH, a refused code — printed);
 *   2 bad input or usage; 3 no reply within --timeout; 4 an invalid reply.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct cli_verb verbs[] = {
    /* group, handler, one-line help — one line per verb group file */
    { "dc09", cmd_dc09, "encode, decode and send SIA DC-09 frames" },
    { "bench", cmd_bench, "load generator for vigil-station (msgs/s, ACK latency, echo baseline)" },
    { "code", cmd_code, "check a new code against the duress code policy (R1-R8)" },
    { "account", cmd_account, "station accounts: add, edit, list, show, remove, user, zone, contact, passcode" },
    { "events", cmd_events, "events received by the station [--account A] [--since T] [--json]" },
    { "alarms", cmd_alarms, "open alarms in queue order (priority, then age) [--all] [--json]" },
    { "signals", cmd_signals, "signals the station refused (DUH): unknown account, wrong key..." },
    { "backup", cmd_backup, "a consistent copy of the station store while it runs" },
    { "restore", cmd_restore, "put a backup in the store's place (station stopped): restore BACKUP [--force]" },
    { "operator", cmd_operator, "vigil-console operators: add, list, disable, enable, reset" },
    { "agency", cmd_agency, "police agencies' false-alarm rules: import FILE, list [--json]" },
    { "billing", cmd_billing, "invoice lines of false dispatches: export --month YYYY-MM [--out FILE]" },
    { "audit", cmd_audit, "the audit trail: verify the hash chain and its head file, list entries" },
    { "dispute", cmd_dispute, "an alarm's dispute packet (JSON + printable HTML): dispute ID --out DIR" },
};

static void usage(FILE *f)
{
    fprintf(f, "usage: vigil [-c FILE] <group> <verb> [options]\n\ngroups:\n");
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        fprintf(f, "  %-10s %s\n", verbs[i].name, verbs[i].help);
}

int main(int argc, char **argv)
{
    struct cli_global g = { .config_path = NULL };
    int i = 1;
    while (i < argc && argv[i][0] == '-') {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
            g.config_path = argv[i + 1];
            i += 2;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return CLI_OK;
        } else {
            fprintf(stderr, "vigil: unknown option %s\n", argv[i]);
            usage(stderr);
            return CLI_USAGE;
        }
    }
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
