/*
 * cmd_dispute.c — `vigil -c FILE dispute ALARM_ID --out DIR [--force]`: the
 * dispute packet of one alarm (docs/audit.md, "The dispute packet"), written
 * as DIR/dispute-ID.json (what station/dispute.c builds) and
 * DIR/dispute-ID.html (the printable page made from it).
 *
 * The request is an `alarm.dispute` entry in the audit trail first (vigil is
 * strict: no entry, no packet), so the packet carries its own request and a
 * head file that names it. Existing files are never overwritten without
 * --force; both files are written to a temporary name and renamed, so a
 * reader never sees half a packet. Exit codes: 0 written; 1 no such alarm;
 * 2 bad usage, an existing file, no store, or a write that failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "opts.h"
#include "vigil/audit.h"
#include "vigil/station.h"

static int usage(void)
{
    fprintf(stderr, "usage: vigil -c FILE dispute ALARM_ID --out DIR [--force]\n");
    return CLI_USAGE;
}

static int64_t parse_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 18 || strspn(s, "0123456789") != n)
        return -1;
    return strtoll(s, NULL, 10);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* path.tmp written (owner-only: the packet holds a customer's personal
 * data), fsync'd, renamed onto path. */
static int write_file(const char *path, const char *text, size_t len)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return -ENAMETOOLONG;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    size_t off = 0;
    int rc = 0;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            break;
        }
        off += (size_t)w;
    }
    if (rc == 0 && fsync(fd) != 0)
        rc = -errno;
    close(fd);
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -errno;
    if (rc != 0)
        unlink(tmp);
    return rc;
}

struct dispute_args { const char *out; bool force; };
static const struct opt dispute_opts[] = {
    { "--out", 0, "DIR", OPT_STR, OPT_REQUIRED, offsetof(struct dispute_args, out), NULL,
      "the folder the packet goes to: dispute-ID.json and dispute-ID.html (owner-only)" },
    { "--force", 0, NULL, OPT_BOOL, 0, offsetof(struct dispute_args, force), NULL,
      "replace a packet already there" },
    { "--help", 'h', NULL, OPT_HELP, 0, 0, NULL, "print this help" },
};
static const struct opt_cmd dispute_cmd = {
    .prog = "vigil", .global = "-c FILE", .path = "dispute", .synopsis = "ALARM_ID --out DIR [--force]",
    .summary = "Writes an alarm's dispute packet: every event, action, call and dispatch of the "
               "alarm with the audit entries that prove them, as JSON and printable HTML.",
    .opts = dispute_opts, .n_opts = OPTS_N(dispute_opts), .max_operands = 1, .style = OPTS_USAGE,
};
const struct opt_cmd *const cmd_dispute_opts[] = { &dispute_cmd, NULL };

int cmd_dispute(const struct cli_global *g, int argc, char **argv)
{
    struct dispute_args da = { NULL, false };
    struct opts_operands ops;
    int prc = opts_parse(&dispute_cmd, argc, argv, 0, &da, &ops);
    if (prc != 0)
        return prc == OPTS_DONE_HELP ? CLI_OK : prc;
    const char *out = da.out, *id_s = ops.n ? ops.v[0] : NULL;
    bool force = da.force;
    if (!id_s || !out || !*out)
        return usage();
    int64_t id = parse_id(id_s);
    if (id < 0) {
        fprintf(stderr, "vigil: dispute: ALARM_ID must be an alarm's number, not '%s'\n", id_s);
        return CLI_USAGE;
    }
    struct stat sb;
    if (stat(out, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "vigil: dispute: --out %s: %s\n", out,
                errno && stat(out, &sb) != 0 ? strerror(errno) : "not a folder");
        return CLI_USAGE;
    }
    char jpath[4096], hpath[4096];
    if (snprintf(jpath, sizeof jpath, "%s/dispute-%lld.json", out, (long long)id) >=
            (int)sizeof jpath ||
        snprintf(hpath, sizeof hpath, "%s/dispute-%lld.html", out, (long long)id) >=
            (int)sizeof hpath) {
        fprintf(stderr, "vigil: dispute: --out: path too long\n");
        return CLI_USAGE;
    }
    if (!force && (access(jpath, F_OK) == 0 || access(hpath, F_OK) == 0)) {
        fprintf(stderr, "vigil: dispute: %s already exists: nothing written (--force "
                        "replaces it)\n", access(jpath, F_OK) == 0 ? jpath : hpath);
        return CLI_USAGE;
    }
    struct stn_store *st;
    int rc = cli_open_store(g, &st, false);
    if (rc)
        return rc;
    char acct[32];
    rc = stn_alarm_account(st, id, acct);
    if (rc == STN_E_NOTFOUND) {
        fprintf(stderr, "vigil: dispute: no alarm %lld\n", (long long)id);
        stn_store_close(st);
        return CLI_NEGATIVE;
    }
    if (rc) {
        fprintf(stderr, "vigil: dispute: %s\n", stn_strerror(rc));
        stn_store_close(st);
        return CLI_USAGE;
    }
    char subject[24];
    snprintf(subject, sizeof subject, "%lld", (long long)id);
    json_t *req = json_pack("{s:s,s:[s,s]}", "via", "vigil", "files",
                            strrchr(jpath, '/') + 1, strrchr(hpath, '/') + 1);
    char *after = req ? json_dumps(req, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(req);
    struct stn_audit_entry e = { .at_ms = now_ms(), .actor = "vigil-cli",
                                 .kind = "alarm.dispute", .subject = subject, .after = after };
    rc = after ? stn_store_audit(st, &e) : STN_E_NOMEM;
    free(after);
    if (rc) {
        const char *why = stn_store_last_error(st);
        fprintf(stderr, "vigil: dispute: the request could not be recorded in the audit trail "
                        "(%s): nothing written\n", why ? why : stn_strerror(rc));
        stn_store_close(st);
        return CLI_USAGE;
    }
    void *packet = NULL;
    rc = stn_dispute_json(st, id, "vigil-cli", &packet);
    stn_store_close(st);
    if (rc) {
        fprintf(stderr, "vigil: dispute: %s\n", stn_strerror(rc));
        return rc == STN_E_NOTFOUND ? CLI_NEGATIVE : CLI_USAGE;
    }
    char *json = json_dumps(packet, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    size_t hlen = 0;
    char *html = stn_dispute_html(packet, &hlen);
    json_decref(packet);
    int w = json && html ? write_file(jpath, json, strlen(json)) : -ENOMEM;
    if (w == 0)
        w = write_file(hpath, html, hlen);
    free(json);
    free(html);
    if (w != 0) {
        fprintf(stderr, "vigil: dispute: writing the packet in %s: %s\n", out, strerror(-w));
        return CLI_USAGE;
    }
    printf("%s\n%s\n", jpath, hpath);
    return CLI_OK;
}
