/*
 * cmd_restore.c — `vigil -c FILE restore BACKUP [--force]`: puts a backup
 * made by `vigil backup` in the place of the store (station/restore.c does
 * the work; docs/backup.md is the procedure).
 *
 * Exit 0 restored; 1 refused (the store is in use, exists without --force,
 * the backup's sealed keys do not open with the key store in place); 2 bad
 * usage or a backup that is not a sound store of this program.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "opts.h"
#include "vigil/audit.h"
#include "vigil/station.h"

struct restore_args { bool force; };
static const struct opt restore_opts[] = {
    { "--force", 0, NULL, OPT_BOOL, 0, offsetof(struct restore_args, force), NULL,
      "replace an existing store (kept as STORE.before-restore-TIME)" },
    { "--help", 'h', NULL, OPT_HELP, 0, 0, NULL, "print this help" },
};
static const struct opt_cmd restore_cmd = {
    .prog = "vigil", .global = "-c FILE", .path = "restore", .synopsis = "BACKUP [--force]",
    .summary = "Puts a copy made by `vigil backup` (its .audit-head beside it) in the store's "
               "place, after checking its integrity, schema version, audit trail and keys.",
    .more = "Refused while vigil-station, vigil-console or any vigil command has the store open. "
            "The key store (key_store_file) is never touched. Exit 0 restored; 1 refused (the "
            "store is in use, exists without --force, or the backup's sealed keys do not open "
            "with the key store in place); 2 bad usage or a backup that is not a sound store.",
    .opts = restore_opts, .n_opts = OPTS_N(restore_opts), .max_operands = 1, .style = OPTS_USAGE,
};
const struct opt_cmd *const cmd_restore_opts[] = { &restore_cmd, NULL };

int cmd_restore(const struct cli_global *g, int argc, char **argv)
{
    struct restore_args ra = { false };
    struct opts_operands ops;
    int prc = opts_parse(&restore_cmd, argc, argv, 0, &ra, &ops);
    if (prc != 0)
        return prc == OPTS_DONE_HELP ? CLI_OK : prc;
    const char *backup = ops.n ? ops.v[0] : NULL;
    bool force = ra.force;
    if (!backup) {
        opts_error(&restore_cmd, "which backup? (BACKUP, a file made by `vigil backup`)");
        return CLI_USAGE;
    }
    if (!g->config_path) {
        opts_error(&restore_cmd, "-c FILE is needed (the configuration naming the store)");
        return CLI_USAGE;
    }
    struct stn_config cfg;
    struct conf_error err = { 0 };
    if (stn_config_load(g->config_path, &cfg, &err) != 0) {
        fprintf(stderr, "vigil: %s\n", err.msg);
        return CLI_USAGE;
    }
    struct stn_restore_report r;
    char msg[1024];
    int rc = stn_store_restore(&cfg, backup, force, &r, msg, sizeof msg);
    if (rc) {
        fprintf(stderr, "vigil: restore: %s\n", msg);
        return rc == STN_E_EXISTS || rc == STN_E_CONFIG ? CLI_NEGATIVE : CLI_USAGE;
    }
    printf("restored %s from %s\n", cfg.store_path, backup);
    printf("schema version %d (this program: %d)%s\n", r.backup_version, r.program_version,
           r.backup_version < r.program_version ? ", migrated" : "");
    char when[32] = "none";
    if (r.last_event_ms > 0) {
        time_t t = (time_t)(r.last_event_ms / 1000);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    printf("%lld events (last received %s), %lld alarms open\n", (long long)r.events, when,
           (long long)r.alarms_open);
    if (r.keys_sealed == 0)
        printf("keys: no sealed account keys in the backup%s\n",
               r.keys_clear ? " (keys in the clear: the station seals them at start)" : "");
    else if (r.keys_open == r.keys_sealed)
        printf("keys: all %lld sealed account keys open with the key store %s\n",
               (long long)r.keys_sealed, cfg.key_store_path);
    else
        printf("keys: %lld of %lld sealed account keys DO NOT open with the key store %s%s "
               "(first: account %s): put the key store that goes with this backup in place "
               "before starting vigil-station\n", (long long)(r.keys_sealed - r.keys_open),
               (long long)r.keys_sealed, cfg.key_store_path,
               r.keystore_present ? "" : " (missing)", r.first_closed);
    if (r.kept[0])
        printf("the replaced store is kept as %s\n", r.kept);

    /* the restore in the restored trail, after the backup's last entry */
    struct stn_store *st = NULL;
    if (stn_store_open_existing(&cfg, &st, msg, sizeof msg) == 0) {
        json_t *o = json_pack("{s:s,s:s,s:I,s:I}", "backup", backup, "kept", r.kept,
                              "backup_last_seq", (json_int_t)r.audit_seq,
                              "schema_version", (json_int_t)r.backup_version);
        char *after = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        struct stn_audit_entry e = { .at_ms = (int64_t)time(NULL) * 1000,
                                     .actor = "vigil-cli", .kind = "store.restore",
                                     .subject = NULL, .before = NULL, .after = after };
        if (stn_store_audit(st, &e) != 0)
            fprintf(stderr, "vigil: restore: the audit entry store.restore was not appended\n");
        free(after);
        json_decref(o);
        stn_store_close(st);
    } else {
        fprintf(stderr, "vigil: restore: %s\n", msg);
    }
    return CLI_OK;
}
