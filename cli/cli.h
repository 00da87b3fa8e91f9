/* cli.h — private to the vigil tool: the verb table and the exit codes. */
#ifndef VIGIL_CLI_H
#define VIGIL_CLI_H

#include <stdbool.h>

enum cli_exit {
    CLI_OK = 0,        /* success */
    CLI_NEGATIVE = 1,  /* a negative answer: NAK, DUH, a refused code */
    CLI_USAGE = 2,     /* bad input or usage */
    CLI_TIMEOUT = 3,   /* no reply within --timeout */
    CLI_INVALID = 4,   /* an invalid reply: CRC, sequence mismatch, cannot decrypt */
};

struct cli_global {
    const char *config_path;  /* -c FILE, or NULL */
};

/* argv[0] is the verb after the group ("decode", "encode", ...). */
typedef int (*cli_fn)(const struct cli_global *g, int argc, char **argv);

struct opt_cmd;
struct cli_verb {
    const char *name;
    cli_fn fn;
    const char *help;
    const struct opt_cmd *const *opts;   /* its commands' option tables, NULL-terminated */
};

int cmd_dc09(const struct cli_global *g, int argc, char **argv);
int cmd_bench(const struct cli_global *g, int argc, char **argv);
int cmd_code(const struct cli_global *g, int argc, char **argv);
int cmd_account(const struct cli_global *g, int argc, char **argv);
int cmd_events(const struct cli_global *g, int argc, char **argv);
int cmd_alarms(const struct cli_global *g, int argc, char **argv);
int cmd_signals(const struct cli_global *g, int argc, char **argv);
int cmd_backup(const struct cli_global *g, int argc, char **argv);
int cmd_restore(const struct cli_global *g, int argc, char **argv);
int cmd_operator(const struct cli_global *g, int argc, char **argv);
int cmd_agency(const struct cli_global *g, int argc, char **argv);
int cmd_billing(const struct cli_global *g, int argc, char **argv);
int cmd_audit(const struct cli_global *g, int argc, char **argv);
int cmd_dispute(const struct cli_global *g, int argc, char **argv);

/* Each group's option tables (opts.h), NULL-terminated: its parser, its
 * --help and vigil(1) read them. */
extern const struct opt_cmd *const cmd_dc09_opts[], *const cmd_bench_opts[],
    *const cmd_code_opts[], *const cmd_account_opts[], *const cmd_events_opts[],
    *const cmd_alarms_opts[], *const cmd_signals_opts[], *const cmd_backup_opts[],
    *const cmd_operator_opts[], *const cmd_agency_opts[], *const cmd_billing_opts[],
    *const cmd_audit_opts[], *const cmd_dispute_opts[], *const cmd_restore_opts[];

struct stn_store;
/* Opens the store the -c config names (cmd_store.c). create: the verb
 * provisions (account add, operator add) and may make a missing store, saying
 * so once; every other verb refuses a store that does not exist (CLI_USAGE,
 * naming the file): a mistyped store path must never show an empty queue. */
int cli_open_store(const struct cli_global *g, struct stn_store **st, bool create);

#endif
