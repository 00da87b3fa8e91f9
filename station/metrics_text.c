/*
 * metrics_text.c — writers for the Prometheus text exposition format 0.0.4
 * (HELP and TYPE lines, samples), and the record of the last backup beside
 * the store (STORE.last-backup), read by both daemons' metrics.
 */
#include "vigil/metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void stn_prom_family(struct stn_text *t, const char *name, const char *type, const char *help)
{
    stn_text_puts(t, "# HELP ");
    stn_text_puts(t, name);
    stn_text_puts(t, " ");
    /* help text: backslash and newline escaped */
    for (const char *p = help; *p; p++) {
        if (*p == '\\')
            stn_text_puts(t, "\\\\");
        else if (*p == '\n')
            stn_text_puts(t, "\\n");
        else
            stn_text_put(t, p, 1);
    }
    stn_text_puts(t, "\n# TYPE ");
    stn_text_puts(t, name);
    stn_text_puts(t, " ");
    stn_text_puts(t, type);
    stn_text_puts(t, "\n");
}

static void sample_head(struct stn_text *t, const char *name, const char *labels)
{
    stn_text_puts(t, name);
    if (labels && *labels) {
        stn_text_puts(t, "{");
        stn_text_puts(t, labels);
        stn_text_puts(t, "}");
    }
    stn_text_puts(t, " ");
}

void stn_prom_u64(struct stn_text *t, const char *name, const char *labels, uint64_t v)
{
    char num[32];
    snprintf(num, sizeof num, "%" PRIu64 "\n", v);
    sample_head(t, name, labels);
    stn_text_puts(t, num);
}

void stn_prom_f64(struct stn_text *t, const char *name, const char *labels, double v)
{
    char num[48];
    if (isnan(v))
        snprintf(num, sizeof num, "NaN\n");
    else if (isinf(v))
        snprintf(num, sizeof num, "%s\n", v > 0 ? "+Inf" : "-Inf");
    else
        snprintf(num, sizeof num, "%.15g\n", v);
    sample_head(t, name, labels);
    stn_text_puts(t, num);
}

/* ---- the last backup -------------------------------------------------- */

int stn_backup_mark_path(const char *store_path, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s.last-backup", store_path);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

int stn_backup_mark_write(const char *store_path, int64_t when_s, char *msg, size_t cap)
{
    char path[STN_PATH_MAX + 16], tmp[STN_PATH_MAX + 32];
    if (stn_backup_mark_path(store_path, path, sizeof path) != 0 ||
        snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        snprintf(msg, cap, "store path too long for its backup record");
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0) {
        snprintf(msg, cap, "cannot write %s: %s", tmp, strerror(errno));
        return -1;
    }
    char line[32];
    int n = snprintf(line, sizeof line, "%" PRId64 "\n", when_s);
    bool ok = write(fd, line, (size_t)n) == n && fsync(fd) == 0;
    int e = errno;
    if (close(fd) != 0)
        ok = false;
    if (!ok || rename(tmp, path) != 0) {
        if (ok)
            e = errno;
        snprintf(msg, cap, "cannot write %s: %s", path, strerror(e));
        unlink(tmp);
        return -1;
    }
    return 0;
}

int64_t stn_backup_mark_read(const char *store_path)
{
    char path[STN_PATH_MAX + 16];
    if (stn_backup_mark_path(store_path, path, sizeof path) != 0)
        return 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[32] = "";
    char *ok = fgets(line, sizeof line, f);
    fclose(f);
    if (!ok)
        return 0;
    char *end;
    long long v = strtoll(line, &end, 10);
    return end != line && v > 0 ? (int64_t)v : 0;
}
